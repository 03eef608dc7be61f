# Reference results from R's survival package for tests/analytics/stats/test_against_r.py.
#
#   Rscript reference.R export lung|ovarian OUT.csv   -> the dataset as time,status,x*,group
#   Rscript reference.R run DATA.csv OUT.json         -> survfit / survdiff / coxph results
#
# DATA.csv: columns time, status (0/1), covariates named x* (blank = NA), optional group.
# Output is JSON written with sprintf("%.17g") so no jsonlite is needed.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)

num <- function(v) {
  if (length(v) == 0) return("[]")
  s <- ifelse(is.na(v) | !is.finite(v), "null", sprintf("%.17g", v))
  if (length(v) == 1) s else paste0("[", paste(s, collapse = ","), "]")
}
str_json <- function(v) {
  if (length(v) == 0) return("[]")
  paste0("[", paste0('"', gsub('"', "'", gsub("\n", " ", v)), '"', collapse = ","), "]")
}
obj <- function(...) {
  x <- list(...)
  paste0("{", paste0('"', names(x), '":', unlist(x), collapse = ","), "}")
}

if (args[1] == "export") {
  if (args[2] == "lung") {
    d <- data.frame(time = lung$time, status = lung$status - 1, x_age = lung$age,
                    x_sex = lung$sex, x_ecog = lung$ph.ecog, group = lung$ph.ecog)
  } else {
    d <- data.frame(time = ovarian$futime, status = ovarian$fustat, x_age = ovarian$age,
                    x_resid = ovarian$resid.ds, x_rx = ovarian$rx, x_ecog = ovarian$ecog.ps,
                    group = ovarian$rx)
  }
  write.csv(d, args[3], row.names = FALSE, na = "")
  quit(status = 0)
}

d <- read.csv(args[2])
xs <- grep("^x", names(d), value = TRUE)
out <- c()

km_part <- function(status) {
  parts <- c()
  for (ct in c("log-log", "log", "plain")) {
    f <- survfit(Surv(d$time, status) ~ 1, conf.type = ct)
    q <- quantile(f, 0.5)
    parts <- c(parts, paste0('"', ct, '":', obj(median = num(unname(q$quantile)),
                                                lower = num(unname(q$lower)),
                                                upper = num(unname(q$upper)),
                                                time = num(f$time), surv = num(f$surv),
                                                n_risk = num(f$n.risk),
                                                curve_lower = num(f$lower),
                                                curve_upper = num(f$upper))))
  }
  paste0("{", paste(parts, collapse = ","), "}")
}
out <- c(out, paste0('"km":', km_part(d$status)))
out <- c(out, paste0('"reverse_km":', km_part(1 - d$status)))

if ("group" %in% names(d)) {
  sd <- survdiff(Surv(time, status) ~ group, data = d)
  df <- sum(sd$exp > 0) - 1
  out <- c(out, paste0('"logrank":', obj(chi2 = num(sd$chisq), df = num(df),
                                         p = num(pchisq(sd$chisq, df, lower.tail = FALSE)))))
}

fit_json <- function(form, ties) {
  warns <- character(0)
  f <- withCallingHandlers(coxph(form, data = d, ties = ties),
                           warning = function(w) {
                             warns <<- c(warns, conditionMessage(w))
                             invokeRestart("muffleWarning")
                           })
  s <- summary(f)
  co <- s$coefficients
  ci <- s$conf.int
  obj(coef = num(unname(co[, 1])), se = num(unname(co[, 3])), p = num(unname(co[, 5])),
      lower = num(unname(ci[, 3])), upper = num(unname(ci[, 4])),
      lr = num(unname(s$logtest[1])), lr_df = num(unname(s$logtest[2])),
      lr_p = num(unname(s$logtest[3])), loglik = num(f$loglik), n = num(f$n),
      nevent = num(f$nevent), iter = num(f$iter), warnings = str_json(warns))
}

for (ties in c("efron", "breslow")) {
  parts <- c()
  for (x in xs) {
    parts <- c(parts, paste0('"', x, '":', fit_json(as.formula(paste("Surv(time, status) ~", x)),
                                                    ties)))
  }
  if (length(xs) > 1) {
    parts <- c(parts, paste0('"_all":', fit_json(as.formula(
      paste("Surv(time, status) ~", paste(xs, collapse = "+"))), ties)))
  }
  out <- c(out, paste0('"cox_', ties, '":{', paste(parts, collapse = ","), "}"))
}
writeLines(paste0("{", paste(out, collapse = ","), "}"), args[3])
