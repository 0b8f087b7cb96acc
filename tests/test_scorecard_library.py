"""The KPI library as data: add a KPI without code, and every broken entry named by file, KPI and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.scorecard import DEFAULT_LIBRARY, compute_scorecard, load_library
from tests.test_scorecard import TABLES

BASE = """frequency: quarter
inputs:
  training_revenue: revenue
aggregates:
  enrolled:
    table: enrollments
  completed:
    table: enrollments
    where: "status == 'completed'"
kpis:
  - name: completion_share
    perspective: internal_process
    tdrp: efficiency
    formula: completed / enrolled
    unit: share
    target: 0.5
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    from analysis.data import load_dataset

    folder = tmp_path_factory.mktemp("library_tiny")
    for name, text in TABLES.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return load_dataset(folder)


def _write(tmp_path: Path, text: str, name: str = "my_kpis.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_default_library_loads_clean_and_covers_the_seeds() -> None:
    lib = load_library()
    assert lib.issues == [] and lib.broken == {}
    names = {k.name for k in lib.kpis}
    seed_002 = {"revenue_attainment", "gross_margin", "revenue_per_employee", "receivables_collection_rate", "client_satisfaction",
                "net_promoter_score", "client_renewal_rate", "client_acquisition_cost", "complaint_resolution_rate", "referral_rate",
                "course_development_days", "on_time_delivery_rate", "instructor_rating", "lead_conversion_rate", "response_time_days",
                "core_talent_retention", "engagement_score", "training_hours_per_employee", "new_hire_pass_rate", "new_courses",
                "internal_instructors"}
    seed_004 = {"training_revenue", "training_cost_per_trainee", "training_cycle_days", "market_share", "client_renewal_rate"}
    assert seed_002 <= names and seed_004 <= names
    assert {k.perspective for k in lib.kpis} == {"financial", "customer", "internal_process", "learning_growth"}
    assert DEFAULT_LIBRARY.name == "kpi_library.yaml"


def test_add_a_kpi_by_editing_the_yaml(tmp_path: Path, tiny) -> None:
    text = DEFAULT_LIBRARY.read_text(encoding="utf-8")
    text = text.replace("aggregates:\n", "aggregates:\n  dropped_runs:\n    table: enrollments\n    where: \"status == 'dropped'\"\n", 1)
    text += """  - name: dropout_rate
    label: Drop-out rate
    perspective: internal_process
    tdrp: efficiency
    formula: dropped_runs / enrolled
    unit: share
    target: 0.1
    direction: lower
"""
    card = compute_scorecard(tiny, _write(tmp_path, text), min_group_size=1)
    assert card.value("dropout_rate", "2024-Q1") == pytest.approx(1 / 4)  # E4 of E1-E4
    assert card.value("dropout_rate", "2024-Q2") == 0.0
    row = card.table.set_index("name").loc["dropout_rate"]
    assert row["label"] == "Drop-out rate" and row["status"] == "on track"  # 0 in Q2 against 10% (lower is better)
    assert card.issues == []


def _broken(card, name: str) -> str:
    row = card.table.set_index("name").loc[name]
    assert row["status"] == "broken"
    return str(row["note"])


def test_unknown_table(tmp_path: Path, tiny) -> None:
    text = BASE.replace("aggregates:\n", "aggregates:\n  exported:\n    table: lms_export\n", 1) + """  - name: from_nowhere
    perspective: internal_process
    formula: exported / enrolled
"""
    card = compute_scorecard(tiny, _write(tmp_path, text), min_group_size=1)
    note = _broken(card, "from_nowhere")
    assert "my_kpis.yaml" in note and "'from_nowhere'" in note and f"line {_line_of(text, 'name: from_nowhere')}" in note
    assert "lms_export" in note
    assert card.value("completion_share", "2024-Q1") == pytest.approx(0.5)  # the rest still renders


def test_unknown_column(tmp_path: Path, tiny) -> None:
    text = BASE.replace("aggregates:\n", "aggregates:\n  minutes:\n    table: enrollments\n    agg: sum\n    column: learn_minutez\n", 1) + """  - name: minutes_per_run
    perspective: internal_process
    formula: minutes / enrolled
"""
    card = compute_scorecard(tiny, _write(tmp_path, text), min_group_size=1)
    note = _broken(card, "minutes_per_run")
    assert "learn_minutez" in note and "enrollments" in note and f"line {_line_of(text, 'name: minutes_per_run')}" in note
    assert card.table.set_index("name").loc["completion_share", "status"] != "broken"


def test_unknown_column_in_where(tmp_path: Path, tiny) -> None:
    text = BASE.replace("aggregates:\n", "aggregates:\n  vip:\n    table: enrollments\n    where: \"tier == 'gold'\"\n", 1) + """  - name: vip_share
    perspective: customer
    formula: vip / enrolled
"""
    note = _broken(compute_scorecard(tiny, _write(tmp_path, text), min_group_size=1), "vip_share")
    assert "tier" in note


def test_syntax_error_names_the_formula_line(tmp_path: Path, tiny) -> None:
    text = BASE + """  - name: bad_syntax
    perspective: customer
    formula: completed / (enrolled
"""
    lib = load_library(_write(tmp_path, text))
    issue = lib.broken["bad_syntax"]
    assert issue.kind == "syntax" and issue.line == _line_of(text, "completed / (enrolled")
    assert str(issue).startswith(f"my_kpis.yaml, line {issue.line}, KPI 'bad_syntax': syntax error")
    card = compute_scorecard(tiny, lib, min_group_size=1)
    assert "bad_syntax" in set(card.broken["name"]) and card.value("completion_share", "2024-Q1") == pytest.approx(0.5)


def test_unknown_function(tmp_path: Path, tiny) -> None:
    text = BASE + """  - name: bad_function
    perspective: customer
    formula: median(completed)
"""
    card = compute_scorecard(tiny, _write(tmp_path, text), min_group_size=1)
    note = _broken(card, "bad_function")
    assert "unknown function median()" in note and f"line {_line_of(text, 'median(completed)')}" in note


def test_unknown_name(tmp_path: Path) -> None:
    text = BASE + """  - name: bad_name
    perspective: customer
    formula: completed / enroled
"""
    issue = load_library(_write(tmp_path, text)).broken["bad_name"]
    assert issue.kind == "unknown_name" and "enroled" in issue.message


def test_division_by_zero_in_a_period_with_no_enrollments(tmp_path: Path, tiny) -> None:
    # the KPI panel runs to September 2024: 2024-Q3 has no enrollments at all
    card = compute_scorecard(tiny, _write(tmp_path, BASE), min_group_size=0)
    assert card.value("completion_share", "2024-Q1") == pytest.approx(2 / 4)
    assert card.value("completion_share", "2024-Q2") == pytest.approx(1 / 2)
    assert np.isnan(card.value("completion_share", "2024-Q3"))
    [issue] = [i for i in card.issues if i.kind == "division_by_zero"]
    assert issue.entry == "completion_share" and issue.line == _line_of(BASE, "name: completion_share") and "2024-Q3" in issue.message
    assert str(issue).startswith("my_kpis.yaml, line")
    row = card.table.set_index("name").loc["completion_share"]
    assert (row["last_period"], row["status"]) == ("2024-Q2", "on track")  # the blank Q3 is not the last value; 0.5 meets 0.5
    assert "2024-Q3" in row["note"]


def test_division_by_zero_everywhere_is_broken(tmp_path: Path, tiny) -> None:
    text = BASE.replace("aggregates:\n", "aggregates:\n  nobody:\n    table: enrollments\n    where: \"status == 'enrolled'\"\n", 1) + """  - name: per_nobody
    perspective: customer
    formula: completed / nobody
"""
    card = compute_scorecard(tiny, _write(tmp_path, text), min_group_size=0)
    assert "division by zero" in _broken(card, "per_nobody")


def test_duplicate_kpi_name(tmp_path: Path, tiny) -> None:
    text = BASE + """  - name: completion_share
    perspective: customer
    formula: enrolled
"""
    lib = load_library(_write(tmp_path, text))
    [issue] = lib.issues
    assert issue.kind == "duplicate" and issue.line == _line_of(text, "formula: enrolled") - 2
    assert f"first defined on line {_line_of(text, 'name: completion_share')}" in issue.message
    assert [k.name for k in lib.kpis] == ["completion_share"] and lib.kpis[0].formula.text == "completed / enrolled"


def test_not_yaml_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"broken\.yaml, line 3"):
        load_library(_write(tmp_path, "kpis:\n  - name: a\n  formula: [\n", "broken.yaml"))


def test_invalid_perspective_and_target(tmp_path: Path) -> None:
    text = BASE + """  - name: odd
    perspective: happiness
  - name: odd_target
    perspective: customer
    input: x
    target: lots
"""
    lib = load_library(_write(tmp_path, text))
    assert lib.broken["odd"].kind == "invalid" and "happiness" in lib.broken["odd"].message
    assert "lots" in lib.broken["odd_target"].message


def test_readme_example_adds_a_kpi(tmp_path: Path, tiny) -> None:
    import yaml

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("no code changes:", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    example = yaml.safe_load(block)
    text = DEFAULT_LIBRARY.read_text(encoding="utf-8")
    agg_name, agg = next(iter(example["aggregates"].items()))
    text = text.replace("aggregates:\n", f"aggregates:\n  {agg_name}: {{table: {agg['table']}, where: \"{agg['where']}\"}}\n", 1)
    text += yaml.safe_dump(example["kpis"], sort_keys=False).replace("\n", "\n  ").join(["  ", ""]).rstrip(" ")
    card = compute_scorecard(tiny, _write(tmp_path, text), min_group_size=1)
    assert card.issues == []
    assert card.value("dropout_rate", "2024-Q1") == pytest.approx(1 / 4)


def test_missing_optional_column_is_no_data_not_broken(tiny) -> None:
    tables = {**tiny.tables, "enrollments": tiny.enrollments.drop(columns=["learn_interruptions"])}
    card = compute_scorecard(tables, min_group_size=1)
    row = card.table.set_index("name").loc["uninterrupted_completion_rate"]
    assert row["status"] == "no data" and "learn_interruptions" in row["note"] and "optional" in row["note"]
    assert card.issues == [] and card.value("completion_rate", "2024-Q1") == pytest.approx(0.5)
