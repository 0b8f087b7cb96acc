"""Reading another notebook's results: notebooks that build on each other.

A notebook that needs another's results declares it in its metadata
(``"kit": {"depends_on": ["02_training_attribution"]}``) and reads them with
:func:`load_upstream`, which looks, in this order,

1. in the same run folder (``output_dir``): a scheduled run executes the notebook after
   the ones it depends on, so their exported tables are already there — "this run";
2. in the newest successful run on the same data (a run whose ``run.json`` records status
   ``ok``, the upstream notebook ``ok`` and the same sha256 of every input file as the data
   folder has now) — what an analyst running the notebook alone in JupyterLab gets;
3. computing them now through the analysis package (notebook 02's results through
   :func:`analysis.attribution.evaluate_programs`) — "computed now".

Nothing found and nothing to compute raises :class:`UpstreamMissing` with a plain reason; a
consumer then says "not yet measured", never a made-up number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.validation import sha256_file

__all__ = ["Upstream", "UpstreamMissing", "find_run", "input_fingerprints", "load_upstream", "read_tables", "results_marker"]

SOURCE_THIS_RUN = "this run"
#: Set (by ``make test``) so a notebook run outside a scheduled run never reads an earlier run of reports/.
IGNORE_EARLIER_RUNS = "TIK_IGNORE_EARLIER_RUNS"
SOURCE_COMPUTED = "computed now"

#: What "computed now" passes to :func:`analysis.attribution.evaluate_programs` beyond its own
#: defaults (which notebook 02's parameters cell also uses): notebook 02's draws and seed. So the
#: evaluation computed now is notebook 02's, every part included (tests/test_upstream.py holds the
#: two to each other), and one cached evaluation serves both (:mod:`analysis.attribution.cache`).
ATTRIBUTION_DEFAULTS: dict[str, Any] = {"n_boot": 999, "seed": 7}


#: Folder of a run folder where notebooks say that their exported results are complete (the run removes it at its end).
READY_FOLDER = ".results-ready"


def results_marker(run_folder: str | Path, notebook: str) -> Path:
    """The file whose presence says that ``notebook`` has written every table other notebooks read from the run.

    Written by :meth:`analysis.report.ReportContext.results_ready`; read by the pipeline, which
    then lets the notebooks that depend on ``notebook`` start while it draws its figures.

    Parameters
    ----------
    run_folder : str or Path
        The run folder (a notebook's ``output_dir``).
    notebook : str
        Notebook name without extension.

    Returns
    -------
    Path
    """
    return Path(run_folder) / READY_FOLDER / notebook


class UpstreamMissing(LookupError):
    """Another notebook's results are not available and cannot be computed here."""


@dataclass
class Upstream:
    """Results of another notebook.

    Attributes
    ----------
    notebook : str
        The notebook whose results these are.
    tables : dict of str to DataFrame
        Exported tables by name (``att_by_program`` for ``<notebook>__att_by_program.csv``).
    source : str
        In words: ``"this run"``, ``"run <id>, the newest successful run on the same data"`` or
        ``"computed now ..."``.
    run_id : str or None
        The run the tables came from.
    """

    notebook: str
    tables: dict[str, pd.DataFrame]
    source: str
    run_id: str | None = None
    notes: list[str] = field(default_factory=list)


def input_fingerprints(folder: str | Path) -> dict[str, str]:
    """sha256 of every file in a dataset folder (hidden files skipped), by POSIX path relative to it.

    The same fingerprints a run records under ``inputs`` in ``run.json``.
    """
    folder = Path(folder)
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            found[rel.as_posix()] = sha256_file(path)
    return found


def read_tables(run_folder: str | Path, notebook: str) -> dict[str, pd.DataFrame]:
    """Every ``<notebook>__<name>.csv`` of a run folder's ``tables/``, by name."""
    folder = Path(run_folder) / "tables"
    prefix = f"{notebook}__"
    return {p.stem[len(prefix):]: pd.read_csv(p) for p in sorted(folder.glob(f"{prefix}*.csv"))}


def find_run(reports_dir: str | Path, notebook: str, data_dir: str | Path, *, exclude: str | Path | None = None) -> Path | None:
    """The newest successful run on the same data whose ``notebook`` ran through.

    Parameters
    ----------
    reports_dir : str or Path
        Folder of runs (``reports/``).
    notebook : str
        The upstream notebook.
    data_dir : str or Path
        The data folder; a run matches when its recorded input fingerprints equal this folder's now.
    exclude : str or Path, optional
        A run folder to skip (the current one).

    Returns
    -------
    Path or None
    """
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        return None
    want = input_fingerprints(data_dir)
    skip = Path(exclude).resolve() if exclude is not None else None
    records = []
    for path in reports_dir.glob("*/run.json"):
        if path.parent.name == "latest" or path.parent.is_symlink() or (skip is not None and path.parent.resolve() == skip):
            continue
        try:
            records.append((path.parent, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, json.JSONDecodeError):
            continue
    records.sort(key=lambda r: str(r[1].get("run_id", r[0].name)), reverse=True)
    for folder, rec in records:
        ran = {n.get("name"): n.get("status") for n in rec.get("notebooks", [])}
        if rec.get("status") == "ok" and ran.get(notebook) == "ok" and rec.get("inputs") == want and read_tables(folder, notebook):
            return folder
    return None


def _compute_attribution(data_dir: str | Path, options: dict[str, Any]) -> dict[str, pd.DataFrame]:
    from analysis.attribution.cache import evaluate_programs_cached
    from analysis.data import load_dataset

    report = evaluate_programs_cached(load_dataset(data_dir), None, **{**ATTRIBUTION_DEFAULTS, **options})
    return report.exports()


#: Notebooks whose results can be computed on the spot, and how.
COMPUTE: dict[str, Callable[[str | Path, dict[str, Any]], dict[str, pd.DataFrame]]] = {
    "02_training_attribution": _compute_attribution,
}


def load_upstream(
    notebook: str,
    *,
    data_dir: str | Path,
    output_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    compute: bool = True,
    options: dict[str, Any] | None = None,
) -> Upstream:
    """Another notebook's exported results: this run, else the newest matching run, else computed now.

    Parameters
    ----------
    notebook : str
        Upstream notebook name, e.g. ``"02_training_attribution"``.
    data_dir : str or Path
        The data folder this notebook runs on.
    output_dir : str or Path, optional
        This run's folder (None in JupyterLab).
    reports_dir : str or Path, optional
        Where earlier runs live; default the parent of ``output_dir``.
    compute : bool
        Compute the results now when no run has them (only for notebooks in :data:`COMPUTE`).
    options : dict, optional
        Options for computing now (e.g. ``{"n_boot": 199}``); default the upstream notebook's defaults.

    Returns
    -------
    Upstream

    Raises
    ------
    UpstreamMissing
        Nothing found and nothing to compute, with the reason in words.
    """
    if output_dir is not None:
        tables = read_tables(output_dir, notebook)
        if tables:
            return Upstream(notebook, tables, SOURCE_THIS_RUN, Path(output_dir).name)
    if reports_dir is None and output_dir is not None:
        reports_dir = Path(output_dir).resolve().parent
    if output_dir is None and os.environ.get(IGNORE_EARLIER_RUNS):
        reports_dir = None  # make test: the committed notebooks are held to what they compute on the sample alone
    if reports_dir is not None:
        found = find_run(reports_dir, notebook, data_dir, exclude=output_dir)
        if found is not None:
            return Upstream(notebook, read_tables(found, notebook), f"run {found.name}, the newest successful run on the same data", found.name)
    if compute and notebook in COMPUTE:
        opts = {**ATTRIBUTION_DEFAULTS, **(options or {})} if notebook == "02_training_attribution" else dict(options or {})
        tables = COMPUTE[notebook](data_dir, dict(options or {}))
        words = ", ".join(f"{k} {v}" for k, v in opts.items())
        return Upstream(notebook, tables, f"{SOURCE_COMPUTED} (analysis.attribution.evaluate_programs with {words})")
    where = f"in this run ({output_dir})" if output_dir is not None else "in this run (none: running outside a scheduled run)"
    runs = f", nor in a successful run on the same data under {reports_dir}" if reports_dir is not None else ""
    raise UpstreamMissing(
        f"no results of {notebook} {where}{runs}; they cannot be computed here — run {notebook} first (e.g. make report)"
    )
