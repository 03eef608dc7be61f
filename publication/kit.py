"""A data cut's reproduction kit: the de-identified dataset, the plan and an R script that
recomputes every number of the cut's bundle and compares it with the bundle.

The kit is built from the frozen cut alone (never from today's data), so the same cut always
gives the same kit. ``reproduce.R`` is generated from the plan: the covariates, endpoints
and options are written out as R code a statistician can read, followed by one fixed body
(``publication/r/reproduce_body.R``) that uses only R's survival and coxphf packages.
``expected.csv`` holds the bundle's numbers under the same paths the script writes, with the
tolerance each is compared at.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
from django.utils import translation

from analytics.stats.compare import _row_kind
from analytics.stats.tables import _bin_labels
from exchange import deid
from publication.models import DataCut
from publication.services import cut_adverse_events, cut_patients, tables_to_csv

BODY = Path(__file__).resolve().parent / "r" / "reproduce_body.R"

# Tolerances: estimates to 1e-6 relative, p-values and the iterative Firth fits to 1e-4
# (the same as the engine's own tests against R: tests/analytics/stats/test_*_r.py).
EST_RTOL = 1e-6
P_RTOL = 1e-4
FIRTH_RTOL = 1e-4
ATOL = 1e-9
P_ATOL = 1e-12

KIT_KEY_PURPOSE = "publication reproduction kit"


# -- the bundle's numbers under the script's paths ---------------------------------------------
def _put_km(out: dict, path: str, entry: dict) -> None:
    out[f"{path}.n"] = entry.get("n")
    out[f"{path}.events"] = entry.get("events")
    out[f"{path}.median"] = entry.get("median")
    ci = entry.get("ci") or [None, None]
    out[f"{path}.ci_lower"], out[f"{path}.ci_upper"] = ci[0], ci[1]


def _put_est(out: dict, path: str, entry: dict | None) -> None:
    if not entry:
        return
    out[f"{path}.hr"] = entry.get("hr")
    ci = entry.get("ci") or [None, None]
    out[f"{path}.ci_lower"], out[f"{path}.ci_upper"] = ci[0], ci[1]
    out[f"{path}.p"] = entry.get("p")


def expected_values(bundle: dict) -> dict[str, Any]:
    """Path → value of every number the kit recomputes (None where the bundle has null)."""
    out: dict[str, Any] = {"n_patients": bundle["n_patients"]}
    for name, entry in (bundle.get("km") or {}).items():
        _put_km(out, f"km.{name}", entry)
        rmst = entry.get("rmst")
        if rmst:
            out[f"km.{name}.rmst"] = rmst["rmst"]
            out[f"km.{name}.rmst_se"] = rmst["se"]
            out[f"km.{name}.rmst.ci_lower"], out[f"km.{name}.rmst.ci_upper"] = rmst["ci"]
    followup = bundle.get("followup") or {}
    out["followup.median"] = followup.get("median")
    out["followup.ci_lower"], out["followup.ci_upper"] = followup.get("ci") or [None, None]
    for entry in bundle.get("subgroups") or []:
        path = f"subgroup.{entry['key']}.{entry['endpoint']}"
        g1, g0 = entry["groups"]
        _put_km(out, f"{path}.g1", g1)
        _put_km(out, f"{path}.g0", g0)
        if entry.get("logrank"):
            out[f"{path}.logrank.chi2"] = entry["logrank"]["chi2"]
            out[f"{path}.logrank.p"] = entry["logrank"]["p"]
    cox = bundle.get("cox") or {}
    for entry in cox.get("univariate") or []:
        path = f"cox.uni.{entry['key']}"
        out[f"{path}.n"], out[f"{path}.events"] = entry["n"], entry["events"]
        _put_est(out, path, entry)
        if entry.get("ph"):
            out[f"{path}.ph.chi2"], out[f"{path}.ph.p"] = entry["ph"]["chi2"], entry["ph"]["p"]
        _put_est(out, f"{path}.firth", entry.get("firth"))
    multi = cox.get("multivariable") or {}
    out["cox.multi.keys"] = ",".join(multi.get("keys") or [])
    if multi.get("keys") and "n" in multi:
        out["cox.multi.n"], out["cox.multi.events"] = multi["n"], multi["events"]
        for term in multi.get("terms") or []:
            _put_est(out, f"cox.multi.{term['key']}", term)
            _put_est(out, f"cox.multi.{term['key']}.firth", term.get("firth"))
        lr = multi.get("lr_test")
        if lr:
            out["cox.multi.lr.chi2"], out["cox.multi.lr.df"] = lr["chi2"], lr["df"]
            out["cox.multi.lr.p"] = lr["p"]
        ph = multi.get("ph")
        if ph:
            for k in ("chi2", "df", "p"):
                out[f"cox.multi.ph.global.{k}"] = ph["global"][k]
            for term in ph["terms"]:
                out[f"cox.multi.ph.{term['key']}.chi2"] = term["chi2"]
                out[f"cox.multi.ph.{term['key']}.p"] = term["p"]
    response = bundle.get("response")
    if response:
        out["response.evaluable"] = response["evaluable"]
        for name in ("orr", "dcr"):
            entry = response[name]
            out[f"response.{name}.n"], out[f"response.{name}.pct"] = entry["n"], entry["pct"]
            lo, hi = entry["ci"]
            out[f"response.{name}.ci_lower"], out[f"response.{name}.ci_upper"] = lo, hi
    for row in bundle.get("table1") or []:
        path = f"table1.{row['variable']}"
        if "missing" in row:
            out[f"{path}.missing"] = row["missing"]
        if "median" in row:
            for k in ("n", "median", "q1", "q3"):
                out[f"{path}.{k}"] = row[k]
        else:
            level = _level_text(row["level"])
            out[f"{path}.{level}.n"], out[f"{path}.{level}.pct"] = row["n"], row["pct"]
    for row in bundle.get("ae_table") or []:
        name = {"any": "_any", "immune_related": "_immune_related"}.get(row["kind"], row["term"])
        for part in ("any_grade", "grade_3_5"):
            out[f"ae.{name}.{part}.n"] = row[part]["n"]
            out[f"ae.{name}.{part}.pct"] = row[part]["pct"]
    for comparison in bundle.get("comparisons") or []:
        for row in comparison["rows"]:
            path = f"compare.{comparison['by']}.{row['variable']}"
            if row.get("test") is None:
                continue
            out[f"{path}.test"] = row["test"]
            out[f"{path}.p"] = row.get("p")
            if "median" in row:
                for k in (0, 1):
                    out[f"{path}.median{k}"] = row["median"][k]
                    out[f"{path}.q1_{k}"] = row["q1"][k]
                    out[f"{path}.q3_{k}"] = row["q3"][k]
    return out


def _level_text(level: Any) -> str:
    """A Table 1 level as the script writes it: whole numbers without a decimal point."""
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)


def _tolerance(path: str) -> tuple[float, float]:
    if ".firth." in path:
        return FIRTH_RTOL, ATOL
    if path.endswith(".p"):
        return P_RTOL, P_ATOL
    return EST_RTOL, ATOL


def expected_rows(bundle: dict) -> list[list[str]]:
    """expected.csv: path, kind, expected, rtol, atol (nulls left out: nothing to compare)."""
    rows = []
    for path, value in expected_values(bundle).items():
        if value is None:
            continue
        if isinstance(value, str):
            rows.append([path, "text", value, "", ""])
        else:
            rtol, atol = _tolerance(path)
            rows.append([path, "number", repr(float(value)), repr(rtol), repr(atol)])
    return rows


# -- the plan as R code ------------------------------------------------------------------------
def _r(value: Any) -> str:
    """A Python scalar or list as an R literal."""
    if value is None:
        return "NA"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "c(" + ", ".join(_r(v) for v in value) + ")" if value else "character(0)"
    raise TypeError(f"no R literal for {value!r}")


def _column(name: str) -> str:
    return f"p[[{_r(name)}]]"


def _covariate_r(cov: dict) -> str:
    col = _column(cov["column"])
    if "op" in cov:
        cut = (
            f"median(as.numeric({col}), na.rm = TRUE)" if cov["cut"] == "median" else _r(cov["cut"])
        )
        return f"as.numeric(as.numeric({col}) {cov['op']} {cut})"
    if "level" in cov:
        level = cov["level"] if isinstance(cov["level"], list) else [cov["level"]]
        ref = cov["reference"] if isinstance(cov["reference"], list) else [cov["reference"]]
        return (
            f"(function(v) ifelse(is.na(v), NA, ifelse(v %in% {_r(level)}, 1, "
            f"ifelse(v %in% {_r(ref)}, 0, NA))))(trimws(as.character({col})))"
        )
    return f"as.numeric({col})"


def _comparison_calls(plan: dict, bundle: dict) -> list[str]:
    keys = {c["key"] for c in plan["covariates"]}
    specs: dict[str, dict] = {}
    for item in plan["table1"]:
        spec = {"column": item} if isinstance(item, str) else dict(item)
        specs[spec.get("variable", spec["column"])] = spec
    calls = []
    for comparison in bundle.get("comparisons") or []:
        for row in comparison["rows"]:
            variable = row["variable"]
            if row.get("test") is None:
                continue
            if variable in keys:
                kind, x = "categorical", f"cv[[{_r(variable)}]]"
            else:
                spec = specs[variable]
                col = _column(spec["column"])
                if "median" in row:
                    kind, x = "continuous", f"as.numeric({col})"
                elif "breaks" in spec:
                    kind, x = (
                        "categorical",
                        f"findInterval(as.numeric({col}), {_r(spec['breaks'])})",
                    )
                else:
                    kind, x = "categorical", f"trimws(as.character({col}))"
            calls.append(
                f"  list(by = {_r(comparison['by'])}, variable = {_r(variable)}, "
                f"kind = {_r(kind)}, x = {x})"
            )
    return calls


def _table1_spec(item: Any) -> dict:
    return {"column": item} if isinstance(item, str) else dict(item)


def _table1_calls(plan: dict, cut: DataCut) -> list[str]:
    """One R call per Table 1 item, of the kind the engine's rules give it on this data."""
    keys = {c["key"] for c in plan["covariates"]}
    patients = cut_patients(cut)
    calls = []
    for item in plan["table1"]:
        if isinstance(item, str) and item in keys:
            calls.append(f'  list(variable = {_r(item)}, kind = "binary", x = cv[[{_r(item)}]])')
            continue
        spec = _table1_spec(item)
        variable = spec.get("variable", spec["column"])
        col = _column(spec["column"])
        kind = _row_kind(patients, spec)
        if kind == "binned":
            labels = _bin_labels(spec["breaks"])
            calls.append(
                f'  list(variable = {_r(variable)}, kind = "binned", '
                f"x = as.numeric({col}), labels = {_r(labels)})"
            )
        elif kind in ("continuous", "binary"):
            calls.append(
                f"  list(variable = {_r(variable)}, kind = {_r(kind)}, x = as.numeric({col}))"
            )
        else:
            calls.append(f'  list(variable = {_r(variable)}, kind = "categorical", x = {col})')
    return calls


def _breaks_of(plan: dict) -> str:
    parts = []
    for item in plan["table1"]:
        spec = _table1_spec(item)
        if "breaks" in spec:
            variable = spec.get("variable", spec["column"])
            parts.append(f"{_r(variable)} = {_r(spec['breaks'])}")
    return ", ".join(parts)


def plan_section(cut: DataCut) -> str:
    """The R code that states the cut's plan (normalised, defaults spelled out)."""
    plan = cut.bundle["plan"]
    cox = cut.bundle.get("cox") or {}
    multi = cox.get("multivariable") or {}
    firth_uni = [u["key"] for u in cox.get("univariate") or [] if u.get("firth")]
    firth_multi = any(t.get("firth") for t in multi.get("terms") or [])
    mv = plan["multivariable"]
    endpoints = ",\n  ".join(
        f"{_r(name)} = c(time = {_r(ep['time'])}, event = {_r(ep['event'])})"
        for name, ep in plan["endpoints"].items()
    )
    lines = [
        f"alpha <- {_r(plan['alpha'])}",
        f"km_ci <- {_r(plan['km_ci'])}  # median CI: log-log | log | plain | spss",
        f"ties <- {_r(plan['ties'])}",
        f"endpoints <- list(\n  {endpoints}\n)",
        f"primary_endpoint <- {_r(plan['primary_endpoint'])}",
        f"followup_endpoint <- {_r(plan['followup_endpoint'])}",
        f"rmst_tau <- {_r(plan['rmst_tau'])}",
        f"ph_test <- {_r(plan['ph_test'])}",
        f"response <- {_r(plan['response'])}",
        f"continuous_test <- {_r(plan['continuous_test'])}",
        "",
        "# Covariates: 1 for the named group, 0 for its reference, NA when missing.",
        "cv <- list()",
    ]
    for cov in plan["covariates"]:
        lines.append(f"cv[[{_r(cov['key'])}]] <- {_covariate_r(cov)}  # {cov['label']}")
    lines += [
        f"covariate_keys <- {_r([c['key'] for c in plan['covariates']])}",
        f"subgroups <- {_r(list(plan['subgroups']))}",
        f"mv_select <- {_r(mv['select'])}  # univariate_p | fixed | none",
        f"mv_threshold <- {_r(mv.get('threshold'))}",
        f"mv_fixed <- {_r(list(mv.get('keys') or []))}",
        "# Where the bundle used the Firth-penalised Cox model (plan firth = "
        f"{json.dumps(plan['firth'])}):",
        f"firth_univariate <- {_r(firth_uni)}",
        f"firth_multivariable <- {_r(firth_multi)}",
        "table1_rows <- list(",
        ",\n".join(_table1_calls(plan, cut)),
        ")",
        f"breaks_of <- list({_breaks_of(plan)})",
        f"has_ae_table <- {_r(cut.bundle.get('ae_table') is not None)}",
        "ae_groups <- list(",
        ",\n".join(f"  {_r(g)} = {_r(list(t))}" for g, t in plan["ae_groups"].items()),
        ")",
        "comparison_rows <- list(",
        ",\n".join(_comparison_calls(plan, cut.bundle)),
        ")",
    ]
    return "\n".join(lines) + "\n"


def reproduce_r(cut: DataCut) -> str:
    header = (
        f"# Reproduction of data cut “{cut.name}” (dataset {cut.dataset_sha256[:12]}, plan "
        f"v{cut.plan_version}, engine {cut.engine_version}).\n"
        "# Run from the kit's folder:  Rscript reproduce.R\n"
        "# Needs R with the survival and coxphf packages; see README.md.\n\n"
    )
    # plan_section reads p (the patient table) in covariate lines: the body reads the data
    # first, so the plan goes after the body's reading block. Split the body there.
    body = BODY.read_text(encoding="utf-8")
    marker = "# ---- from here on the script is the same for every cut"
    head, tail = body.split(marker, 1)
    plan = "# ---- the plan of this cut (analysis-contract.md section 3) ----\n"
    return header + head + "\n" + plan + plan_section(cut) + "\n" + marker + tail


# -- the de-identified dataset -----------------------------------------------------------------
def _kit_key() -> bytes:
    """The kit's pseudonym key: derived from the export secret (never written anywhere), so a
    patient has the same pseudonym in the kits of every cut and nothing else."""
    return hmac.new(deid.date_shift_key(), KIT_KEY_PURPOSE.encode(), hashlib.sha256).digest()


def deidentified_tables(cut: DataCut) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The cut's two tables with pseudonymous ids, coarsened centres and top-coded ages, rows
    in pseudonym order (not enrolment order). The tables hold no dates: times are months
    from the 2L start and adverse-event onsets days from it."""
    key = _kit_key()
    patients = cut_patients(cut)
    events = cut_adverse_events(cut)
    ids = {sid: deid.pseudonym(key, sid) for sid in patients["study_id"].astype(str)}
    labels = deid.center_labels(sorted(patients["center"].astype(str).unique()), key)
    patients = patients.assign(
        study_id=patients["study_id"].astype(str).map(ids),
        center=patients["center"].astype(str).map(labels),
    )
    ages = patients["age_years"]
    top_coded = int((ages >= deid.AGE_TOP_CODE).sum())
    patients["age_years"] = ages.where(ages.isna() | (ages < deid.AGE_TOP_CODE), deid.AGE_TOP_CODE)
    events = events.assign(study_id=events["study_id"].astype(str).map(ids))
    patients = patients.sort_values("study_id", kind="stable").reset_index(drop=True)
    order = {pid: i for i, pid in enumerate(patients["study_id"])}
    events = events.assign(_order=events["study_id"].map(order))
    events = events.sort_values("_order", kind="stable").drop(columns="_order")
    return patients, events.reset_index(drop=True), {"ages_top_coded": top_coded}


def _csv_text(rows: list[list[str]], header: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def readme(cut: DataCut, n_expected: int, deid_notes: dict) -> str:
    top = deid_notes["ages_top_coded"]
    age_note = (
        f"\n**{top} age(s) of 90 or more were top-coded to 90** here: numbers that depend on "
        "the exact age (age medians, an age cut at the median, rank tests on age) may then "
        "differ from the bundle, which was computed on the exact ages.\n"
        if top
        else ""
    )
    return f"""# Reproduction kit of data cut “{cut.name}”

Frozen on {cut.created_at:%Y-%m-%d %H:%M} UTC by {cut.created_by.get_username()}: {cut.n_analysed}
patients analysed ({cut.n_locked} locked casebooks), {cut.n_adverse_events} adverse events,
analysis plan version {cut.plan_version} (sha256 {cut.plan_sha256}), registry statistics
engine {cut.engine_version}, dataset sha256 {cut.dataset_sha256} (of the identified tables
the bundle was computed on).

## How to run

    Rscript reproduce.R            # from this folder; or: Rscript reproduce.R /path/to/kit

It needs R (4.x) with the packages `survival` (3.5 or later) and `coxphf` (1.13). The script
reads `data/patients.csv`, derives the plan's covariates, recomputes the statistics and
compares each with `expected.csv`. It prints how many numbers agree and exits with status 1
when any differs (listing them).

## What it recomputes ({n_expected} numbers)

- Kaplan–Meier medians and their CIs for every endpoint, with the plan's interval
  (`survfit(..., conf.type = ...)` and `quantile()`, or the SPSS symmetric interval), n and
  events; RMST to tau (`summary(survfit, rmean = tau)`) when the plan asks for it;
- median follow-up (reverse Kaplan–Meier);
- each subgroup's KM medians and the log-rank test (`survdiff`);
- univariate and multivariable Cox models (`coxph`, ties as the plan says): HR, CI, Wald p,
  the likelihood-ratio test, the proportional-hazards test (`cox.zph`), and the
  Firth-penalised model (`coxphf`) for the terms where the bundle used it; the
  multivariable model's terms are selected again in R by the plan's rule;
- second-line ORR and DCR with Clopper–Pearson intervals (`binom.test`);
- the baseline comparisons: χ² without continuity correction or Fisher's exact test,
  Wilcoxon rank-sum / t / Welch test, medians and quartiles (type 6);
- Table 1 (counts and % of all patients per level or bin, medians and quartiles of type 6,
  missing) and the adverse-event table (patients with an event per term or plan group, at
  any grade and at a worst grade of 3–5, each patient once per term).

## Files

| file | what |
|---|---|
| `data/patients.csv` | the analysis patient table (analysis-contract.md §1), de-identified |
| `data/adverse_events.csv` | the adverse-event table (§2), same pseudonyms |
| `plan.json` | the analysis plan, normalised (every default spelled out) |
| `bundle.json` | the registry's result bundle of this cut |
| `expected.json`, `expected.csv` | the bundle's numbers under the script's paths, with tolerances |
| `reproduce.R` | the script; its first part states the plan as R code |
| `results.csv`, `comparison.csv` | written by the script: R's values, and each against the bundle |

## Tolerances

Estimates and limits agree to a relative 1e-6, p-values to 1e-4 (relative; absolute 1e-12),
the iterative Firth fits to 1e-4. Counts agree exactly. Where the bundle has no number (a
median not reached, an HR the engine withholds because a group has no events or the
coefficient runs to infinity) nothing is compared; R's value, if it prints one, is listed as
"computed by R, empty in the bundle".

## De-identification

Study ids are replaced by pseudonyms (HMAC of the id with a key kept on the server; the same
patient has the same pseudonym in every cut's kit), centres by "centre A", "centre B", …,
ages of 90 or more are top-coded to 90, rows are in pseudonym order. The tables hold no
dates: times are months from the second-line start, adverse-event onsets days from it.
{age_note}"""


def kit_files(cut: DataCut) -> dict[str, bytes]:
    """Every file of the kit, by its path in the ZIP: for R, so English and the same bytes
    whatever the language of the user asking."""
    with translation.override("en-gb"):
        return _kit_files(cut)


def _kit_files(cut: DataCut) -> dict[str, bytes]:
    patients, events, deid_notes = deidentified_tables(cut)
    rows = expected_rows(cut.bundle)
    expected = {r[0]: (r[2] if r[1] == "text" else float(r[2])) for r in rows}
    files = {
        "data/patients.csv": tables_to_csv(patients),
        "data/adverse_events.csv": tables_to_csv(events),
        "plan.json": json.dumps(cut.bundle["plan"], indent=2, ensure_ascii=False),
        "bundle.json": json.dumps(cut.bundle, indent=1, ensure_ascii=False),
        "expected.json": json.dumps(
            {
                "cut": cut.name,
                "dataset_sha256": cut.dataset_sha256,
                "tolerances": {
                    "estimates_rtol": EST_RTOL,
                    "p_rtol": P_RTOL,
                    "p_atol": P_ATOL,
                    "firth_rtol": FIRTH_RTOL,
                    "atol": ATOL,
                },
                "values": expected,
            },
            indent=1,
            ensure_ascii=False,
        ),
        "expected.csv": _csv_text(rows, ["path", "kind", "expected", "rtol", "atol"]),
        "reproduce.R": reproduce_r(cut),
        "README.md": readme(cut, len(rows), deid_notes),
    }
    return {name: text.encode("utf-8") for name, text in files.items()}


def kit_zip(cut: DataCut) -> bytes:
    """The kit as one ZIP (a folder named after the cut's id), byte-stable for a cut."""
    buffer = io.BytesIO()
    folder = f"data-cut-{cut.pk}-kit"
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in sorted(kit_files(cut).items()):
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, content)
    return buffer.getvalue()
