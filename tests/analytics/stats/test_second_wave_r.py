"""The contract's section 7 statistics against R on the same data.

R runs tests/analytics/stats/r/second_wave.R (survival's cox.zph and survmean, coxphf 1.13
from ../shared/r/, chisq.test / fisher.test / wilcox.test / t.test / binom.test). Datasets: the
reference fixtures (engine and registry demo), R's lung, a separated set, a heavily tied set
and a random cohort. Without Rscript (or coxphf) the module skips, unless REQUIRE_SERVICES=1
(CI), where a missing R is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.stats import analyze
from analytics.stats.compare import categorical_test, continuous_test
from analytics.stats.covariates import derive_all
from analytics.stats.cox import cox_fit
from analytics.stats.firth import firth_cox
from analytics.stats.km import km_fit, rmst
from analytics.stats.plan import reference_plan
from analytics.stats.response import clopper_pearson
from analytics.stats.zph import cox_zph

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "r" / "second_wave.R"
REFERENCE_SCRIPT = HERE / "r" / "reference.R"
FIXTURES = [
    HERE / "data" / "reference_patients.csv",
    HERE.parents[2] / "fixtures" / "demo_patients.csv",
]
EST_RTOL = 1e-6
P_RTOL = 1e-4
# coxphf stops at 1e-6 on the parameter change (../shared/r/README.md)
FIRTH_RTOL = 1e-4

RSCRIPT = shutil.which("Rscript")


def _r_missing(what: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} and REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(f"{what} (set REQUIRE_SERVICES=1 to make this a failure)", allow_module_level=True)


if RSCRIPT is None:
    _r_missing("Rscript not installed")
elif (
    subprocess.run([RSCRIPT, "-e", "library(coxphf)"], capture_output=True, timeout=120).returncode
    != 0
):
    _r_missing("R package coxphf not installed (../shared/r/README.md)")


def run_r(*args: str) -> None:
    subprocess.run([RSCRIPT, str(SCRIPT), *args], check=True, capture_output=True, timeout=600)


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False, na_rep="", float_format="%.17g")
    return path


def r_survival(df: pd.DataFrame, tmp: Path, tau: float) -> dict:
    out = tmp / "r_survival.json"
    run_r("survival", str(write_csv(df, tmp / "surv.csv")), str(out), repr(float(tau)))
    return json.loads(out.read_text())


def as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def close(a, b, rtol: float, what: str, atol: float = 1e-12) -> None:
    if a is None or b is None:
        assert a is None and b is None, f"{what}: engine {a} vs R {b}"
        return
    assert a == pytest.approx(b, rel=rtol, abs=atol), f"{what}: engine {a!r} vs R {b!r}"


# -- datasets --------------------------------------------------------------------------------
def fixture_frame(path: Path) -> pd.DataFrame:
    """time/status/x_<key> of the reference plan's OS analysis on a fixture CSV."""
    patients = pd.read_csv(path, dtype={"study_id": str})
    values, _ = derive_all(patients, reference_plan()["covariates"])
    df = pd.DataFrame({"time": patients["os_months"], "status": patients["os_event"]})
    for key in ("liver", "ltr", "dpr_hi", "brain"):
        df[f"x_{key}"] = values[key]
    return df


def lung_frame(tmp: Path) -> pd.DataFrame:
    path = tmp / "lung.csv"
    subprocess.run(
        [RSCRIPT, str(REFERENCE_SCRIPT), "export", "lung", str(path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return pd.read_csv(path).drop(columns=["group"])


def separated_frame() -> pd.DataFrame:
    # x1 = 1 has every event but one late: coxph's coefficient runs away, Firth's is finite
    return pd.DataFrame(
        {
            "time": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
            "status": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0],
            "x1": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0],
            "x2": [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0],
        }
    )


def tied_frame(seed: int = 7, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.integers(0, 2, n)
    x2 = rng.integers(0, 2, n)
    x3 = np.round(rng.normal(0, 1, n), 1)
    t = np.ceil(rng.exponential(4 / np.exp(0.5 * x1 - 0.3 * x2 + 0.2 * x3))).clip(1, 8)
    e = (rng.uniform(size=n) < 0.7).astype(int)
    return pd.DataFrame({"time": t, "status": e, "x1": x1, "x2": x2, "x3": x3})


def random_frame() -> tuple[pd.DataFrame, int]:
    seed = int(os.environ.get("ENGINE_TEST_SEED", time.time_ns() % 2**31))
    print(f"random cohort seed: {seed} (rerun with ENGINE_TEST_SEED={seed})")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 300))
    x = rng.integers(0, 2, (n, 2)).astype(float)
    age = np.round(rng.normal(60, 8, n), 0)
    lin = x @ np.array([0.6, -0.4]) + 0.02 * (age - 60)
    t = np.round(rng.exponential(12 / np.exp(lin)), 1) + 0.1
    c = rng.uniform(3, 30, n)
    df = pd.DataFrame(
        {
            "time": np.minimum(t, c).round(1),
            "status": (t <= c).astype(int),
            "x1": x[:, 0],
            "x2": x[:, 1],
            "x_age": age,
        }
    )
    df.loc[rng.uniform(size=n) < 0.03, "x2"] = np.nan
    return df, seed


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("second_wave")
    out = {f"fixture {p.stem}": fixture_frame(p) for p in FIXTURES}
    out["lung"] = lung_frame(tmp)
    out["tied"] = tied_frame()
    out["separated"] = separated_frame()
    return out


# -- the comparisons ---------------------------------------------------------------------------
def compare_models(df: pd.DataFrame, r: dict, name: str, ph: bool = True) -> None:
    """cox.zph (efron, breslow) and coxphf of every x alone and all together."""
    t = df["time"].to_numpy(float)
    e = df["status"].to_numpy(float)
    xs = [c for c in df.columns if c.startswith("x")]
    for key, rr in r.items():
        if key == "rmst":
            continue
        cols = xs if key == "_all" else [key]
        x = df[cols].to_numpy(float)
        ok = ~np.isnan(x).any(axis=1)
        what = f"{name} {key}"
        if ph:
            for ties in ("efron", "breslow"):
                fit = cox_fit(t[ok], e[ok], x[ok], ties=ties)
                z = cox_zph(t[ok], e[ok], x[ok], fit.coef, ties)
                zr = rr[f"zph_{ties}"]
                chi2 = as_list(zr["chi2"])
                pr = as_list(zr["p"])
                for j in range(len(cols)):
                    close(z.chi2[j], chi2[j], EST_RTOL, f"{what} zph {ties} chi2[{j}]", 1e-9)
                    close(z.p[j], pr[j], P_RTOL, f"{what} zph {ties} p[{j}]")
                close(z.global_chi2, chi2[-1], EST_RTOL, f"{what} zph {ties} global", 1e-9)
                assert z.global_df == as_list(zr["df"])[-1]
                close(z.global_p, pr[-1], P_RTOL, f"{what} zph {ties} global p")
        fr = rr["coxphf"]
        assert fr is not None, f"{what}: coxphf failed in R"
        firth = firth_cox(t[ok], e[ok], x[ok])
        _, lo, hi = firth.hr_ci()
        for j in range(len(cols)):
            coef = as_list(fr["coef"])[j]
            close(firth.coef[j], coef, FIRTH_RTOL, f"{what} firth coef[{j}]", 1e-6)
            close(lo[j], as_list(fr["lower"])[j], FIRTH_RTOL, f"{what} firth lower[{j}]")
            close(hi[j], as_list(fr["upper"])[j], FIRTH_RTOL, f"{what} firth upper[{j}]")
            # coxphf prints 1 - pchisq(): below ~1e-10 its p is rounding noise
            close(firth.p[j], as_list(fr["p"])[j], FIRTH_RTOL, f"{what} firth p[{j}]", 1e-10)


@pytest.mark.parametrize(
    "name", ["fixture reference_patients", "fixture demo_patients", "lung", "tied"]
)
def test_ph_test_and_firth_equal_cox_zph_and_coxphf(datasets, tmp_path, name):
    df = datasets[name]
    compare_models(df, r_survival(df, tmp_path, 12), name)


def test_firth_on_separated_data_equals_coxphf(datasets, tmp_path):
    df = datasets["separated"]
    r = r_survival(df, tmp_path, 10)
    # the unpenalised fit runs away here (R: "coefficient may be infinite"); Firth's is finite
    assert cox_fit(df["time"], df["status"], df[["x1"]].to_numpy(float)).infinite.any()
    compare_models(df, r, "separated", ph=False)
    assert np.exp(as_list(r["x1"]["coxphf"]["coef"])[0]) < 1e3


def test_random_cohort_ph_firth_and_rmst_equal_r(tmp_path):
    df, seed = random_frame()
    tau = float(np.round(df["time"].median(), 1))
    r = r_survival(df, tmp_path, tau)
    compare_models(df, r, f"random seed {seed}")
    value, se = rmst(km_fit(df["time"], df["status"]), tau)
    close(value, r["rmst"]["rmean"], EST_RTOL, f"random seed {seed} rmst")
    close(se, r["rmst"]["se"], EST_RTOL, f"random seed {seed} rmst se")


@pytest.mark.parametrize("name", ["fixture demo_patients", "lung", "tied", "separated"])
def test_rmst_equals_summary_survfit_rmean(datasets, tmp_path, name):
    df = datasets[name][["time", "status"]]
    times = np.sort(df.loc[df["status"] == 1, "time"].unique())
    first = float(df["time"].min())
    taus = [
        (first + float(times[0])) / 2 if times[0] > first else first,  # before the first event
        float(times[0]),  # at the first event
        float(times[len(times) // 2]),  # at an event time
        float(times[len(times) // 3] + times[len(times) // 3 + 1]) / 2,  # between two
        float(df["time"].max()),  # the last time
        float(df["time"].max()) * 1.5,  # beyond it: carried flat
    ]
    out = tmp_path / "rmst.json"
    run_r("rmst", str(write_csv(df, tmp_path / "rmst.csv")), str(out), *map(repr, taus))
    fit = km_fit(df["time"], df["status"])
    for tau, rr in zip(taus, json.loads(out.read_text()), strict=True):
        value, se = rmst(fit, tau)
        close(value, rr["rmean"], EST_RTOL, f"{name} rmst tau={tau}")
        close(se, rr["se"], EST_RTOL, f"{name} rmst se tau={tau}")


def r_compare(df: pd.DataFrame, tmp: Path) -> dict:
    out = tmp / "r_compare.json"
    run_r("compare", str(write_csv(df, tmp / "compare.csv")), str(out))
    return json.loads(out.read_text())


def check_categorical(table: np.ndarray, rr: dict, what: str) -> None:
    res = categorical_test(table)
    if rr["min_expected"] < 5:
        assert res.test == "fisher", what
        close(res.p, rr["fisher_p"], P_RTOL, f"{what} fisher p")
    else:
        assert res.test == "chi2", what
        close(res.statistic, rr["chi2"], EST_RTOL, f"{what} chi2")
        close(res.p, rr["chi2_p"], P_RTOL, f"{what} chi2 p")


def check_continuous(x: np.ndarray, g: np.ndarray, rr: dict, what: str) -> None:
    ok = ~np.isnan(x)
    a, b = x[ok & (g == 0)], x[ok & (g == 1)]
    w = continuous_test(a, b, "wilcoxon")
    close(w.statistic, rr["wilcoxon_w"], EST_RTOL, f"{what} W")
    close(w.p, rr["wilcoxon_p"], P_RTOL, f"{what} wilcoxon p")
    t = continuous_test(a, b, "t")
    close(t.statistic, rr["t"], EST_RTOL, f"{what} t")
    close(t.p, rr["t_p"], P_RTOL, f"{what} t p")
    welch = continuous_test(a, b, "welch")
    close(welch.statistic, rr["welch_t"], EST_RTOL, f"{what} welch t")
    close(welch.df, rr["welch_df"], EST_RTOL, f"{what} welch df")
    close(welch.p, rr["welch_p"], P_RTOL, f"{what} welch p")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
@pytest.mark.parametrize("method", ["wilcoxon", "t", "welch"])
def test_baseline_comparisons_of_the_bundle_equal_r(tmp_path, path, method):
    patients = pd.read_csv(path, dtype={"study_id": str})
    plan = reference_plan()
    plan.update(compare_by=["ltr", "dpr_hi"], continuous_test=method)
    bundle = analyze(patients, None, plan)
    values, _ = derive_all(patients, plan["covariates"])
    for comp in bundle["comparisons"]:
        g = values[comp["by"]]
        df = pd.DataFrame({"g": g})
        for key in ("age_gt60", "male", "smoker", "liver", "brain", "l2_aa"):
            df[f"c_{key}"] = values[key]
        df["c_ecog"] = patients["ecog"]
        df["c_smoking"] = patients["smoking"]
        df["c_bmi"] = pd.cut(patients["bmi"], [-np.inf, 18.5, 24, np.inf], right=False).astype(str)
        df["n_age_years"] = patients["age_years"]
        df["n_bmi"] = patients["bmi"]
        r = r_compare(df, tmp_path)
        rows = {row["variable"]: row for row in comp["rows"]}
        for key in ("age_gt60", "male", "smoker", "liver", "brain", "l2_aa", "ecog", "bmi"):
            row, rr = rows[key], r[f"c_{key}"]
            what = f"{path.stem} by {comp['by']} {key}"
            test = "fisher" if rr["min_expected"] < 5 else "chi2"
            assert row["test"] == test, what
            pr = rr["fisher_p"] if test == "fisher" else rr["chi2_p"]
            close(row["p"], pr, P_RTOL, f"{what} p")
        row = rows["age_years"]
        assert row["test"] == method
        expected = {"wilcoxon": "wilcoxon_p", "t": "t_p", "welch": "welch_p"}[method]
        close(row["p"], r["n_age_years"][expected], P_RTOL, f"{path.stem} {comp['by']} age p")
        # smoking by level is not in the plan's table1: checked directly
        tab = pd.crosstab(patients["smoking"], g).to_numpy()
        check_categorical(tab, r["c_smoking"], f"{path.stem} by {comp['by']} smoking")


def test_comparisons_on_random_and_tied_data_equal_r(tmp_path):
    seed = int(os.environ.get("ENGINE_TEST_SEED", time.time_ns() % 2**31))
    print(f"random comparison seed: {seed} (rerun with ENGINE_TEST_SEED={seed})")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    g = rng.integers(0, 2, n).astype(float)
    df = pd.DataFrame({"g": g})
    # a rare level makes Fisher's case, a common one χ²'s; 4 levels test the r×2 Fisher
    df["c_rare"] = (rng.uniform(size=n) < 0.04).astype(int)
    df["c_common"] = rng.integers(0, 2, n)
    df["c_four"] = rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.3, 0.15, 0.05])
    df["n_tied"] = rng.integers(0, 6, n).astype(float)  # heavy ties for the rank test
    df["n_normal"] = np.round(rng.normal(50 + 3 * g, 10 + 5 * g), 2)
    df.loc[rng.uniform(size=n) < 0.05, "n_normal"] = np.nan
    r = r_compare(df, tmp_path)
    for col in ("c_rare", "c_common", "c_four"):
        tab = pd.crosstab(df[col], df["g"]).to_numpy()
        check_categorical(tab, r[col], f"seed {seed} {col}")
    for col in ("n_tied", "n_normal"):
        check_continuous(df[col].to_numpy(float), g, r[col], f"seed {seed} {col}")


def test_fisher_on_sparse_tables_equals_r(tmp_path):
    # 2×2 with a zero cell, 5×2 with single counts, and a lopsided larger table
    tables = {
        "c_a": ([0] * 5 + [1] * 3, [0] * 2 + [1] * 6),
        "c_b": (list("abcde") * 2 + ["a"] * 3, [0, 1] * 5 + [1, 1, 0]),
        "c_c": (["x"] * 60 + ["y"] * 3 + ["z"] * 40, [0] * 30 + [1] * 30 + [1] * 3 + [0, 1] * 20),
    }
    for col, (values, groups) in tables.items():
        df = pd.DataFrame({"g": groups, col: values})
        rr = r_compare(df, tmp_path)[col]
        assert rr["min_expected"] < 5
        check_categorical(pd.crosstab(df[col], df["g"]).to_numpy(), rr, col)


def test_response_intervals_equal_binom_test(tmp_path):
    pairs = [(0, 26), (5, 26), (13, 26), (26, 26), (1, 3), (7, 100), (420, 1000)]
    out = tmp_path / "binom.json"
    run_r("binom", str(out), *[str(v) for pair in pairs for v in pair])
    for (n, total), rr in zip(pairs, json.loads(out.read_text()), strict=True):
        lo, hi = clopper_pearson(n, total)
        close(lo, rr["lower"], EST_RTOL, f"{n}/{total} lower", 1e-14)
        close(hi, rr["upper"], EST_RTOL, f"{n}/{total} upper", 1e-14)


def test_bundle_firth_and_ph_on_the_demo_cohort_equal_r(datasets, tmp_path):
    # firth "all": every univariate and the fixed multivariable model get coxphf estimates
    patients = pd.read_csv(FIXTURES[1], dtype={"study_id": str})
    plan = reference_plan()
    plan.update(firth="all", multivariable={"select": "fixed", "keys": ["liver", "ltr", "dpr_hi"]})
    bundle = analyze(patients, None, plan)
    df = datasets["fixture demo_patients"][["time", "status", "x_liver", "x_ltr", "x_dpr_hi"]]
    r = r_survival(df, tmp_path, 24)
    uni = {u["key"]: u for u in bundle["cox"]["univariate"]}
    for key in ("liver", "ltr", "dpr_hi"):
        rr = r[f"x_{key}"]
        close(uni[key]["ph"]["chi2"], rr["zph_efron"]["chi2"][0], EST_RTOL, f"{key} ph", 1e-9)
        close(uni[key]["ph"]["p"], rr["zph_efron"]["p"][0], P_RTOL, f"{key} ph p")
        firth = uni[key]["firth"]
        close(np.log(firth["hr"]), rr["coxphf"]["coef"], FIRTH_RTOL, f"{key} firth", 1e-6)
        close(firth["ci"][0], rr["coxphf"]["lower"], FIRTH_RTOL, f"{key} firth lower")
        close(firth["ci"][1], rr["coxphf"]["upper"], FIRTH_RTOL, f"{key} firth upper")
        close(firth["p"], rr["coxphf"]["p"], FIRTH_RTOL, f"{key} firth p", 1e-10)
    mv = bundle["cox"]["multivariable"]
    rr = r["_all"]
    close(mv["ph"]["global"]["chi2"], rr["zph_efron"]["chi2"][-1], EST_RTOL, "global ph", 1e-9)
    for j, term in enumerate(mv["terms"]):
        close(mv["ph"]["terms"][j]["chi2"], rr["zph_efron"]["chi2"][j], EST_RTOL, "mv ph", 1e-9)
        close(np.log(term["firth"]["hr"]), rr["coxphf"]["coef"][j], FIRTH_RTOL, "mv firth", 1e-6)
        close(term["firth"]["ci"][0], rr["coxphf"]["lower"][j], FIRTH_RTOL, "mv firth lower")
        close(term["firth"]["ci"][1], rr["coxphf"]["upper"][j], FIRTH_RTOL, "mv firth upper")
        close(term["firth"]["p"], rr["coxphf"]["p"][j], FIRTH_RTOL, "mv firth p", 1e-10)
    close(bundle["km"]["os"].get("rmst", {}).get("rmst"), None, 0, "rmst absent unless asked")
