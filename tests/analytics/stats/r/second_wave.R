# R's results for the contract's section 7 statistics (tests/analytics/stats/test_second_wave_r.py).
#
#   Rscript second_wave.R survival DATA.csv OUT.json TAU
#       DATA.csv: time, status (0/1), covariates x* (blank = NA). For each x* alone and all
#       together ("_all"): cox.zph(coxph(..., ties)) for efron and breslow, coxphf(...);
#       and summary(survfit(Surv(time, status) ~ 1), rmean = TAU).
#   Rscript second_wave.R rmst DATA.csv OUT.json TAU1 TAU2 ...
#       summary(survfit(Surv(time, status) ~ 1), rmean = TAU) for each TAU.
#   Rscript second_wave.R compare DATA.csv OUT.json
#       DATA.csv: g (0/1), categorical columns c_*, numeric columns n_*. For each column:
#       chisq.test(correct = FALSE), fisher.test, wilcox.test(exact = FALSE, correct = TRUE),
#       t.test(var.equal = TRUE / FALSE) on the complete rows.
#   Rscript second_wave.R binom OUT.json N1 TOTAL1 N2 TOTAL2 ...
#       binom.test(n, total)$conf.int for each pair.
# Output is JSON written with sprintf("%.17g") so no jsonlite is needed.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)

num <- function(v) {
  if (length(v) == 0) return("[]")
  s <- ifelse(is.na(v) | !is.finite(v), "null", sprintf("%.17g", v))
  if (length(v) == 1) s else paste0("[", paste(s, collapse = ","), "]")
}
obj <- function(...) {
  x <- list(...)
  paste0("{", paste0('"', names(x), '":', unlist(x), collapse = ","), "}")
}
quiet <- function(expr) suppressWarnings(tryCatch(expr, error = function(e) NULL))

if (args[1] == "binom") {
  v <- as.numeric(args[-(1:2)])
  parts <- c()
  for (i in seq(1, length(v), by = 2)) {
    ci <- binom.test(v[i], v[i + 1])$conf.int
    parts <- c(parts, obj(n = num(v[i]), total = num(v[i + 1]), lower = num(ci[1]),
                          upper = num(ci[2])))
  }
  writeLines(paste0("[", paste(parts, collapse = ","), "]"), args[2])
  quit(status = 0)
}

d <- read.csv(args[2])

if (args[1] == "rmst") {
  parts <- c()
  for (tau in as.numeric(args[-(1:3)])) {
    s <- summary(survfit(Surv(time, status) ~ 1, data = d), rmean = tau)$table
    parts <- c(parts, obj(tau = num(tau), rmean = num(unname(s["rmean"])),
                          se = num(unname(s["se(rmean)"]))))
  }
  writeLines(paste0("[", paste(parts, collapse = ","), "]"), args[3])
  quit(status = 0)
}

if (args[1] == "compare") {
  parts <- c()
  for (v in setdiff(names(d), "g")) {
    ok <- !is.na(d[[v]]) & !is.na(d$g)
    x <- d[[v]][ok]
    g <- factor(d$g[ok])
    if (startsWith(v, "c_")) {
      tab <- table(x, g)
      chi <- quiet(chisq.test(tab, correct = FALSE))
      fi <- quiet(fisher.test(tab))
      expected <- outer(rowSums(tab), colSums(tab)) / sum(tab)
      parts <- c(parts, paste0('"', v, '":', obj(
        chi2 = num(if (is.null(chi)) NA else unname(chi$statistic)),
        chi2_p = num(if (is.null(chi)) NA else chi$p.value),
        fisher_p = num(if (is.null(fi)) NA else fi$p.value),
        min_expected = num(min(expected)))))
    } else {
      w <- quiet(wilcox.test(x ~ g, exact = FALSE, correct = TRUE))
      t1 <- quiet(t.test(x ~ g, var.equal = TRUE))
      t2 <- quiet(t.test(x ~ g, var.equal = FALSE))
      parts <- c(parts, paste0('"', v, '":', obj(
        wilcoxon_w = num(if (is.null(w)) NA else unname(w$statistic)),
        wilcoxon_p = num(if (is.null(w)) NA else w$p.value),
        t = num(if (is.null(t1)) NA else unname(t1$statistic)),
        t_p = num(if (is.null(t1)) NA else t1$p.value),
        welch_t = num(if (is.null(t2)) NA else unname(t2$statistic)),
        welch_df = num(if (is.null(t2)) NA else unname(t2$parameter)),
        welch_p = num(if (is.null(t2)) NA else t2$p.value))))
    }
  }
  writeLines(paste0("{", paste(parts, collapse = ","), "}"), args[3])
  quit(status = 0)
}

# survival
suppressPackageStartupMessages(library(coxphf))
tau <- as.numeric(args[4])
xs <- grep("^x", names(d), value = TRUE)
out <- c()

s <- summary(survfit(Surv(time, status) ~ 1, data = d), rmean = tau)$table
out <- c(out, paste0('"rmst":', obj(rmean = num(unname(s["rmean"])),
                                    se = num(unname(s["se(rmean)"])))))

model_json <- function(vars) {
  dd <- d[complete.cases(d[, c("time", "status", vars)]), ]
  form <- as.formula(paste("Surv(time, status) ~", paste(vars, collapse = "+")))
  parts <- c()
  for (ties in c("efron", "breslow")) {
    fit <- suppressWarnings(coxph(form, data = dd, ties = ties))
    z <- quiet(cox.zph(fit)$table)
    parts <- c(parts, paste0('"zph_', ties, '":', if (is.null(z)) "null" else
      obj(chi2 = num(unname(z[, "chisq"])), df = num(unname(z[, "df"])),
          p = num(unname(z[, "p"])))))
  }
  ff <- quiet(coxphf(form, data = dd))
  parts <- c(parts, paste0('"coxphf":', if (is.null(ff)) "null" else
    obj(coef = num(unname(coef(ff))), lower = num(unname(ff$ci.lower)),
        upper = num(unname(ff$ci.upper)), p = num(unname(ff$prob)))))
  paste0("{", paste(parts, collapse = ","), "}")
}
for (x in xs) out <- c(out, paste0('"', x, '":', model_json(x)))
if (length(xs) > 1) out <- c(out, paste0('"_all":', model_json(xs)))
writeLines(paste0("{", paste(out, collapse = ","), "}"), args[3])
