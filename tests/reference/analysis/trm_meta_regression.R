# Reference numbers for msreboot.analysis.predict_trm: the meta-regression of the bundled
# evidence base's study-level transplant-related mortality on the study populations' EDSS,
# computed with R's metafor.
#
# Run from the repository root:
#   Rscript tests/reference/analysis/trm_meta_regression.R
# It writes tests/reference/analysis/trm_meta_regression.json, which the Python tests read.
# CI never runs R. Needs the Debian packages r-base-core, r-cran-metafor and r-cran-jsonlite.
#
# The studies are selected here from the bundled CSV files independently of the Python code:
# rows of outcomes.csv with outcome "trm", both events and n and a source read (status not
# "unsourced", as msreboot.evidence.load_outcomes() leaves those out), joined to studies.csv on
# study_id + arm, keeping AHSCT arms that are not pooled meta-analysis rows. Logit
# proportions with metafor's default add = 1/2, to = "only0"; REML with tight convergence.
# Only metafor's outputs are used; the Python implementation is written from the formulas.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

data_dir <- "src/msreboot/evidence/data"
outcomes <- read.csv(file.path(data_dir, "outcomes.csv"), stringsAsFactors = FALSE)
studies <- read.csv(file.path(data_dir, "studies.csv"), stringsAsFactors = FALSE)
trm <- outcomes[outcomes$outcome == "trm" & !is.na(outcomes$events) & !is.na(outcomes$n) &
                  outcomes$status != "unsourced", ]
dat <- merge(trm, studies, by = c("study_id", "arm"), suffixes = c("", "_study"))
dat <- dat[dat$therapy == "ahsct" & dat$arm != "pooled" & !is.na(dat$edss), ]
dat <- dat[order(dat$outcome_id), ]

es <- escalc(measure = "PLO", xi = dat$events, ni = dat$n)
ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
fit <- rma(yi, vi, mods = ~ edss, data = cbind(es, edss = dat$edss), method = "REML",
           test = "z", control = ctrl)

new_edss <- c(0, 2, 4.5, 6.5, 8, 10)
pred_logit <- predict(fit, newmods = new_edss)
pred <- predict(fit, newmods = new_edss, transf = transf.ilogit)

out <- list(
  provenance = list(
    script = "tests/reference/analysis/trm_meta_regression.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    generated = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC"),
    control = ctrl,
    call = "rma(yi, vi, mods = ~ edss, method = 'REML', test = 'z'); predict(newmods, transf = transf.ilogit)"
  ),
  tolerance = list(rel = 1e-6, abs = 1e-9),
  data = list(
    outcome_id = dat$outcome_id,
    events = dat$events,
    n = dat$n,
    edss = dat$edss,
    yi = as.numeric(es$yi),
    vi = as.numeric(es$vi)
  ),
  fit = list(
    coef = as.numeric(coef(fit)),
    se = as.numeric(fit$se),
    tau2 = fit$tau2,
    qe = fit$QE,
    qm = fit$QM,
    k = fit$k
  ),
  predict = list(
    edss = new_edss,
    fit_logit = as.numeric(pred_logit$pred),
    se_logit = as.numeric(pred_logit$se),
    probability = as.numeric(pred$pred),
    ci_low = as.numeric(pred$ci.lb),
    ci_high = as.numeric(pred$ci.ub),
    pi_low = as.numeric(pred$pi.lb),
    pi_high = as.numeric(pred$pi.ub)
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/analysis/trm_meta_regression.json")
