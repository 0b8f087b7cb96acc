"""Speed of the kit's staggered DiD against bare diff-diff, csdid and differences, in one run.

Usage::

    python benchmarks/attribution.py                       # 10k, 50k, 100k employees x 24 months
    python benchmarks/attribution.py --quick               # a 2,000-employee smoke run, 99 draws
    python benchmarks/attribution.py --sizes 10000 --boot 199 --threads 2

Every library runs on the same generated panels (``benchmarks/_panels.py``: 24 months,
4 training cohorts, 40% never trained, 3 covariates), never-treated comparison group,
for six configurations: unconditional (no covariates) and doubly robust with the 3
covariates, each without and with ``--boot`` multiplier-bootstrap draws; then outcome
regression and IPW with the 3 covariates, the covariate methods that the four libraries
implement identically. Columns:

* ``kit estimate`` - :func:`analysis.attribution.estimate`, the estimation step of
  :func:`analysis.attribution.evaluate_program` (one Callaway-Sant'Anna fit on the
  already built estimation panel, the kit's results object, the simple aggregation);
* ``kit staggered_did`` - the public :func:`analysis.did.staggered_did` from a raw long
  panel (validation, covariate coding, the fit, the simple aggregation);
* ``diff-diff`` - a bare ``diff_diff.CallawaySantAnna(...).fit(...)`` with the same options;
* ``csdid`` - ``csdid.att_gt.ATTgt(...).fit(...)`` then ``aggte("simple")``;
* ``differences`` - ``differences.ATTgt(...).fit(...)`` then ``aggregate("simple")``.

Each library / configuration runs in a fresh forked process: the panel is generated and one
warm-up call on a 300-employee panel pays imports and first-call costs, untimed; then the call
is timed (``time.perf_counter``), repeated up to three times when it takes under 2 s, and the
fastest is kept. A call that does not finish within ``--limit`` seconds is killed and shown as
``> limit``. BLAS / OpenMP / Rayon threads are set to ``--threads`` (default 1) for every library
before numpy is imported. Prints two tables (seconds and ratios; largest differences of the
point estimates) and writes them to ``benchmarks/results/attribution.md``.
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv(argv: list[str]) -> int:
    """``--threads N`` read before numpy is imported (BLAS reads its thread count at load)."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")
THREADS = _threads_from_argv(sys.argv[1:])
for _var in THREAD_VARS:
    os.environ[_var] = str(THREADS)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import multiprocessing as mp  # noqa: E402
import platform  # noqa: E402
import queue as queue_mod  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
from _panels import staggered_panel  # noqa: E402
from _report import markdown_table  # noqa: E402

COVARIATES = ["x1", "x2", "x3"]
RESULTS = HERE / "results"
LIBRARIES = ("kit estimate", "kit staggered_did", "diff-diff", "csdid", "differences")
PEERS = ("diff-diff", "csdid", "differences")

Result = tuple[pd.DataFrame, float]
Call = Callable[[], Result]


# --------------------------------------------------------------------------- #
# One set-up function per library: untimed preparation, returns the timed call.
# Each call returns ATT(g, t) as a frame (cohort, period, att) and the simple aggregate.
# --------------------------------------------------------------------------- #
def _kit_estimate(panel: pd.DataFrame, method: str, covariates: list[str], n_boot: int) -> Call:
    from analysis.attribution import EstimationPanel, estimate
    from analysis.did import prepare_did_panel

    prepared = prepare_did_panel(panel, "y", "unit", "period", "cohort", covariates or None)
    units = panel.drop_duplicates("unit").set_index("unit")[["cohort"]]
    trainees = units[units["cohort"] > 0].assign(original_cohort=lambda t: t["cohort"])
    est_panel = EstimationPanel(
        program_id="bench", kpi="y", prepared=prepared, prepared_asis=prepared, units=units,
        long=panel[["unit", "period", "y", "cohort"]], cohort_table=pd.DataFrame(), trainees=trainees, comparison_left_out={},
        cluster="employee", cluster_reason="one row per unit", control_names=list(prepared.covariates),
        months=pd.date_range("2024-01-01", periods=int(panel["period"].max()), freq="MS"),
    )  # fmt: skip

    def call() -> Result:
        res = estimate(est_panel, controls=bool(covariates), method=method, n_boot=n_boot, seed=1)
        att = res.att_gt[["cohort", "time", "att"]].rename(columns={"time": "period"})
        return att, float(res.aggregate("simple").att)

    return call


def _kit_staggered_did(panel: pd.DataFrame, method: str, covariates: list[str], n_boot: int) -> Call:
    from analysis.did import staggered_did

    def call() -> Result:
        res = staggered_did(panel, "y", "unit", "period", "cohort", covariates=covariates or None, control="never",
                            method=method, n_boot=n_boot, seed=1)  # fmt: skip
        att = res.att_gt[["cohort", "time", "att"]].rename(columns={"time": "period"})
        return att, float(res.aggregate("simple").att)

    return call


def _diff_diff(panel: pd.DataFrame, method: str, covariates: list[str], n_boot: int) -> Call:
    from diff_diff import CallawaySantAnna

    from analysis.attribution import PSCORE_TRIM

    def call() -> Result:
        res = CallawaySantAnna(control_group="never_treated", estimation_method=method, n_bootstrap=n_boot, seed=1,
                               pscore_trim=PSCORE_TRIM).fit(
            panel, outcome="y", unit="unit", time="period", first_treat="cohort", covariates=covariates or None
        )  # fmt: skip
        att = pd.DataFrame([{"cohort": g, "period": t, "att": v["effect"]} for (g, t), v in res.group_time_effects.items()])
        return att, float(res.overall_att)

    return call


def _csdid(panel: pd.DataFrame, method: str, covariates: list[str], n_boot: int) -> Call:
    from csdid.att_gt import ATTgt

    def call() -> Result:
        with contextlib.redirect_stdout(io.StringIO()):  # aggte prints its summary
            model = ATTgt(yname="y", tname="period", idname="unit", gname="cohort", data=panel,
                          control_group=["nevertreated"], xformla="y ~ " + (" + ".join(covariates) or "1"),
                          biters=max(n_boot, 1))  # fmt: skip
            model.fit(est_method=method, bstrap=n_boot > 0)
            r = model.results
            att = pd.DataFrame({"cohort": np.asarray(r["group"], float), "period": np.asarray(r["year"], float),
                                "att": np.asarray(r["att"], float)})  # fmt: skip
            agg = model.aggte(typec="simple")
        return att, float(np.ravel(agg.atte["overall_att"])[0])

    return call


def _differences(panel: pd.DataFrame, method: str, covariates: list[str], n_boot: int) -> Call:
    from differences import ATTgt

    data = panel.assign(cohort=panel["cohort"].where(panel["cohort"] > 0)).set_index(["unit", "period"])
    # differences' "ipw" is the unnormalized (Horvitz-Thompson) IPW; R did's / diff-diff's is "std_ipw".
    est = {"ipw": "std_ipw"}.get(method, method)

    def call() -> Result:
        model = ATTgt(data=data, cohort_column="cohort")
        model.fit(formula="y ~ " + (" + ".join(covariates) or "1"), est_method=est, control_group="never_treated",
                  boot_iterations=n_boot, random_state=1, progress_bar=False)  # fmt: skip
        res = model.results()
        res.columns = [c[-1] for c in res.columns]
        idx = res.reset_index()
        att = pd.DataFrame({"cohort": idx["cohort"].astype(float), "period": idx["time"].astype(float),
                            "att": idx["ATT"].astype(float)})  # fmt: skip
        simple = model.aggregate("simple", boot_iterations=n_boot, random_state=1)
        simple.columns = [c[-1] for c in simple.columns]
        return att, float(simple["ATT"].iloc[0])

    return call


SETUPS = {
    "kit estimate": _kit_estimate,
    "kit staggered_did": _kit_staggered_did,
    "diff-diff": _diff_diff,
    "csdid": _csdid,
    "differences": _differences,
}


def repeats(first: float) -> int:
    """Timed calls per library and configuration, from the first call's seconds (the fastest is kept)."""
    return 5 if first < 2 else 3 if first < 60 else 1


def _child(name: str, n: int, months: int, method: str, covariates: list[str], n_boot: int, out: mp.Queue) -> None:
    warnings.simplefilter("ignore")
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # differences draws a progress bar while bootstrapping
            SETUPS[name](staggered_panel(300, months, seed=1), method, covariates, n_boot)()  # warm-up, untimed
            call = SETUPS[name](staggered_panel(n, months, seed=n), method, covariates, n_boot)
            out.put(("ready",))
            wall, cpu, result, k = float("inf"), float("inf"), None, 0
            while k < repeats(wall):
                t0, c0 = time.perf_counter(), time.process_time()
                result = call()
                wall = min(wall, time.perf_counter() - t0)
                cpu = min(cpu, time.process_time() - c0)
                k += 1
        out.put(("ok", wall, cpu, k, *result))
    except Exception as exc:  # noqa: BLE001 - reported in the table
        out.put(("error", f"{type(exc).__name__}: {exc}"[:160]))


def timed(name: str, n: int, months: int, method: str, covariates: list[str], n_boot: int, limit: float) -> dict:
    """Run one library on one panel in a fresh process; give up after ``limit`` seconds of fitting."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, n, months, method, covariates, n_boot, out))
    proc.start()
    try:
        msg = out.get(timeout=600)  # panel generation and warm-up
        if msg[0] == "ready":
            msg = out.get(timeout=limit + 120)  # repeats only happen under 60 s a call
    except queue_mod.Empty:
        proc.kill()
        proc.join()
        return {"status": "timeout", "seconds": np.nan, "cpu": np.nan, "att": None, "overall": np.nan, "note": f"> {limit:.0f}"}
    proc.join()
    if msg[0] == "ok":
        return {"status": "ok", "seconds": msg[1], "cpu": msg[2], "calls": msg[3], "att": msg[4], "overall": msg[5], "note": ""}
    return {"status": "error", "seconds": np.nan, "cpu": np.nan, "att": None, "overall": np.nan, "note": msg[1]}


def max_diff(a: pd.DataFrame | None, b: pd.DataFrame | None) -> float:
    """Largest absolute difference of ATT(g,t) over the cells both report (NaN if none)."""
    if a is None or b is None:
        return np.nan
    m = a.astype(float).merge(b.astype(float), on=["cohort", "period"], suffixes=("_a", "_b"))
    return float((m["att_a"] - m["att_b"]).abs().max()) if len(m) else np.nan


def _configs(n_boot: int) -> list[tuple[str, str, list[str], int]]:
    return [
        ("unconditional", "reg", [], 0),
        ("unconditional", "reg", [], n_boot),
        ("doubly robust, 3 covariates", "dr", COVARIATES, 0),
        ("doubly robust, 3 covariates", "dr", COVARIATES, n_boot),
        ("outcome regression, 3 covariates", "reg", COVARIATES, 0),
        ("IPW, 3 covariates", "ipw", COVARIATES, 0),
    ]


def _ratio(num: dict, den: dict, key: str, limit: float) -> float | str:
    if num["status"] == "ok" and den["status"] == "ok":
        return num[key] / den[key]
    if num["status"] == "timeout" and den["status"] == "ok":
        return f"> {limit / den[key]:.0f}"
    return "n/a"


def _cell(r: dict, key: str) -> float | str:
    if r["status"] == "ok":
        return r[key]
    return {"timeout": r["note"], "skipped": "not run"}.get(r["status"], "error")


def timing_row(head: dict[str, object], res: dict[str, dict], key: str, limit: float) -> dict[str, object]:
    """Seconds of every library and the target ratios, from wall (``seconds``) or ``cpu`` time."""
    kit = res["kit estimate"]
    row = dict(head)
    row.update({f"{name} s": _cell(r, key) for name, r in res.items()})
    row["kit estimate / diff-diff"] = _ratio(kit, res["diff-diff"], key, limit)
    row["kit staggered_did / diff-diff"] = _ratio(res["kit staggered_did"], res["diff-diff"], key, limit)
    for peer in ("csdid", "differences"):
        row[f"{peer} / kit estimate"] = _ratio(res[peer], kit, key, limit)
    return row


def _load() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "unknown"


def _environment() -> str:
    versions = {p: metadata.version(p) for p in ("diff-diff", "csdid", "drdid", "differences", "numpy", "pandas", "scipy", "statsmodels")}
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "analysis"], capture_output=True,
                               text=True, check=True).stdout.strip()  # fmt: skip
        if dirty:
            commit += " (analysis/ had uncommitted changes)"
    threads = ", ".join(f"{v}={os.environ.get(v)}" for v in THREAD_VARS)
    return (
        f"Machine: {os.cpu_count()} cores (nproc), {cpu}{mem}; Python {platform.python_version()}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; kit at commit {commit}. Threads: {threads} (set before numpy is imported, same for every library);"
        f" OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')} (left as found). csdid and differences run"
        " their bootstrap in one process (their defaults)."
    )


def _verdicts(table: pd.DataFrame, agree: pd.DataFrame | None, clock: str) -> list[str]:
    def num(col: str) -> pd.Series:
        return pd.to_numeric(table[col], errors="coerce")

    lines = [f"{clock}:"]
    r = num("kit estimate / diff-diff")
    lines.append(f"- Kit estimation step over bare diff-diff (target at most 1.3x): {r.min():.2f}x to {r.max():.2f}x; "
                 f"within target in {(r <= 1.3).sum()} of {r.notna().sum()} rows.")  # fmt: skip
    r = num("kit staggered_did / diff-diff")
    lines.append(f"- Kit public staggered_did (validation and covariate coding included) over bare diff-diff: "
                 f"{r.min():.2f}x to {r.max():.2f}x; within 1.3x in {(r <= 1.3).sum()} of {r.notna().sum()} rows.")  # fmt: skip
    for peer in ("csdid", "differences"):
        col = [v for v in table[f"{peer} / kit estimate"] if v != "n/a"]
        if not col:
            lines.append(f"- {peer}: not run.")
            continue
        faster = sum(1 for v in col if (isinstance(v, str) and v.startswith(">")) or (isinstance(v, float) and v > 1))
        slowest = min(float(v) for v in col if isinstance(v, float)) if any(isinstance(v, float) for v in col) else np.nan
        lines.append(f"- Kit estimation step faster than {peer} (target: every row): {faster} of {len(col)} rows"
                     f" (smallest {peer} / kit ratio {slowest:.2f}).")  # fmt: skip
    if agree is None:
        return lines
    lines += ["", "Point estimates:"]
    for method, label in (("unconditional", "Unconditional"), ("outcome regression", "Outcome regression"), ("IPW", "IPW"),
                          ("doubly robust", "Doubly robust")):  # fmt: skip
        rows = agree[agree["configuration"].str.startswith(method)]
        if len(rows):
            cols = [c for c in agree.columns if c.startswith("max |Δ")]
            worst = pd.to_numeric(rows[cols].stack(), errors="coerce").max()
            lines.append(f"- {label}: largest difference of any ATT(g,t) or simple aggregate between the kit and a peer: {worst:.1e}"
                         + (" (target 1e-6)." if worst <= 1e-6 else " (target 1e-6: missed, see note)."))  # fmt: skip
    return lines


def dr_note(n: int, months: int, measured: dict[str, float], g: int = 10, t: int = 15) -> str:
    """Why doubly robust point estimates differ: one cell recomputed both ways (measured, not assumed)."""
    import statsmodels.api as sm

    panel = staggered_panel(n, months, seed=n)
    wide = panel.pivot(index="unit", columns="period", values="y")
    units = panel.drop_duplicates("unit").set_index("unit")
    keep = units["cohort"].isin([0, g]).to_numpy()
    dy = (wide[t] - wide[g - 1]).to_numpy()[keep]
    d = (units["cohort"].to_numpy()[keep] == g).astype(float)
    x = np.column_stack([np.ones(int(keep.sum())), units[COVARIATES].to_numpy()[keep]])
    m = x @ np.linalg.lstsq(x[d == 0], dy[d == 0], rcond=None)[0]
    ps = sm.GLM(d, x, family=sm.families.Binomial()).fit(tol=1e-12).predict()
    w = ps[d == 0] / (1 - ps[d == 0])
    treated = float(np.mean(dy[d == 1] - m[d == 1]))
    by_n_t = treated - float(np.sum(w * (dy[d == 0] - m[d == 0]))) / d.sum()
    by_w = treated - float(np.sum(w * (dy[d == 0] - m[d == 0]))) / w.sum()
    return (
        "Note on the doubly robust differences. diff-diff's panel DR estimator divides the control augmentation term by"
        " the number of trainees, ATT = mean_T(dY - m(X)) - sum_C w (dY - m(X)) / n_T with w = p/(1-p), while DRDID's"
        " drdid_panel (used by R did, csdid and differences) divides it by the sum of the control weights, sum_C w."
        " The two agree in expectation and differ by O(1/n) in a sample. Recomputed here for cell"
        f" (cohort {g}, month {t}) of the {n:,}-employee panel: sum_C w / n_T = {w.sum() / d.sum():.4f}, dividing by n_T"
        f" gives {by_n_t:.7f}, by sum_C w gives {by_w:.7f} (difference {abs(by_n_t - by_w):.1e})"
        + (" and the benchmark measured " + ", ".join(f"{name} {v:.7f}" for name, v in measured.items()) if measured else "")
        + ". Outcome regression and IPW are normalized the same way in all four libraries and"
        " agree to rounding error, which shows the rest of the pipeline (cells, samples, fits) is identical."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000], help="employees per panel")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--boot", type=int, default=999, help="multiplier-bootstrap draws in the bootstrap rows")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per call before giving up")
    parser.add_argument("--threads", type=int, default=THREADS, help="BLAS/OpenMP/Rayon threads of every library")
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=LIBRARIES)
    parser.add_argument("--quick", action="store_true", help="smoke run: one 2,000-employee panel, 99 draws")
    parser.add_argument("--out", default=None, help="Markdown output (default results/attribution.md; none with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.boot, args.limit = [2_000], 99, 120.0
    elif args.out is None:
        args.out = str(RESULTS / "attribution.md")
    t_start, load_start = time.perf_counter(), _load()
    absent = {"status": "skipped", "seconds": np.nan, "cpu": np.nan, "att": None, "overall": np.nan, "note": "not run"}
    rows, cpu_rows, agree_rows, dr_cell = [], [], [], {}
    for n in args.sizes:
        for label, method, covariates, n_boot in _configs(args.boot):
            res = {name: timed(name, n, args.months, method, covariates, n_boot, args.limit) if name in args.libraries
                   else absent for name in LIBRARIES}  # fmt: skip
            head: dict[str, object] = {"employees": n, "configuration": label, "bootstrap": n_boot}
            rows.append(timing_row(head, res, "seconds", args.limit))
            cpu_rows.append(timing_row(head, res, "cpu", args.limit))
            arow = dict(head)
            kit = res["kit estimate"]
            for peer in PEERS:
                arow[f"max |ΔATT(g,t)| vs {peer}"] = max_diff(kit["att"], res[peer]["att"])
                arow[f"max |Δsimple| vs {peer}"] = abs(kit["overall"] - res[peer]["overall"])
            agree_rows.append(arow)
            if method == "dr" and n == min(args.sizes) and not dr_cell:
                for name in ("kit estimate", "csdid"):
                    att = res[name]["att"]
                    if att is not None:
                        hit = att[(att["cohort"].astype(float) == 10) & (att["period"].astype(float) == 15)]
                        if len(hit):
                            dr_cell[name] = float(hit["att"].iloc[0])
            print(" | ".join(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}" for k, v in rows[-1].items()), flush=True)
    table, cpu_table, agree = pd.DataFrame(rows), pd.DataFrame(cpu_rows), pd.DataFrame(agree_rows)
    minutes = (time.perf_counter() - t_start) / 60
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join([
        f"# Attribution speed benchmark ({stamp})",
        "",
        f"Command: `python benchmarks/attribution.py {' '.join(argv if argv is not None else sys.argv[1:])}`"
        f" ({minutes:.1f} minutes in all).",
        "",
        _environment(),
        "",
        f"Panels: `benchmarks/_panels.py`, balanced, {args.months} months, 4 training cohorts (months 6, 10, 14, 18),"
        " about 40% never trained, 3 time-invariant covariates (x1 drives both training and the trend); never-treated"
        " comparison group, comparison month = the month before (varying base period), standard errors clustered by"
        f" unit, seed 1 for the bootstrap. Seconds of the call only (panel generated and a 300-employee warm-up call"
        " first, untimed; fastest of 5 calls when one takes under 2 s, of 3 under 60 s, else one call); each library in its own process;"
        f" limit {args.limit:.0f} s per call. Every call returns all ATT(g,t) and the simple aggregation.",
        "",
        f"The machine is shared: load average {load_start} at the start, {_load()} at the end (1, 5, 15 minutes)."
        " Wall-clock times of a loaded machine are noisy, so the CPU time of each call (the process's user + system"
        " time, all libraries single-threaded) is shown as well.",
        "",
        "## Wall-clock seconds and ratios",
        "",
        markdown_table(table),
        "",
        "## CPU seconds and ratios",
        "",
        markdown_table(cpu_table),
        "",
        "## Largest absolute differences of the point estimates (kit estimate vs each peer)",
        "",
        markdown_table(agree),
        "",
        "## Against the targets",
        "",
        *_verdicts(table, None, "Wall clock"),
        "",
        *_verdicts(cpu_table, agree, "CPU time"),
        "",
        dr_note(min(args.sizes), args.months, dr_cell),
        "",
    ])  # fmt: skip
    print("\n" + text)
    if args.out is None:
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    keys = ["employees", "configuration", "bootstrap"]
    cpu_cols = cpu_table.drop(columns=keys).add_prefix("cpu: ")
    pd.concat([table, cpu_cols, agree.drop(columns=keys)], axis=1).to_csv(out.with_suffix(".csv"), index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
