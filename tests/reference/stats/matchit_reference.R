# Reference numbers for msreboot.stats propensity methods: propensity_score (glm),
# match_nearest (MatchIt::matchit(method = "nearest", distance = "glm")), propensity_weights
# (IPTW ATE/ATT, overlap, stabilised, trimmed) and balance_table (weighted SMDs, variance
# ratios, Kish effective sample sizes).
#
# Run from the repository root:
#   Rscript tests/reference/stats/matchit_reference.R
# It writes, beside this script, synthetic.csv (a seeded synthetic cohort of 400 patients
# with 6 covariates drawn here), lalonde.csv (MatchIt's copy of the Dehejia-Wahba subset of
# LaLonde's NSW job-training data: not patient data), ties.csv (90 units with distances on an
# integer grid, for tie-breaking) and matchit_reference.json, which
# tests/stats/test_propensity_reference.py reads (CI never runs R). Needs the Debian packages
# r-base-core, r-cran-matchit (4.5) and r-cran-jsonlite.
#
# WeightIt and cobalt are not packaged in Debian: their formulas are written out below in
# base R (IPTW: Austin & Stuart 2015, doi:10.1002/sim.6607; overlap weights: Li, Morgan &
# Zaslavsky 2018, doi:10.1080/01621459.2016.1260466; SMD denominators and weighted variances
# as cobalt's defaults: pooled SD sqrt((s1^2 + s0^2) / 2) of the unadjusted sample for the
# ATE and overlap weights, the treated SD for the ATT; p (1 - p) for binary covariates).
#
# Distances are written as "%.17g" strings (JSON numbers keep 15 digits only), so that the
# matching can be replayed in Python on exactly R's distances.
#
# Two bugs of MatchIt 4.5.1 (the Debian version) are kept out of the reference:
# * its compiled nearest-neighbour search takes the absolute value of a distance difference
#   as an integer on this build (MatchIt issue #163, fixed in 4.5.4: "calipers would not work
#   properly on some systems"), so differences below 1 count as 0: calipers are not applied
#   and the nearer of the two neighbours is not chosen. matchit() is therefore given the
#   distance multiplied by a power of ten `scale` (largest with every difference below
#   2^31), for which the integer part of a difference decides exactly as the difference
#   itself does except within 1 / scale (~1e-9); the caliper in SD units scales with it.
# * with replace = TRUE and ratio > 1 it can match a control twice to one treated unit (an
#   off-by-one in the check, fixed in 4.5.3, "Thanks to Julia Kretschmann"). Matching with
#   replacement is therefore checked against a direct base-R implementation of its rule:
#   each treated unit takes the `ratio` nearest controls of its exact stratum within the
#   caliper, the smaller-distance one first on equal differences (MatchIt's tie rule).

suppressPackageStartupMessages({
  library(MatchIt)
  library(jsonlite)
})

here <- "tests/reference/stats"

# ---------------------------------------------------------------- synthetic cohort
set.seed(20261204)
n <- 400
age <- round(rnorm(n, 38, 9), 1)
female <- rbinom(n, 1, 0.68)
edss <- pmin(7, pmax(0, round(2 * rnorm(n, 3.5, 1.4)) / 2))
duration_years <- round(rgamma(n, shape = 2.5, rate = 0.3), 2)
relapses_prior_2y <- rpois(n, 1.2)
centre <- sample(c("A", "B", "C", "D"), n, replace = TRUE, prob = c(0.4, 0.3, 0.2, 0.1))
lp <- -0.4 - 0.06 * (age - 38) + 0.35 * (edss - 3.5) - 0.05 * (duration_years - 8) +
  0.45 * (relapses_prior_2y - 1.2) + 0.2 * female + c(A = 0, B = 0.4, C = -0.5, D = 0.8)[centre]
ahsct <- rbinom(n, 1, plogis(lp))
synthetic <- data.frame(
  patient_id = sprintf("P%03d", seq_len(n)), ahsct, age, female, edss, duration_years,
  relapses_prior_2y, centre, stringsAsFactors = FALSE
)
write.csv(synthetic, file.path(here, "synthetic.csv"), row.names = FALSE)
synthetic$centre <- factor(synthetic$centre, levels = c("A", "B", "C", "D"))

data("lalonde", package = "MatchIt")
lalonde_out <- lalonde
lalonde_out$race <- as.character(lalonde_out$race)
write.csv(cbind(id = rownames(lalonde), lalonde_out), file.path(here, "lalonde.csv"),
          row.names = FALSE)

# distances on an integer grid, so that ties (equal distances, and equally far neighbours
# on both sides) are frequent; integer differences are also immune to the integer-abs bug
# described above, so matchit() gets this distance as it is
ties <- data.frame(
  treat = rbinom(90, 1, 0.4),
  distance = sample(0:12, 90, replace = TRUE),
  g = sample(c("a", "b"), 90, replace = TRUE),
  stringsAsFactors = FALSE
)
write.csv(ties, file.path(here, "ties.csv"), row.names = FALSE)

datasets <- list(
  synthetic = list(
    data = synthetic, treat = "ahsct",
    covariates = c("age", "female", "edss", "duration_years", "relapses_prior_2y", "centre")
  ),
  lalonde = list(
    data = lalonde, treat = "treat",
    covariates = c("age", "educ", "race", "married", "nodegree", "re74", "re75")
  )
)

# glm converged far below its default epsilon = 1e-8, so that scores compare at 1e-8
glm_control <- list(epsilon = 1e-14, maxit = 100)

formula_of <- function(ds) reformulate(ds$covariates, response = ds$treat)

term_names <- function(fit) {
  nm <- names(coef(fit))
  for (var in names(fit$xlevels)) {
    for (lev in fit$xlevels[[var]]) nm[nm == paste0(var, lev)] <- paste0(var, "[", lev, "]")
  }
  nm
}

str17 <- function(x) sprintf("%.17g", x)

# ---------------------------------------------------------------- propensity scores
ps_out <- list()
for (name in names(datasets)) {
  ds <- datasets[[name]]
  fit <- glm(formula_of(ds), data = ds$data, family = binomial(),
             control = do.call(glm.control, glm_control))
  ps_out[[name]] <- list(
    terms = term_names(fit),
    coef = unname(coef(fit)),
    std_err = unname(coef(summary(fit))[, 2]),
    scores = unname(fitted(fit)),
    logit = unname(predict(fit, type = "link")),
    deviance = deviance(fit),
    converged = fit$converged
  )
  datasets[[name]]$ps <- unname(fitted(fit))
}

# ---------------------------------------------------------------- nearest-neighbour matching
cases <- list(
  list(id = "synthetic_1to1_logit", data = "synthetic", distance = "logit", ratio = 1,
       replace = FALSE, caliper = NULL, exact = NULL, m_order = NULL),
  list(id = "synthetic_1to1_logit_caliper", data = "synthetic", distance = "logit",
       ratio = 1, replace = FALSE, caliper = 0.2, exact = NULL, m_order = NULL),
  list(id = "synthetic_1to2_logit_caliper", data = "synthetic", distance = "logit",
       ratio = 2, replace = FALSE, caliper = 0.25, exact = NULL, m_order = NULL),
  list(id = "synthetic_1to3_replace_caliper", data = "synthetic", distance = "logit",
       ratio = 3, replace = TRUE, caliper = 0.2, exact = NULL, m_order = NULL),
  list(id = "synthetic_exact_female_centre", data = "synthetic", distance = "logit",
       ratio = 1, replace = FALSE, caliper = 0.2, exact = c("female", "centre"),
       m_order = NULL),
  list(id = "synthetic_ps_smallest", data = "synthetic", distance = "ps", ratio = 1,
       replace = FALSE, caliper = 0.1, exact = NULL, m_order = "smallest"),
  list(id = "synthetic_ps_data_1to2", data = "synthetic", distance = "ps", ratio = 2,
       replace = FALSE, caliper = NULL, exact = NULL, m_order = "data"),
  list(id = "lalonde_1to1_ps", data = "lalonde", distance = "ps", ratio = 1,
       replace = FALSE, caliper = NULL, exact = NULL, m_order = NULL),
  list(id = "lalonde_1to2_replace_ps", data = "lalonde", distance = "ps", ratio = 2,
       replace = TRUE, caliper = NULL, exact = NULL, m_order = NULL),
  list(id = "lalonde_1to1_logit_caliper_exact", data = "lalonde", distance = "logit",
       ratio = 1, replace = FALSE, caliper = 0.1, exact = "married", m_order = NULL),
  list(id = "lalonde_1to2_logit_caliper", data = "lalonde", distance = "logit", ratio = 2,
       replace = FALSE, caliper = 0.2, exact = NULL, m_order = NULL),
  list(id = "ties_1to1", data = "ties", distance = "given", ratio = 1, replace = FALSE,
       caliper = NULL, exact = NULL, m_order = NULL),
  list(id = "ties_1to1_smallest_caliper", data = "ties", distance = "given", ratio = 1,
       replace = FALSE, caliper = 0.3, exact = NULL, m_order = "smallest"),
  list(id = "ties_1to2_exact", data = "ties", distance = "given", ratio = 2,
       replace = FALSE, caliper = NULL, exact = "g", m_order = NULL),
  list(id = "ties_1to2_replace", data = "ties", distance = "given", ratio = 2,
       replace = TRUE, caliper = 0.3, exact = NULL, m_order = NULL)
)

# with replacement: each treated unit's `ratio` nearest controls (same stratum, within the
# caliper), ordered by |difference|, then smaller distance (the lower neighbour wins a tie),
# then nearness in the stably sorted order (for controls with equal distances)
replace_match <- function(d, treat, ratio, caliper_abs, strata) {
  pos <- integer(length(d))
  pos[order(strata, d)] <- seq_along(d)
  treated <- which(treat == 1)
  mm <- matrix(NA_integer_, nrow = length(treated), ncol = ratio)
  for (j in seq_along(treated)) {
    i <- treated[j]
    cand <- which(treat == 0 & strata == strata[i])
    diff <- abs(d[cand] - d[i])
    keep <- diff <= caliper_abs
    cand <- cand[keep]
    diff <- diff[keep]
    if (length(cand) == 0) next
    side <- as.integer(pos[cand] > pos[i])
    o <- order(diff, d[cand], side, abs(pos[cand] - pos[i]))
    take <- cand[o][seq_len(min(ratio, length(cand)))]
    mm[j, seq_along(take)] <- take
  }
  mm
}

matchit_weights <- function(mm, treat) {
  w <- numeric(length(treat))
  treated <- which(treat == 1)
  for (j in seq_len(nrow(mm))) {
    ctl <- mm[j, !is.na(mm[j, ])]
    if (length(ctl) == 0) next
    w[treated[j]] <- 1
    for (k in ctl) w[k] <- w[k] + 1 / length(ctl)
  }
  c0 <- treat == 0
  w[c0] <- w[c0] * sum(w[c0] > 0) / sum(w[c0])
  w
}

match_out <- list()
for (case in cases) {
  if (case$data == "ties") {
    ds <- list(data = ties, treat = "treat", covariates = "g")
    d <- as.numeric(ties$distance)
    scale <- 1
  } else {
    ds <- datasets[[case$data]]
    fit <- glm(formula_of(ds), data = ds$data, family = binomial(),
               control = do.call(glm.control, glm_control))
    d <- unname(if (case$distance == "logit") predict(fit, type = "link") else fitted(fit))
    scale <- 10^floor(log10(2^31 / diff(range(d))))
  }
  treat <- ds$data[[ds$treat]]
  if (case$replace) {
    strata <- if (is.null(case$exact)) rep(1L, length(d)) else
      as.integer(interaction(ds$data[case$exact], drop = TRUE))
    caliper_abs <- if (is.null(case$caliper)) Inf else case$caliper * sd(d * scale)
    mm_idx <- replace_match(d * scale, treat, case$ratio, caliper_abs, strata)
    weights <- matchit_weights(mm_idx, treat)
    subclass <- NULL
    method <- "base R (matching with replacement, see the header)"
  } else {
    args <- list(
      formula = formula_of(ds), data = ds$data, method = "nearest", distance = d * scale,
      ratio = case$ratio, replace = FALSE
    )
    if (!is.null(case$caliper)) args$caliper <- case$caliper
    if (!is.null(case$exact)) args$exact <- case$exact
    if (!is.null(case$m_order)) args$m.order <- case$m_order
    m <- suppressWarnings(do.call(matchit, args))
    mm_idx <- matrix(match(m$match.matrix, rownames(ds$data)), nrow = nrow(m$match.matrix))
    weights <- unname(m$weights)
    subclass <- m$subclass
    caliper_abs <- if (is.null(m$caliper)) Inf else unname(m$caliper)
    method <- "MatchIt::matchit(method = \"nearest\", distance = scale * glm distance)"
  }
  mm_pos <- mm_idx - 1L
  mm_pos[is.na(mm_pos)] <- -1L
  # matched sets as the 0-based row of each unit's treated unit (-1 unmatched): MatchIt's
  # subclass labels follow the string order of row names, so only the partition compares
  anchor <- rep(-1L, nrow(ds$data))
  if (!is.null(subclass)) {
    sub <- as.character(subclass)
    treated_rows <- which(treat == 1)
    for (r in treated_rows) {
      if (!is.na(sub[r])) anchor[!is.na(sub) & sub == sub[r]] <- r - 1L
    }
  }
  match_out[[case$id]] <- list(
    data = case$data, distance_kind = case$distance, ratio = case$ratio,
    replace = case$replace, caliper = case$caliper,
    exact = if (is.null(case$exact)) list() else I(case$exact),
    m_order = if (is.null(case$m_order)) NULL else case$m_order,
    method = method, scale = scale,
    distance = str17(d * scale),
    caliper_abs = if (is.finite(caliper_abs)) caliper_abs else NULL,
    match_matrix = mm_pos,
    weights = weights,
    subclass_anchor = anchor,
    n_matched_treated = sum(weights[treat == 1] > 0),
    n_matched_control = sum(weights[treat == 0] > 0)
  )
}

# ---------------------------------------------------------------- weights, base R formulas
iptw <- function(e, t, estimand, stabilize = FALSE) {
  w <- switch(estimand,
    ate = t / e + (1 - t) / (1 - e),
    att = t + (1 - t) * e / (1 - e),
    overlap = t * (1 - e) + (1 - t) * e
  )
  if (stabilize) w <- ifelse(t == 1, mean(t), 1 - mean(t)) * w
  w
}

weight_cases <- list(
  list(id = "ate", estimand = "ate", stabilize = FALSE, ps_bounds = NULL, quantile = NULL),
  list(id = "ate_stabilized", estimand = "ate", stabilize = TRUE, ps_bounds = NULL,
       quantile = NULL),
  list(id = "att", estimand = "att", stabilize = FALSE, ps_bounds = NULL, quantile = NULL),
  list(id = "overlap", estimand = "overlap", stabilize = FALSE, ps_bounds = NULL,
       quantile = NULL),
  list(id = "ate_bounds", estimand = "ate", stabilize = FALSE, ps_bounds = c(0.1, 0.9),
       quantile = NULL),
  list(id = "ate_quantile", estimand = "ate", stabilize = FALSE, ps_bounds = NULL,
       quantile = 0.95),
  list(id = "att_bounds_quantile", estimand = "att", stabilize = FALSE,
       ps_bounds = c(0.05, 0.95), quantile = 0.9)
)

# trimming: patients with e outside ps_bounds get weight 0 (Crump et al. 2009); then weights
# above the given quantile (type 7) of the positive weights are set to it (truncation, as
# WeightIt's trim()); for the ATT only the control weights are capped (treated keep 1)
trim_weights <- function(w, e, t, estimand, ps_bounds, quantile) {
  if (!is.null(ps_bounds)) w[e < ps_bounds[1] | e > ps_bounds[2]] <- 0
  if (!is.null(quantile)) {
    pool <- if (estimand == "att") (t == 0 & w > 0) else (w > 0)
    cap <- quantile(w[pool], quantile, type = 7, names = FALSE)
    w[pool] <- pmin(w[pool], cap)
  }
  w
}

wmean <- function(x, w) sum(w * x) / sum(w)
wvar <- function(x, w) {
  m <- wmean(x, w)
  sum(w * (x - m)^2) * sum(w) / (sum(w)^2 - sum(w^2))
}

balance_terms <- function(ds) {
  out <- list()
  for (cov in ds$covariates) {
    x <- ds$data[[cov]]
    if (is.factor(x) || is.character(x)) {
      x <- as.character(x)
      for (lev in sort(unique(x), method = "radix")) {
        out[[paste0(cov, "[", lev, "]")]] <- list(x = as.numeric(x == lev), binary = TRUE)
      }
    } else {
      out[[cov]] <- list(x = as.numeric(x), binary = all(x %in% c(0, 1)))
    }
  }
  out
}

balance <- function(ds, w, estimand) {
  t <- ds$data[[ds$treat]]
  terms <- balance_terms(ds)
  rows <- lapply(names(terms), function(term) {
    x <- terms[[term]]$x
    binary <- terms[[term]]$binary
    var_g <- function(g) {
      if (binary) mean(x[t == g]) * (1 - mean(x[t == g])) else var(x[t == g])
    }
    denom <- switch(estimand, att = sqrt(var_g(1)), sqrt((var_g(1) + var_g(0)) / 2))
    wv <- function(g, ww) {
      xx <- x[t == g]
      w_ <- ww[t == g]
      if (binary) wmean(xx, w_) * (1 - wmean(xx, w_)) else wvar(xx, w_)
    }
    one <- rep(1, length(t))
    list(
      term = term, binary = binary,
      smd_before = (mean(x[t == 1]) - mean(x[t == 0])) / denom,
      smd_after = (wmean(x[t == 1], w[t == 1]) - wmean(x[t == 0], w[t == 0])) / denom,
      var_ratio_before = if (binary) NA else wv(1, one) / wv(0, one),
      var_ratio_after = if (binary) NA else wv(1, w) / wv(0, w),
      mean_treated_after = wmean(x[t == 1], w[t == 1]),
      mean_control_after = wmean(x[t == 0], w[t == 0])
    )
  })
  ess <- function(ww) sum(ww)^2 / sum(ww^2)
  list(
    terms = rows,
    ess_treated = ess(w[t == 1 & w > 0]), ess_control = ess(w[t == 0 & w > 0])
  )
}

weights_out <- list()
for (name in names(datasets)) {
  ds <- datasets[[name]]
  t <- ds$data[[ds$treat]]
  e <- ds$ps
  for (wc in weight_cases) {
    w <- iptw(e, t, wc$estimand, wc$stabilize)
    w <- trim_weights(w, e, t, wc$estimand, wc$ps_bounds, wc$quantile)
    b <- balance(ds, w, if (wc$estimand == "att") "att" else "ate")
    weights_out[[paste0(name, "_", wc$id)]] <- list(
      data = name, estimand = wc$estimand, stabilize = wc$stabilize,
      ps_bounds = wc$ps_bounds, quantile = wc$quantile, weights = w, balance = b
    )
  }
}

# balance after matching: the matching weights, ATT (treated SD of the unmatched sample)
matched_balance <- list()
for (id in c("synthetic_1to1_logit_caliper", "synthetic_1to2_logit_caliper",
             "lalonde_1to1_ps", "lalonde_1to2_replace_ps")) {
  case <- match_out[[id]]
  matched_balance[[id]] <- balance(datasets[[case$data]], case$weights, "att")
}

out <- list(
  generated_by = "tests/reference/stats/matchit_reference.R",
  r_version = R.version.string,
  packages = list(
    MatchIt = as.character(packageVersion("MatchIt")),
    jsonlite = as.character(packageVersion("jsonlite"))
  ),
  glm_control = glm_control,
  tolerances = list(
    scores = 1e-8, coef = 1e-6, weights = 1e-8, smd = 1e-8, var_ratio = 1e-8, ess = 1e-8,
    matching = "identical (match matrix, matched sets, weights to 1e-12)",
    note = paste(
      "scores and logits from glm converged to epsilon 1e-14; coefficients compared",
      "relative to max(1, |coef|); weights and balance from the R scores, to 1e-8"
    )
  ),
  datasets = lapply(datasets, function(ds) list(treatment = ds$treat, covariates = ds$covariates)),
  propensity = ps_out,
  matching = match_out,
  weights = weights_out,
  matched_balance = matched_balance
)
write_json(out, file.path(here, "matchit_reference.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null", null = "null")
cat("wrote", file.path(here, "matchit_reference.json"), "\n")
