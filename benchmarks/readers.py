"""Load speed of the same dataset as CSV, Parquet and Excel workbooks (``analysis.validation`` end to end).

Usage::

    .venv/bin/python benchmarks/readers.py [--data data/sample] [--repeat 3]

Re-saves the dataset folder as Parquet (one file per table) and as Excel (one workbook per table
and one workbook with a sheet per table, written with openpyxl: numbers, dates as date cells),
then times :func:`analysis.data.load_dataset` on each (the fastest of ``--repeat`` calls) and
prints a Markdown table. A measurement, never a test assertion.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.data import load_dataset  # noqa: E402

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?$")


def _cell(text: object) -> object:
    if not isinstance(text, str) or text == "":
        return None
    if _ISO.match(text):
        return dt.datetime.fromisoformat(text)
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return text


def _write_sheet(wb, name: str, frame: pd.DataFrame) -> None:
    ws = wb.create_sheet(name)
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([_cell(v) for v in row])


def _variants(data: Path, out: Path) -> dict[str, Path]:
    from openpyxl import Workbook

    csv_dir, pq_dir, books_dir, book_dir = (out / n for n in ("csv", "parquet", "xlsx_per_table", "xlsx_one_book"))
    for d in (csv_dir, pq_dir, books_dir, book_dir):
        d.mkdir(parents=True)
    one = Workbook(write_only=True)
    for path in sorted(data.glob("*.csv")):
        shutil.copy(path, csv_dir / path.name)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        pd.read_csv(path).to_parquet(pq_dir / f"{path.stem}.parquet")
        wb = Workbook(write_only=True)
        _write_sheet(wb, path.stem, frame)
        wb.save(books_dir / f"{path.stem}.xlsx")
        _write_sheet(one, path.stem, frame)
    one.save(book_dir / "export.xlsx")
    return {"CSV": csv_dir, "Parquet": pq_dir, "Excel, workbook per table": books_dir, "Excel, one workbook": book_dir}


def main(argv: list[str] | None = None) -> int:
    """Print the load-time table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "sample"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    data = Path(args.data)
    rows = sum(len(pd.read_csv(p)) for p in data.glob("*.csv"))
    with tempfile.TemporaryDirectory() as tmp:
        variants = _variants(data, Path(tmp))
        print(f"load_dataset on {data} ({rows:,} rows in {len(list(data.glob('*.csv')))} tables), fastest of {args.repeat}\n")
        print("| format | seconds | vs CSV | tables equal to CSV |\n|---|---:|---:|---|")
        reference = None
        base = None
        for name, folder in variants.items():
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                ds = load_dataset(folder)
                best = min(best, time.perf_counter() - t0)
            if reference is None:
                reference, base = ds, best
            same = all(ds.tables[t].reset_index(drop=True).astype(str).equals(reference.tables[t].reset_index(drop=True).astype(str)) for t in reference.tables)
            print(f"| {name} | {best:.2f} | {best / base:.1f}x | {'yes' if same else 'no'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
