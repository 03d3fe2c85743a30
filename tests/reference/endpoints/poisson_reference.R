# Reference values for msreboot.endpoints.exact_poisson_ci: exact intervals of an event
# rate from R's poisson.test. Run from the repository root:
#   Rscript tests/reference/endpoints/poisson_reference.R
# Writes tests/reference/endpoints/poisson_reference.json (CI reads the JSON, never R).
library(jsonlite)
cases <- list(
  c(167, 140, 0.95), c(0, 140, 0.95), c(0, 314.5, 0.90), c(1, 0.5, 0.95), c(12, 37.25, 0.95),
  c(3, 55, 0.99), c(250, 1000, 0.95), c(5, 2.75, 0.90)
)
rows <- lapply(cases, function(x) {
  ci <- poisson.test(x[1], x[2], conf.level = x[3])$conf.int
  list(events = x[1], person_years = x[2], conf_level = x[3], ci_low = ci[1], ci_high = ci[2])
})
out <- list(
  generated_by = "tests/reference/endpoints/poisson_reference.R",
  r_version = R.version.string,
  function_used = "stats::poisson.test (exact, Garwood)",
  tolerance_rel = 1e-10,
  cases = rows
)
write_json(out, "tests/reference/endpoints/poisson_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
