"""Words for what the bundle names with keys and operators: group, covariate, interval and
column labels as a reader of the dashboard or the manuscript sees them.

One place, so the dashboard, the figures and the manuscript tables say the same thing
("Long-term responders", "Depth of response ≥ median", "SPSS-compatible (symmetric)").
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Table 1 labels of the contract's columns (analysis-contract.md section 1).
COLUMN_LABELS = {
    "age_years": gettext_lazy("Age, years"),
    "sex": gettext_lazy("Sex"),
    "smoking": gettext_lazy("Smoking"),
    "bmi": gettext_lazy("BMI, kg/m²"),
    "ecog": gettext_lazy("ECOG performance status"),
    "brain_mets": gettext_lazy("Brain metastasis"),
    "liver_mets": gettext_lazy("Liver metastasis"),
    "prior_thoracic_rt": gettext_lazy("Prior thoracic radiotherapy"),
    "l2_radiotherapy": gettext_lazy("Second-line radiotherapy"),
    "l2_antiangiogenic": gettext_lazy("Second-line anti-angiogenic therapy"),
    "l1_pfs_months": gettext_lazy("First-line PFS, months"),
    "dpr_pct": gettext_lazy("Depth of response, %"),
    "l2_best_response": gettext_lazy("Second-line best overall response"),
}
# contract §3 km_ci options; "spss" is offered for comparison with earlier publications.
CI_METHODS = {
    "log-log": gettext_lazy("log-log"),
    "log": gettext_lazy("log"),
    "plain": gettext_lazy("plain (linear)"),
    "spss": gettext_lazy("SPSS-compatible (symmetric)"),
}
TESTS = {
    "chi2": gettext_lazy("Pearson χ² test without continuity correction"),
    "fisher": gettext_lazy("Fisher's exact test"),
    "wilcoxon": gettext_lazy("Wilcoxon rank-sum test"),
    "t": gettext_lazy("Student's t test"),
    "welch": gettext_lazy("Welch's t test"),
}
EVENT_WORDS = {"os": gettext_lazy("death"), "pfs": gettext_lazy("progression or death")}

# Abbreviations and operators of plan labels, spelled out. Whole words only, so "STR" in
# "STRONG" stays; the first letter follows the position (capital at the start only).
_ABBREVIATIONS = (
    (r"\bLTR\b", gettext_lazy("long-term responders")),
    (r"\bSTR\b", gettext_lazy("short-term responders")),
    (r"\bDpR\b", gettext_lazy("depth of response")),
    (r"\bRT\b", gettext_lazy("radiotherapy")),
    (r"\b2L\b", gettext_lazy("second-line")),
    (r"\b1L\b", gettext_lazy("first-line")),
)
_OPERATORS = ((">=", "≥"), ("<=", "≤"), ("!=", "≠"))
# The default plan's labels (analytics.stats.plan.DEFAULT_PLAN) as whole phrases, so that a
# Chinese reader gets a sentence rather than translated abbreviations between English words.
# Each English text is what in_words makes of the label, so English pages are unchanged; a
# label a PI typed into a plan is data and is shown as typed (abbreviations spelled out).
_PLAN_PHRASES = {
    "Overall survival": gettext_lazy("Overall survival"),
    "Progression-free survival": gettext_lazy("Progression-free survival"),
    "Age > 60 vs <= 60": gettext_lazy("Age > 60 vs ≤ 60"),
    "Male vs female": gettext_lazy("Male vs female"),
    "Baseline liver metastasis": gettext_lazy("Baseline liver metastasis"),
    "LTR vs STR": gettext_lazy("Long-term responders vs short-term responders"),
    "LTR": gettext_lazy("Long-term responders"),
    "STR": gettext_lazy("Short-term responders"),
    "DpR >= median": gettext_lazy("Depth of response ≥ median"),
    "DpR < median": gettext_lazy("Depth of response < median"),
}


def in_words(text: str | None) -> str:
    """A plan label for readers: 'DpR >= median' → 'Depth of response ≥ median'."""
    if not text:
        return ""
    phrase = _PLAN_PHRASES.get(str(text).strip())
    if phrase is not None:
        return str(phrase)
    out = str(text)
    for symbol, sign in _OPERATORS:
        out = out.replace(symbol, sign)
    for pattern, words in _ABBREVIATIONS:
        out = re.sub(pattern, lambda m, w=words: str(w), out)
    out = re.sub(r"\s+", " ", out).strip()
    return out[:1].upper() + out[1:]


def plan_phrase(label: str) -> str:
    """A plan label of the default plan in the reader's language; any other label as is."""
    return str(_PLAN_PHRASES.get(label, label))


def ci_method_label(method: str | None) -> str:
    return str(CI_METHODS.get(method or "", method or ""))


def test_label(test: str | None) -> str:
    return str(TESTS.get(test or "", test or ""))


def event_word(endpoint: str, label: str | None = None) -> str:
    word = EVENT_WORDS.get(endpoint)
    return str(word) if word is not None else (label or endpoint).lower()


def column_label(column: str) -> str:
    return str(COLUMN_LABELS.get(column, column))


def covariate(bundle: dict, key: str) -> dict | None:
    for cov in (bundle.get("plan") or {}).get("covariates") or []:
        if cov.get("key") == key:
            return cov
    return None


def covariate_label(bundle: dict, key: str) -> str:
    """The covariate's plan label in words; the key itself only when the plan lost it."""
    cov = covariate(bundle, key)
    return in_words(cov.get("label", key)) if cov else in_words(key)


def endpoint_label(bundle: dict, name: str) -> str:
    """The endpoint's plan label; the default plan's labels in the reader's language."""
    endpoints = (bundle.get("plan") or {}).get("endpoints") or {}
    label = str((endpoints.get(name) or {}).get("label", name))
    return str(_PLAN_PHRASES.get(label, label))


def variable_label(bundle: dict, variable: str) -> str:
    """A Table 1 variable: a covariate's label, else the column's, never a bare key."""
    cov = covariate(bundle, variable)
    if cov is not None:
        return in_words(cov.get("label", variable))
    return column_label(variable)


def level_label(bundle: dict, variable: str, level, label: str | None = None) -> str:
    """A Table 1 category: the covariate's group name for its level 1, else the value."""
    if label:
        return in_words(label)
    cov = covariate(bundle, variable)
    if cov is not None and cov.get("labels") and level in (0, 1):
        return in_words(cov["labels"][int(level)])
    if cov is not None and level == 1:
        return in_words(cov.get("label", variable))
    if variable == "sex":
        return {"M": _("Male"), "F": _("Female")}.get(str(level), str(level))
    if variable == "smoking":
        words = {"never": _("Never"), "former": _("Former"), "current": _("Current")}
        return words.get(str(level), str(level))
    return in_words(str(level))
