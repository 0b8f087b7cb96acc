"""Notebook 01 through the pipeline on a dataset without the competency tables: a "not available" page, not a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.pipeline import run
from analysis.sample import SampleConfig, write_sample

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def no_competency_tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_sample(tmp_path_factory.mktemp("data") / "nocomp", SampleConfig(n_employees=300, seed=5))
    (folder / "assessments.csv").unlink()
    (folder / "role_requirements.csv").unlink()
    return folder


def test_gap_notebook_without_assessments_says_not_available(no_competency_tables: Path, tmp_path: Path) -> None:
    result = run(no_competency_tables, out=tmp_path / "reports", notebooks_dir=ROOT / "notebooks", only=["00", "01"], echo=False)
    assert result.ok, result.error  # the run goes on: both notebooks succeed
    assert [n.status for n in result.notebooks] == ["ok", "ok"]
    page = (result.folder / "01_gap_analysis.html").read_text(encoding="utf-8")
    assert "Not available: the competency gap analysis needs tables assessments, role_requirements" in page
    assert "most recent call last" not in page and "GapsUnavailable" not in page
    # the KPI gaps need only the required tables: still shown and exported
    assert (result.folder / "tables" / "01_gap_analysis__kpi_gaps.csv").is_file()
    assert not (result.folder / "tables" / "01_gap_analysis__needs_by_program_group.csv").exists()
    heads = json.loads((result.folder / "headlines" / "01_gap_analysis.json").read_text(encoding="utf-8"))
    assert heads[0]["text"].startswith("Not available") and heads[0]["question"] == "gaps"
