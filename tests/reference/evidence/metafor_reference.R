# Reference numbers for msreboot.evidence, computed with R's metafor.
#
# Run from the repository root:
#   Rscript tests/reference/evidence/metafor_reference.R
# It writes tests/reference/evidence/metafor_reference.json, which the Python tests read.
# CI never runs R. Needs the Debian packages r-base-core, r-cran-metafor (pulls in
# r-cran-metadat), r-cran-jsonlite and, for the GLMM, r-cran-lme4.
#
# Only metafor's *outputs* are used by msreboot: the Python implementation is written from
# the published formulas, not from metafor's (GPL) source.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

has_lme4 <- requireNamespace("lme4", quietly = TRUE)

num <- function(x) {
  x <- as.numeric(x)
  x[is.infinite(x) | is.nan(x)] <- NA
  x
}

# --- datasets ---------------------------------------------------------------------------

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$region <- ifelse(bcg$ablat >= 33, "far", "near")

homogeneous <- data.frame(
  yi = c(0.10, 0.12, 0.11, 0.09, 0.105),
  vi = c(0.040, 0.050, 0.030, 0.060, 0.045)
)
single <- data.frame(yi = 0.4, vi = 0.09)
pair <- data.frame(yi = c(0.2, 0.9), vi = c(0.04, 0.05))

generic <- list(
  bcg = list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi)),
  homogeneous = list(yi = homogeneous$yi, vi = homogeneous$vi),
  pair = list(yi = pair$yi, vi = pair$vi),
  single = list(yi = single$yi, vi = single$vi)
)

# Proportions: metafor's dat.pritz1997 and a small set with a zero-event study.
pritz <- dat.pritz1997
zeros <- data.frame(xi = c(0, 1, 2, 8, 0, 3, 5), ni = c(24, 151, 281, 110, 50, 90, 40))
props <- list(
  pritz1997 = list(xi = as.numeric(pritz$xi), ni = as.numeric(pritz$ni)),
  zeros = list(xi = zeros$xi, ni = zeros$ni)
)

# Incidence rates: events and person-years, one study with no events.
rates <- list(
  xi = c(3, 0, 12, 7, 20, 1),
  ti = c(140.0, 35.5, 300.0, 98.2, 410.0, 60.0)
)

methods <- c("FE", "DL", "PM", "REML", "ML")

# Tight convergence: metafor's defaults stop Fisher scoring when tau^2 changes by < 1e-5
# (absolute) and root-finding at tol = eps^0.25, too coarse for a 1e-4 relative check on
# small tau^2 (e.g. raw proportions). The Python side solves to machine precision.
ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
ci_ctrl <- list(tol = 1e-12, maxiter = 10000, tau2.max = 1e4)
tests <- c("z", "knha")

# --- helpers ------------------------------------------------------------------------------

fit_summary <- function(fit, transf = NULL, targs = NULL) {
  pr <- if (is.null(transf)) predict(fit) else predict(fit, transf = transf, targs = targs)
  out <- list(
    estimate = num(fit$b[1]), se = num(fit$se[1]),
    ci_low = num(fit$ci.lb[1]), ci_high = num(fit$ci.ub[1]),
    zval = num(fit$zval[1]), pval = num(fit$pval[1]),
    tau2 = num(fit$tau2), i2 = num(fit$I2) / 100, h2 = num(fit$H2),
    q = num(fit$QE), q_df = num(fit$k - fit$p), q_pvalue = num(fit$QEp),
    k = fit$k,
    weights = num(weights(fit) / 100),
    pred = num(pr$pred[1]),
    pred_ci_low = num(pr$ci.lb[1]), pred_ci_high = num(pr$ci.ub[1]),
    pi_low = num(if (is.null(pr$pi.lb)) pr$ci.lb[1] else pr$pi.lb[1]),
    pi_high = num(if (is.null(pr$pi.ub)) pr$ci.ub[1] else pr$pi.ub[1])
  )
  if (!(fit$method %in% c("FE", "EE", "CE")) && fit$k > 1) {
    ci <- tryCatch(suppressMessages(suppressWarnings(confint(fit, control = ci_ctrl))), error = function(e) NULL)
    if (!is.null(ci)) {
      out$tau2_ci <- num(ci$random["tau^2", c("ci.lb", "ci.ub")])
      out$i2_ci <- num(ci$random["I^2(%)", c("ci.lb", "ci.ub")]) / 100
    }
  }
  out
}

fit_all <- function(yi, vi, transf = NULL, targs = NULL, ...) {
  res <- list()
  for (m in methods) {
    for (t in tests) {
      if (m == "FE" && t == "knha") next
      fit <- tryCatch(
        suppressWarnings(rma(yi = yi, vi = vi, method = m, test = t, control = ctrl, ...)),
        error = function(e) NULL
      )
      if (is.null(fit)) next
      res[[paste(m, t, sep = "_")]] <- fit_summary(fit, transf, targs)
    }
  }
  res
}

# --- generic yi / vi ----------------------------------------------------------------------

out_generic <- list()
for (nm in names(generic)) {
  d <- generic[[nm]]
  out_generic[[nm]] <- list(yi = d$yi, vi = d$vi, fits = fit_all(d$yi, d$vi))
}

# --- proportions --------------------------------------------------------------------------

out_props <- list()
for (nm in names(props)) {
  d <- props[[nm]]
  one <- list(xi = d$xi, ni = d$ni)
  for (measure in c("PLO", "PR", "PFT")) {
    es <- escalc(measure = measure, xi = d$xi, ni = d$ni)
    transf <- switch(measure, PLO = transf.ilogit, PR = NULL, PFT = transf.ipft.hm)
    targs <- if (measure == "PFT") list(ni = d$ni) else NULL
    fits <- list()
    for (m in c("FE", "DL", "REML")) {
      fit <- suppressWarnings(rma(yi = es$yi, vi = es$vi, method = m, control = ctrl))
      fits[[m]] <- fit_summary(fit, transf, targs)
    }
    one[[measure]] <- list(yi = num(es$yi), vi = num(es$vi), fits = fits)
  }
  if (has_lme4) {
    g <- suppressWarnings(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni))
    pg <- predict(g, transf = transf.ilogit)
    one$GLMM <- list(
      estimate = num(g$b[1]), se = num(g$se[1]), ci_low = num(g$ci.lb[1]),
      ci_high = num(g$ci.ub[1]), tau2 = num(g$tau2),
      pred = num(pg$pred[1]), pred_ci_low = num(pg$ci.lb[1]), pred_ci_high = num(pg$ci.ub[1]),
      pi_low = num(pg$pi.lb[1]), pi_high = num(pg$pi.ub[1]),
      nagq = 7L
    )
  }
  out_props[[nm]] <- one
}

# --- incidence rates ----------------------------------------------------------------------

es_rate <- escalc(measure = "IRLN", xi = rates$xi, ti = rates$ti)
rate_fits <- list()
for (m in c("FE", "DL", "REML")) {
  fit <- suppressWarnings(rma(yi = es_rate$yi, vi = es_rate$vi, method = m, control = ctrl))
  rate_fits[[m]] <- fit_summary(fit, exp)
}
out_rates <- list(xi = rates$xi, ti = rates$ti, yi = num(es_rate$yi), vi = num(es_rate$vi),
                  fits = rate_fits)

# --- subgroups (dat.bcg by allocation) ------------------------------------------------------

sub <- list(groups = as.character(bcg$alloc), pools = list())
ests <- c()
ses <- c()
for (g in sort(unique(bcg$alloc))) {
  fit <- rma(yi, vi, data = bcg, subset = alloc == g, method = "REML", control = ctrl)
  sub$pools[[g]] <- fit_summary(fit)
  ests <- c(ests, fit$b[1])
  ses <- c(ses, fit$se[1])
}
between <- rma(yi = ests, sei = ses, method = "FE")
sub$q_between <- num(between$QE)
sub$q_between_df <- num(between$k - 1)
sub$q_between_pvalue <- num(between$QEp)
common <- rma(yi, vi, mods = ~ factor(alloc), data = bcg, method = "REML",
              control = ctrl)
sub$common_tau2 <- list(tau2 = num(common$tau2), qm = num(common$QM), qm_df = num(common$QMdf[1]),
                        qm_pvalue = num(common$QMp))

# --- meta-regression ----------------------------------------------------------------------

reg <- list(ablat = as.numeric(bcg$ablat), year = as.numeric(bcg$year), fits = list())
for (spec in c("ablat", "ablat+year")) {
  for (t in tests) {
    f <- as.formula(paste("~", spec))
    fit <- rma(yi, vi, mods = f, data = bcg, method = "REML", test = t, control = ctrl)
    reg$fits[[paste(spec, t, sep = "_")]] <- list(
      coef = num(fit$b), se = num(fit$se), stat = num(fit$zval), pval = num(fit$pval),
      ci_low = num(fit$ci.lb), ci_high = num(fit$ci.ub),
      tau2 = num(fit$tau2), i2 = num(fit$I2) / 100, h2 = num(fit$H2),
      qm = num(fit$QM), qm_df = num(fit$QMdf), qm_pvalue = num(fit$QMp),
      qe = num(fit$QE), qe_df = num(fit$k - fit$p), qe_pvalue = num(fit$QEp),
      r2 = num(fit$R2) / 100
    )
  }
}

# --- leave-one-out ------------------------------------------------------------------------

fit_bcg <- rma(yi, vi, data = bcg, method = "REML", control = ctrl)
l1o <- leave1out(fit_bcg)
loo <- list(estimate = num(l1o$estimate), se = num(l1o$se), ci_low = num(l1o$ci.lb),
            ci_high = num(l1o$ci.ub), q = num(l1o$Q), q_pvalue = num(l1o$Qp),
            tau2 = num(l1o$tau2), i2 = num(l1o$I2) / 100, h2 = num(l1o$H2))

# --- write --------------------------------------------------------------------------------

result <- list(
  provenance = list(
    script = "tests/reference/evidence/metafor_reference.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    lme4_version = if (has_lme4) as.character(packageVersion("lme4")) else NA,
    jsonlite_version = as.character(packageVersion("jsonlite")),
    generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  ),
  tolerances = list(
    closed_form_rtol = 1e-6,
    iterative_rtol = 1e-4,
    iterative_atol = 1e-6,
    control = "rma(..., control = list(threshold = 1e-12, tol = 1e-12)); confint tau2.max = 1e4",
    glmm_rtol = 1e-4,
    note = paste(
      "closed_form: FE, DL, escalc, Q, I2, H2, Wald/HK intervals given tau2;",
      "iterative: PM, REML, ML, Q-profile tau2 CI, meta-regression, leave-one-out;",
      "glmm: binomial-normal model (lme4 adaptive Gauss-Hermite, nAGQ = 7)"
    )
  ),
  generic = out_generic,
  proportions = out_props,
  rates = out_rates,
  subgroups = sub,
  meta_regression = reg,
  leave_one_out = loo
)

path <- file.path("tests", "reference", "evidence", "metafor_reference.json")
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), path)
cat("wrote", path, "\n")
