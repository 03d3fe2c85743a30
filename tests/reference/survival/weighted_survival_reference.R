# Reference numbers for case-weighted Kaplan-Meier curves, computed with R's survival.
#
# Run from the repository root:
#   Rscript tests/reference/survival/weighted_survival_reference.R
# It writes tests/reference/survival/weighted_survival_reference.json, which the Python
# tests read (CI never runs R). Needs r-base-core, r-cran-survival and r-cran-jsonlite.
#
# survfit(weights=) uses, by default, the infinitesimal-jackknife ("robust") variance when
# some weight is not a whole number and Greenwood's formula on the weighted counts
# otherwise; both are recorded, with robust = TRUE / FALSE forced as well. Data:
# survival::lung with seeded weights and a small hand-made set with ties. Weighted
# cumulative incidence: multi-state survfit (Aalen-Johansen) on survival::mgus2 and a small
# set with ties across causes, with seeded weights.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

num <- function(x) {
  x <- as.numeric(x)
  x[is.infinite(x) | is.nan(x)] <- NA
  x
}

set.seed(20261205)
lung_d <- data.frame(time = lung$time, event = as.integer(lung$status == 2),
                     sex = ifelse(lung$sex == 1, "male", "female"))
lung_d$w <- round(runif(nrow(lung_d), 0.3, 4), 4)
lung_d$int_w <- sample(1:4, nrow(lung_d), replace = TRUE)
small_d <- data.frame(
  time = c(1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9),
  event = c(1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1),
  w = c(0.5, 1.2, 2, 0.7, 1, 1.5, 0.3, 2.2, 1, 0.8, 1.1, 0.9),
  int_w = c(1, 2, 1, 3, 1, 1, 2, 1, 1, 1, 2, 1),
  group = rep(c("a", "b"), 6)
)
datasets <- list(lung = lung_d, small = small_d)

cases <- list(
  list(dataset = "lung", weights = "w", robust = NULL, group = NULL),
  list(dataset = "lung", weights = "w", robust = FALSE, group = NULL),
  list(dataset = "lung", weights = "int_w", robust = NULL, group = NULL),
  list(dataset = "lung", weights = "int_w", robust = TRUE, group = NULL),
  list(dataset = "lung", weights = "w", robust = NULL, group = "sex"),
  list(dataset = "small", weights = "w", robust = NULL, group = NULL),
  list(dataset = "small", weights = "int_w", robust = NULL, group = NULL),
  list(dataset = "small", weights = "w", robust = NULL, group = "group")
)

one_curve <- function(d, case, landmarks) {
  intervals <- list()
  for (conf_type in c("log-log", "log", "plain")) {
    for (conf_level in c(0.95, 0.90)) {
      args <- list(formula = Surv(time, event) ~ 1, data = d, weights = d[[case$weights]],
                   conf.type = conf_type, conf.int = conf_level)
      if (!is.null(case$robust)) args$robust <- case$robust
      f <- do.call(survfit, args)
      l <- summary(f, times = landmarks, extend = TRUE)
      intervals[[length(intervals) + 1]] <- list(
        conf_type = conf_type, conf_level = conf_level,
        lower = num(f$lower), upper = num(f$upper),
        landmark_lower = num(l$lower), landmark_upper = num(l$upper)
      )
    }
  }
  args <- list(formula = Surv(time, event) ~ 1, data = d, weights = d[[case$weights]])
  if (!is.null(case$robust)) args$robust <- case$robust
  f <- do.call(survfit, args)
  l <- summary(f, times = landmarks, extend = TRUE)
  list(
    n = nrow(d), time = num(f$time), n_risk = num(f$n.risk), n_event = num(f$n.event),
    n_censor = num(f$n.censor), surv = num(f$surv), std_err = num(f$std.err),
    landmarks = list(time = num(l$time), surv = num(l$surv), std_err = num(l$std.err)),
    median = num(summary(f)$table[["median"]]),
    intervals = intervals
  )
}

km <- lapply(cases, function(case) {
  d <- datasets[[case$dataset]]
  landmarks <- if (case$dataset == "lung") c(90, 365, 730) else c(2, 5, 8)
  labels <- if (is.null(case$group)) list(NULL) else sort(unique(d[[case$group]]))
  curves <- lapply(labels, function(g) {
    dd <- if (is.null(g)) d else d[d[[case$group]] == g, ]
    out <- one_curve(dd, case, landmarks)
    out$label <- g
    out
  })
  list(case = case, landmarks = landmarks, curves = curves)
})

# --- weighted cumulative incidence (Aalen-Johansen, multi-state survfit) -------------------

mgus_d <- data.frame(
  time = ifelse(mgus2$pstat == 0, mgus2$futime, mgus2$ptime),
  status = ifelse(mgus2$pstat == 0, 2 * mgus2$death, 1),
  sex = as.character(mgus2$sex)
)
mgus_d$w <- round(runif(nrow(mgus_d), 0.3, 4), 4)
crties_d <- data.frame(
  time = c(0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 5, 5, 6, 6, 6, 7, 8, 9, 9, 10, 11, 12, 12),
  status = c(1, 1, 2, 0, 1, 1, 2, 2, 1, 0, 0, 1, 2, 1, 0, 0, 2, 1, 1, 2, 0, 2, 1, 0),
  group = rep(c("a", "b", "b"), 8)
)
crties_d$w <- round(runif(nrow(crties_d), 0.3, 4), 4)
crties_d$one <- 1
datasets$mgus2 <- mgus_d
datasets$crties <- crties_d

ci_cases <- list(
  list(dataset = "mgus2", weights = "w", group = NULL),
  list(dataset = "mgus2", weights = "w", group = "sex"),
  list(dataset = "crties", weights = "w", group = NULL),
  list(dataset = "crties", weights = "w", group = "group"),
  list(dataset = "crties", weights = "one", group = NULL)
)
cum_inc <- lapply(ci_cases, function(case) {
  d <- datasets[[case$dataset]]
  labels <- if (is.null(case$group)) list(NULL) else sort(unique(d[[case$group]]))
  curves <- list()
  for (g in labels) {
    dd <- if (is.null(g)) d else d[d[[case$group]] == g, ]
    f <- survfit(Surv(time, factor(status)) ~ 1, data = dd, weights = dd[[case$weights]],
                 robust = TRUE)
    for (k in c(1, 2)) {
      col <- which(f$states == as.character(k))
      curves[[length(curves) + 1]] <- list(
        label = g, cause = k, time = num(f$time), n_risk = num(f$n.risk[, 1]),
        est = num(f$pstate[, col]), std_err = num(f$std.err[, col])
      )
    }
  }
  list(case = case, curves = curves)
})

out <- list(
  provenance = list(
    script = "tests/reference/survival/weighted_survival_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    seed = 20261205,
    generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  ),
  tolerances = list(
    rtol = 1e-6, atol = 1e-10,
    note = paste(
      "Relative 1e-6, absolute 1e-10 near zero. std_err is survfit's fit$std.err: with",
      "the Greenwood variance the standard error of log S (cumulative hazard scale);",
      "with the robust (infinitesimal jackknife) variance survival 3.5 stores the",
      "standard error of S itself there, while its intervals use se(log S) = se(S) / S.",
      "Landmark std_err is summary()'s standard error of S in both cases.",
      "cumulative_incidence: survfit(Surv(time, factor(status)) ~ 1, weights =,",
      "robust = TRUE): pstate and std.err (infinitesimal jackknife) per cause."
    )
  ),
  datasets = datasets,
  kaplan_meier = km,
  cumulative_incidence = cum_inc
)
write_json(out, "tests/reference/survival/weighted_survival_reference.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null")
