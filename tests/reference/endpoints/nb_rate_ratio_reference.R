# Reference numbers for msreboot.endpoints.negative_binomial_rate_ratio: negative-binomial
# (NB2) regression of relapse counts with offset log(years), from R's MASS::glm.nb.
#
# Run from the repository root:
#   .venv/bin/python tests/reference/endpoints/example_cohort_relapses.py   # refresh the CSV
#   Rscript tests/reference/endpoints/nb_rate_ratio_reference.R
# It writes tests/reference/endpoints/nb_rate_ratio_reference.json, which
# tests/endpoints/test_rate_ratio.py reads (CI never runs R). Needs the Debian packages
# r-base-core, r-cran-mass and r-cran-jsonlite.
#
# Every dataset is written into the JSON (the simulated ones are drawn here with set.seed),
# except the bundled example cohort, whose per-patient table is the committed CSV.
#
# Each case is fitted twice:
#   glm_nb            glm.nb with its defaults on every row, exactly as users run it;
#   glm_nb_converged  glm.nb with glm.control(epsilon = 1e-12, maxit = 100), and the SE of
#                     theta from theta.ml(eps = 1e-10) at the fitted means; for a case with
#                     a level without relapses (excluded_level), on the other rows only.
# The cases without overdispersion (poisson_cases) are fitted with glm(family = poisson)
# (glm_poisson) and with glm.nb's defaults (glm_nb). Tolerances and their reasons are
# recorded in the JSON.

suppressPackageStartupMessages({
  library(MASS)
  library(jsonlite)
})

num <- function(x) {
  x <- as.numeric(x)
  x[is.infinite(x) | is.nan(x)] <- NA
  x
}

# factor with levels in C-locale sorted order (as Python sorts) and the chosen reference first
as_group <- function(x, reference = NULL) {
  levels <- sort(unique(as.character(x)), method = "radix")
  f <- factor(as.character(x), levels = levels)
  if (!is.null(reference)) f <- relevel(f, ref = reference)
  f
}

# coefficient names as msreboot writes them: "column[level]" for factor levels
term_names <- function(fit) {
  names <- names(coef(fit))
  for (var in names(fit$xlevels)) {
    for (lev in fit$xlevels[[var]]) {
      names[names == paste0(var, lev)] <- paste0(var, "[", lev, "]")
    }
  }
  names
}

coef_table <- function(fit, conf_level) {
  s <- coef(summary(fit))
  z <- qnorm(1 - (1 - conf_level) / 2)
  est <- s[, 1]
  se <- s[, 2]
  list(
    term = term_names(fit),
    estimate = num(est),
    std_error = num(se),
    rate_ratio = num(exp(est)),
    ci_low = num(exp(est - z * se)),
    ci_high = num(exp(est + z * se)),
    p_value = num(s[, 4])
  )
}

capture <- function(expr) {
  msgs <- character()
  value <- withCallingHandlers(expr, warning = function(w) {
    msgs <<- c(msgs, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = unique(msgs))
}

fit_nb <- function(formula, data, conf_level, converged) {
  control <- if (converged) glm.control(epsilon = 1e-12, maxit = 100) else glm.control()
  got <- capture(glm.nb(formula, data = data, control = control))
  fit <- got$value
  theta_se <- fit$SE.theta
  if (converged) {
    th <- capture(theta.ml(fit$y, fitted(fit), limit = 100, eps = 1e-10))$value
    theta_se <- attr(th, "SE")
  }
  c(
    list(
      theta = num(fit$theta), theta_std_error = num(theta_se),
      loglik = num(logLik(fit)), iterations = fit$iter, warnings = I(got$warnings)
    ),
    coef_table(fit, conf_level)
  )
}

fit_poisson <- function(formula, data, conf_level) {
  fit <- glm(formula, data = data, family = poisson, control = glm.control(epsilon = 1e-12))
  c(list(loglik = num(logLik(fit))), coef_table(fit, conf_level))
}

# --- datasets ---------------------------------------------------------------------------

# small, by hand: the docstring example of negative_binomial_rate_ratio
hand <- data.frame(
  patient_id = sprintf("H%02d", 1:12),
  group = rep(c("ahsct", "dmt"), each = 6),
  relapses = c(0, 0, 1, 0, 3, 0, 2, 5, 1, 0, 4, 7),
  years = c(4.0, 5.5, 3.0, 6.0, 2.5, 4.5, 3.0, 4.0, 2.0, 3.5, 5.0, 4.5)
)

# overdispersed, three groups: NB with theta 0.8 and ARR 0.5 / 0.25 / 0.15
set.seed(20261201)
n <- 300
sim_group <- sample(c("a", "b", "c"), n, replace = TRUE)
sim_years <- round(runif(n, 0.5, 8), 4)
sim_rate <- c(a = 0.5, b = 0.25, c = 0.15)[sim_group]
simulated <- data.frame(
  group = sim_group, years = sim_years,
  relapses = rnbinom(n, size = 0.8, mu = sim_rate * sim_years)
)

# the same with a fourth group of eight patients without relapses
simulated_zero <- rbind(
  simulated,
  data.frame(group = "z", years = c(1.5, 2, 3.25, 4, 4.5, 5, 6.5, 7), relapses = 0)
)

# two groups with a numeric (age) and a categorical (sex) covariate, theta 2
set.seed(20261202)
n <- 250
cov_group <- sample(c("ahsct", "dmt"), n, replace = TRUE)
cov_age <- round(runif(n, 18, 55), 1)
cov_sex <- sample(c("F", "M"), n, replace = TRUE, prob = c(0.65, 0.35))
cov_years <- round(runif(n, 1, 10), 3)
cov_mu <- cov_years * exp(-1.2 - 1.0 * (cov_group == "ahsct") - 0.02 * (cov_age - 35) +
  0.2 * (cov_sex == "M"))
covariate <- data.frame(
  group = cov_group, age = cov_age, sex = cov_sex, years = cov_years,
  relapses = rnbinom(n, size = 2, mu = cov_mu)
)

# no overdispersion: counts close to rate x years (sum((y - mu)^2 - y) < 0 at the Poisson fit)
set.seed(20261203)
n <- 60
flat_group <- sample(c("a", "b"), n, replace = TRUE)
flat_years <- round(runif(n, 2, 8), 2)
flat <- data.frame(
  group = flat_group, years = flat_years,
  relapses = round(flat_years * ifelse(flat_group == "a", 0.4, 0.25) + runif(n, -0.4, 0.4))
)

# weak overdispersion: Poisson draws, the first seed whose Poisson fit has
# sum((y - mu)^2 - y) > 0, so the maximum is at a large but finite theta
for (seed in 1:1000) {
  set.seed(20261204 + seed)
  n <- 60
  weak <- data.frame(
    group = sample(c("a", "b"), n, replace = TRUE), years = round(runif(n, 1, 5), 3)
  )
  weak$relapses <- rpois(n, 0.6 * weak$years)
  weak_pois <- glm(relapses ~ group + offset(log(years)), data = weak, family = poisson)
  if (sum((weak$relapses - fitted(weak_pois))^2 - weak$relapses) > 0) break
}

example <- read.csv("tests/reference/endpoints/example_cohort_relapses.csv",
                    stringsAsFactors = FALSE)
example_after <- example[example$period == "after", c("patient_id", "relapses", "years",
                                                      "phenotype")]
example_all <- example[example$period == "all", c("patient_id", "relapses", "years",
                                                  "phenotype", "treatment")]
stopifnot(sum(example_after$relapses[example_after$phenotype == "PPMS"]) == 0)

datasets <- list(hand = hand, simulated = simulated, simulated_zero = simulated_zero,
                 covariate = covariate, weak = weak, flat = flat)

# --- cases ------------------------------------------------------------------------------

prepare <- function(data, group_col, reference, covariates) {
  data[[group_col]] <- as_group(data[[group_col]], reference)
  for (col in covariates) if (is.character(data[[col]])) data[[col]] <- as_group(data[[col]])
  data
}

model_formula <- function(group_col, covariates) {
  rhs <- paste(c(group_col, covariates, "offset(log(years))"), collapse = " + ")
  as.formula(paste("relapses ~", rhs))
}

# glm_nb: defaults, on all the rows; the other fits leave out the level `exclude` (a level
# without relapses, whose coefficient has no finite maximum)
nb_case <- function(name, data, dataset, group_col, reference, covariates = character(),
                    conf_level = 0.95, exclude = NULL, note = NULL) {
  formula <- model_formula(group_col, covariates)
  full <- prepare(data, group_col, reference, covariates)
  sub <- if (is.null(exclude)) data else data[data[[group_col]] != exclude, ]
  sub <- prepare(sub, group_col, reference, covariates)
  out <- list(
    name = name, dataset = dataset, group_col = group_col, reference = reference,
    covariates = I(covariates), conf_level = conf_level, n = nrow(full),
    formula = deparse(formula),
    glm_nb = fit_nb(formula, full, conf_level, converged = FALSE),
    glm_nb_converged = fit_nb(formula, sub, conf_level, converged = TRUE)
  )
  if (!is.null(exclude)) out$excluded_level <- exclude
  if (!is.null(note)) out$note <- note
  out
}

poisson_case <- function(name, data, dataset, group_col, reference, exclude = NULL,
                         note = NULL) {
  formula <- model_formula(group_col, character())
  full <- prepare(data, group_col, reference, character())
  sub <- if (is.null(exclude)) data else data[data[[group_col]] != exclude, ]
  sub <- prepare(sub, group_col, reference, character())
  pois <- glm(formula, data = sub, family = poisson)
  out <- list(
    name = name, dataset = dataset, group_col = group_col, reference = reference,
    covariates = I(character()), conf_level = 0.95, n = nrow(full),
    formula = deparse(formula),
    overdispersion_score = sum((sub$relapses - fitted(pois))^2 - sub$relapses),
    glm_poisson = fit_poisson(formula, sub, 0.95),
    glm_nb = fit_nb(formula, full, 0.95, converged = FALSE)
  )
  stopifnot(out$overdispersion_score < 0)
  if (!is.null(exclude)) out$excluded_level <- exclude
  if (!is.null(note)) out$note <- note
  out
}

cases <- list(
  nb_case("hand", hand, "hand", "group", "dmt"),
  nb_case("simulated", simulated, "simulated", "group", "a"),
  nb_case("simulated_conf_90", simulated, "simulated", "group", "b", conf_level = 0.90),
  nb_case("simulated_zero_group", simulated_zero, "simulated_zero", "group", "a",
          exclude = "z",
          note = paste("group z has no relapses: glm.nb (defaults) stops at a large negative",
                       "coefficient with a huge SE; the converged fit leaves z out, the limit",
                       "msreboot reports for the other terms")),
  nb_case("covariate", covariate, "covariate", "group", "ahsct", c("age", "sex")),
  nb_case("weak_overdispersion", weak, "weak", "group", "a",
          note = paste("Poisson draws with a little overdispersion by chance: theta is large",
                       "but finite")),
  nb_case("example_all_phenotype", example_all, "example_all", "phenotype", "PPMS"),
  nb_case("example_all_treatment", example_all, "example_all", "treatment", "no_ahsct")
)

poisson_cases <- list(
  poisson_case("flat", flat, "flat", "group", "a"),
  poisson_case("example_after_phenotype", example_after, "example_after", "phenotype", "RRMS",
               exclude = "PPMS",
               note = paste("after AHSCT, PPMS has no relapses and the others show no",
                            "overdispersion: glm.nb (defaults) stops at a large theta and a",
                            "large negative PPMS coefficient; glm_poisson leaves PPMS out"))
)

out <- list(
  generated_by = "tests/reference/endpoints/nb_rate_ratio_reference.R",
  r_version = R.version.string,
  mass_version = as.character(packageVersion("MASS")),
  function_used = paste("MASS::glm.nb(relapses ~ group [+ covariates] + offset(log(years)));",
                        "summary() Wald SEs and p-values; exp(estimate -/+ z SE) intervals;",
                        "stats::glm(family = poisson) for the no-overdispersion case"),
  tolerance_rel = 1e-6,
  tolerance_note = paste("Every number of glm_nb_converged and glm_poisson, and every number of",
                         "glm_nb (defaults) except theta_std_error, is matched to tolerance_rel."),
  tolerance_rel_glm_nb_theta_std_error = 1e-4,
  tolerance_glm_nb_theta_std_error_reason = paste(
    "theta.ml (called by glm.nb with its default eps = .Machine$double.eps^0.25) reports",
    "1/sqrt(information) evaluated before its last Newton step, which may move theta by up",
    "to 1.2e-4; glm_nb_converged reruns theta.ml with eps = 1e-10 at the fitted means and",
    "is matched to 1e-6."
  ),
  tolerance_rel_poisson_vs_glm_nb = 1e-3,
  tolerance_poisson_vs_glm_nb_reason = paste(
    "Without overdispersion the likelihood is largest at theta = inf (the Poisson model).",
    "glm.nb climbs towards it and stops ('iteration limit reached') at a large finite theta;",
    "its coefficients differ from the Poisson limit by O(1/theta). The Poisson limit itself",
    "is matched to glm(family = poisson) to 1e-6."
  ),
  example_csv = "tests/reference/endpoints/example_cohort_relapses.csv",
  datasets = datasets,
  cases = cases,
  poisson_cases = poisson_cases
)
write_json(out, "tests/reference/endpoints/nb_rate_ratio_reference.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE, na = "null",
           dataframe = "columns")
