# The demo cohort's survival figures computed by R's survival package alone, for
# tests/registry/test_demo_cohort_against_r.py (which compares them with the article).
#
#   Rscript demo_targets.R PATIENTS.csv OUT.json
#
# PATIENTS.csv is the analysis contract's patient table (fixtures/demo_patients.csv). The
# covariates are derived here from the raw columns as the reference plan defines them
# (analytics/stats/reference_plan.json), not taken from the engine. JSON is written with
# sprintf("%.17g"), so no jsonlite is needed.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)

num <- function(v) {
  if (length(v) == 0) return("[]")
  s <- ifelse(is.na(v) | !is.finite(v), "null", sprintf("%.17g", v))
  if (length(v) == 1) s else paste0("[", paste(s, collapse = ","), "]")
}
str_json <- function(v) {
  paste0("[", paste0('"', gsub('"', "'", gsub("\n", " ", v)), '"', collapse = ","), "]")
}
obj <- function(...) {
  x <- list(...)
  paste0("{", paste0('"', names(x), '":', unlist(x), collapse = ","), "}")
}

cov <- data.frame(
  age_gt60 = as.integer(d$age_years > 60),
  male = ifelse(d$sex == "M", 1L, ifelse(d$sex == "F", 0L, NA)),
  smoker = ifelse(d$smoking %in% c("former", "current"), 1L,
                  ifelse(d$smoking == "never", 0L, NA)),
  bmi_ge24 = as.integer(d$bmi >= 24),
  ecog2 = as.integer(d$ecog >= 2),
  brain = d$brain_mets,
  liver = d$liver_mets,
  prior_rt = d$prior_thoracic_rt,
  l2_rt = d$l2_radiotherapy,
  l2_aa = d$l2_antiangiogenic,
  ltr = as.integer(d$l1_pfs_months >= 6),
  dpr_hi = as.integer(d$dpr_pct >= median(d$dpr_pct))
)
d <- cbind(d, cov)
out <- c()

# Median with R's rule, and the symmetric interval SPSS prints: median +/- z * SE with
# SE = Greenwood se of S at the median / density over the 45th-55th percentiles
# (analysis-contract.md section 5), written out here from survfit's own estimates.
km_json <- function(time, status) {
  f <- survfit(Surv(time, status) ~ 1)
  q <- quantile(f, 0.5)
  ev <- f$n.event > 0
  t <- f$time[ev]; s <- f$surv[ev]; se <- f$std.err[ev] * s
  i <- which(s <= 0.5 + 1e-12)[1]
  up <- which(s >= 0.55 - 1e-12)
  u <- if (length(up)) t[max(up)] else 0
  su <- if (length(up)) s[max(up)] else 1
  lw <- which(s <= 0.45 + 1e-12)[1]
  half <- qnorm(0.975) * se[i] / ((su - s[lw]) / (t[lw] - u))
  obj(n = num(f$n), events = num(sum(f$n.event)), median = num(unname(q$quantile)),
      first_below_half = num(t[i]), spss_lower = num(t[i] - half),
      spss_upper = num(t[i] + half))
}
sub_medians <- function(g) {
  f <- survfit(Surv(os_months, os_event) ~ g, data = d)
  num(unname(quantile(f, 0.5)$quantile))
}
logrank <- function(g) {
  sd <- survdiff(Surv(os_months, os_event) ~ g, data = d)
  obj(chi2 = num(sd$chisq), p = num(pchisq(sd$chisq, 1, lower.tail = FALSE)),
      medians_0_1 = sub_medians(g), n_0_1 = num(unname(sd$n)))
}
cox_json <- function(keys) {
  warns <- character(0)
  form <- as.formula(paste("Surv(os_months, os_event) ~", paste(keys, collapse = "+")))
  f <- withCallingHandlers(coxph(form, data = d, ties = "efron"),
                           warning = function(w) {
                             warns <<- c(warns, conditionMessage(w))
                             invokeRestart("muffleWarning")
                           })
  s <- summary(f)
  obj(keys = str_json(keys), hr = num(unname(s$conf.int[, 1])),
      lower = num(unname(s$conf.int[, 3])), upper = num(unname(s$conf.int[, 4])),
      p = num(unname(s$coefficients[, 5])), warnings = if (length(warns)) str_json(warns) else "[]")
}

out <- c(out, paste0('"os":', km_json(d$os_months, d$os_event)))
out <- c(out, paste0('"pfs":', km_json(d$pfs_months, d$pfs_event)))
out <- c(out, paste0('"followup":', km_json(d$os_months, 1 - d$os_event)))
out <- c(out, paste0('"progressions":', num(sum(d$pfs_event))))
out <- c(out, paste0('"logrank":{"ltr":', logrank(d$ltr), ',"dpr_hi":', logrank(d$dpr_hi), "}"))
uni <- sapply(names(cov), function(k) paste0('"', k, '":', cox_json(k)))
out <- c(out, paste0('"univariate":{', paste(uni, collapse = ","), "}"))
p_uni <- sapply(names(cov), function(k) summary(coxph(
  as.formula(paste("Surv(os_months, os_event) ~", k)), data = d, ties = "efron"))$coefficients[, 5])
selected <- names(cov)[p_uni < 0.05]
out <- c(out, paste0('"multivariable":', if (length(selected)) cox_json(selected) else "null"))
writeLines(paste0("{", paste(out, collapse = ","), "}"), args[2])
