# Reference numbers for competing-risks regression and tests, computed with R's cmprsk:
# the Fine-Gray model (crr: coefficients, sandwich and naive variances, log
# pseudo-likelihoods, predicted cumulative incidence) and Gray's test (cuminc: statistic,
# p-value and df per cause, unstratified and stratified, rho = 0 and weighted).
#
# Run from the repository root:
#   Rscript tests/reference/survival/competing_reference.R
# It writes tests/reference/survival/competing_data.csv (the seeded synthetic data) and
# tests/reference/survival/competing_reference.json, which the Python tests read (CI never
# runs R). Needs r-base-core, r-cran-survival (for mgus2), r-cran-cmprsk, r-cran-jsonlite.
# Only the outputs of cmprsk are used: the Python implementation is written from the
# published formulas (Fine and Gray 1999; Gray 1988).

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

mgus_d <- data.frame(
  time = ifelse(mgus2$pstat == 0, mgus2$futime, mgus2$ptime),
  status = ifelse(mgus2$pstat == 0, 2 * mgus2$death, 1),
  sex = as.character(mgus2$sex), age = mgus2$age, mspike = mgus2$mspike
)
mgus_d <- mgus_d[complete.cases(mgus_d), ]
rownames(mgus_d) <- NULL

set.seed(20261206)
n <- 240
synth_d <- data.frame(
  x1 = round(rnorm(n), 3),
  x2 = rbinom(n, 1, 0.4),
  group = sample(c("a", "b", "c"), n, replace = TRUE),
  stratum = sample(c("s1", "s2"), n, replace = TRUE)
)
t1 <- rexp(n, 0.08 * exp(0.5 * synth_d$x1 - 0.4 * synth_d$x2 +
                           0.5 * (synth_d$group == "b") + 0.3 * (synth_d$stratum == "s2")))
t2 <- rexp(n, 0.06 * exp(0.3 * (synth_d$group == "c")))
cens <- runif(n, 2, 30)
tt <- pmin(t1, t2, cens)
synth_d$status <- ifelse(tt == t1, 1, ifelse(tt == t2, 2, 0))
synth_d$time <- ceiling(tt)  # whole days: ties within and across causes and censorings
write.csv(synth_d, "tests/reference/survival/competing_data.csv", row.names = FALSE)

crties_d <- data.frame(
  time = c(0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 5, 5, 6, 6, 6, 7, 8, 9, 9, 10, 11, 12, 12),
  status = c(1, 1, 2, 0, 1, 1, 2, 2, 1, 0, 0, 1, 2, 1, 0, 0, 2, 1, 1, 2, 0, 2, 1, 0),
  group = rep(c("a", "b", "b"), 8)
)

datasets <- list(mgus2 = mgus_d, synth = synth_d, crties = crties_d)

# --- Fine-Gray (crr) ------------------------------------------------------------------------

crr_cases <- list(
  list(dataset = "mgus2", covariates = c("age", "sex"), cause = 1),
  list(dataset = "mgus2", covariates = c("age", "sex", "mspike"), cause = 2),
  list(dataset = "synth", covariates = c("x1", "x2", "group"), cause = 1),
  list(dataset = "synth", covariates = c("group"), cause = 2)
)
fine_gray <- lapply(crr_cases, function(case) {
  d <- datasets[[case$dataset]]
  form <- as.formula(paste("~", paste(case$covariates, collapse = " + ")))
  x <- model.matrix(form, data = d)[, -1, drop = FALSE]
  fit <- crr(d$time, d$status, x, failcode = case$cause, cencode = 0, gtol = 1e-10,
             maxiter = 100)
  profiles <- x[c(1, 2, 3), , drop = FALSE]
  pred <- predict(fit, profiles)
  list(
    case = case, terms = I(colnames(x)), converged = fit$converged,
    coef = num(fit$coef), var = num(fit$var), invinf = num(fit$invinf),
    se = num(sqrt(diag(fit$var))), loglik = num(fit$loglik),
    loglik_null = num(fit$loglik.null), uftime = num(fit$uftime), bfitj = num(fit$bfitj),
    profile_rows = I(c(0, 1, 2)), predict_time = num(pred[, 1]),
    predict = num(pred[, -1])
  )
})

# --- Gray's test (cuminc) -------------------------------------------------------------------

gray_cases <- list(
  list(dataset = "mgus2", group = "sex", strata = NULL),
  list(dataset = "synth", group = "group", strata = NULL),
  list(dataset = "synth", group = "group", strata = "stratum"),
  list(dataset = "synth", group = "x2", strata = "stratum"),
  list(dataset = "crties", group = "group", strata = NULL),
  list(dataset = "synth", group = "group", strata = "stratum", rho = 1),
  list(dataset = "mgus2", group = "sex", strata = NULL, rho = 2)
)
gray <- lapply(gray_cases, function(case) {
  d <- datasets[[case$dataset]]
  if (is.null(case$rho)) case$rho <- 0
  fit <- if (is.null(case$strata)) {
    cuminc(d$time, d$status, group = d[[case$group]], cencode = 0, rho = case$rho)
  } else {
    cuminc(d$time, d$status, group = d[[case$group]], strata = d[[case$strata]],
           cencode = 0, rho = case$rho)
  }
  tests <- fit$Tests
  list(case = case, causes = num(rownames(tests)), stat = num(tests[, "stat"]),
       pvalue = num(tests[, "pv"]), df = num(tests[, "df"]))
})

out <- list(
  provenance = list(
    script = "tests/reference/survival/competing_reference.R",
    r_version = R.version.string,
    cmprsk_version = as.character(packageVersion("cmprsk")),
    survival_version = as.character(packageVersion("survival")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    seed = 20261206,
    generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  ),
  tolerances = list(
    rtol = 1e-6, atol = 1e-10,
    note = paste(
      "Relative 1e-6, absolute 1e-10 near zero. crr is run with gtol = 1e-10 and",
      "maxiter = 100; covariates coded by model.matrix (treatment contrasts). var is",
      "crr's sandwich variance, invinf the inverse information; matrices column-major.",
      "predict is predict.crr for the first three rows (columns = profiles)."
    )
  ),
  datasets = datasets,
  fine_gray = fine_gray,
  gray = gray
)
write_json(out, "tests/reference/survival/competing_reference.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null")
