"""The statistical analysis plan: defaults, strict validation, canonical hash.

Unknown keys or option values are rejected with one line naming the plan path
(``plan.covariates[2]: unknown key 'cutt'``) so a typo can never silently change an analysis.
Extensions to the contract (all optional): covariate ``labels`` [label of 0, label of 1];
``level``/``reference`` may be lists of values; table1 entries may be objects
``{"column", "variable", "type": "categorical"|"continuous", "breaks": [...]}``;
top-level ``curve_max_points`` (default 1000), ``at_risk_step`` (months, default 3),
``followup_endpoint`` (default the primary endpoint).
Second-wave keys (contract §7, defaults filled in the normalised plan): ``compare_by`` ([]),
``continuous_test`` ("wilcoxon"), ``ph_test`` (true), ``firth`` ("separated"), ``rmst_tau``
(null), ``response`` (false).
"""

from __future__ import annotations

import copy
import hashlib
import json
from importlib import resources
from typing import Any

from .validation import EngineInputError

KM_CI = ("log-log", "log", "plain", "spss")
TIES = ("efron", "breslow")
OPS = (">", ">=", "<", "<=")
CONTINUOUS_TESTS = ("wilcoxon", "t", "welch")
FIRTH = (False, "separated", "all")
# Contract §7 options and their defaults.
SECOND_WAVE_DEFAULTS: dict[str, Any] = {
    "compare_by": [],
    "continuous_test": "wilcoxon",
    "ph_test": True,
    "firth": "separated",
    "rmst_tau": None,
    "response": False,
}

DEFAULT_PLAN: dict[str, Any] = {
    "alpha": 0.05,
    "km_ci": "log-log",
    "ties": "efron",
    "endpoints": {
        "os": {"time": "os_months", "event": "os_event", "label": "Overall survival"},
        "pfs": {"time": "pfs_months", "event": "pfs_event", "label": "Progression-free survival"},
    },
    "primary_endpoint": "os",
    "covariates": [
        {
            "key": "age_gt60",
            "label": "Age > 60 vs <= 60",
            "column": "age_years",
            "op": ">",
            "cut": 60,
        },
        {"key": "male", "label": "Male vs female", "column": "sex", "level": "M", "reference": "F"},
        {"key": "liver", "label": "Baseline liver metastasis", "column": "liver_mets"},
        {
            "key": "ltr",
            "label": "LTR vs STR",
            "column": "l1_pfs_months",
            "op": ">=",
            "cut": 6,
            "labels": ["STR", "LTR"],
        },
        {
            "key": "dpr_hi",
            "label": "DpR >= median",
            "column": "dpr_pct",
            "op": ">=",
            "cut": "median",
            "labels": ["DpR < median", "DpR >= median"],
        },
    ],
    "subgroups": ["ltr", "dpr_hi"],
    "multivariable": {"select": "univariate_p", "threshold": 0.05},
    "table1": [
        "age_years",
        "age_gt60",
        "male",
        "smoking",
        "bmi",
        "ecog",
        "brain_mets",
        "liver_mets",
    ],
    "ae_groups": {
        "Pneumonitis": [
            "Pneumonitis",
            "Interstitial lung disease",
            "Pulmonary fibrosis",
            "Acute interstitial pneumonitis",
        ],
        "Thyroiditis": ["Hypothyroidism", "Hyperthyroidism", "Thyroiditis"],
    },
}

TOP_KEYS = {
    "alpha",
    "km_ci",
    "ties",
    "endpoints",
    "primary_endpoint",
    "covariates",
    "subgroups",
    "multivariable",
    "table1",
    "ae_groups",
    "curve_max_points",
    "at_risk_step",
    "followup_endpoint",
    "firth",
    "compare_by",
    "continuous_test",
    "ph_test",
    "rmst_tau",
    "response",
    "name",
    "description",
}
ENDPOINT_KEYS = {"time", "event", "label"}
COVARIATE_KEYS = {"key", "label", "column", "op", "cut", "level", "reference", "labels"}
TABLE1_KEYS = {"column", "variable", "type", "breaks"}


def reference_plan() -> dict[str, Any]:
    """The reference study's plan (seed-cohort.md), shipped as reference_plan.json."""
    text = resources.files(__package__).joinpath("reference_plan.json").read_text("utf-8")
    return json.loads(text)


def _err(path: str, msg: str) -> EngineInputError:
    return EngineInputError(f"{path}: {msg}")


def _check_keys(obj: Any, allowed: set[str], path: str) -> None:
    if not isinstance(obj, dict):
        raise _err(path, f"must be an object, got {type(obj).__name__}")
    for k in obj:
        if k not in allowed:
            raise _err(path, f"unknown key {k!r} (allowed: {', '.join(sorted(allowed))})")


def _str_list(v: Any, path: str) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and v and all(isinstance(s, str) for s in v):
        return list(v)
    raise _err(path, "must be a string or a non-empty list of strings")


def parse_plan(plan: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a plan and fill defaults; returns a new normalised dict (input untouched)."""
    if plan is None:
        plan = {}
    _check_keys(plan, TOP_KEYS, "plan")
    out: dict[str, Any] = copy.deepcopy(DEFAULT_PLAN)
    out.update(copy.deepcopy(plan))
    out.setdefault("curve_max_points", 1000)
    out.setdefault("at_risk_step", 3)
    for key, default in SECOND_WAVE_DEFAULTS.items():
        out.setdefault(key, copy.deepcopy(default))

    alpha = out["alpha"]
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise _err("plan.alpha", f"must be a number between 0 and 1, got {alpha!r}")
    if out["km_ci"] not in KM_CI:
        raise _err("plan.km_ci", f"unknown option {out['km_ci']!r} (allowed: {', '.join(KM_CI)})")
    if out["ties"] not in TIES:
        raise _err("plan.ties", f"unknown option {out['ties']!r} (allowed: {', '.join(TIES)})")
    # `is not False`: 0 == False in Python, and a plan's 0 is no more an option than its true
    if out["firth"] is not False and out["firth"] not in FIRTH[1:]:
        raise _err(
            "plan.firth",
            f'unknown option {out["firth"]!r} (allowed: false, "separated", "all")',
        )
    if out["continuous_test"] not in CONTINUOUS_TESTS:
        raise _err(
            "plan.continuous_test",
            f"unknown option {out['continuous_test']!r} (allowed: {', '.join(CONTINUOUS_TESTS)})",
        )
    for name in ("ph_test", "response"):
        if not isinstance(out[name], bool):
            raise _err(f"plan.{name}", f"must be true or false, got {out[name]!r}")
    tau = out["rmst_tau"]
    if tau is not None and (isinstance(tau, bool) or not isinstance(tau, (int, float)) or tau <= 0):
        raise _err("plan.rmst_tau", f"must be a positive number of months or null, got {tau!r}")
    for name in ("curve_max_points",):
        v = out[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 2:
            raise _err(f"plan.{name}", f"must be an integer >= 2, got {v!r}")
    step = out["at_risk_step"]
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        raise _err("plan.at_risk_step", f"must be a positive number, got {step!r}")

    eps = out["endpoints"]
    if not isinstance(eps, dict) or not eps:
        raise _err("plan.endpoints", "must be a non-empty object")
    for name, ep in eps.items():
        path = f"plan.endpoints.{name}"
        _check_keys(ep, ENDPOINT_KEYS, path)
        for k in ("time", "event"):
            if not isinstance(ep.get(k), str) or not ep[k]:
                raise _err(path, f"{k!r} must name a column")
        ep.setdefault("label", name)
    for k in ("primary_endpoint", "followup_endpoint"):
        if k == "followup_endpoint" and k not in out:
            out[k] = out["primary_endpoint"]
        # A list or object is unhashable: "in" would raise TypeError instead of this message.
        if not isinstance(out[k], str) or out[k] not in eps:
            raise _err(f"plan.{k}", f"{out[k]!r} is not one of the endpoints ({', '.join(eps)})")

    covs = out["covariates"]
    if not isinstance(covs, list):
        raise _err("plan.covariates", "must be a list")
    seen: set[str] = set()
    for i, cov in enumerate(covs):
        path = f"plan.covariates[{i}]"
        _check_keys(cov, COVARIATE_KEYS, path)
        key = cov.get("key")
        if not isinstance(key, str) or not key:
            raise _err(path, "'key' must be a non-empty string")
        if key in seen:
            raise _err(path, f"duplicate key {key!r}")
        seen.add(key)
        if not isinstance(cov.get("column"), str):
            raise _err(path, "'column' must name a column")
        cov.setdefault("label", key)
        has_op = "op" in cov or "cut" in cov
        has_level = "level" in cov or "reference" in cov
        if has_op and has_level:
            raise _err(path, "give either op/cut or level/reference, not both")
        if has_op:
            if cov.get("op") not in OPS:
                raise _err(path, f"op must be one of {', '.join(OPS)}, got {cov.get('op')!r}")
            cut = cov.get("cut")
            if cut != "median" and (isinstance(cut, bool) or not isinstance(cut, (int, float))):
                raise _err(path, f'cut must be a number or "median", got {cut!r}')
        if has_level:
            if "level" not in cov or "reference" not in cov:
                raise _err(path, "level and reference go together")
            lv = _str_list(cov["level"], path + ".level")
            rf = _str_list(cov["reference"], path + ".reference")
            if set(lv) & set(rf):
                raise _err(path, "a value cannot be both level and reference")
        if "labels" in cov:
            lab = cov["labels"]
            if not (
                isinstance(lab, list) and len(lab) == 2 and all(isinstance(s, str) for s in lab)
            ):
                raise _err(path, "labels must be [label of 0, label of 1]")

    subs = out["subgroups"]
    if not isinstance(subs, list):
        raise _err("plan.subgroups", "must be a list of covariate keys")
    for s in subs:
        if s not in seen:
            raise _err("plan.subgroups", f"{s!r} is not a covariate key")

    by = out["compare_by"]
    if not isinstance(by, list) or not all(isinstance(k, str) for k in by):
        raise _err("plan.compare_by", "must be a list of covariate keys")
    for k in by:
        if k not in seen:
            raise _err("plan.compare_by", f"{k!r} is not a covariate key")

    mv = out["multivariable"]
    _check_keys(mv, {"select", "threshold", "keys"}, "plan.multivariable")
    sel = mv.get("select")
    if sel == "univariate_p":
        _check_keys(mv, {"select", "threshold"}, "plan.multivariable")
        thr = mv.setdefault("threshold", 0.05)
        if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0 < thr <= 1:
            raise _err("plan.multivariable.threshold", f"must be in (0, 1], got {thr!r}")
    elif sel == "fixed":
        _check_keys(mv, {"select", "keys"}, "plan.multivariable")
        keys = mv.get("keys")
        if not isinstance(keys, list) or not keys:
            raise _err("plan.multivariable.keys", "must be a non-empty list of covariate keys")
        for k in keys:
            if k not in seen:
                raise _err("plan.multivariable.keys", f"{k!r} is not a covariate key")
    elif sel == "none":
        _check_keys(mv, {"select"}, "plan.multivariable")
    else:
        raise _err(
            "plan.multivariable.select",
            f"unknown option {sel!r} (allowed: univariate_p, fixed, none)",
        )

    t1 = out["table1"]
    if not isinstance(t1, list):
        raise _err("plan.table1", "must be a list")
    for i, item in enumerate(t1):
        path = f"plan.table1[{i}]"
        if isinstance(item, str):
            continue
        _check_keys(item, TABLE1_KEYS, path)
        if not isinstance(item.get("column"), str):
            raise _err(path, "'column' must name a column")
        if item.get("type", "categorical") not in ("categorical", "continuous"):
            raise _err(path, f"type must be categorical or continuous, got {item.get('type')!r}")
        if "breaks" in item:
            br = item["breaks"]
            if not (
                isinstance(br, list)
                and br
                and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in br)
                and br == sorted(br)
            ):
                raise _err(path, "breaks must be an ascending list of numbers")

    groups = out["ae_groups"]
    if not isinstance(groups, dict):
        raise _err("plan.ae_groups", "must be an object of group name → list of terms")
    member_of: dict[str, str] = {}
    for g, terms in groups.items():
        terms = _str_list(terms, f"plan.ae_groups.{g}")
        groups[g] = terms
        for t in terms:
            if t.lower() in member_of and member_of[t.lower()] != g:
                raise _err(f"plan.ae_groups.{g}", f"term {t!r} is also in {member_of[t.lower()]!r}")
            member_of[t.lower()] = g
    return out


def canonical_json(obj: Any) -> bytes:
    """Key-sorted, compact, UTF-8 JSON: the bytes that plan_sha256 hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def plan_sha256(plan: dict[str, Any]) -> str:
    """SHA-256 of the normalised plan's canonical JSON (so defaults spelled out hash equal)."""
    return hashlib.sha256(canonical_json(plan)).hexdigest()
