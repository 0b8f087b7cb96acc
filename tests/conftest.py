"""Shared fixtures: a tiny, hand-written valid dataset whose every number is known."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from analysis.pipeline import RunResult

#: R ``did``'s mpdta panel, read from ``../shared/data`` (reference data no package ships; never copied here).
MPDTA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mpdta.csv"
#: Module mark of the tests that need it.
NEEDS_MPDTA = pytest.mark.skipif(
    not MPDTA.exists(),
    reason=f"mpdta reference data not found at {MPDTA} (shared/ is not part of the kit's repository)",
)


ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def pytest_configure(config: pytest.Config) -> None:
    """One evaluation cache per test run (``TIK_EVALUATION_CACHE``, see analysis/attribution/cache.py).

    ``make test`` names a fresh folder itself; any other pytest run gets one here, made by the
    controlling process before pytest-xdist starts its workers (which, like the nbval kernels they
    start, inherit it), removed when the run ends.
    """
    from analysis.attribution.cache import CACHE_ENV

    if not os.environ.get(CACHE_ENV) and not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tempfile.mkdtemp(prefix="tik-evaluation-cache-")
        os.environ[CACHE_ENV] = folder
        config.add_cleanup(lambda: (shutil.rmtree(folder, ignore_errors=True), os.environ.pop(CACHE_ENV, None)))


@pytest.fixture(scope="session")
def sample_attribution():
    """Notebook 02's evaluation of data/sample with its defaults (999 draws, seed 7, every part on).

    Through the evaluation cache, so the run computes it once for every test module and notebook
    that needs it (notebook 02's and 03's nbval runs included).
    """
    from analysis.attribution.cache import evaluate_programs_cached
    from analysis.data import load_dataset
    from analysis.upstream import ATTRIBUTION_DEFAULTS

    return evaluate_programs_cached(load_dataset(SAMPLE), None, **ATTRIBUTION_DEFAULTS)

TINY_TABLES: dict[str, str] = {
    "employees": """employee_id,department,role,region,hire_date,exit_date,grade,manager_id
E01,Sales,Rep,North,2022-01-10,,G1,E08
E02,Sales,Rep,North,2022-03-01,,G1,E08
E03,Sales,Rep,South,2023-06-15,,G2,E08
E04,Sales,Rep,South,2024-02-01,,G1,E08
E05,Sales,Rep,North,2021-05-01,2024-04-20,G2,E08
E06,Service,Agent,South,2020-01-01,,G1,E08
E07,Service,Agent,North,2020-01-01,,G1,E08
E08,Sales,Lead,North,2019-01-01,,G3,
""",
    "kpi_definitions": """kpi,unit,higher_is_better,value_per_unit,target
sales,CNY,true,0.2,100000
csat,points,true,500,90
""",
    "programs": """program_id,name,category,target_competency,kpi,duration_hours
P01,Consultative selling,sales,needs_discovery,sales,16
P02,Service excellence,service,empathy,csat,8
""",
    "enrollments": """employee_id,program_id,status,start_date,end_date,exam_score,exam_passed
E01,P01,completed,2024-03-05,2024-03-20,82,true
E02,P01,completed,2024-03-10,2024-03-25,55,false
E03,P01,dropped,2024-04-02,,,
E06,P02,completed,2024-02-01,2024-02-10,90,true
""",
}


def _kpi_rows() -> str:
    months = ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]
    lines = ["employee_id,month,kpi,value"]
    sales_staff = {"E01": 0, "E02": 0, "E03": 0, "E04": 1, "E05": 0, "E08": 0}
    for emp, first in sales_staff.items():
        for i, month in enumerate(months):
            if i < first or (emp == "E05" and i > 3):
                continue
            lines.append(f"{emp},{month},sales,{100000 + 1000 * i + int(emp[1:]) * 10}")
    for emp in ("E06", "E07"):
        for i, month in enumerate(months):
            lines.append(f"{emp},{month},csat,{85 + i * 0.5}")
    return "\n".join(lines) + "\n"


def write_tiny_dataset(folder: Path) -> Path:
    """Write the tiny valid dataset into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in TINY_TABLES.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    (folder / "kpi_monthly.csv").write_text(_kpi_rows(), encoding="utf-8")
    return folder


@pytest.fixture
def tiny_dataset_dir(tmp_path: Path) -> Path:
    """A tiny valid dataset folder: 8 employees, 2 programs, 6 months."""
    return write_tiny_dataset(tmp_path / "tiny")


#: A department name that must render as text on every page (the pipeline tests look for it escaped).
HOSTILE_DEPARTMENT = "<script>alert(1)</script>"


@dataclass
class SampleRun:
    """One pipeline run over a small generated dataset, shared by the pipeline and browser tests."""

    result: RunResult
    out: Path
    data: Path


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """Every notebook run once on 300 generated employees (02 with 99 bootstrap draws), one department renamed to
    :data:`HOSTILE_DEPARTMENT`.

    Made once per test session even under pytest-xdist: the first worker runs it under a file lock in the
    folder the workers share, the others read its ``run.json``.
    """
    from analysis.pipeline import NotebookRun, RunResult, run
    from analysis.sample import SampleConfig, write_sample

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    shared = root / "shared_sample_run"
    with open(root / "shared_sample_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            marker = shared / "run.txt"
            if not marker.exists():
                data = write_sample(shared / "data" / "small", SampleConfig(n_employees=300, seed=5))
                emp = data / "employees.csv"
                emp.write_text(emp.read_text(encoding="utf-8").replace("Operations", HOSTILE_DEPARTMENT), encoding="utf-8")
                plan = data / "headcount_plan.csv"  # the plan names the same (renamed) department, or notebook 03 refuses it as an unknown unit
                plan.write_text(plan.read_text(encoding="utf-8").replace("Operations", HOSTILE_DEPARTMENT), encoding="utf-8")
                params = shared / "params.yaml"
                params.write_text("notebooks:\n  02_training_attribution: {n_boot: 99}\n", encoding="utf-8")
                result = run(data, out=shared / "reports", params_file=params, notebooks_dir=ROOT / "notebooks", echo=False)
                marker.write_text(str(result.folder), encoding="utf-8")
                return SampleRun(result, shared / "reports", data)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    folder = Path(marker.read_text(encoding="utf-8"))
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    notebooks = [NotebookRun(**n) for n in record["notebooks"]]
    return SampleRun(RunResult(folder, record["status"], notebooks, record.get("error")), shared / "reports", shared / "data" / "small")
