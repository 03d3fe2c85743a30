# Reference values for msreboot.trials._sample_size.fit_power_curve: the logistic power
# curve logit(power) = a + b * sqrt(n) fitted to simulated significant counts by R's glm,
# and the size of a target power with its delta-method interval. Run from the repository
# root:
#   Rscript tests/reference/trials/power_curve_reference.R
# Writes tests/reference/trials/power_curve_reference.json (CI reads the JSON, never R).
library(jsonlite)
cases <- list(
  list(n = c(25, 32, 36, 37, 38, 40, 71, 132, 255, 500),
       k = c(26, 30, 30, 32, 33, 34, 39, 40, 40, 40), m = 40, target = 0.8),
  list(n = c(10, 20, 40, 80), k = c(2, 5, 11, 17), m = 20, target = 0.8),
  list(n = c(30, 60, 90, 120, 150), k = c(41, 66, 80, 91, 96), m = 100, target = 0.9)
)
rows <- lapply(cases, function(case) {
  fit <- glm(cbind(case$k, case$m - case$k) ~ sqrt(case$n), family = binomial,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  a <- unname(coef(fit)[1]); b <- unname(coef(fit)[2]); v <- unname(vcov(fit))
  r <- (qlogis(case$target) - a) / b
  g <- c(-2 * r / b, -2 * r^2 / b)
  se <- sqrt(drop(t(g) %*% v %*% g))
  list(n = case$n, significant = case$k, replicates = case$m, target = case$target,
       intercept = a, slope = b, covariance = v, n_target = r^2,
       n_low = max(0, r^2 - qnorm(0.975) * se), n_high = r^2 + qnorm(0.975) * se,
       fitted = unname(fitted(fit)))
})
out <- list(
  generated_by = "tests/reference/trials/power_curve_reference.R",
  r_version = R.version.string,
  function_used = "stats::glm(binomial) and the delta method on ((qlogis(target) - a) / b)^2",
  tolerance_rel = 1e-6,
  cases = rows
)
write_json(out, "tests/reference/trials/power_curve_reference.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE)
