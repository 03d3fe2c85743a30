# Reference numbers for weighted, stratified and robust Cox regression and for the
# proportional-hazards test (scaled Schoenfeld residuals), computed with R's survival.
#
# Run from the repository root:
#   Rscript tests/reference/survival/cox_robust_reference.R
# It writes tests/reference/survival/cox_robust_data.csv (the seeded synthetic data) and
# tests/reference/survival/cox_robust_reference.json, which the Python tests read (CI never
# runs R). Needs the Debian packages r-base-core, r-cran-survival and r-cran-jsonlite.
#
# Data: survival::lung (complete cases) with seeded case weights and clusters,
# survival::veteran, and a seeded synthetic matched cohort ("pairs": matched pairs, three
# centres of which one has no events, integer times with many ties). Only the outputs of
# survival are used by msreboot: the Python implementation is written from the formulas.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

num <- function(x) {
  x <- as.numeric(x)
  x[is.infinite(x) | is.nan(x)] <- NA
  x
}

# --- datasets ---------------------------------------------------------------------------

set.seed(20261204)
lung_d <- na.omit(data.frame(
  time = lung$time, event = as.integer(lung$status == 2), age = lung$age,
  sex = lung$sex, ph_ecog = lung$ph.ecog
))
rownames(lung_d) <- NULL
lung_d$w <- round(runif(nrow(lung_d), 0.4, 3.0), 4)
lung_d$cluster <- sample(rep(1:70, length.out = nrow(lung_d)))
lung_d$int_w <- sample(1:3, nrow(lung_d), replace = TRUE)

veteran_d <- data.frame(
  time = veteran$time, event = veteran$status, trt = veteran$trt,
  celltype = as.character(veteran$celltype), karno = veteran$karno, age = veteran$age
)

n_pairs <- 90
pairs_d <- data.frame(
  pair = rep(1:n_pairs, each = 2),
  treated = rep(c(1, 0), n_pairs),
  centre = rep(sample(c("c1", "c2", "c3"), n_pairs, replace = TRUE, prob = c(.45, .45, .1)),
               each = 2)
)
pairs_d$age <- round(rnorm(nrow(pairs_d), 40, 9))
pairs_d$edss <- round(pmin(pmax(rnorm(nrow(pairs_d), 4, 1.3), 1), 7) * 2) / 2
frailty <- rep(rnorm(n_pairs, 0, 0.5), each = 2)
rate <- 0.05 * exp(-0.6 * pairs_d$treated + 0.03 * (pairs_d$age - 40) + 0.2 *
                    (pairs_d$edss - 4) + frailty)
event_time <- ceiling(rexp(nrow(pairs_d), rate))
censor_time <- ceiling(runif(nrow(pairs_d), 5, 60))
pairs_d$time <- pmin(event_time, censor_time)
pairs_d$event <- as.integer(event_time <= censor_time)
pairs_d$event[pairs_d$centre == "c3"] <- 0L  # a stratum with no events
ps <- plogis(-0.5 + 0.04 * (pairs_d$age - 40) + 0.3 * (pairs_d$edss - 4))
pairs_d$w <- round(ifelse(pairs_d$treated == 1, 1 / ps, 1 / (1 - ps)), 6)

write.csv(pairs_d, "tests/reference/survival/cox_robust_data.csv", row.names = FALSE)

datasets <- list(lung = lung_d, veteran = veteran_d, pairs = pairs_d)
factor_levels <- list(veteran = list(celltype = levels(veteran$celltype)))

prepare <- function(name) {
  d <- datasets[[name]]
  if (!is.null(factor_levels[[name]])) {
    for (col in names(factor_levels[[name]])) {
      d[[col]] <- factor(d[[col]], levels = factor_levels[[name]][[col]])
    }
  }
  d
}

fit_case <- function(case) {
  d <- prepare(case$dataset)
  rhs <- paste(case$covariates, collapse = " + ")
  if (!is.null(case$strata)) rhs <- paste0(rhs, " + strata(", case$strata, ")")
  form <- as.formula(paste("Surv(time, event) ~", rhs))
  args <- list(formula = form, data = d, ties = case$ties,
               control = coxph.control(eps = 1e-10, iter.max = 100))
  if (!is.null(case$weights)) args$weights <- d[[case$weights]]
  if (isTRUE(case$robust)) args$robust <- TRUE
  if (!is.null(case$cluster)) args$cluster <- d[[case$cluster]]
  do.call(coxph, args)
}

# --- Cox ----------------------------------------------------------------------------------

cox_cases <- list(
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), weights = "w",
       robust = TRUE, ties = "efron"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), weights = "w",
       robust = TRUE, ties = "breslow"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), weights = "w",
       cluster = "cluster", ties = "efron"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), weights = "w",
       cluster = "cluster", ties = "breslow"),
  list(dataset = "lung", covariates = c("age", "sex"), strata = "ph_ecog", weights = "w",
       robust = TRUE, ties = "efron"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), robust = TRUE,
       ties = "efron"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), weights = "int_w",
       ties = "efron"),
  list(dataset = "veteran", covariates = c("trt", "karno", "age"), strata = "celltype",
       robust = TRUE, ties = "efron"),
  list(dataset = "veteran", covariates = c("celltype", "karno", "age"), ties = "breslow",
       strata = "trt"),
  list(dataset = "pairs", covariates = c("treated", "age", "edss"), weights = "w",
       cluster = "pair", strata = "centre", ties = "efron"),
  list(dataset = "pairs", covariates = c("treated", "age", "edss"), weights = "w",
       cluster = "pair", strata = "centre", ties = "breslow"),
  list(dataset = "pairs", covariates = c("treated"), cluster = "pair", ties = "efron"),
  list(dataset = "pairs", covariates = c("treated", "edss"), strata = "pair",
       ties = "efron")
)

cox <- lapply(cox_cases, function(case) {
  fit <- fit_case(case)
  s <- summary(fit, conf.int = 0.95)
  naive <- if (is.null(fit$naive.var)) fit$var else fit$naive.var
  list(
    case = case,
    n = fit$n, n_events = fit$nevent,
    terms = I(names(coef(fit))), coef = num(coef(fit)),
    se = num(sqrt(diag(vcov(fit)))), naive_se = num(sqrt(diag(naive))),
    var = num(vcov(fit)),
    z = num(s$coefficients[, "z"]), pvalue = num(s$coefficients[, "Pr(>|z|)"]),
    hr_lower_95 = num(s$conf.int[, 3]), hr_upper_95 = num(s$conf.int[, 4]),
    loglik_null = num(fit$loglik[1]), loglik = num(fit$loglik[2]),
    lr_chisq = num(s$logtest[["test"]]), lr_df = num(s$logtest[["df"]]),
    lr_pvalue = num(s$logtest[["pvalue"]]),
    concordance = num(fit$concordance[["concordance"]])
  )
})

# --- proportional hazards: cox.zph ----------------------------------------------------------

zph_cases <- list(
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), ties = "efron",
       transform = "km"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), ties = "efron",
       transform = "identity"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), ties = "efron",
       transform = "rank"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), ties = "breslow",
       transform = "km"),
  list(dataset = "lung", covariates = c("age", "sex", "ph_ecog"), ties = "efron",
       transform = "km", weights = "w"),
  list(dataset = "lung", covariates = c("age", "sex"), ties = "efron", transform = "km",
       strata = "ph_ecog"),
  list(dataset = "veteran", covariates = c("trt", "celltype", "karno"), ties = "efron",
       transform = "km"),
  list(dataset = "veteran", covariates = c("trt", "celltype", "karno"), ties = "efron",
       transform = "rank"),
  list(dataset = "pairs", covariates = c("treated", "age", "edss"), ties = "efron",
       transform = "km", weights = "w", strata = "centre")
)

zph <- lapply(zph_cases, function(case) {
  fit <- fit_case(case)
  z <- cox.zph(fit, transform = case$transform)
  zc <- cox.zph(fit, transform = case$transform, terms = FALSE)
  list(
    case = case,
    tests = list(names = I(rownames(z$table)), chisq = num(z$table[, "chisq"]),
                 df = num(z$table[, "df"]), p = num(z$table[, "p"])),
    coef_tests = list(names = I(rownames(zc$table)), chisq = num(zc$table[, "chisq"]),
                      df = num(zc$table[, "df"]), p = num(zc$table[, "p"])),
    x = num(zc$x), time = num(zc$time), y = num(zc$y), y_ncol = ncol(zc$y)
  )
})

# --- write --------------------------------------------------------------------------------

out <- list(
  provenance = list(
    script = "tests/reference/survival/cox_robust_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    seed = 20261204,
    generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  ),
  tolerances = list(
    rtol = 1e-6, atol = 1e-10,
    note = paste(
      "Relative 1e-6 on every number, absolute 1e-10 near zero. Cox models are fitted",
      "with coxph.control(eps = 1e-10, iter.max = 100). se is sqrt(diag(vcov(fit))), the",
      "robust one when robust = TRUE or cluster is given; naive_se is from naive.var.",
      "zph: cox.zph(fit, transform) with terms = TRUE (tests) and terms = FALSE",
      "(per-coefficient tests, x, time and the scaled residuals y, column-major)."
    )
  ),
  datasets = datasets,
  factor_levels = factor_levels,
  cox = cox,
  zph = zph
)
write_json(out, "tests/reference/survival/cox_robust_reference.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null")
