# Reference numbers for msreboot.evidence's effect sizes, Mantel-Haenszel / Peto pooling,
# small-study tests, trim-and-fill, influence diagnostics, cumulative and multilevel
# meta-analysis, computed with R's metafor.
#
# Run from the repository root:
#   Rscript tests/reference/evidence/metafor_bias_influence.R
# It writes tests/reference/evidence/metafor_bias_influence.json, which the Python tests
# read (CI never runs R). Needs r-base-core, r-cran-metafor (with r-cran-metadat) and
# r-cran-jsonlite.
#
# Only metafor's *outputs* are used: the Python code is written from the published formulas.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

num <- function(x) {
  x <- as.numeric(x)
  x[is.infinite(x) | is.nan(x)] <- NA
  x
}

# Tight convergence for the iterative estimators (metafor's defaults stop early).
ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
mv_ctrl <- list(rel.tol = 1e-12, eval.max = 10000, iter.max = 10000)

# --- data -----------------------------------------------------------------------------------

bcg <- dat.bcg
two_by_two <- list(
  bcg = list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg, year = bcg$year),
  # AHSCT-like counts (invented for the test): TRM-like events, one double-zero study,
  # zero cells in either arm.
  sparse = list(
    ai = c(0, 1, 2, 0, 3, 4, 1),
    bi = c(55, 19, 108, 24, 49, 36, 30),
    ci = c(0, 0, 3, 2, 5, 9, 1),
    di = c(55, 21, 97, 24, 45, 32, 29),
    year = c(2006, 2009, 2011, 2014, 2017, 2019, 2021)
  )
)
norm <- dat.normand1999
means <- list(
  m1i = norm$m1i, sd1i = norm$sd1i, n1i = norm$n1i,
  m2i = norm$m2i, sd2i = norm$sd2i, n2i = norm$n2i
)
hack <- dat.hackshaw1998
generic <- list(
  hackshaw1998 = list(yi = num(hack$yi), vi = num(hack$vi), year = hack$year),
  bcg_rr = local({
    es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
    list(yi = num(es$yi), vi = num(es$vi), year = bcg$year)
  })
)

# --- effect sizes (escalc) ------------------------------------------------------------------

out_escalc <- list()
for (nm in names(two_by_two)) {
  d <- two_by_two[[nm]]
  block <- list(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di)
  for (measure in c("OR", "RR", "RD")) {
    for (to in c("only0", "all", "if0all", "none")) {
      for (drop00 in c(FALSE, TRUE)) {
        es <- suppressWarnings(escalc(measure, ai = d$ai, bi = d$bi, ci = d$ci, di = d$di,
                                      add = 1/2, to = to, drop00 = drop00))
        block[[paste(measure, to, drop00, sep = "_")]] <- list(yi = num(es$yi), vi = num(es$vi))
      }
    }
  }
  out_escalc[[nm]] <- block
}
out_means <- c(means, list(
  MD = local({ es <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i,
                            sd2i = sd2i, n2i = n2i, data = norm)
               list(yi = num(es$yi), vi = num(es$vi)) }),
  SMD = local({ es <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i,
                             sd2i = sd2i, n2i = n2i, data = norm)
                list(yi = num(es$yi), vi = num(es$vi)) })
))

# --- Mantel-Haenszel and Peto ----------------------------------------------------------------

fixed_summary <- function(fit) {
  list(
    estimate = num(fit$b[1]), se = num(fit$se[1]), ci_low = num(fit$ci.lb[1]),
    ci_high = num(fit$ci.ub[1]), zval = num(fit$zval[1]), pval = num(fit$pval[1]),
    q = num(fit$QE), q_pvalue = num(fit$QEp), i2 = num(fit$I2) / 100, h2 = num(fit$H2),
    k = fit$k, k_pooled = if (is.null(fit$k.pos)) NA else fit$k.pos,
    weights = num(weights(fit) / 100), yi = num(fit$yi), vi = num(fit$vi)
  )
}
out_mh <- list()
for (nm in names(two_by_two)) {
  d <- two_by_two[[nm]]
  block <- list()
  for (measure in c("OR", "RR", "RD")) {
    fit <- suppressWarnings(rma.mh(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di, measure = measure))
    block[[measure]] <- fixed_summary(fit)
  }
  fit <- suppressWarnings(rma.peto(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di))
  block$PETO <- fixed_summary(fit)
  out_mh[[nm]] <- block
}

# --- small-study tests, trim-and-fill, influence, cumulative ---------------------------------

uni_summary <- function(fit) {
  list(estimate = num(fit$b[1]), se = num(fit$se[1]), ci_low = num(fit$ci.lb[1]),
       ci_high = num(fit$ci.ub[1]), tau2 = num(fit$tau2), k = fit$k)
}

bias_block <- function(yi, vi, year, method, test = "z") {
  fit <- suppressWarnings(rma(yi = yi, vi = vi, method = method, test = test, control = ctrl))
  out <- list(method = method, test = test, fit = uni_summary(fit))
  if (method != "FE" && test == "z") {
    # metafor's default convergence, recorded beside the tight fit (PITFALLS.md)
    out$fit_default_control <- uni_summary(suppressWarnings(rma(yi = yi, vi = vi,
                                                                method = method)))
  }
  for (pred in c("sei", "vi")) {
    for (model in c("rma", "lm")) {
      rt <- suppressWarnings(regtest(fit, model = model, predictor = pred, ret.fit = TRUE))
      slope <- if (model == "rma") c(rt$fit$beta[2], rt$fit$se[2]) else
        summary(rt$fit)$coefficients[2, 1:2]
      out$regtest[[paste(model, pred, sep = "_")]] <- list(
        statistic = num(rt$zval), pvalue = num(rt$pval),
        df = if (is.null(rt$dfs)) NA else num(rt$dfs),
        limit = num(rt$est), limit_ci_low = num(rt$ci.lb), limit_ci_high = num(rt$ci.ub),
        slope = num(slope[1]), slope_se = num(slope[2])
      )
    }
  }
  for (exact in c(TRUE, FALSE)) {
    rk <- suppressWarnings(ranktest(fit, exact = exact))
    out$ranktest[[if (exact) "exact" else "normal"]] <- list(tau = num(rk$tau),
                                                              pvalue = num(rk$pval))
  }
  for (estimator in c("L0", "R0")) {
    for (side in c("auto", "left", "right")) {
      # control passed on: trimfill's own refits otherwise use metafor's default convergence
      tf <- if (side == "auto") suppressWarnings(trimfill(fit, estimator = estimator,
                                                          control = ctrl)) else
        suppressWarnings(trimfill(fit, estimator = estimator, side = side, control = ctrl))
      out$trimfill[[paste(estimator, side, sep = "_")]] <- c(uni_summary(tf), list(
        k0 = tf$k0, side = tf$side, yi = num(tf$yi), vi = num(tf$vi), fill = as.logical(tf$fill)
      ))
    }
  }
  inf <- influence(fit)
  infl <- inf$inf
  out$influence <- list(
    rstudent = num(infl$rstudent), dffits = num(infl$dffits), cook_d = num(infl$cook.d),
    cov_r = num(infl$cov.r), tau2_del = num(infl$tau2.del), qe_del = num(infl$QE.del),
    hat = num(infl$hat), weight = num(infl$weight) / 100,
    dfbetas = num(inf$dfbs[[1]]), influential = as.logical(inf$is.infl)
  )
  pdf(NULL)
  bj <- baujat(fit)
  dev.off()
  out$baujat <- list(x = num(bj$x), y = num(bj$y))
  cm <- cumul(fit, order = year)  # refits with the fit's own (tight) control
  out$cumul <- list(
    order = order(year) - 1L, estimate = num(cm$estimate), se = num(cm$se),
    ci_low = num(cm$ci.lb), ci_high = num(cm$ci.ub), pvalue = num(cm$pval),
    q = num(if (is.null(cm$QE)) cm$Q else cm$QE), tau2 = num(cm$tau2), i2 = num(cm$I2) / 100, h2 = num(cm$H2)
  )
  out
}

out_bias <- list()
for (nm in names(generic)) {
  d <- generic[[nm]]
  out_bias[[nm]] <- list(yi = d$yi, vi = d$vi, year = d$year, fits = list())
  for (method in c("FE", "DL", "REML")) {
    out_bias[[nm]]$fits[[method]] <- bias_block(d$yi, d$vi, d$year, method)
  }
  # Hartung-Knapp: every refit (regtest, trimfill, influence, cumul) keeps test = "knha"
  out_bias[[nm]]$fits[["REML_knha"]] <- bias_block(d$yi, d$vi, d$year, "REML", "knha")
}

# --- multilevel (rma.mv, random = ~ 1 | study/arm) -------------------------------------------

# AHSCT-like: logit progression-free survival of cohorts reported at several years
# (invented numbers for the test, not published figures).
ahsct_ml <- data.frame(
  study = c("a", "a", "a", "b", "b", "c", "c", "c", "d", "e", "e"),
  arm = c("2y", "3y", "5y", "2y", "5y", "1y", "3y", "5y", "3y", "2y", "4y"),
  yi = c(2.20, 1.85, 1.30, 1.60, 1.05, 2.90, 2.10, 1.65, 1.40, 2.45, 1.70),
  vi = c(0.21, 0.15, 0.11, 0.09, 0.07, 0.35, 0.19, 0.14, 0.05, 0.26, 0.16)
)
kon <- dat.konstantopoulos2011
multilevel_data <- list(
  konstantopoulos2011 = data.frame(study = as.character(kon$district),
                                   arm = as.character(kon$school), yi = kon$yi, vi = kon$vi),
  ahsct_like = ahsct_ml
)
# nlminb with rel.tol = 1e-12 where it converges; otherwise (a variance component on the
# boundary) optim's BFGS with reltol = 1e-14.
fit_mv_tight <- function(d, method) {
  fit <- tryCatch(rma.mv(yi, vi, random = ~ 1 | study/arm, data = d, method = method,
                         control = mv_ctrl), error = function(e) NULL)
  if (is.null(fit)) {
    fit <- rma.mv(yi, vi, random = ~ 1 | study/arm, data = d, method = method,
                  control = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14,
                                 maxit = 10000))
  }
  fit
}
out_mv <- list()
for (nm in names(multilevel_data)) {
  d <- multilevel_data[[nm]]
  block <- list(study = d$study, arm = d$arm, yi = d$yi, vi = d$vi)
  for (method in c("REML", "ML")) {
    for (tight in c(TRUE, FALSE)) {
      fit <- if (tight) fit_mv_tight(d, method) else
        rma.mv(yi, vi, random = ~ 1 | study/arm, data = d, method = method)
      pr <- predict(fit)
      block[[paste(method, if (tight) "tight" else "default", sep = "_")]] <- list(
        estimate = num(fit$b[1]), se = num(fit$se[1]), ci_low = num(fit$ci.lb[1]),
        ci_high = num(fit$ci.ub[1]), zval = num(fit$zval[1]), pval = num(fit$pval[1]),
        sigma2 = num(fit$sigma2), loglik = num(fitstats(fit)[1]),
        q = num(fit$QE), q_pvalue = num(fit$QEp), pi_low = num(pr$pi.lb),
        pi_high = num(pr$pi.ub), k = fit$k
      )
    }
  }
  out_mv[[nm]] <- block
}

# --- write ------------------------------------------------------------------------------------

out <- list(
  provenance = list(
    script = "tests/reference/evidence/metafor_bias_influence.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  ),
  tolerances = list(
    closed_form_rtol = 1e-6, iterative_rtol = 1e-6, iterative_atol = 1e-8,
    control_uni = "rma(..., control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000))",
    control_mv = "rma.mv(..., control = list(rel.tol = 1e-12, eval.max = 1e4, iter.max = 1e4)); '_default' entries are metafor's defaults, recorded for comparison",
    note = "closed form: escalc, rma.mh, rma.peto, FE and DL fits, ranktest, regtest lm; iterative: REML fits, regtest rma, trimfill, influence, baujat, cumul with REML, rma.mv"
  ),
  escalc = out_escalc, means = out_means, mantel_haenszel = out_mh, bias = out_bias,
  multilevel = out_mv
)
write_json(out, "tests/reference/evidence/metafor_bias_influence.json", auto_unbox = TRUE,
           digits = NA, pretty = TRUE, na = "null")
cat("wrote tests/reference/evidence/metafor_bias_influence.json\n")
