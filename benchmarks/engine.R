# The same work as `python -m analytics.stats` with the reference plan, in R's survival package:
# read both CSVs, derive the 12 covariates, KM for OS and PFS (median + CI), reverse-KM
# follow-up, log-rank for 2 subgroups on each endpoint (4 survdiff), 12 univariate coxph +
# 1 multivariable coxph, Table 1 counts/quartiles and the AE table (worst grade per patient
# per term). Usage: Rscript engine.R patients.csv adverse_events.csv
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
p <- read.csv(args[1], stringsAsFactors = FALSE)
ae <- read.csv(args[2], stringsAsFactors = FALSE)

cv <- data.frame(
  age_gt60 = as.numeric(p$age_years > 60),
  male = ifelse(p$sex == "M", 1, ifelse(p$sex == "F", 0, NA)),
  smoker = ifelse(p$smoking %in% c("former", "current"), 1, ifelse(p$smoking == "never", 0, NA)),
  bmi_ge24 = as.numeric(p$bmi >= 24),
  ecog2 = as.numeric(p$ecog >= 2),
  brain = p$brain_mets, liver = p$liver_mets, prior_rt = p$prior_thoracic_rt,
  l2_rt = p$l2_radiotherapy, l2_aa = p$l2_antiangiogenic,
  ltr = as.numeric(p$l1_pfs_months >= 6),
  dpr_hi = as.numeric(p$dpr_pct >= median(p$dpr_pct, na.rm = TRUE))
)
d <- cbind(p[, c("os_months", "os_event", "pfs_months", "pfs_event")], cv)

res <- list()
for (ep in list(c("os_months", "os_event"), c("pfs_months", "pfs_event"))) {
  s <- Surv(d[[ep[1]]], d[[ep[2]]])
  f <- survfit(s ~ 1, conf.type = "log-log")
  res[[ep[1]]] <- quantile(f, 0.5)
  for (g in c("ltr", "dpr_hi")) {
    res[[paste(ep[1], g)]] <- survdiff(s ~ d[[g]])
    res[[paste(ep[1], g, "km")]] <- quantile(survfit(s ~ d[[g]], conf.type = "log-log"), 0.5)
  }
}
res$fu <- quantile(survfit(Surv(os_months, 1 - os_event) ~ 1, data = d, conf.type = "log-log"), 0.5)
ps <- c()
for (k in names(cv)) {
  fit <- coxph(as.formula(paste("Surv(os_months, os_event) ~", k)), data = d)
  ps[k] <- summary(fit)$coefficients[1, 5]
}
sel <- names(ps)[ps < 0.05]
if (length(sel) > 0) {
  res$mv <- summary(coxph(as.formula(paste("Surv(os_months, os_event) ~",
                                           paste(sel, collapse = "+"))), data = d))
}
res$t1 <- list(quantile(p$age_years, c(0.25, 0.5, 0.75), type = 6, na.rm = TRUE),
               lapply(cv, table), table(p$ecog), table(cut(p$bmi, c(-Inf, 18.5, 24, Inf), right = FALSE)))
# worst grade per patient per term on integer keys (aggregate() on text keys took 20 s at
# 100,000 patients; this keeps R's side of the comparison fair)
term <- factor(ae$term)
key <- match(ae$study_id, p$study_id) * nlevels(term) + as.integer(term)
worst <- tapply(ae$grade, key, max)
wterm <- levels(term)[as.integer(names(worst)) %% nlevels(term) +
                      ifelse(as.integer(names(worst)) %% nlevels(term) == 0, nlevels(term), 0)]
res$ae_any <- table(wterm)
res$ae_g35 <- table(wterm[worst >= 3])
res$ae_ir <- length(unique(ae$study_id[ae$immune_related == 1]))
cat("R done", length(sel), "selected\n")
