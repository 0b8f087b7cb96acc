"""Speed of the gap analysis's model step on 2,000 employees (issue 8: "takes seconds").

Times, on the generated sample (2,000 employees × 24 months; ``--employees`` for another size),
each step of notebook 01 separately: ``competency_gaps``, ``kpi_gaps``, ``shortfall_drivers`` per
KPI (the model step: 5-fold cross-validated logistic regression and gradient-boosted trees,
permutation importance on each held-out fold), ``gap_segments`` and ``training_needs``. Each step
runs after an untimed warm-up; the fastest of ``--repeats`` calls is kept, wall-clock and CPU
seconds side by side (CPU is the steadier measure on a shared machine; the load average is
recorded). Threads are pinned to 1 before numpy loads.

    .venv/bin/python benchmarks/gaps.py                 # writes results/gaps.md and results/gaps.csv
    .venv/bin/python benchmarks/gaps.py --quick --out - # one repeat, print only
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import markdown_table  # noqa: E402

from analysis.data import load_dataset  # noqa: E402
from analysis.gaps import competency_gaps, gap_segments, kpi_gaps, shortfall_drivers, training_needs  # noqa: E402
from analysis.sample import SampleConfig, write_sample  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _time(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up (imports, caches)
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - w0, time.process_time() - c0))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--out", default=str(RESULTS / "gaps.md"), help="Markdown output ('-' = print only)")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_sample(Path(tmp) / "sample", SampleConfig(n_employees=args.employees))
        ds = load_dataset(folder)
        gaps = competency_gaps(ds)
        kpis = sorted(ds.tables["kpi_definitions"]["kpi"])
        drivers = {k: shortfall_drivers(ds, k) for k in kpis}
        steps = {
            "competency_gaps": lambda: competency_gaps(ds),
            "kpi_gaps": lambda: kpi_gaps(ds),
            **{f"shortfall_drivers ({k})": (lambda k=k: shortfall_drivers(ds, k)) for k in kpis},
            "gap_segments (3 competencies)": lambda: [gap_segments(gaps, c) for c in ds.tables["programs"]["target_competency"]],
            "training_needs (drivers given)": lambda: training_needs(ds, gaps=gaps, drivers=drivers),
        }
        rows = []
        for name, fn in steps.items():
            wall, cpu = _time(fn, repeats)
            people = drivers[name.split("(")[1].rstrip(")")].n if name.startswith("shortfall") else ""
            rows.append({"step": name, "people in the model": people, "wall s": wall, "cpu s": cpu})
            print(f"  {name:<34} wall {wall:7.2f} s   cpu {cpu:7.2f} s", flush=True)
    table = pd.DataFrame(rows)
    model = table[table["step"].str.startswith("shortfall")]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = (f"# Gap analysis speed ({args.employees:,} employees × 24 months, best of {repeats}, threads pinned to 1)\n\n"
            + markdown_table(table) + "\n\n"
            + f"Model step (all {len(model)} KPIs): {model['wall s'].sum():.1f} s wall, {model['cpu s'].sum():.1f} s CPU; "
            + f"load average {load:.1f} on {os.cpu_count()} cores when measured.\n")
    print(text)
    if args.out != "-":
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        table.to_csv(out.with_suffix(".csv"), index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
