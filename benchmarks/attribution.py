"""Speed of the kit's staggered DiD against bare diff-diff, csdid and differences, in one run.

Usage::

    python benchmarks/attribution.py            # 10k, 50k, 100k employees x 24 months
    python benchmarks/attribution.py --quick    # a 2k smoke run
    python benchmarks/attribution.py --sizes 10000 --boot 199

Every call runs in its own process on the same generated panel (regenerated from the seed,
so only the fit is timed), with a per-call time limit. Prints a table with the seconds of
each library, the ratios, and the largest difference in ATT(g,t) and in the simple
aggregate between the kit and each peer; writes it to ``benchmarks/results/attribution.md``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import time
import warnings
from datetime import date
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _panels import staggered_panel  # noqa: E402
from _report import markdown_table  # noqa: E402

COVARIATES = ["x1", "x2", "x3"]
RESULTS = Path(__file__).resolve().parent / "results"


def _kit(panel: pd.DataFrame, n_boot: int, covariates: list[str]) -> tuple[pd.DataFrame, float]:
    from analysis.did import staggered_did

    res = staggered_did(panel, "y", "unit", "period", "cohort", covariates=covariates or None, control="never", method="dr" if covariates else "reg", n_boot=n_boot, seed=1)
    att = res.att_gt[["cohort", "time", "att"]].rename(columns={"time": "period"})
    return att, float(res.aggregate("simple").att)


def _diff_diff(panel: pd.DataFrame, n_boot: int, covariates: list[str]) -> tuple[pd.DataFrame, float]:
    from diff_diff import CallawaySantAnna

    res = CallawaySantAnna(control_group="never_treated", estimation_method="dr" if covariates else "reg", n_bootstrap=n_boot, seed=1).fit(
        panel, outcome="y", unit="unit", time="period", first_treat="cohort", covariates=covariates or None
    )
    att = pd.DataFrame([{"cohort": g, "period": t, "att": v["effect"]} for (g, t), v in res.group_time_effects.items()])
    return att, float(res.overall_att)


def _csdid(panel: pd.DataFrame, n_boot: int, covariates: list[str]) -> tuple[pd.DataFrame, float]:
    from csdid.att_gt import ATTgt

    model = ATTgt(yname="y", tname="period", idname="unit", gname="cohort", data=panel, control_group=["nevertreated"],
                  xformla="y ~ " + (" + ".join(covariates) or "1"), biters=max(n_boot, 1))  # fmt: skip
    model.fit(est_method="dr" if covariates else "reg", bstrap=n_boot > 0)
    r = model.results
    att = pd.DataFrame({"cohort": np.asarray(r["group"], float), "period": np.asarray(r["year"], float), "att": np.asarray(r["att"], float)})
    agg = model.aggte(typec="simple")
    overall = float(np.ravel(agg.atte["overall_att"])[0]) if hasattr(agg, "atte") else float("nan")
    return att, overall


def _differences(panel: pd.DataFrame, n_boot: int, covariates: list[str]) -> tuple[pd.DataFrame, float]:
    from differences import ATTgt

    data = panel.assign(cohort=panel["cohort"].where(panel["cohort"] > 0)).set_index(["unit", "period"])
    model = ATTgt(data=data, cohort_column="cohort")
    model.fit(formula="y ~ " + (" + ".join(covariates) or "1"), est_method="dr" if covariates else "reg", control_group="never_treated",
              boot_iterations=n_boot, random_state=1, progress_bar=False)  # fmt: skip
    res = model.results()
    res.columns = [c[-1] for c in res.columns]
    idx = res.reset_index()
    att = pd.DataFrame({"cohort": idx["cohort"].astype(float), "period": idx["time"].astype(float), "att": idx["ATT"].astype(float)})
    simple = model.aggregate("simple")
    simple.columns = [c[-1] for c in simple.columns]
    return att, float(simple["ATT"].iloc[0])


RUNNERS = {"kit": _kit, "diff-diff": _diff_diff, "csdid": _csdid, "differences": _differences}


def _child(name: str, n: int, months: int, n_boot: int, covariates: list[str], queue: mp.Queue) -> None:
    warnings.simplefilter("ignore")
    panel = staggered_panel(n, months, seed=n)
    try:
        RUNNERS[name](staggered_panel(300, months, seed=1), 0, covariates)  # warm-up: imports and first-call costs
        t0 = time.perf_counter()
        att, overall = RUNNERS[name](panel, n_boot, covariates)
        queue.put(("ok", time.perf_counter() - t0, att, overall))
    except Exception as exc:  # noqa: BLE001 - reported in the table
        queue.put(("error", f"{type(exc).__name__}: {exc}"[:120], None, None))


def timed(name: str, n: int, months: int, n_boot: int, covariates: list[str], limit: float) -> dict:
    """Run one library on one panel in a fresh process; give up after ``limit`` seconds."""
    queue: mp.Queue = mp.get_context("fork").Queue()
    proc = mp.get_context("fork").Process(target=_child, args=(name, n, months, n_boot, covariates, queue))
    proc.start()
    try:
        status, seconds, att, overall = queue.get(timeout=limit)
    except Exception:  # noqa: BLE001 - queue.Empty on timeout
        proc.kill()
        proc.join()
        return {"status": "timeout", "seconds": float("nan"), "att": None, "overall": None, "note": f"> {limit:.0f} s"}
    proc.join()
    return {"status": status, "seconds": seconds if status == "ok" else float("nan"), "att": att, "overall": overall,
            "note": "" if status == "ok" else seconds}  # fmt: skip


def max_diff(a: pd.DataFrame | None, b: pd.DataFrame | None) -> float:
    """Largest absolute difference of ATT(g,t) over the cells both report."""
    if a is None or b is None:
        return float("nan")
    m = a.astype(float).merge(b.astype(float), on=["cohort", "period"], suffixes=("_a", "_b"))
    return float((m["att_a"] - m["att_b"]).abs().max()) if len(m) else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--boot", type=int, default=999)
    parser.add_argument("--limit", type=float, default=240.0, help="seconds per call before giving up")
    parser.add_argument("--quick", action="store_true", help="one 2,000-employee panel, 99 draws")
    parser.add_argument("--out", default=str(RESULTS / "attribution.md"))
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.boot = [2_000], 99
    rows = []
    for n in args.sizes:
        for covariates, n_boot in (([], 0), (COVARIATES, 0), (COVARIATES, args.boot)):
            res = {name: timed(name, n, args.months, n_boot, covariates, args.limit) for name in RUNNERS}
            kit = res["kit"]
            row = {"employees": n, "months": args.months, "covariates": len(covariates), "bootstrap": n_boot}
            for name, r in res.items():
                row[f"{name} s"] = r["seconds"] if r["status"] == "ok" else r["note"]
            row["kit / diff-diff"] = kit["seconds"] / res["diff-diff"]["seconds"]
            for peer in ("csdid", "differences"):
                row[f"{peer} / kit"] = res[peer]["seconds"] / kit["seconds"] if res[peer]["status"] == "ok" else f"> {args.limit / kit['seconds']:.1f}" if res[peer]["status"] == "timeout" else "error"
            for peer in ("diff-diff", "csdid", "differences"):
                row[f"max |ΔATT(g,t)| vs {peer}"] = max_diff(kit["att"], res[peer]["att"])
                row[f"|Δ simple| vs {peer}"] = abs(kit["overall"] - res[peer]["overall"]) if res[peer]["overall"] is not None and kit["overall"] is not None else float("nan")
            rows.append(row)
            print(pd.DataFrame([row]).T.to_string(header=False), flush=True)
    table = pd.DataFrame(rows)
    versions = {p: metadata.version(p) for p in ("diff-diff", "csdid", "differences", "pandas", "numpy")}
    header = (
        f"# Attribution speed benchmark ({date.today()})\n\n"
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f". Panels: staggered adoption, 4 cohorts; never-treated controls; outcome regression without covariates, doubly robust with the 3 covariates (x1, x2, x3);"
        f" {args.months} months. Seconds of the fit only (each call in a fresh process, after a warm-up call on a 300-employee panel); limit {args.limit:.0f} s per call."
        f" OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}.\n\n"
    )
    text = header + markdown_table(table) + "\n"
    print("\n" + text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
