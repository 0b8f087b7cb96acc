"""The run summary page: one finding per question in words with its money figure, pages by title, downloads."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.pipeline import NotebookRun, RunResult
from analysis.run_summary import findings_by_question, rebuild_index, write_run_summary


def _notebook(folder: Path, name: str, title: str) -> None:
    nb = {"cells": [{"cell_type": "markdown", "source": [f"# {name[:2]} · {title}\n"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / f"{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")


def _run(tmp_path: Path, *, failed: bool = False) -> tuple[Path, str]:
    folder = tmp_path / "2026-12-01_120000_sample"
    (folder / "tables").mkdir(parents=True)
    _notebook(folder, "00_data_quality", "Data quality")
    _notebook(folder, "03_roi_budget", "ROI and budget")
    for name in ("00_data_quality__kpi_summary", "03_roi_budget__roi_by_program", "03_roi_budget__allocation"):
        (folder / "tables" / f"{name}.csv").write_text("a\n1\n", encoding="utf-8")
    headlines = {
        "03_roi_budget": [
            {"text": "Next year's budget: shift to P01.", "key": None, "value": None, "question": "budget", "money": 2_400_000.0},
            {"text": "P01 returned 45% (95% CI 12% to 80%).", "key": "P01", "value": 45.0, "question": "roi", "money": 1_234_567.8,
             "money_label": "net benefit"},
        ],
        "00_data_quality": [{"text": "13 tables passed <the> contract.", "key": "tables", "value": 13.0}],
    }
    notebooks = [
        NotebookRun("00_data_quality", "ok", 12.3, None, "00_data_quality.html"),
        NotebookRun("03_roi_budget", "failed" if failed else "ok", 40.0, "Traceback ...\nValueError: boom" if failed else None, "03_roi_budget.html"),
    ]
    result = RunResult(folder, "failed" if failed else "ok", notebooks, "notebook(s) failed: 03_roi_budget" if failed else None)
    page = write_run_summary(folder, {"dataset": "sample", "headlines": headlines}, result)
    return folder, page.read_text(encoding="utf-8")


def test_findings_follow_the_questions_in_order_with_money_and_titles(tmp_path: Path) -> None:
    _, html = _run(tmp_path)
    data, roi, budget = html.index("Can the data be trusted?"), html.index("Did the training pay back?"), html.index("Where should the next training budget go?")
    assert data < roi < budget < html.index("<h2>Pages</h2>") < html.index("<h2>Download the tables</h2>")
    assert '<span class="money">net benefit ¥1,234,568</span> · P01 returned 45% (95% CI 12% to 80%).' in html
    assert '<span class="money">¥2,400,000</span>' in html
    assert '<a href="03_roi_budget.html">ROI and budget</a>' in html and '<a href="00_data_quality.html">Data quality</a>' in html
    assert ">03_roi_budget<" not in html, "pages are named by title, not file name"
    assert "13 tables passed &lt;the&gt; contract." in html
    assert "Did the training change the KPI it targets?" not in html, "a question no page answered is left out"


def test_no_error_column_when_nothing_failed_and_one_when_something_did(tmp_path: Path) -> None:
    _, html = _run(tmp_path / "ok")
    assert "<th>Error</th>" not in html and "<pre>" not in html
    _, html = _run(tmp_path / "bad", failed=True)
    assert "<th>Error</th>" in html and "<pre>ValueError: boom</pre>" in html
    assert "notebook(s) failed: 03_roi_budget" in html


def test_downloads_grouped_by_page(tmp_path: Path) -> None:
    _, html = _run(tmp_path)
    downloads = html[html.index("<h2>Download the tables</h2>") : html.index("<h2>Run</h2>")]
    assert downloads.index("<h3>Data quality</h3>") < downloads.index("KPI summary") < downloads.index("<h3>ROI and budget</h3>")
    assert downloads.index("<h3>ROI and budget</h3>") < downloads.index("Allocation") and "ROI by program" in downloads
    assert 'href="tables/03_roi_budget__roi_by_program.csv"' in downloads


def test_findings_by_question_defaults_by_notebook_number() -> None:
    grouped = findings_by_question({"02_training_attribution": [{"text": "a"}], "00_data_quality": [{"text": "b"}], "07_x": [{"text": "c"}]})
    assert [q for q, _ in grouped] == ["data", "effect", "other"]


def test_index_of_runs_without_runs(tmp_path: Path) -> None:
    html = rebuild_index(tmp_path).read_text(encoding="utf-8")
    assert "No successful run yet" in html and "<table>" not in html


def test_a_question_shows_three_findings_and_collapses_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    headlines = {"01_gap_analysis": [{"text": f"gap finding {k}"} for k in range(5)]}
    result = RunResult(folder, "ok", [NotebookRun("01_gap_analysis", "ok", 1.0, None, "01_gap_analysis.html")])
    html = write_run_summary(folder, {"dataset": "d", "headlines": headlines}, result).read_text(encoding="utf-8")
    shown, _, hidden = html.partition('<details class="more"><summary>2 more findings</summary>')
    assert [f"gap finding {k}" in shown for k in range(5)] == [True, True, True, False, False]
    assert "gap finding 3" in hidden and "gap finding 4" in hidden
