"""``analyze``: patients + adverse events + plan → the contract's result bundle (a dict)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .compare import comparisons
from .covariates import derive_all
from .cox import CoxResult, cox_fit
from .dist import norm_ppf
from .firth import firth_cox
from .km import KMFit, at_risk_table, curve_points, km_fit, median, reverse_km, rmst
from .logrank import logrank
from .plan import parse_plan, plan_sha256
from .response import response_summary
from .tables import ae_table, table1
from .validation import (
    EngineInputError,
    binary_column,
    check_adverse_events,
    check_patients,
    require_columns,
    time_column,
)
from .zph import zph_of_fit

# A finite HR whose 95% CI spans more than this factor is shown but flagged: in a small
# cohort that is what near-separation looks like (seed-cohort.md, DpR 2.57–194.81).
WIDE_CI_RATIO = 100.0
HR_DIRECTION = (
    "hazard ratio of the event for the covariate's named group (value 1) against its "
    "reference (value 0); HR > 1 means the named group has the event sooner"
)


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, vectorised (uint64 arithmetic wraps, as intended); a new
    array, computed in place (at 3.5 million rows a temporary per step was half its cost)."""
    z = z + _GOLDEN
    shifted = np.empty_like(z)
    for shift, multiplier in ((_S30, _M1), (_S27, _M2)):
        np.right_shift(z, shift, out=shifted)
        z ^= shifted
        z *= multiplier
    np.right_shift(z, _S31, out=shifted)
    z ^= shifted
    return z


def _table_digest(h: Any, df: pd.DataFrame, factorized: dict[str, tuple] | None = None) -> None:
    """Feed one table into h, independent of row order, column order and storage type.

    Each column becomes one uint64 per row: numbers as the bits of their float64 value (so 1,
    1.0 and a database integer agree; blank = one fixed NaN), text as the row's rank among
    the column's sorted distinct values (the distinct values themselves are hashed too).
    Rows are mixed column by column with splitmix64, the row hashes sorted and hashed —
    a multiset digest, so no sort of the table itself (lexsorting 400,000 AE rows by five
    keys cost 0.3 s). ``factorized`` holds ``pd.factorize`` of text columns the caller
    has factorized already (the input checks do), so 3.5 million ids are not hashed twice.
    """
    n = len(df)
    h.update(f"rows={n}\n".encode())
    acc = np.zeros(n, dtype=np.uint64)
    factorized = factorized or {}
    with np.errstate(over="ignore"):
        for col in sorted(df.columns, key=str):
            s = df[col]
            numeric = pd.api.types.is_numeric_dtype(s)
            if not numeric:
                codes, uniques = factorized[col] if col in factorized else pd.factorize(s)
            # An all-blank column is read from a CSV as float NaN but comes from the database
            # as None objects: both hash as the numeric all-blank column (factorize gives
            # blanks no code, so all blank = no distinct value).
            if numeric or (n and len(uniques) == 0):
                v = s.astype(float).to_numpy(dtype="<f8", na_value=np.nan)
                v = np.where(np.isnan(v), np.nan, v + 0.0)  # one NaN; -0.0 → 0.0
                bits = v.view(np.uint64)
                h.update(f"\x1eN:{col}\n".encode())
            else:
                names = np.asarray(uniques).astype(str)
                srt = np.argsort(names, kind="stable")
                rank = np.empty(len(names), dtype=np.int64)
                rank[srt] = np.arange(len(names))
                bits = np.where(codes < 0, -1, rank[np.maximum(codes, 0)]).astype(np.uint64)
                h.update(f"\x1eS:{col}:{len(names)}\n".encode())
                h.update("\x1f".join(names[srt].tolist()).encode("utf-8"))
            salt = np.uint64(
                int.from_bytes(hashlib.sha256(str(col).encode()).digest()[:8], "little")
            )
            acc = _mix64(acc ^ _mix64(bits ^ salt))
    h.update(np.sort(acc).astype("<u8").tobytes())


def dataset_sha256(
    patients: pd.DataFrame,
    adverse_events: pd.DataFrame | None,
    factorized: dict[str, dict[str, tuple]] | None = None,
) -> str:
    """SHA-256 over a canonical digest of the patient table, then the AE table.

    Canonical = independent of column order, row order, int-vs-float storage, text vs
    categorical columns and the source (CSV or database). Not CSV text: formatting 2.5 M
    cells as CSV took 1.6 s of the 100,000-patient budget; this takes a few tens of ms.
    ``factorized`` ({"patients"|"adverse_events": {column: pd.factorize(column)}}) only
    saves work: the digest is the same with or without it.
    """
    factorized = factorized or {}
    h = hashlib.sha256(b"analytics.stats dataset v2\n")
    _table_digest(h, patients, factorized.get("patients"))
    h.update(b"\x1d--adverse-events--\n")
    if adverse_events is not None:
        _table_digest(h, adverse_events, factorized.get("adverse_events"))
    return h.hexdigest()


def _f(v: Any) -> float | None:
    """float or None for NaN/inf (JSON has no NaN; the contract says null)."""
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def _km_summary(fit: KMFit, label: str | None, plan: dict) -> dict:
    med, lo, hi = median(fit)
    out: dict[str, Any] = {}
    if label is not None:
        out["label"] = label
    out.update(
        n=fit.n,
        events=fit.events,
        median=_f(med),
        ci=[_f(lo), _f(hi)],
        ci_method=fit.conf_type,
    )
    return out


def _rmst_entry(fit: KMFit, tau: float, alpha: float) -> dict:
    """RMST to tau with its se and the symmetric CI rmst ± z·se (contract §7)."""
    value, se = rmst(fit, tau)
    z = norm_ppf(1 - alpha / 2)
    return {"tau": tau, "rmst": value, "se": se, "ci": [value - z * se, value + z * se]}


def _endpoint_data(
    patients: pd.DataFrame, ep: dict, name: str, warnings: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = time_column(patients, ep["time"])
    e = binary_column(patients, ep["event"], "event")
    ok = ~np.isnan(t) & ~np.isnan(e)
    dropped = int((~ok).sum())
    if dropped:
        warnings.append(
            f"{name}: {dropped} patient(s) left out (blank {ep['time']} or {ep['event']})"
        )
    return t, e, ok


def _cox_term(
    res: CoxResult,
    j: int,
    key: str,
    x: np.ndarray,
    event: np.ndarray,
    alpha: float,
    labels: list[str],
) -> tuple[dict, list[str], bool]:
    """One term's HR, CI, Wald p, with the separation rules applied; and whether the term
    is flagged for separation (monotone likelihood, R's infinite-coefficient test, or a
    near-separation CI), which is what ``firth: "separated"`` remedies."""
    warns: list[str] = list(res.warnings)
    separated = False
    hr, lo, hi = res.hr_ci(alpha)
    p = res.wald_p()
    suppress = not res.converged or not np.isfinite(res.coef[j]) or not np.isfinite(res.se[j])
    # An empty cell of events makes the likelihood monotone in this coefficient: the MLE is
    # ±∞ and any finite number printed would only be where the iteration stopped.
    ev1 = int(np.sum((x == 1) & (event == 1)))
    ev0 = int(np.sum((x == 0) & (event == 1)))
    if ev1 == 0 or ev0 == 0:
        empty = labels[1] if ev1 == 0 else labels[0]
        warns.append(
            f"monotone likelihood: no events in the {empty!r} group of {key}; "
            "HR not estimable (tends to 0 or infinity)"
        )
        suppress = True
        separated = True
    if bool(res.infinite[j]):
        # R coxph's own test: "Loglik converged before variable …; coefficient may be infinite"
        warns.append(
            f"possible separation: {key} coefficient may be infinite "
            f"(loglik converged while beta = {res.coef[j]:.3g}, se = {res.se[j]:.3g})"
        )
        suppress = True
        separated = True
    term: dict[str, Any] = {"key": key}
    if suppress:
        term.update(hr=None, ci=[None, None], p=None)
        term["diagnostics"] = {
            "coef": _f(res.coef[j]),
            "se": _f(res.se[j]),
            "iterations": res.iterations,
            "converged": res.converged,
            "events_in_group": [ev0, ev1],
        }
    else:
        term.update(hr=_f(hr[j]), ci=[_f(lo[j]), _f(hi[j])], p=_f(p[j]))
        term.update(coef=_f(res.coef[j]), se=_f(res.se[j]))
        if hi[j] / lo[j] > WIDE_CI_RATIO:
            warns.append(
                f"very wide CI for {key} ({lo[j]:.3g}–{hi[j]:.3g}): few events in a group, "
                "possible near-separation; interpret with care"
            )
            separated = True
    return term, warns, separated


def _ph_entry(chi2: float, p: float) -> dict:
    return {"chi2": _f(chi2), "df": 1, "p": _f(p)}


def _firth_terms(t: np.ndarray, e: np.ndarray, x: np.ndarray, alpha: float) -> list[dict]:
    """coxphf's estimates for each column of x, as the bundle's ``firth`` objects."""
    fit = firth_cox(t, e, x, alpha)
    hr, lo, hi = fit.hr_ci()
    out = []
    for j in range(x.shape[1] if x.ndim == 2 else 1):
        entry = {
            "hr": _f(hr[j]),
            "ci": [_f(lo[j]), _f(hi[j])],
            "p": _f(fit.p[j]),
            "coef": _f(fit.coef[j]),
            "lr_chi2": _f(fit.lr_chi2[j]),
            "ci_method": "profile",
            "p_method": "penalized likelihood ratio",
            "ties": "breslow",
        }
        if fit.warnings:
            entry["warnings"] = list(fit.warnings)
        out.append(entry)
    return out


def _covariate_codes(cov_values: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """The covariates as int8 codes (0, 1, −1 for blank), or None if one is not 0/1/blank."""
    codes = {}
    for key, values in cov_values.items():
        blank = np.isnan(values)
        if not np.all(blank | (values == 0) | (values == 1)):
            return None
        codes[key] = np.where(blank, -1, values).astype(np.int8)
    return codes


def _reordered(
    cov_values: dict[str, np.ndarray], codes: dict[str, np.ndarray] | None, order: np.ndarray
) -> dict[str, np.ndarray]:
    """Every covariate in the given row order. A random gather from 1,000,000 floats (8 MB)
    misses the cache at nearly every row, 30 ms a covariate; from their int8 codes (1 MB)
    it stays in cache."""
    if codes is None:
        return {k: v[order] for k, v in cov_values.items()}
    out = {}
    for key, code in codes.items():
        gathered = code[order]
        out[key] = np.where(gathered < 0, np.nan, gathered.astype(float))
    return out


def _constant(values: np.ndarray) -> bool:
    """Fewer than two distinct values (no NaN here): min and max, not a sort per covariate."""
    return len(values) == 0 or bool(values.min() == values.max())


def _fit_usable(res: CoxResult) -> bool:
    return bool(res.converged and np.all(np.isfinite(res.coef)) and np.all(np.isfinite(res.se)))


def _ph_or_none(res: CoxResult, term: dict) -> dict | None:
    """cox.zph of a univariate fit; null when the fit has no finite estimate to test."""
    if not _fit_usable(res) or term.get("hr") is None:
        return None
    z = zph_of_fit(res)
    return _ph_entry(z.chi2[0], z.p[0])


def _ph_model(res: CoxResult, keys: list[str], terms: list[dict]) -> dict | None:
    """cox.zph of the multivariable fit: global and per-term χ² (null when not estimable)."""
    if not _fit_usable(res) or any(term.get("hr") is None for term in terms):
        return None
    z = zph_of_fit(res)
    return {
        "global": {"chi2": _f(z.global_chi2), "df": z.global_df, "p": _f(z.global_p)},
        "terms": [{"key": k, **_ph_entry(z.chi2[j], z.p[j])} for j, k in enumerate(keys)],
    }


def _cox_section(
    plan: dict,
    t: np.ndarray,
    e: np.ndarray,
    ok: np.ndarray,
    cov_values: dict[str, np.ndarray],
    cov_info: dict[str, dict],
    warnings: list[str],
) -> dict:
    alpha = plan["alpha"]
    ties = plan["ties"]
    ep = plan["primary_endpoint"]
    univariate = []
    for cov in plan["covariates"]:
        key = cov["key"]
        x = cov_values[key]
        rows = ok & ~np.isnan(x)
        entry: dict[str, Any] = {
            "key": key,
            "label": cov["label"],
            "comparison": f"{cov_info[key]['labels'][1]} vs {cov_info[key]['labels'][0]}",
            "n": int(rows.sum()),
            "events": int(e[rows].sum()),
            "n_excluded": int((ok & np.isnan(x)).sum()),
        }
        xr = x[rows]
        if entry["events"] == 0 or _constant(xr):
            why = "no events" if entry["events"] == 0 else "covariate is constant"
            entry.update(hr=None, ci=[None, None], p=None, warnings=[f"not estimable: {why}"])
            warnings.append(f"cox {ep} {key}: not estimable: {why}")
            univariate.append(entry)
            continue
        res = cox_fit(t[rows], e[rows], xr, ties=ties, presorted=True)
        term, warns, separated = _cox_term(res, 0, key, xr, e[rows], alpha, cov_info[key]["labels"])
        term.pop("key")
        entry.update(term)
        entry["warnings"] = warns
        if plan["ph_test"]:
            entry["ph"] = _ph_or_none(res, term)
        if plan["firth"] == "all" or (plan["firth"] == "separated" and separated):
            entry["firth"] = _firth_terms(t[rows], e[rows], xr[:, None], alpha)[0]
        warnings.extend(f"cox {ep} {key}: {w}" for w in warns)
        univariate.append(entry)

    mv = plan["multivariable"]
    if mv["select"] == "univariate_p":
        keys = [u["key"] for u in univariate if u["p"] is not None and u["p"] < mv["threshold"]]
    elif mv["select"] == "fixed":
        keys = list(mv["keys"])
    else:
        keys = []
    multivariable: dict[str, Any] | None
    if not keys:
        multivariable = {"keys": [], "note": "no covariate selected"}
    else:
        # stacked as rows and transposed (a Fortran-ordered n × p view): column_stack
        # writes 1,000,000 rows of p strided values
        xm = np.vstack([cov_values[k] for k in keys]).T
        rows = ok & ~np.isnan(xm).any(axis=1)
        xr = xm[rows]
        multivariable = {
            "keys": keys,
            "n": int(rows.sum()),
            "events": int(e[rows].sum()),
            "n_excluded": int((ok & ~rows).sum()),
        }
        mwarn: list[str] = []
        const = [k for j, k in enumerate(keys) if _constant(xr[:, j])]
        if multivariable["events"] == 0 or const:
            why = "no events" if multivariable["events"] == 0 else f"constant: {', '.join(const)}"
            multivariable.update(terms=[], lr_test=None, warnings=[f"not estimable: {why}"])
            warnings.append(f"cox {ep} multivariable: not estimable: {why}")
        else:
            res = cox_fit(t[rows], e[rows], xr, ties=ties, presorted=True)
            terms = []
            any_separated = False
            for j, k in enumerate(keys):
                term, warns, separated = _cox_term(
                    res, j, k, xr[:, j], e[rows], alpha, cov_info[k]["labels"]
                )
                any_separated = any_separated or separated
                term["label"] = cov_info[k]["label"]
                # fit-level warnings (non-convergence) are reported once, not per term
                term["warnings"] = [w for w in warns if w not in res.warnings]
                mwarn.extend(term["warnings"])
                terms.append(term)
            mwarn = list(res.warnings) + mwarn
            stat, df, p = res.lr_test()
            multivariable.update(
                terms=terms,
                # a fit that failed has no likelihood-ratio test worth printing
                lr_test={"chi2": _f(stat), "df": df, "p": _f(p)} if res.converged else None,
                warnings=mwarn,
            )
            if plan["ph_test"]:
                multivariable["ph"] = _ph_model(res, keys, terms)
            # Firth is a fit of the whole model: when one term is separated, every term's
            # estimate comes from the penalised model
            if plan["firth"] == "all" or (plan["firth"] == "separated" and any_separated):
                for term, firth in zip(
                    terms, _firth_terms(t[rows], e[rows], xr, alpha), strict=True
                ):
                    term["firth"] = firth
            warnings.extend(f"cox {ep} multivariable: {w}" for w in mwarn)
    return {
        "endpoint": ep,
        "ties": ties,
        "hr_direction": HR_DIRECTION,
        "univariate": univariate,
        "multivariable": multivariable,
    }


def analyze(
    patients: pd.DataFrame, adverse_events: pd.DataFrame | None, plan: dict | None
) -> dict[str, Any]:
    """The full result bundle of analysis-contract.md §4 for one dataset and plan.

    Raises EngineInputError (one line, column and row) for bad input; an endpoint without
    events gives null estimates and a warning, not an error.
    """
    plan = parse_plan(plan)
    warnings: list[str] = []
    factorized = {"patients": check_patients(patients)}
    why: dict[str, str] = {}
    for name, ep in plan["endpoints"].items():
        why.setdefault(ep["time"], f"endpoint {name}")
        why.setdefault(ep["event"], f"endpoint {name}")
    for cov in plan["covariates"]:
        why.setdefault(cov["column"], f"covariate {cov['key']}")
    keys = {c["key"] for c in plan["covariates"]}
    for item in plan["table1"]:
        col = item if isinstance(item, str) else item["column"]
        if col not in keys:
            why.setdefault(col, "table1")
    if plan["response"]:
        why.setdefault("l2_best_response", "response")
    require_columns(patients, list(why), "patient", why)
    ae = None
    if adverse_events is not None:
        ae, factorized["adverse_events"] = check_adverse_events(adverse_events, patients)

    cov_values, infos = derive_all(patients, plan["covariates"])
    cov_info = {i["key"]: i for i in infos}
    ci_method = plan["km_ci"]
    alpha = plan["alpha"]

    # Each endpoint's rows sorted by its time once, with the covariates in the same order:
    # the curves, log-rank tests and Cox fits then never sort (km.distinct_times)
    endpoint_data = {}
    endpoint_covariates = {}
    codes = _covariate_codes(cov_values)
    for name, ep in plan["endpoints"].items():
        t, e, ok = _endpoint_data(patients, ep, name, warnings)
        order = np.argsort(t, kind="stable")
        endpoint_data[name] = (t[order], e[order], ok[order])
        endpoint_covariates[name] = _reordered(cov_values, codes, order)
    km_out: dict[str, Any] = {}
    for name, ep in plan["endpoints"].items():
        t, e, ok = endpoint_data[name]
        fit = km_fit(t[ok], e[ok], ci_method, alpha)
        entry = _km_summary(fit, ep["label"], plan)
        entry["n_excluded"] = int((~ok).sum())
        if fit.events == 0:
            warnings.append(f"{name}: no events; median and CI not estimable")
        elif entry["median"] is None:
            warnings.append(f"{name}: median not reached")
        if plan["rmst_tau"] is not None and fit.n > 0:
            entry["rmst"] = _rmst_entry(fit, float(plan["rmst_tau"]), alpha)
            if len(fit.time) and plan["rmst_tau"] > fit.time[-1]:
                warnings.append(
                    f"{name}: rmst_tau {plan['rmst_tau']:g} is beyond the last follow-up "
                    f"({fit.time[-1]:.3g}); the curve is carried flat to tau"
                )
        entry["curve"] = curve_points(fit, plan["curve_max_points"])
        entry["at_risk"] = at_risk_table(fit, plan["at_risk_step"])
        km_out[name] = entry

    fu_name = plan["followup_endpoint"]
    t, e, ok = endpoint_data[fu_name]
    fu = reverse_km(t[ok], e[ok], ci_method, alpha)
    fmed, flo, fhi = median(fu)
    followup = {
        "method": "reverse_km",
        "endpoint": fu_name,
        "median": _f(fmed),
        "ci": [_f(flo), _f(fhi)],
        "ci_method": ci_method,
    }

    subgroups = []
    for key in plan["subgroups"]:
        labels = cov_info[key]["labels"]
        for name in plan["endpoints"]:
            t, e, ok = endpoint_data[name]
            x = endpoint_covariates[name][key]
            rows = ok & ~np.isnan(x)
            groups = []
            for value in (1.0, 0.0):
                sel = rows & (x == value)
                g = _km_summary(km_fit(t[sel], e[sel], ci_method, alpha), labels[int(value)], plan)
                groups.append(g)
            entry: dict[str, Any] = {
                "key": key,
                "endpoint": name,
                "groups": groups,
                "n_excluded": int((ok & np.isnan(x)).sum()),
            }
            if all(g["n"] > 0 for g in groups) and e[rows].sum() > 0:
                lr = logrank(t[rows], e[rows], (x[rows] == 0).astype(np.int64))
                entry["logrank"] = {"chi2": _f(lr.chi2), "df": lr.df, "p": _f(lr.p)}
            else:
                entry["logrank"] = None
                warnings.append(
                    f"subgroup {key} {name}: log-rank not computable (empty group or no events)"
                )
            subgroups.append(entry)

    # sorted by time; every Cox fit takes row subsets that stay sorted
    t, e, ok = endpoint_data[plan["primary_endpoint"]]
    cox = _cox_section(
        plan, t, e, ok, endpoint_covariates[plan["primary_endpoint"]], cov_info, warnings
    )

    bundle: dict[str, Any] = {
        "engine_version": __version__,
        "plan_sha256": plan_sha256(plan),
        "dataset_sha256": dataset_sha256(patients, adverse_events, factorized),
        "n_patients": int(len(patients)),
        "n_adverse_events": 0 if adverse_events is None else int(len(adverse_events)),
        "covariates": infos,
        "km": km_out,
        "followup": followup,
        "subgroups": subgroups,
        "cox": cox,
        "table1": table1(patients, plan["table1"], cov_values, cov_info),
        # no AE file → null (unknown), not a table of zeros (which would claim "no events")
        "ae_table": None if ae is None else ae_table(ae, len(patients), plan["ae_groups"]),
        "plan": plan,
        "warnings": warnings,
    }
    # contract §7: these keys appear only when the plan asks for them
    if plan["compare_by"]:
        bundle["comparisons"] = comparisons(
            patients,
            plan["compare_by"],
            plan["table1"],
            cov_values,
            cov_info,
            plan["continuous_test"],
        )
    if plan["response"]:
        bundle["response"] = response_summary(patients, alpha)
    return bundle


__all__ = ["EngineInputError", "analyze", "dataset_sha256"]
