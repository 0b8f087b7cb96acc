"""Where notebook 02's time goes: cProfile of data loading and of ``evaluate_programs``.

Usage::

    nice .venv/bin/python benchmarks/profile_attribution.py --data /work/scratch/s20k --out benchmarks/results/profile_20k.md

Runs, in this process and with notebook 02's default options (``n_boot=999``, seed 7,
every program), ``analysis.data.load_dataset(DIR)`` then
``analysis.attribution.evaluate_programs(dataset, n_boot=999, seed=7)``, each under
:mod:`cProfile`, and writes a Markdown summary: wall time of both steps, the time of each
part of every program's evaluation (``ProgramEvaluation.timings``), peak resident memory
of the process (``ru_maxrss``) and the functions with the largest cumulative and own
times. The raw profiles are kept beside the summary as ``.prof`` files only with
``--keep-prof``. cProfile adds overhead (roughly 10-30 % on pandas-heavy code), so the
wall times are upper bounds; the shares are what to read.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import resource
import sys
import time
from pathlib import Path


def _top(prof: cProfile.Profile, sort: str, n: int) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.strip_dirs().sort_stats(sort).print_stats(n)
    lines = buf.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return "\n".join(lines[start:]).rstrip()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument("--out", required=True, help="Markdown summary to write")
    parser.add_argument("--n-boot", type=int, default=999, help="bootstrap draws (notebook 02 default 999)")
    parser.add_argument("--top", type=int, default=35, help="functions listed per table")
    parser.add_argument("--keep-prof", action="store_true", help="also write the raw .prof files beside --out")
    args = parser.parse_args(argv)

    from analysis.attribution import evaluate_programs
    from analysis.data import load_dataset

    out = Path(args.out)
    rss_start = _peak_mb()

    load_prof = cProfile.Profile()
    t0 = time.perf_counter()
    load_prof.enable()
    dataset = load_dataset(args.data)
    load_prof.disable()
    t_load = time.perf_counter() - t0
    rss_load = _peak_mb()
    print(f"load_dataset: {t_load:.1f} s, peak RSS {rss_load:.0f} MB", flush=True)

    eval_prof = cProfile.Profile()
    t0 = time.perf_counter()
    eval_prof.enable()
    report = evaluate_programs(dataset, n_boot=args.n_boot, seed=7)
    eval_prof.disable()
    t_eval = time.perf_counter() - t0
    rss_eval = _peak_mb()
    print(f"evaluate_programs: {t_eval:.1f} s, peak RSS {rss_eval:.0f} MB", flush=True)

    rows = {name: len(df) for name, df in dataset.tables.items()}
    lines = [
        f"# Profile of notebook 02's work on `{Path(args.data).name}`",
        "",
        "Command:",
        "",
        "```bash",
        f"nice .venv/bin/python benchmarks/profile_attribution.py --data {args.data} --out {args.out}" + (f" --n-boot {args.n_boot}" if args.n_boot != 999 else ""),
        "```",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}), Python {platform.python_version()}. "
        "Times are wall clock under cProfile (upper bounds; read the shares).",
        "",
        f"Rows: {', '.join(f'{k} {v:,}' for k, v in rows.items())}.",
        "",
        "| step | wall s | peak RSS after, MB |",
        "|---|---|---|",
        f"| start (imports) | | {rss_start:,.0f} |",
        f"| `load_dataset` | {t_load:.1f} | {rss_load:,.0f} |",
        f"| `evaluate_programs(n_boot={args.n_boot})` | {t_eval:.1f} | {rss_eval:,.0f} |",
        "",
        "## Time per part of each program's evaluation (`ProgramEvaluation.timings`, s)",
        "",
    ]
    parts = list(dict.fromkeys(p for ev in report.results.values() for p in ev.timings))
    lines.append("| program | " + " | ".join(parts) + " | total |")
    lines.append("|---|" + "---|" * (len(parts) + 1))
    for pid, ev in report.results.items():
        cells = [f"{ev.timings.get(p, float('nan')):.1f}" for p in parts]
        lines.append(f"| {pid} | " + " | ".join(cells) + f" | {sum(ev.timings.values()):.1f} |")
    for pid, why in report.skipped.items():
        lines.append(f"| {pid} | skipped: {why} |")
    lines += [
        "",
        "## `evaluate_programs`: top functions by cumulative time",
        "",
        "```",
        _top(eval_prof, "cumulative", args.top),
        "```",
        "",
        "## `evaluate_programs`: top functions by own time",
        "",
        "```",
        _top(eval_prof, "tottime", args.top),
        "```",
        "",
        "## `load_dataset`: top functions by cumulative time",
        "",
        "```",
        _top(load_prof, "cumulative", 25),
        "```",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    if args.keep_prof:
        load_prof.dump_stats(out.with_suffix(".load.prof"))
        eval_prof.dump_stats(out.with_suffix(".eval.prof"))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
