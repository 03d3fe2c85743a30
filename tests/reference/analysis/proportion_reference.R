# Reference numbers for the weighted proportions and their risk difference in an emulated
# trial (msreboot.analysis._emulation_proportions.weighted_proportions): a weighted linear
# probability model y ~ treated (glm(family = gaussian, weights =)) with a cluster-robust
# sandwich variance (sandwich::vcovCL(type = "HC0"), whose default cadjust = TRUE
# multiplies by G / (G - 1)). The control proportion is the intercept, the treated one the
# intercept plus the slope, the risk difference the slope.
#
# Run from the repository root:
#   Rscript tests/reference/analysis/proportion_reference.R
# It writes proportion_data.csv (seeded synthetic data drawn here: not patient data) and
# proportion_reference.json beside this script; tests/analysis/test_emulation_proportions.py
# reads both (CI never runs R). Needs r-base-core, r-cran-sandwich and r-cran-jsonlite.
suppressPackageStartupMessages({
  library(sandwich)
  library(jsonlite)
})
set.seed(20261205)
here <- "tests/reference/analysis"
n <- 240
# matched sets of 1 treated and 2 controls, then 60 singletons (patients)
cluster <- c(rep(seq_len(60), each = 3), 60 + seq_len(60))
treated <- c(rep(c(1, 0, 0), 60), rbinom(60, 1, 0.5))
x <- rnorm(n)
y <- rbinom(n, 1, plogis(-0.5 + 0.6 * x + 0.8 * treated))
weight <- round(c(rep(c(1, 0.5, 0.5), 60), exp(0.4 * x[181:240]) * runif(60, 0.5, 1.5)), 4)
data <- data.frame(y, treated, weight, cluster)
write.csv(data, file.path(here, "proportion_data.csv"), row.names = FALSE)

out <- list()
for (case in c("weighted_cluster", "unweighted_rows")) {
  w <- if (case == "weighted_cluster") data$weight else rep(1, n)
  cl <- if (case == "weighted_cluster") data$cluster else seq_len(n)
  fit <- glm(y ~ treated, family = gaussian, data = data, weights = w)
  v <- vcovCL(fit, cluster = cl, type = "HC0")
  b <- unname(coef(fit))
  a1 <- c(1, 1)
  out[[case]] <- list(
    proportion_control = b[1], std_err_control = sqrt(v[1, 1]),
    proportion_treated = b[1] + b[2], std_err_treated = sqrt(drop(t(a1) %*% v %*% a1)),
    difference = b[2], std_err_difference = sqrt(v[2, 2]),
    p_value = 2 * pnorm(-abs(b[2] / sqrt(v[2, 2])))
  )
}
out$meta <- list(
  r = R.version.string,
  sandwich = as.character(packageVersion("sandwich")),
  tolerance = 1e-10,
  conf_level = 0.95
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "proportion_reference.json"))
