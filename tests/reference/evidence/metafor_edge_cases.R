# Reference numbers for the edge cases of msreboot.evidence.pool, computed with R's metafor.
#
# Run from the repository root:
#   Rscript tests/reference/evidence/metafor_edge_cases.R
# It writes tests/reference/evidence/metafor_edge_cases.json, which the Python tests read.
# CI never runs R. Needs the Debian packages r-base-core, r-cran-metafor and r-cran-jsonlite.
#
# Cases:
# - identical_pair: two studies with the same effect and variance. With test = "knha"
#   metafor gives SE 0, a zero-width interval and p = 0 without a warning; msreboot gives
#   the same numbers and warns.
# - tiny_variances: variances of 1e-300 (weights of 1e300, whose squares overflow).
# Only metafor's *outputs* are used; the Python implementation is written from the formulas.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

num <- function(x) {
  x <- as.numeric(x)
  x[is.infinite(x) | is.nan(x)] <- NA
  x
}

ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
methods <- c("FE", "DL", "PM", "REML", "ML")
tests <- c("z", "knha")

cases <- list(
  identical_pair = list(yi = c(0.5, 0.5), vi = c(0.1, 0.1)),
  tiny_variances = list(yi = c(0.5, 0.7), vi = c(1e-300, 1e-300))
)

out <- list()
for (nm in names(cases)) {
  d <- cases[[nm]]
  fits <- list()
  for (m in methods) {
    for (t in tests) {
      fit <- suppressWarnings(rma(yi = d$yi, vi = d$vi, method = m, test = t, control = ctrl))
      pr <- predict(fit)
      fits[[paste(m, t, sep = "_")]] <- list(
        estimate = num(fit$b[1]), se = num(fit$se[1]),
        ci_low = num(fit$ci.lb[1]), ci_high = num(fit$ci.ub[1]),
        pval = num(fit$pval[1]), tau2 = num(fit$tau2),
        pi_low = num(if (is.null(pr$pi.lb)) pr$ci.lb[1] else pr$pi.lb[1]),
        pi_high = num(if (is.null(pr$pi.ub)) pr$ci.ub[1] else pr$pi.ub[1])
      )
    }
  }
  out[[nm]] <- list(yi = d$yi, vi = d$vi, fits = fits)
}

result <- list(
  provenance = list(
    script = "tests/reference/evidence/metafor_edge_cases.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")
  ),
  tolerances = list(
    rtol = 1e-6,
    atol = 1e-12,
    control = "rma(..., control = list(threshold = 1e-12, tol = 1e-12))",
    note = "FE, DL closed form; PM, REML, ML iterative (the roots are exact here)"
  ),
  cases = out
)

path <- file.path("tests", "reference", "evidence", "metafor_edge_cases.json")
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), path)
cat("wrote", path, "\n")
