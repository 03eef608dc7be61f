"""The methods paragraph: what the bundle says was computed, in the words of a paper.

Only facts the bundle (and its normalised plan) holds: the interval method, the ties, the
covariates of the multivariable model, the PH check and its result, where Firth was used,
the engine and library versions. "verified against R" names the versions the engine's test
suite compares with (tests/analytics/stats, CI installs them).
"""

from __future__ import annotations

import platform

import matplotlib
import numpy
import pandas
from django.utils.translation import gettext as _

from analytics import labels
from analytics.manuscript.style import fmt_p

# What tests/analytics/stats compares the engine with (R 4.2, survival 3.5.3, coxphf 1.13).
R_REFERENCE = "R survival 3.5 (3.5.3) and coxphf 1.13"
CI_METHOD_WORDS = {
    "log-log": "the log-log transformation (the default of R survival)",
    "log": "the log transformation",
    "plain": "the plain (linear) Greenwood interval",
    "spss": "SPSS-compatible symmetric intervals (median ± z·SE); lower limits below 0 months "
    "are shown as 0",
}


def _p_relation(p) -> str:
    text = fmt_p(p)
    return text if text.startswith("<") or text == "–" else f"= {text}"


def _names(bundle: dict, keys: list[str]) -> str:
    return ", ".join(labels.covariate_label(bundle, k).lower() for k in keys)


def methods_paragraph(bundle: dict) -> str:
    plan = bundle.get("plan") or {}
    alpha = plan.get("alpha", 0.05)
    ci_level = round(100 * (1 - alpha))
    endpoints = plan.get("endpoints") or {}
    ep_names = " and ".join(labels.endpoint_label(bundle, k).lower() for k in endpoints)
    cox = bundle.get("cox") or {}
    primary = labels.endpoint_label(bundle, cox.get("endpoint", plan.get("primary_endpoint", "")))
    method = plan.get("km_ci", "log-log")
    parts: list[str] = []
    parts.append(
        _(
            "Time-to-event outcomes (%(endpoints)s) were measured from the start of second-line "
            "treatment (months = days / 30.4375) and estimated with the Kaplan–Meier method; "
            "%(level)s%% confidence intervals of the survival curves and medians used "
            "%(method)s."
        )
        % {
            "endpoints": ep_names,
            "level": ci_level,
            "method": CI_METHOD_WORDS.get(method, method),
        }
    )
    if bundle.get("followup"):
        parts.append(_("Median follow-up was estimated by the reverse Kaplan–Meier method."))
    if bundle.get("subgroups"):
        keys = list(dict.fromkeys(s["key"] for s in bundle["subgroups"]))
        parts.append(
            _("Survival was compared between %(groups)s with the log-rank test.")
            % {"groups": "; ".join(_group_pair(bundle, k) for k in keys)}
        )
    if cox:
        ties = (cox.get("ties") or "efron").capitalize()
        parts.append(
            _(
                "Hazard ratios (HR) for %(endpoint)s were estimated by Cox proportional "
                "hazards regression with the %(ties)s method for ties and Wald p-values."
            )
            % {"endpoint": primary.lower(), "ties": ties}
        )
        mv = cox.get("multivariable") or {}
        sel = (plan.get("multivariable") or {}).get("select")
        if mv.get("keys"):
            if sel == "univariate_p":
                rule = _("variables with univariate p < %(t)s") % {
                    "t": (plan.get("multivariable") or {}).get("threshold")
                }
            else:
                rule = _("the variables fixed in the analysis plan")
            parts.append(
                _("The multivariable model included %(rule)s (%(names)s).")
                % {"rule": rule, "names": _names(bundle, mv["keys"])}
            )
        parts.append(_ph_sentence(bundle, cox))
        firth = _firth_sentence(bundle, cox)
        if firth:
            parts.append(firth)
    comparisons = bundle.get("comparisons") or []
    if comparisons:
        tests = {r.get("test") for c in comparisons for r in c.get("rows") or []}
        continuous = next((t for t in ("wilcoxon", "t", "welch") if t in tests), None)
        text = _(
            "Baseline characteristics were compared between %(groups)s with Pearson's χ² test "
            "without continuity correction, or Fisher's exact test when an expected count was "
            "below 5"
        ) % {"groups": "; ".join(_group_pair(bundle, c["by"]) for c in comparisons)}
        if continuous:
            text += _(", and continuous variables with the %(test)s") % {
                "test": labels.test_label(continuous)
            }
        parts.append(text + ".")
    if bundle.get("response"):
        parts.append(
            _(
                "Second-line objective response and disease control rates (RECIST 1.1) are "
                "given with exact Clopper–Pearson confidence intervals."
            )
        )
    if bundle.get("ae_table") is not None:
        parts.append(
            _(
                "Adverse events were graded by CTCAE v5.0; each patient counts once per term, "
                "at the worst grade."
            )
        )
    parts.append(_("All tests were two-sided at α = %(alpha)s.") % {"alpha": alpha})
    parts.append(
        _(
            "Analyses were computed by the registry's statistics engine (analytics.stats "
            "%(engine)s; Python %(python)s, NumPy %(numpy)s, pandas %(pandas)s; figures with "
            "matplotlib %(mpl)s) on the locked data set (SHA-256 %(hash)s), and the engine is "
            "verified against %(r)s."
        )
        % {
            "engine": bundle.get("engine_version", "?"),
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "pandas": pandas.__version__,
            "mpl": matplotlib.__version__,
            "hash": (bundle.get("dataset_sha256") or "")[:16],
            "r": R_REFERENCE,
        }
    )
    return " ".join(parts)


def _group_pair(bundle: dict, key: str) -> str:
    cov = labels.covariate(bundle, key) or {}
    names = cov.get("labels")
    if names:
        return f"{labels.in_words(names[1]).lower()} and {labels.in_words(names[0]).lower()}"
    return labels.covariate_label(bundle, key).lower()


def _ph_sentence(bundle: dict, cox: dict) -> str:
    univariate = [u for u in cox.get("univariate") or [] if u.get("ph")]
    mv = cox.get("multivariable") or {}
    ph_global = (mv.get("ph") or {}).get("global")
    if not univariate and not ph_global:
        return _("The proportional-hazards assumption was not tested.")
    text = _(
        "The proportional-hazards assumption was checked with scaled Schoenfeld residuals "
        "(Kaplan–Meier time transform) for every model"
    )
    violated = [
        labels.in_words(u["label"]).lower()
        for u in univariate
        if u["ph"].get("p") is not None
        and u["ph"]["p"] < (bundle.get("plan") or {}).get("alpha", 0.05)
    ]
    if ph_global:
        text += _(
            "; the multivariable model's global test gave χ² = %(chi2).2f, df = %(df)s, p %(p)s"
        ) % {
            "chi2": ph_global["chi2"],
            "df": ph_global["df"],
            "p": _p_relation(ph_global["p"]),
        }
    if violated:
        text += _("; it was rejected (p < α) for %(list)s") % {"list": ", ".join(violated)}
    else:
        text += _("; no univariate model rejected it")
    return text + "."


def _firth_sentence(bundle: dict, cox: dict) -> str:
    uni = [
        labels.in_words(u["label"]).lower() for u in cox.get("univariate") or [] if u.get("firth")
    ]
    mv = cox.get("multivariable") or {}
    mv_firth = any(t.get("firth") for t in mv.get("terms") or [])
    if not uni and not mv_firth:
        return ""
    where = []
    if uni:
        where.append(_("the univariate models of %(list)s") % {"list": ", ".join(uni)})
    if mv_firth:
        where.append(_("the multivariable model"))
    return _(
        "Because of separation or very wide confidence intervals, Firth-penalized Cox "
        "regression (Breslow ties, profile penalized-likelihood confidence intervals, penalized "
        "likelihood-ratio p-values) is also reported for %(where)s."
    ) % {"where": " and ".join(where)}
