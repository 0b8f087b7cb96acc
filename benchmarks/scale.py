"""End-to-end scale of the kit: generate, run every notebook, time and weigh it (issue 12).

Usage::

    nice .venv/bin/python benchmarks/scale.py                          # 10k, 30k, 100k employees x 36 months
    nice .venv/bin/python benchmarks/scale.py --sizes 10000 30000      # smaller sizes only
    nice .venv/bin/python benchmarks/scale.py --data 100000=/work/scratch/s100k   # reuse a generated set

For each size the sample generator writes ``N`` employees x ``--months`` months (seed
``--seed``) to a temporary folder (timed; ``--data N=DIR`` uses an existing folder instead),
then ``python -m analysis run --data DIR --out TMP`` runs in a child process while this script
polls, every ``--poll`` seconds, the resident memory of the whole process tree (the pipeline,
its worker processes and their kernels: the sum of RSS over all of them, with psutil) and
keeps the peak. Wall time per notebook comes from the run's ``run.json``; the total is the
wall time of the ``analysis run`` command. The time exponent is the slope of log total time
on log employees (least squares over the sizes run): 1 = linear.

Last, the ratio of the kit's estimation step (:func:`analysis.attribution.estimate`) to a
bare ``diff_diff.CallawaySantAnna(...).fit(...)`` on the same frame, measured as
``benchmarks/attribution.py`` does it (its ``timed``: fresh process, warm-up, fastest of
repeats; doubly robust, 3 covariates, ``--ratio-boot`` multiplier-bootstrap draws) on a
synthetic panel of each size x ``--months``.

Targets (issue 12), printed beside the measurements: 100k employees <= 180 s wall and
<= 6 GB peak; exponent <= 1; ratio <= 1.3. Writes ``benchmarks/results/scale.md``
(``--out``) and prints the same tables.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _report import markdown_table  # noqa: E402

#: The environment the pipeline runs with, as found (benchmarks/attribution.py pins BLAS threads when imported).
BASE_ENV = dict(os.environ)
TARGET_SECONDS, TARGET_GB, TARGET_EXPONENT, TARGET_RATIO = 180.0, 6.0, 1.0, 1.3
TARGET_SIZE = 100_000


def tree_rss(root: psutil.Process) -> int:
    """Bytes resident in ``root`` and all its descendants (processes that vanish mid-poll count 0)."""
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def _children_cpu() -> float:
    """User + system seconds of every descendant process waited for so far (each level waits for its own)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(cmd: list[str], log: Path, poll: float, echo: bool) -> tuple[float, int, int, float]:
    """Run ``cmd``, echoing its output to ``log`` (and the console).

    Returns wall seconds, peak RSS of the process tree, exit code and the CPU seconds of the
    whole tree (workers and kernels included: the pipeline waits for them, so their times add up
    in its own children's usage). On a shared machine the CPU seconds are the steadier measure.
    """
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=BASE_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                fh.write(line)
                if echo:
                    print("    | " + line.rstrip(), flush=True)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        root = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(root))
            time.sleep(poll)
        reader.join()
    return time.perf_counter() - t0, peak, proc.returncode, _children_cpu() - cpu0


def generate(n: int, months: int, seed: int, out: Path, log: Path) -> float:
    """Write a sample data set with the kit's generator; returns its wall seconds."""
    cmd = [sys.executable, "-m", "analysis", "sample", "--employees", str(n), "--months", str(months), "--seed", str(seed), "--out", str(out)]
    seconds, _, code, _ = run_measured(cmd, log, 0.5, echo=False)
    if code:
        raise SystemExit(f"generating {n} employees failed (exit {code}); see {log}")
    return seconds


def measure_size(n: int, args: argparse.Namespace, work: Path, data: Path | None) -> dict[str, object]:
    """Generate (unless given) and run the pipeline on one size; one row of the results."""
    row: dict[str, object] = {"employees": n}
    if data is None:
        data = work / f"data_{n}"
        print(f"[{n:,}] generating {n:,} employees x {args.months} months ...", flush=True)
        row["generate s"] = generate(n, args.months, args.seed, data, work / f"generate_{n}.log")
    else:
        row["generate s"] = float("nan")
    reports = work / f"reports_{n}"
    cmd = [sys.executable, "-m", "analysis", "run", "--data", str(data), "--out", str(reports), "--jobs", str(args.jobs)]
    print(f"[{n:,}] {' '.join(cmd[1:])}", flush=True)
    wall, peak, code, cpu = run_measured(cmd, work / f"run_{n}.log", args.poll, echo=not args.quiet)
    row.update({"status": "ok" if code == 0 else f"exit {code}", "total s": wall, "CPU s": cpu, "peak GB": peak / 1e9})
    runs = sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink() and (p / "run.json").exists()) if reports.exists() else []
    if runs:
        record = json.loads((runs[-1] / "run.json").read_text(encoding="utf-8"))
        row["run.json s"] = record.get("seconds", float("nan"))
        for nb in record.get("notebooks", []):
            row[f"{nb['name'][:2]} s"] = nb.get("seconds", float("nan"))
    rows_kpi = sum(1 for _ in open(data / "kpi_monthly.csv", "rb")) - 1
    row["kpi rows"] = rows_kpi
    print(f"[{n:,}] {row['status']}: {wall:.1f} s, peak {peak / 1e9:.2f} GB", flush=True)
    return row


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """Slope of log seconds on log employees (NaN with fewer than two sizes)."""
    ok = [(n, s) for n, s in zip(sizes, seconds, strict=True) if s and math.isfinite(s)]
    if len(ok) < 2:
        return float("nan")
    x, y = np.log([n for n, _ in ok]), np.log([s for _, s in ok])
    return float(np.polyfit(x, y, 1)[0])


def estimation_ratio(sizes: list[int], months: int, n_boot: int, limit: float) -> pd.DataFrame:
    """Kit estimate vs bare diff-diff on the same synthetic frame, per size (benchmarks/attribution.py's timing)."""
    import attribution as bench  # pins BLAS threads to 1 for the timed children, as that benchmark does

    rows = []
    for n in sizes:
        res = {lib: bench.timed(lib, n, months, "dr", bench.COVARIATES, n_boot, limit) for lib in ("kit estimate", "diff-diff")}
        kit, dd = res["kit estimate"], res["diff-diff"]
        rows.append({
            "employees": n, "configuration": f"doubly robust, 3 covariates, {n_boot} draws",
            "kit estimate s": kit["seconds"], "diff-diff s": dd["seconds"],
            "ratio (wall)": kit["seconds"] / dd["seconds"], "ratio (CPU)": kit["cpu"] / dd["cpu"],
            "largest ATT(g,t) difference": bench.max_diff(kit["att"], dd["att"]),
        })  # fmt: skip
        print(f"[{n:,}] kit estimate {kit['seconds']:.2f} s, diff-diff {dd['seconds']:.2f} s, ratio {rows[-1]['ratio (wall)']:.2f}", flush=True)
    return pd.DataFrame(rows)


def verdicts(table: pd.DataFrame, slope: float, ratios: pd.DataFrame | None) -> list[str]:
    """The targets beside the measurements, one line each."""
    lines = []
    big = table[table["employees"] == TARGET_SIZE]
    if len(big):
        s, gb = float(big["total s"].iloc[0]), float(big["peak GB"].iloc[0])
        lines.append(f"- {TARGET_SIZE:,} employees wall time: {s:.0f} s (target <= {TARGET_SECONDS:.0f} s): {'met' if s <= TARGET_SECONDS else 'NOT met'}")
        lines.append(f"- {TARGET_SIZE:,} employees peak memory: {gb:.2f} GB (target <= {TARGET_GB:.0f} GB): {'met' if gb <= TARGET_GB else 'NOT met'}")
    else:
        lines.append(f"- {TARGET_SIZE:,} employees not run (targets <= {TARGET_SECONDS:.0f} s wall, <= {TARGET_GB:.0f} GB peak)")
    if math.isfinite(slope):
        lines.append(f"- time exponent (log total s on log employees): {slope:.2f} (target <= {TARGET_EXPONENT:.0f}): {'met' if round(slope, 2) <= TARGET_EXPONENT else 'NOT met'}")
    if ratios is not None and len(ratios):
        worst = float(ratios["ratio (wall)"].max())
        lines.append(f"- kit estimate / bare diff-diff, largest over sizes: {worst:.2f} (target <= {TARGET_RATIO}): {'met' if round(worst, 2) <= TARGET_RATIO else 'NOT met'}")
    return lines


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000], help="employees per data set")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="notebooks at once (python -m analysis run --jobs)")
    parser.add_argument("--data", nargs="*", default=[], metavar="N=DIR", help="use an existing data set for size N instead of generating one")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between memory polls")
    parser.add_argument("--ratio-boot", type=int, default=999, help="bootstrap draws of the estimation-ratio fits")
    parser.add_argument("--no-ratio", action="store_true", help="skip the kit / diff-diff estimation ratio")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data and reports (their folder is printed)")
    parser.add_argument("--quiet", action="store_true", help="do not echo the pipeline's console output")
    parser.add_argument("--out", default=str(HERE / "results" / "scale.md"), help="Markdown results ('' = none)")
    args = parser.parse_args(argv)
    given = {int(k): Path(v) for k, v in (item.split("=", 1) for item in args.data)}

    started = datetime.now(timezone.utc)
    load_start = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="tik-scale-"))
    rows = []
    try:
        for n in sorted(args.sizes):
            rows.append(measure_size(n, args, work, given.get(n)))
            pd.DataFrame(rows).to_csv(work / "partial.csv", index=False)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    table = pd.DataFrame(rows)
    ok = table[table["status"] == "ok"]
    slope = exponent(list(ok["employees"]), list(ok["total s"]))
    slope_02 = exponent(list(ok["employees"]), list(ok["02 s"])) if "02 s" in ok else float("nan")
    slope_cpu = exponent(list(ok["employees"]), list(ok["CPU s"]))
    ratios = None if args.no_ratio else estimation_ratio(sorted(args.sizes), args.months, args.ratio_boot, 600.0)
    load_end = os.getloadavg()

    lead = ["employees", "kpi rows", "status", "generate s", "total s", "CPU s", "run.json s"]
    nb_cols = sorted(c for c in table.columns if c.endswith(" s") and c[:2].isdigit())
    table = table[[c for c in lead if c in table.columns] + nb_cols + ["peak GB"]]
    command = "nice .venv/bin/python benchmarks/scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    mem = psutil.virtual_memory().total / 2**30
    lines = [
        f"# End-to-end scale ({started:%Y-%m-%d %H:%M} UTC, kit at commit {_git_commit()})",
        "",
        f"Command: `{command.strip()}` ({(datetime.now(timezone.utc) - started).total_seconds() / 60:.1f} minutes in all).",
        "",
        f"Machine: {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.machine()}, Python {platform.python_version()}; "
        f"shared with other jobs: load average {' '.join(f'{x:.2f}' for x in load_start)} at the start, "
        f"{' '.join(f'{x:.2f}' for x in load_end)} at the end (1, 5, 15 minutes). Wall times on a loaded machine are upper bounds.",
        "",
        f"Each size: `python -m analysis sample --employees N --months {args.months} --seed {args.seed}` (generate s), then "
        f"`python -m analysis run --data DIR --out TMP --jobs {args.jobs}` (total s: wall time of the command, data validation "
        "included; CPU s: user + system seconds of the whole process tree; run.json s: the run's own clock, from input hashing to the last page; one column per notebook: its wall time "
        "in run.json, page rendering included). Peak GB: the largest sum of resident memory over the pipeline's whole process tree "
        f"(workers and kernels), polled every {args.poll} s with psutil.",
        "",
        "## Pipeline",
        "",
        markdown_table(table),
        "",
        f"Time exponent (slope of log total s on log employees): {slope:.2f}" + (f"; notebook 02 alone: {slope_02:.2f}" if math.isfinite(slope_02) else "")
        + f"; of the CPU seconds: {slope_cpu:.2f}.",
        "",
    ]
    if ratios is not None:
        lines += [
            "## Estimation step: kit vs bare diff-diff on the same frame",
            "",
            f"`benchmarks/_panels.py` panel of each size x {args.months} months; `analysis.attribution.estimate` vs "
            "`diff_diff.CallawaySantAnna(...).fit(...)`, timed as in `benchmarks/attribution.py` (fresh process, untimed warm-up, "
            "fastest of repeats, BLAS threads 1).",
            "",
            markdown_table(ratios),
            "",
        ]
    lines += ["## Targets (issue 12)", "", *verdicts(table, slope, ratios), ""]
    text = "\n".join(lines)
    print("\n" + text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0 if (table["status"] == "ok").all() else 1


if __name__ == "__main__":
    sys.exit(main())
