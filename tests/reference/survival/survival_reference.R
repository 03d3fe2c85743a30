# Reference numbers for the survival statistics of msreboot.endpoints, computed with R's
# survival and cmprsk packages.
#
# Run from the repository root:
#   .venv/bin/python tests/reference/survival/example_cohort_survival.py   # refresh the CSV
#   Rscript tests/reference/survival/survival_reference.R
# It writes tests/reference/survival/survival_reference.json, which the Python tests read
# (CI never runs R). Needs the Debian packages r-base-core, r-cran-survival, r-cran-cmprsk
# and r-cran-jsonlite.
#
# The datasets themselves are written into the JSON too, so the Python tests use exactly
# the rows R used. Only the outputs of survival and cmprsk are used by msreboot: the Python
# implementation is written from the published formulas.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

num <- function(x) {
  x <- as.numeric(x)
  x[is.infinite(x) | is.nan(x)] <- NA
  x
}

# --- datasets ---------------------------------------------------------------------------

lung_d <- data.frame(
  time = lung$time, event = as.integer(lung$status == 2),
  sex = ifelse(lung$sex == 1, "male", "female"), age = lung$age, ph_ecog = lung$ph.ecog
)
veteran_d <- data.frame(
  time = veteran$time, event = veteran$status, trt = veteran$trt,
  celltype = as.character(veteran$celltype), karno = veteran$karno, age = veteran$age
)
ovarian_d <- data.frame(
  time = ovarian$futime, event = ovarian$fustat, rx = ovarian$rx, age = ovarian$age,
  ecog_ps = ovarian$ecog.ps
)
aml_d <- data.frame(time = aml$time, event = aml$status, x = as.character(aml$x))

# Ties of events and censorings at the same time, events at time 0, two groups, two strata.
ties_d <- data.frame(
  time = c(0, 0, 1, 2, 2, 2, 2, 3, 3, 5, 5, 5, 7, 8, 8, 9, 10, 10, 12, 12, 12, 15, 15, 20),
  event = c(1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0),
  group = c("b", "a", "a", "b", "a", "a", "b", "b", "a", "a", "b", "b",
            "a", "a", "b", "a", "b", "a", "a", "b", "a", "b", "a", "b"),
  stratum = rep(c("s1", "s2"), 12),
  x = c(1.2, 0.3, -0.5, 2.1, 0.0, 1.1, -1.3, 0.8, 0.4, -0.2, 1.7, 0.9,
        -0.8, 0.1, 1.4, -1.0, 0.6, 0.2, -0.4, 1.9, 0.5, -0.6, 0.7, 1.0)
)
censored_d <- data.frame(time = c(1, 2, 2, 3, 5), event = c(0, 0, 0, 0, 0))
single_d <- data.frame(time = 5, event = 1)
example_d <- read.csv("tests/reference/survival/example_cohort_survival.csv",
                      stringsAsFactors = FALSE)
example_d <- data.frame(time = example_d$time_days, event = example_d$event,
                        status = example_d$status, sex = example_d$sex)

# Competing risks: mgus2 (progression to a plasma-cell malignancy = 1, death first = 2),
# as in the survival package's competing-risks vignette; a small hand-made set with ties
# across causes and censorings; the example cohort (transplant-related death = 1).
mgus_d <- data.frame(
  time = ifelse(mgus2$pstat == 0, mgus2$futime, mgus2$ptime),
  status = ifelse(mgus2$pstat == 0, 2 * mgus2$death, 1),
  sex = as.character(mgus2$sex)
)
crties_d <- data.frame(
  time = c(0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 5, 5, 6, 6, 6, 7, 8, 9, 9, 10, 11, 12, 12),
  status = c(1, 1, 2, 0, 1, 1, 2, 2, 1, 0, 0, 1, 2, 1, 0, 0, 2, 1, 1, 2, 0, 2, 1, 0),
  group = rep(c("a", "b", "b"), 8)
)

datasets <- list(
  lung = lung_d, veteran = veteran_d, ovarian = ovarian_d, aml = aml_d, ties = ties_d,
  censored = censored_d, single = single_d, example = example_d, mgus2 = mgus_d,
  crties = crties_d
)
factor_levels <- list(veteran = list(celltype = levels(veteran$celltype)))

# --- Kaplan-Meier -------------------------------------------------------------------------

km_cases <- list(
  list(dataset = "lung", group = NULL, landmarks = c(0, 100, 180, 365, 500, 730, 1000),
       tau = 730),
  list(dataset = "lung", group = "sex", landmarks = c(90, 365, 730), tau = 600),
  list(dataset = "veteran", group = "celltype", landmarks = c(30, 90, 180), tau = 200),
  list(dataset = "ovarian", group = NULL, landmarks = c(0, 365, 638, 1000, 1227, 1300),
       tau = 1000),
  list(dataset = "aml", group = "x", landmarks = c(10, 23, 30, 48, 161), tau = 40),
  list(dataset = "ties", group = NULL, landmarks = c(0, 1, 2, 2.5, 5, 12, 15, 20, 25),
       tau = 12),
  list(dataset = "ties", group = "group", landmarks = c(0, 2, 5, 12), tau = 10),
  list(dataset = "censored", group = NULL, landmarks = c(0, 2, 5, 6), tau = 4),
  list(dataset = "single", group = NULL, landmarks = c(0, 4, 5, 6), tau = 10),
  list(dataset = "example", group = NULL, landmarks = c(100, 365, 1826, 3000), tau = 1826),
  list(dataset = "example", group = "sex", landmarks = c(365, 1826), tau = 1826)
)

km_curve <- function(d, landmarks, tau) {
  fit <- survfit(Surv(time, event) ~ 1, data = d)
  lm <- summary(fit, times = landmarks, extend = TRUE)
  tab <- summary(fit, rmean = tau)$table
  intervals <- list()
  for (conf_type in c("log-log", "log", "plain")) {
    for (conf_level in c(0.95, 0.90)) {
      f <- survfit(Surv(time, event) ~ 1, data = d, conf.type = conf_type,
                   conf.int = conf_level)
      l <- summary(f, times = landmarks, extend = TRUE)
      t <- summary(f)$table
      intervals[[length(intervals) + 1]] <- list(
        conf_type = conf_type, conf_level = conf_level,
        lower = num(f$lower), upper = num(f$upper),
        landmark_lower = num(l$lower), landmark_upper = num(l$upper),
        median_lower = num(t[[paste0(conf_level, "LCL")]]),
        median_upper = num(t[[paste0(conf_level, "UCL")]])
      )
    }
  }
  list(
    n = nrow(d),
    time = num(fit$time), n_risk = num(fit$n.risk), n_event = num(fit$n.event),
    n_censor = num(fit$n.censor), surv = num(fit$surv), std_err_log = num(fit$std.err),
    landmarks = list(
      time = num(lm$time), n_risk = num(lm$n.risk), surv = num(lm$surv),
      std_err = num(lm$std.err)
    ),
    median = num(tab[["median"]]),
    tau = tau, rmean = num(tab[["rmean"]]), rmean_se = num(tab[["se(rmean)"]]),
    intervals = intervals
  )
}

km <- lapply(km_cases, function(case) {
  d <- datasets[[case$dataset]]
  if (is.null(case$group)) {
    curves <- list(km_curve(d, case$landmarks, case$tau))
    labels <- list(NULL)
  } else {
    labels <- sort(unique(d[[case$group]]))
    curves <- lapply(labels, function(g) {
      km_curve(d[d[[case$group]] == g, ], case$landmarks, case$tau)
    })
  }
  for (i in seq_along(curves)) curves[[i]]$label <- labels[[i]]
  list(dataset = case$dataset, group = case$group, landmarks = case$landmarks,
       curves = curves)
})

# --- log-rank -----------------------------------------------------------------------------

lr_cases <- list(
  list(dataset = "lung", group = "sex", strata = NULL),
  list(dataset = "veteran", group = "celltype", strata = NULL),
  list(dataset = "veteran", group = "celltype", strata = "trt"),
  list(dataset = "veteran", group = "trt", strata = "celltype"),
  list(dataset = "ovarian", group = "rx", strata = NULL),
  list(dataset = "aml", group = "x", strata = NULL),
  list(dataset = "ties", group = "group", strata = NULL),
  list(dataset = "ties", group = "group", strata = "stratum"),
  list(dataset = "example", group = "sex", strata = NULL)
)
log_rank <- lapply(lr_cases, function(case) {
  d <- datasets[[case$dataset]]
  d$g <- d[[case$group]]
  if (is.null(case$strata)) {
    fit <- survdiff(Surv(time, event) ~ g, data = d)
  } else {
    d$s <- d[[case$strata]]
    fit <- survdiff(Surv(time, event) ~ g + strata(s), data = d)
  }
  obs <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  expd <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  df <- sum(expd > 0) - 1
  list(
    dataset = case$dataset, group = case$group, strata = case$strata,
    groups = sub("^g=", "", names(fit$n)), n = as.numeric(fit$n),
    observed = num(obs), expected = num(expd), variance = num(fit$var),
    chisq = num(fit$chisq), df = df, pvalue = num(pchisq(fit$chisq, df, lower.tail = FALSE))
  )
})

# --- Cox (Efron and Breslow) --------------------------------------------------------------

cox_cases <- list(
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), ties = "efron"),
  list(dataset = "veteran", covariates = c("trt", "celltype", "karno", "age"),
       ties = "efron"),
  list(dataset = "ovarian", covariates = c("age", "ecog_ps"), ties = "efron"),
  list(dataset = "aml", covariates = c("x"), ties = "efron"),
  list(dataset = "ties", covariates = c("x", "group"), ties = "efron"),
  list(dataset = "ties", covariates = c("x", "group"), ties = "breslow"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), ties = "breslow"),
  list(dataset = "example", covariates = c("sex"), ties = "efron")
)
cox <- lapply(cox_cases, function(case) {
  d <- datasets[[case$dataset]]
  d <- d[complete.cases(d[, c("time", "event", case$covariates)]), ]
  if (!is.null(factor_levels[[case$dataset]])) {
    for (col in names(factor_levels[[case$dataset]])) {
      d[[col]] <- factor(d[[col]], levels = factor_levels[[case$dataset]][[col]])
    }
  }
  form <- as.formula(paste("Surv(time, event) ~", paste(case$covariates, collapse = " + ")))
  fit <- coxph(form, data = d, ties = case$ties,
               control = coxph.control(eps = 1e-10, iter.max = 100))
  s <- summary(fit, conf.int = 0.95)
  s90 <- summary(fit, conf.int = 0.90)
  list(
    dataset = case$dataset, covariates = I(case$covariates), ties = case$ties,
    n = fit$n, n_events = fit$nevent,
    terms = I(names(coef(fit))), coef = num(coef(fit)), se = num(sqrt(diag(vcov(fit)))),
    z = num(s$coefficients[, "z"]), pvalue = num(s$coefficients[, "Pr(>|z|)"]),
    hr = num(exp(coef(fit))),
    hr_lower_95 = num(s$conf.int[, 3]), hr_upper_95 = num(s$conf.int[, 4]),
    hr_lower_90 = num(s90$conf.int[, 3]), hr_upper_90 = num(s90$conf.int[, 4]),
    loglik_null = num(fit$loglik[1]), loglik = num(fit$loglik[2]),
    lr_chisq = num(s$logtest[["test"]]), lr_df = num(s$logtest[["df"]]),
    lr_pvalue = num(s$logtest[["pvalue"]]),
    concordance = num(fit$concordance[["concordance"]]),
    concordance_se = num(sqrt(fit$concordance[["std"]]^2))
  )
})

# --- cumulative incidence (cmprsk::cuminc) ------------------------------------------------

ci_cases <- list(
  list(dataset = "mgus2", group = NULL),
  list(dataset = "mgus2", group = "sex"),
  list(dataset = "crties", group = NULL),
  list(dataset = "crties", group = "group"),
  list(dataset = "example", group = NULL)
)
cum_inc <- lapply(ci_cases, function(case) {
  d <- datasets[[case$dataset]]
  times <- sort(unique(c(0, d$time, max(d$time) / 2)))
  labels <- if (is.null(case$group)) list(NULL) else sort(unique(d[[case$group]]))
  causes <- sort(setdiff(unique(d$status), 0))
  curves <- list()
  for (g in labels) {
    dd <- if (is.null(g)) d else d[d[[case$group]] == g, ]
    fit <- cuminc(dd$time, dd$status, cencode = 0)
    tp <- timepoints(fit, times)
    for (k in causes) {
      row <- paste("1", k)
      curves[[length(curves) + 1]] <- list(
        label = g, cause = k, time = times,
        est = num(tp$est[row, ]), var = num(tp$var[row, ])
      )
    }
  }
  tests <- NULL
  if (!is.null(case$group)) {
    fit <- cuminc(d$time, d$status, group = d[[case$group]], cencode = 0)
    tests <- lapply(causes, function(k) {
      list(cause = k, stat = num(fit$Tests[as.character(k), "stat"]),
           pvalue = num(fit$Tests[as.character(k), "pv"]),
           df = num(fit$Tests[as.character(k), "df"]))
    })
  }
  list(dataset = case$dataset, group = case$group, causes = I(causes), curves = curves,
       tests = tests)
})

# --- write --------------------------------------------------------------------------------

out <- list(
  provenance = list(
    script = "tests/reference/survival/survival_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    cmprsk_version = as.character(packageVersion("cmprsk")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  ),
  tolerances = list(
    rtol = 1e-6, atol = 1e-10,
    note = paste(
      "Relative 1e-6 on every number, absolute 1e-10 near zero. Cox models are fitted",
      "with coxph.control(eps = 1e-10, iter.max = 100). Kaplan-Meier std_err_log is R's",
      "survfit std.err (standard error of the cumulative hazard, log scale); landmark",
      "std_err is summary()'s standard error of the survival itself."
    )
  ),
  datasets = datasets,
  factor_levels = factor_levels,
  kaplan_meier = km,
  log_rank = log_rank,
  cox = cox,
  cumulative_incidence = cum_inc
)
write_json(out, "tests/reference/survival/survival_reference.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null")
