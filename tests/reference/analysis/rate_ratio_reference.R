# Reference numbers for the relapse-rate ratio of an emulated trial
# (msreboot.analysis._emulation_effects.weighted_rate_ratio): a Poisson model
# count ~ treated + offset(log(years)) with case weights (glm(weights =)) and a
# cluster-robust sandwich variance (sandwich::vcovCL(type = "HC0"), whose default
# cadjust = TRUE multiplies by G / (G - 1)).
#
# Run from the repository root:
#   Rscript tests/reference/analysis/rate_ratio_reference.R
# It writes rate_ratio_data.csv (seeded synthetic data drawn here: not patient data) and
# rate_ratio_reference.json beside this script; tests/analysis/test_emulation.py reads both
# (CI never runs R). Needs r-base-core, r-cran-sandwich and r-cran-jsonlite.
suppressPackageStartupMessages({
  library(sandwich)
  library(jsonlite)
})
set.seed(20261204)
here <- "tests/reference/analysis"
n <- 240
cluster <- rep(seq_len(n / 2), each = 2)
treated <- rep(c(1, 0), n / 2)
years <- round(runif(n, 0.5, 6), 3)
x <- rnorm(n)
count <- rpois(n, years * exp(-0.7 + 0.5 * x - 1.1 * treated))
weight <- round(exp(0.4 * x) * runif(n, 0.5, 1.5), 4)
data <- data.frame(count, years, treated, weight, cluster)
write.csv(data, file.path(here, "rate_ratio_data.csv"), row.names = FALSE)

out <- list()
for (case in c("weighted_cluster", "unweighted_rows")) {
  w <- if (case == "weighted_cluster") data$weight else rep(1, n)
  cl <- if (case == "weighted_cluster") data$cluster else seq_len(n)
  fit <- suppressWarnings(glm(count ~ treated + offset(log(years)), family = poisson,
                              data = data, weights = w))
  v <- vcovCL(fit, cluster = cl, type = "HC0")
  b <- unname(coef(fit)["treated"])
  se <- sqrt(v["treated", "treated"])
  z <- qnorm(0.975)
  out[[case]] <- list(
    rate_ratio = exp(b), ci_low = exp(b - z * se), ci_high = exp(b + z * se),
    p_value = 2 * pnorm(-abs(b / se)), std_err = se
  )
}
out$meta <- list(
  r = R.version.string,
  sandwich = as.character(packageVersion("sandwich")),
  tolerance = 1e-8,
  conf_level = 0.95
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "rate_ratio_reference.json"))
