# Reference values for msreboot.endpoints.exact_binomial_ci: Clopper-Pearson intervals
# from R's binom.test. Run from the repository root:
#   Rscript tests/reference/endpoints/binom_reference.R
# Writes tests/reference/endpoints/binom_reference.json (CI reads the JSON, never R).
library(jsonlite)
cases <- list(
  c(0, 24, 0.95), c(1, 24, 0.95), c(8, 281, 0.95), c(0, 151, 0.95), c(3, 55, 0.95),
  c(34, 55, 0.95), c(24, 24, 0.95), c(2, 180, 0.90), c(50, 100, 0.99), c(1, 1, 0.95)
)
rows <- lapply(cases, function(x) {
  ci <- binom.test(x[1], x[2], conf.level = x[3])$conf.int
  list(events = x[1], n = x[2], conf_level = x[3], ci_low = ci[1], ci_high = ci[2])
})
out <- list(
  generated_by = "tests/reference/endpoints/binom_reference.R",
  r_version = R.version.string,
  function_used = "stats::binom.test (Clopper-Pearson)",
  tolerance_abs = 1e-10,
  cases = rows
)
write_json(out, "tests/reference/endpoints/binom_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
