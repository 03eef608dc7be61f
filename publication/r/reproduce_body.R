# ---- the kit's data ---------------------------------------------------------------------------
suppressPackageStartupMessages({
  library(survival)
  library(coxphf)
})
args <- commandArgs(trailingOnly = TRUE)
kit <- if (length(args) >= 1) args[1] else "."
p <- read.csv(file.path(kit, "data", "patients.csv"), stringsAsFactors = FALSE,
              na.strings = "", colClasses = c(study_id = "character"))
# ---- from here on the script is the same for every cut -------------------------------------
z <- qnorm(1 - alpha / 2)
conf <- 1 - alpha
res <- list()
put <- function(path, v) {
  res[[path]] <<- if (is.null(v) || length(v) == 0) NA else v[[1]]
}
put_ci <- function(path, lo, hi) {
  put(paste0(path, ".ci_lower"), lo)
  put(paste0(path, ".ci_upper"), hi)
}
quietly <- function(expr) {
  warns <- character(0)
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) NULL),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(value = value, warnings = warns)
}
# Counts as the engine rounds them: 100 n / total, half up, one decimal.
pct <- function(n, total) if (total <= 0) 0 else floor((2000 * n + total) / (2 * total)) / 10

# Median and its CI: R's own rule (quantile.survfit) for log-log, log and plain; for "spss"
# the symmetric interval SPSS prints: t +/- z se(S(t)) / f, f the slope of S between the
# last event time with S >= 0.55 and the first with S <= 0.45 (analysis-contract.md 5).
km_median <- function(t, e, ct) {
  f <- survfit(Surv(t, e) ~ 1, conf.type = if (ct == "spss") "log-log" else ct,
               conf.int = conf)
  if (ct != "spss") {
    q <- quantile(f, 0.5)
    return(c(unname(q$quantile), unname(q$lower), unname(q$upper)))
  }
  ev <- f$n.event > 0
  tt <- f$time[ev]; s <- f$surv[ev]; se <- f$std.err[ev] * s
  i <- which(s <= 0.5 + 1e-12)
  if (!length(i)) return(c(NA, NA, NA))
  i <- i[1]
  up <- which(s >= 0.55 - 1e-12)
  u <- if (length(up)) tt[max(up)] else 0
  su <- if (length(up)) s[max(up)] else 1
  lw <- which(s <= 0.45 + 1e-12)
  if (!length(lw) || !is.finite(se[i])) return(c(tt[i], NA, NA))
  lw <- lw[1]
  half <- z * se[i] / ((su - s[lw]) / (tt[lw] - u))
  c(tt[i], tt[i] - half, tt[i] + half)
}
km_put <- function(path, t, e) {
  put(paste0(path, ".n"), length(t))
  put(paste0(path, ".events"), sum(e))
  if (length(t) == 0) return(invisible())
  m <- km_median(t, e, km_ci)
  put(paste0(path, ".median"), m[1])
  put_ci(path, m[2], m[3])
}

put("n_patients", nrow(p))
ok_of <- list()
for (name in names(endpoints)) {
  t <- as.numeric(p[[endpoints[[name]][["time"]]]])
  e <- as.numeric(p[[endpoints[[name]][["event"]]]])
  ok <- !is.na(t) & !is.na(e)
  ok_of[[name]] <- ok
  km_put(paste0("km.", name), t[ok], e[ok])
  if (!is.na(rmst_tau) && sum(ok) > 0) {
    s <- summary(survfit(Surv(t[ok], e[ok]) ~ 1), rmean = rmst_tau)$table
    r <- unname(s["rmean"]); se <- unname(s["se(rmean)"])
    put(paste0("km.", name, ".rmst"), r)
    put(paste0("km.", name, ".rmst_se"), se)
    put_ci(paste0("km.", name, ".rmst"), r - z * se, r + z * se)
  }
}
t_of <- function(name) as.numeric(p[[endpoints[[name]][["time"]]]])
e_of <- function(name) as.numeric(p[[endpoints[[name]][["event"]]]])

# Median follow-up: reverse Kaplan-Meier (the event indicator flipped).
ok <- ok_of[[followup_endpoint]]
m <- km_median(t_of(followup_endpoint)[ok], 1 - e_of(followup_endpoint)[ok], km_ci)
put("followup.median", m[1])
put_ci("followup", m[2], m[3])

# Subgroups: KM per group (value 1 = g1, value 0 = g0) and the log-rank test.
for (key in subgroups) {
  x <- cv[[key]]
  for (name in names(endpoints)) {
    t <- t_of(name); e <- e_of(name)
    rows <- ok_of[[name]] & !is.na(x)
    path <- paste0("subgroup.", key, ".", name)
    km_put(paste0(path, ".g1"), t[rows & x == 1], e[rows & x == 1])
    km_put(paste0(path, ".g0"), t[rows & x == 0], e[rows & x == 0])
    if (sum(rows & x == 1) > 0 && sum(rows & x == 0) > 0 && sum(e[rows]) > 0) {
      sd <- survdiff(Surv(t[rows], e[rows]) ~ x[rows])
      put(paste0(path, ".logrank.chi2"), sd$chisq)
      put(paste0(path, ".logrank.p"), pchisq(sd$chisq, 1, lower.tail = FALSE))
    }
  }
}

# Cox models on the primary endpoint. A term is "not estimable" for the engine (its HR is
# null in the bundle) when a group has no events (monotone likelihood) or coxph warns that
# the coefficient may be infinite or the fit did not converge; such a term is not selected
# for the multivariable model, as in the engine.
t <- t_of(primary_endpoint); e <- e_of(primary_endpoint); ok <- ok_of[[primary_endpoint]]
cox_fit <- function(keys, rows) {
  d <- data.frame(time = t[rows], status = e[rows])
  for (k in keys) d[[k]] <- cv[[k]][rows]
  form <- as.formula(paste("Surv(time, status) ~", paste(sprintf("`%s`", keys), collapse = "+")))
  fit <- quietly(coxph(form, data = d, ties = ties))
  list(fit = fit$value, warnings = fit$warnings, data = d, form = form)
}
suppressed <- function(m, keys) {
  if (is.null(m$fit)) return(TRUE)
  if (any(grepl("infinite|converge", m$warnings))) return(TRUE)
  for (k in keys) {
    x <- m$data[[k]]
    if (sum(m$data$status[x == 1]) == 0 || sum(m$data$status[x == 0]) == 0) return(TRUE)
  }
  FALSE
}
firth_put <- function(path, m, keys, per_key) {
  ff <- quietly(coxphf(m$form, data = m$data, alpha = alpha))$value
  if (is.null(ff)) return(invisible())
  for (j in seq_along(keys)) {
    pp <- if (per_key) paste0(path, ".", keys[j]) else path
    put(paste0(pp, ".firth.hr"), exp(unname(coef(ff))[j]))
    put_ci(paste0(pp, ".firth"), unname(ff$ci.lower)[j], unname(ff$ci.upper)[j])
    put(paste0(pp, ".firth.p"), unname(ff$prob)[j])
  }
}
uni_p <- c()
for (key in covariate_keys) {
  x <- cv[[key]]
  rows <- ok & !is.na(x)
  path <- paste0("cox.uni.", key)
  put(paste0(path, ".n"), sum(rows))
  put(paste0(path, ".events"), sum(e[rows]))
  if (sum(e[rows]) == 0 || length(unique(x[rows])) < 2) next
  m <- cox_fit(key, rows)
  if (is.null(m$fit)) next
  s <- summary(m$fit, conf.int = conf)
  put(paste0(path, ".hr"), s$conf.int[1, 1])
  put_ci(path, s$conf.int[1, 3], s$conf.int[1, 4])
  put(paste0(path, ".p"), s$coefficients[1, 5])
  if (!suppressed(m, key)) {
    uni_p[key] <- s$coefficients[1, 5]
    if (ph_test) {
      zt <- quietly(cox.zph(m$fit)$table)$value
      if (!is.null(zt)) {
        put(paste0(path, ".ph.chi2"), zt[1, "chisq"])
        put(paste0(path, ".ph.p"), zt[1, "p"])
      }
    }
  }
  if (key %in% firth_univariate) firth_put(path, m, key, FALSE)
}

mv_keys <- if (mv_select == "univariate_p") {
  covariate_keys[covariate_keys %in% names(uni_p)[uni_p < mv_threshold]]
} else if (mv_select == "fixed") mv_fixed else character(0)
put("cox.multi.keys", paste(mv_keys, collapse = ","))
if (length(mv_keys)) {
  rows <- ok
  for (k in mv_keys) rows <- rows & !is.na(cv[[k]])
  put("cox.multi.n", sum(rows))
  put("cox.multi.events", sum(e[rows]))
  m <- cox_fit(mv_keys, rows)
  if (!is.null(m$fit)) {
    s <- summary(m$fit, conf.int = conf)
    for (j in seq_along(mv_keys)) {
      path <- paste0("cox.multi.", mv_keys[j])
      put(paste0(path, ".hr"), s$conf.int[j, 1])
      put_ci(path, s$conf.int[j, 3], s$conf.int[j, 4])
      put(paste0(path, ".p"), s$coefficients[j, 5])
    }
    put("cox.multi.lr.chi2", unname(s$logtest["test"]))
    put("cox.multi.lr.df", unname(s$logtest["df"]))
    put("cox.multi.lr.p", unname(s$logtest["pvalue"]))
    if (ph_test && !suppressed(m, mv_keys)) {
      zt <- quietly(cox.zph(m$fit)$table)$value
      if (!is.null(zt)) {
        for (j in seq_along(mv_keys)) {
          put(paste0("cox.multi.ph.", mv_keys[j], ".chi2"), zt[j, "chisq"])
          put(paste0("cox.multi.ph.", mv_keys[j], ".p"), zt[j, "p"])
        }
        put("cox.multi.ph.global.chi2", zt["GLOBAL", "chisq"])
        put("cox.multi.ph.global.df", zt["GLOBAL", "df"])
        put("cox.multi.ph.global.p", zt["GLOBAL", "p"])
      }
    }
    if (firth_multivariable) firth_put("cox.multi", m, mv_keys, TRUE)
  }
}

# Second-line response: ORR and DCR with Clopper-Pearson intervals (binom.test).
if (response) {
  bor <- trimws(as.character(p$l2_best_response))
  evaluable <- sum(bor %in% c("CR", "PR", "SD", "PD"))
  put("response.evaluable", evaluable)
  for (what in list(list("orr", c("CR", "PR")), list("dcr", c("CR", "PR", "SD")))) {
    n <- sum(bor %in% what[[2]])
    put(paste0("response.", what[[1]], ".n"), n)
    if (evaluable > 0) {
      ci <- binom.test(n, evaluable, conf.level = conf)$conf.int
      put(paste0("response.", what[[1]], ".pct"), pct(n, evaluable))
      put_ci(paste0("response.", what[[1]]), 100 * ci[1], 100 * ci[2])
    }
  }
}

# Baseline comparisons: chi-squared without continuity correction unless an expected count
# is below 5 (then Fisher's exact test); continuous columns by the plan's continuous test.
compare_row <- function(by, variable, kind, x) {
  g <- cv[[by]]
  path <- paste0("compare.", by, ".", variable)
  keep <- !is.na(g) & !is.na(x)
  if (kind == "continuous") {
    x0 <- x[keep & g == 0]; x1 <- x[keep & g == 1]
    for (k in 0:1) {
      v <- if (k == 0) x0 else x1
      if (length(v)) {
        q <- unname(quantile(v, c(0.5, 0.25, 0.75), type = 6))
        put(paste0(path, ".median", k), q[1])
        put(paste0(path, ".q1_", k), q[2])
        put(paste0(path, ".q3_", k), q[3])
      }
    }
    tst <- if (continuous_test == "wilcoxon") {
      quietly(wilcox.test(x1, x0, exact = FALSE, correct = TRUE))$value
    } else {
      quietly(t.test(x0, x1, var.equal = continuous_test == "t"))$value
    }
    put(paste0(path, ".test"), continuous_test)
    if (!is.null(tst)) put(paste0(path, ".p"), tst$p.value)
    return(invisible())
  }
  tab <- table(x[keep], factor(g[keep], levels = c(0, 1)))
  tab <- tab[rowSums(tab) > 0, , drop = FALSE]
  if (nrow(tab) < 2 || any(colSums(tab) == 0)) return(invisible())
  expected <- outer(rowSums(tab), colSums(tab)) / sum(tab)
  if (any(expected < 5)) {
    put(paste0(path, ".test"), "fisher")
    put(paste0(path, ".p"), fisher.test(tab)$p.value)
  } else {
    put(paste0(path, ".test"), "chi2")
    put(paste0(path, ".p"), chisq.test(tab, correct = FALSE)$p.value)
  }
}
for (row in comparison_rows) do.call(compare_row, row)

# Table 1: binary rows count level 1, categorical rows every level, binned rows each bin
# ([a, b) intervals), continuous rows median and quartiles (type 6); % of all patients.
N <- nrow(p)
level_text <- function(v) {
  if (is.numeric(v)) ifelse(v == round(v), as.character(round(v)), as.character(v)) else v
}
table1_row <- function(variable, kind, x, labels = NULL) {
  path <- paste0("table1.", variable)
  put(paste0(path, ".missing"), sum(is.na(x)))
  if (kind == "continuous") {
    v <- x[!is.na(x)]
    put(paste0(path, ".n"), length(v))
    if (length(v)) {
      q <- unname(quantile(v, c(0.5, 0.25, 0.75), type = 6))
      put(paste0(path, ".median"), q[1])
      put(paste0(path, ".q1"), q[2])
      put(paste0(path, ".q3"), q[3])
    }
  } else if (kind == "binary") {
    n <- sum(x == 1, na.rm = TRUE)
    put(paste0(path, ".1.n"), n)
    put(paste0(path, ".1.pct"), pct(n, N))
  } else if (kind == "binned") {
    counts <- tabulate(findInterval(x[!is.na(x)], breaks_of[[variable]]) + 1,
                       nbins = length(labels))
    for (j in seq_along(labels)) {
      put(paste0(path, ".", labels[j], ".n"), counts[j])
      put(paste0(path, ".", labels[j], ".pct"), pct(counts[j], N))
    }
  } else {
    v <- level_text(x[!is.na(x)])
    for (level in unique(v)) {
      put(paste0(path, ".", level, ".n"), sum(v == level))
      put(paste0(path, ".", level, ".pct"), pct(sum(v == level), N))
    }
  }
}
for (row in table1_rows) do.call(table1_row, row)

# Adverse events: patients with an event of a term (or plan group) at any grade and with a
# worst grade of 3-5, each patient counted once per term; % of all patients.
if (has_ae_table) {
  ae <- read.csv(file.path(kit, "data", "adverse_events.csv"), stringsAsFactors = FALSE,
                 na.strings = "", colClasses = c(study_id = "character", term = "character"))
  member_of <- c()
  for (g in names(ae_groups)) for (t in ae_groups[[g]]) member_of[tolower(t)] <- g
  shown <- ifelse(tolower(ae$term) %in% names(member_of), member_of[tolower(ae$term)], ae$term)
  ae_put <- function(name, rows) {
    rows <- rows & !is.na(rows)
    path <- paste0("ae.", name)
    n <- length(unique(ae$study_id[rows]))
    g <- length(unique(ae$study_id[rows & ae$grade >= 3]))
    put(paste0(path, ".any_grade.n"), n)
    put(paste0(path, ".any_grade.pct"), pct(n, N))
    put(paste0(path, ".grade_3_5.n"), g)
    put(paste0(path, ".grade_3_5.pct"), pct(g, N))
  }
  ae_put("_any", rep(TRUE, nrow(ae)))
  for (name in union(unique(shown), names(ae_groups))) ae_put(name, shown == name)
  ae_put("_immune_related", ae$immune_related == 1)
}

# ---- write the results and compare them with the bundle (expected.csv) -----------------------
fmt <- function(v) {
  if (is.character(v)) return(v)
  if (is.na(v) || !is.finite(v)) return("")
  sprintf("%.17g", v)
}
out <- data.frame(path = names(res), r = vapply(res, fmt, ""), stringsAsFactors = FALSE)
write.csv(out, file.path(kit, "results.csv"), row.names = FALSE)

ex <- read.csv(file.path(kit, "expected.csv"), stringsAsFactors = FALSE, na.strings = "",
               colClasses = "character")
cmp <- merge(ex, out, by = "path", all.x = TRUE, sort = FALSE)
cmp$ok <- FALSE
cmp$rel_diff <- NA_real_
for (i in seq_len(nrow(cmp))) {
  want <- cmp$expected[i]; got <- cmp$r[i]
  if (is.na(got) || got == "") next
  if (cmp$kind[i] == "text") {
    cmp$ok[i] <- identical(want, got)
    next
  }
  a <- as.numeric(want); b <- as.numeric(got)
  d <- abs(a - b)
  cmp$rel_diff[i] <- d / max(abs(a), 1e-300)
  cmp$ok[i] <- d <= as.numeric(cmp$rtol[i]) * abs(a) + as.numeric(cmp$atol[i])
}
cmp <- cmp[order(cmp$path), c("path", "kind", "expected", "r", "rel_diff", "rtol", "atol", "ok")]
write.csv(cmp, file.path(kit, "comparison.csv"), row.names = FALSE)
bad <- cmp[!cmp$ok, ]
extra <- setdiff(out$path[out$r != ""], ex$path)
cat(sprintf("%d numbers of the bundle recomputed in R: %d equal within tolerance, %d differ.\n",
            nrow(cmp), sum(cmp$ok), nrow(bad)))
if (length(extra)) {
  cat(sprintf("%d values R computed that the bundle leaves empty (see README): %s\n",
              length(extra), paste(extra, collapse = ", ")))
}
if (nrow(bad)) {
  print(bad, row.names = FALSE)
  quit(status = 1)
}
