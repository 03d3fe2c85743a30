# Immune reconstitution reference: median and quartiles (R's default quantile, type 7) of
# lymphocyte-subset counts by months since AHSCT, computed here independently of msreboot
# from the rules in msreboot.analysis.immune_reconstitution's docstring.
#
# Writes, beside this script: reconstitution_courses.csv and reconstitution_labs.csv (the
# synthetic input, seeded) and reconstitution_reference.json (the expected table).
# Run from the repository root: Rscript tests/reference/analysis/reconstitution_reference.R
suppressPackageStartupMessages(library(jsonlite))

here <- "tests/reference/analysis"
set.seed(20261204)
analytes <- c("lymphocytes", "cd4", "cd8", "cd19", "nk")
months <- c(1, 3, 6, 12, 24, 36, 48, 60)
per_month <- 365.25 / 12
baseline_days <- 365

# --- synthetic courses: 40 transplanted patients, 2 on a DMT only -----------------------
n <- 40
ids <- sprintf("R%02d", seq_len(n))
day0 <- as.Date("2012-01-01") + sample(0:2000, n, replace = TRUE)
mob <- ifelse(runif(n) < 0.5, day0 - sample(30:60, n, replace = TRUE), NA)
cond <- ifelse(runif(n) < 0.8, day0 - sample(4:9, n, replace = TRUE), NA)
adm <- ifelse(runif(n) < 0.7, day0 - sample(8:12, n, replace = TRUE), NA)
courses <- data.frame(
  patient_id = ids, kind = "ahsct", start_date = day0,
  mobilisation_date = as.Date(mob, origin = "1970-01-01"),
  conditioning_start_date = as.Date(cond, origin = "1970-01-01"),
  admission_date = as.Date(adm, origin = "1970-01-01")
)
# R03 has a second course three years later: not a new origin
second <- data.frame(
  patient_id = "R03", kind = "ahsct", start_date = day0[3] + 1100,
  mobilisation_date = as.Date(NA), conditioning_start_date = day0[3] + 1094,
  admission_date = as.Date(NA)
)
dmt <- data.frame(
  patient_id = c("D01", "D02"), kind = "dmt", start_date = as.Date(c("2014-03-01", "2016-05-05")),
  mobilisation_date = as.Date(NA), conditioning_start_date = as.Date(NA),
  admission_date = as.Date(NA)
)
courses <- rbind(courses, second, dmt)

# --- synthetic results: random days from a year before to six years after -------------
rows <- list()
for (i in seq_len(n)) {
  for (a in analytes) {
    k <- sample(4:14, 1)
    days <- sample(-420:2150, k)
    if (i %% 5 == 0) days <- c(days, 15, 16, 60, 61, 136, 137, 273, 274)  # window edges
    if (i %% 7 == 0) days <- c(days, 730, 731)  # a tie around month 24: the earlier wins
    if (i == 11) days <- c(1:14)  # only aplasia
    days <- unique(days)
    value <- round(rlnorm(length(days), log(400), 0.6), 1)
    rows[[length(rows) + 1]] <- data.frame(
      patient_id = ids[i], date = day0[i] + days, analyte = a, value = value
    )
  }
}
rows[[length(rows) + 1]] <- data.frame(
  patient_id = "D01", date = as.Date("2014-06-01"), analyte = "cd4", value = 500
)
labs <- do.call(rbind, rows)
labs <- labs[!duplicated(labs[, c("patient_id", "date", "analyte")]), ]
write.csv(courses, file.path(here, "reconstitution_courses.csv"), row.names = FALSE, na = "")
write.csv(labs, file.path(here, "reconstitution_labs.csv"), row.names = FALSE, na = "")

# --- the expected table -------------------------------------------------------------------
ahsct <- courses[courses$kind == "ahsct", ]
ahsct <- ahsct[order(ahsct$patient_id, ahsct$start_date), ]
first <- ahsct[!duplicated(ahsct$patient_id), ]
start <- pmin(first$mobilisation_date, first$conditioning_start_date, first$admission_date,
              first$start_date, na.rm = TRUE)
lab <- labs[labs$patient_id %in% first$patient_id, ]
m <- match(lab$patient_id, first$patient_id)
lab$day <- as.numeric(lab$date - first$start_date[m])
lab$course_start <- as.numeric(start[m] - first$start_date[m])

points <- c(0, months)
windows <- lapply(seq_along(months), function(i) {
  low <- (points[i] + points[i + 1]) / 2
  gap <- if (i < length(months)) points[i + 2] - points[i + 1] else points[i + 1] - points[i]
  c(low, points[i + 1] + gap / 2) * per_month
})

stat <- function(x) {
  if (length(x) == 0) return(list(n = 0L, median = NA, q1 = NA, q3 = NA))
  q <- quantile(x, c(0.25, 0.5, 0.75), type = 7, names = FALSE)
  list(n = length(x), median = q[2], q1 = q[1], q3 = q[3])
}

out <- list()
for (a in analytes) {
  x <- lab[lab$analyte == a, ]
  base <- x[x$day < x$course_start & x$day >= x$course_start - baseline_days, ]
  base <- base[order(base$patient_id, -base$day), ]
  s <- stat(base$value[!duplicated(base$patient_id)])
  out[[length(out) + 1]] <- c(list(analyte = a, month = 0), s)
  for (i in seq_along(months)) {
    w <- windows[[i]]
    inside <- x[x$day >= w[1] & x$day < w[2], ]
    inside$distance <- abs(inside$day - months[i] * per_month)
    inside <- inside[order(inside$patient_id, inside$distance, inside$day), ]
    s <- stat(inside$value[!duplicated(inside$patient_id)])
    out[[length(out) + 1]] <- c(list(analyte = a, month = months[i]), s)
  }
}

doc <- list(
  description = paste(
    "Median and quartiles (type 7) of lymphocyte-subset counts by months since the first",
    "AHSCT reinfusion; windows half-way between time points; the result closest to the",
    "time point per patient (earlier on a tie); baseline the last result in the 365 days",
    "before the course began."
  ),
  r_version = R.version.string,
  jsonlite_version = as.character(packageVersion("jsonlite")),
  tolerance = 1e-9,
  months = months,
  n_transplanted = nrow(first),
  results = out
)
writeLines(toJSON(doc, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           file.path(here, "reconstitution_reference.json"))
