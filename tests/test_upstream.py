"""Reading another notebook's results: this run, the newest matching run, or computed now — and the whole ROI chain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import upstream
from analysis.costs import fully_loaded_cost
from analysis.data import load_dataset
from analysis.roi import compute_roi
from analysis.upstream import UpstreamMissing, find_run, input_fingerprints, load_upstream


@pytest.fixture(autouse=True)
def _earlier_runs_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # these tests are about reading earlier runs, which make test otherwise switches off for the notebooks
    monkeypatch.delenv(upstream.IGNORE_EARLIER_RUNS, raising=False)

NB = "02_training_attribution"


def _data(folder: Path, text: str = "a,b\n1,2\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "employees.csv").write_text(text, encoding="utf-8")
    return folder


def _run(reports: Path, run_id: str, data: Path | None, *, status: str = "ok", nb_status: str = "ok", att: float = 1.0,
         inputs: dict | None = None) -> Path:  # fmt: skip
    folder = reports / run_id
    (folder / "tables").mkdir(parents=True)
    pd.DataFrame({"program_id": ["P1"], "att": [att]}).to_csv(folder / "tables" / f"{NB}__att_by_program.csv", index=False)
    record = {"run_id": run_id, "status": status, "inputs": inputs if inputs is not None else input_fingerprints(data),
              "notebooks": [{"name": NB, "status": nb_status}]}  # fmt: skip
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_this_run_comes_first(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    reports = tmp_path / "reports"
    _run(reports, "2026-01-01_000000_data", data, att=1.0)
    this = _run(reports, "2026-01-02_000000_data", data, att=2.0)
    up = load_upstream(NB, data_dir=data, output_dir=this)
    assert up.source == "this run" and up.tables["att_by_program"]["att"].tolist() == [2.0]


def test_newest_successful_run_on_the_same_data(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    reports = tmp_path / "reports"
    _run(reports, "2026-01-01_000000_data", data, att=1.0)
    _run(reports, "2026-01-02_000000_data", data, att=2.0)  # the one to find
    _run(reports, "2026-01-03_000000_data", data, att=3.0, status="failed")
    _run(reports, "2026-01-04_000000_data", data, att=4.0, inputs={"employees.csv": "0" * 64})  # other data
    _run(reports, "2026-01-05_000000_data", data, att=5.0, nb_status="failed")
    up = load_upstream(NB, data_dir=data, reports_dir=reports, compute=False)
    assert up.source == "run 2026-01-02_000000_data, the newest successful run on the same data"
    assert up.tables["att_by_program"]["att"].tolist() == [2.0] and up.run_id == "2026-01-02_000000_data"
    # the current run folder (no tables of its own yet) is skipped; its parent is searched
    current = reports / "2026-01-06_000000_data"
    current.mkdir()
    assert load_upstream(NB, data_dir=data, output_dir=current, compute=False).run_id == "2026-01-02_000000_data"
    # one changed byte in the data: no run matches any more
    (data / "employees.csv").write_text("a,b\n1,3\n", encoding="utf-8")
    assert find_run(reports, NB, data) is None
    with pytest.raises(UpstreamMissing, match="run 02_training_attribution first"):
        load_upstream(NB, data_dir=data, reports_dir=reports, compute=False)


def test_computed_now_when_no_run_has_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake(data_dir: object, options: dict) -> dict[str, pd.DataFrame]:
        calls.append(options)
        return {"att_by_program": pd.DataFrame({"att": [9.0]})}

    monkeypatch.setitem(upstream.COMPUTE, NB, fake)
    up = load_upstream(NB, data_dir=_data(tmp_path / "data"), options={"n_boot": 49})
    assert calls == [{"n_boot": 49}]
    assert up.source.startswith("computed now (analysis.attribution.evaluate_programs with n_boot 49, seed 7")
    with pytest.raises(UpstreamMissing, match="cannot be computed here"):
        load_upstream("01_gap_analysis", data_dir=tmp_path / "data")


def test_computed_now_is_notebook_02_with_its_defaults() -> None:
    """The same options as notebook 02's parameters cell: the same numbers, and one cached evaluation for both."""
    from dataclasses import fields

    from analysis.attribution import EvaluationOptions
    from analysis.notebook_params import notebook_parameters

    cell = notebook_parameters(Path(__file__).resolve().parents[1] / "notebooks" / f"{NB}.ipynb")
    computed = EvaluationOptions.build(**upstream.ATTRIBUTION_DEFAULTS)
    shared = [f.name for f in fields(EvaluationOptions) if f.name in cell]
    assert {"n_boot", "seed", "cluster", "control", "anticipation", "controls", "small_cohorts"} <= set(shared)
    assert {name: getattr(computed, name) for name in shared} == {name: cell[name].default for name in shared}
    assert cell["programs"].default is None, "computed now evaluates every program, as notebook 02 does by default"


# ---- the whole chain on a data set without noise: the exact ROI ---------------------------------------------------
def write_noiseless(folder: Path) -> Path:
    """KPI = person level + month level + 100 after training; 80 of 120 trained in two cohorts, 40 never."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"E{i:03d}" for i in range(1, 121)]
    pd.DataFrame({"employee_id": ids, "department": "Sales", "role": "Rep", "region": ["North", "South"] * 60, "hire_date": "2020-01-01",
                  "exit_date": "", "grade": ["G1", "G1", "G2", "G2"] * 30}).to_csv(folder / "employees.csv", index=False)  # fmt: skip
    months = pd.date_range("2024-01-01", periods=18, freq="MS")
    cohort = {e: (5 if i < 40 else 9 if i < 80 else 0) for i, e in enumerate(ids)}
    rows = [(e, m.strftime("%Y-%m-%d"), "sales", 1000 + 7 * (i % 11) + 25 * t + (100 if cohort[e] and t + 1 >= cohort[e] else 0))
            for i, e in enumerate(ids) for t, m in enumerate(months)]  # fmt: skip
    pd.DataFrame(rows, columns=["employee_id", "month", "kpi", "value"]).to_csv(folder / "kpi_monthly.csv", index=False)
    enr = [(e, "P1", "dropped" if i % 10 == 0 else "completed", months[g - 1] + pd.Timedelta(days=2), months[g - 1] + pd.Timedelta(days=12))
           for i, (e, g) in enumerate(cohort.items()) if g]  # fmt: skip
    pd.DataFrame(enr, columns=["employee_id", "program_id", "status", "start_date", "end_date"]).to_csv(folder / "enrollments.csv", index=False)
    pd.DataFrame({"program_id": ["P1"], "name": ["Selling"], "category": ["sales"], "target_competency": ["selling"], "kpi": ["sales"],
                  "duration_hours": [8.0], "benefit_months": [6]}).to_csv(folder / "programs.csv", index=False)  # fmt: skip
    pd.DataFrame({"kpi": ["sales"], "unit": ["CNY"], "higher_is_better": [True], "value_per_unit": [0.5]}).to_csv(folder / "kpi_definitions.csv", index=False)
    pd.DataFrame({"program_id": ["P1", "P1"], "period": ["2024", "2024"], "category": ["design_development", "delivery"],
                  "amount": [5000.0, 10000.0]}).to_csv(folder / "costs.csv", index=False)  # fmt: skip
    return folder


def test_noiseless_data_gives_the_exact_roi_through_the_whole_chain(tmp_path: Path) -> None:
    data = write_noiseless(tmp_path / "noiseless")
    up = load_upstream(NB, data_dir=data, options={"n_boot": 49, "diagnostics": False})
    assert up.source.startswith("computed now")
    ds = load_dataset(data)
    rep = compute_roi(fully_loaded_cost(ds.costs, ds.enrollments), effects=up.tables["att_by_program"], dynamic=up.tables["dynamic_profile"],
                      draws=up.tables["event_bootstrap_draws"], kpi_definitions=ds.kpi_definitions, programs=ds.programs)  # fmt: skip
    r = rep.results["P1"]
    # 80 starters (drop-outs included) x 0.5 CNY per unit x 100 units x 6 months = 24,000 against 15,000 of cost
    assert r.benefit == pytest.approx(24_000.0, rel=1e-9)
    assert r.roi_pct == pytest.approx(60.0, abs=1e-7) and r.bcr == pytest.approx(1.6, rel=1e-9)
    assert r.payback_months == pytest.approx(15_000 / 4_000, rel=1e-9)
    assert len(r.draws) == 49
    assert r.draws["roi_pct"].to_numpy() == pytest.approx(np.full(49, 60.0), abs=1e-6), "no noise, no spread"
    assert r.interval(0.9) == pytest.approx((60.0, 60.0), abs=1e-6) and r.status == "paid back"


def test_make_test_never_reads_an_earlier_run(tmp_path, monkeypatch) -> None:
    # make test sets TIK_IGNORE_EARLIER_RUNS: a committed notebook must not pick up a developer's reports/ runs
    from analysis import upstream

    monkeypatch.setenv(upstream.IGNORE_EARLIER_RUNS, "1")
    seen = []
    monkeypatch.setattr(upstream, "find_run", lambda *a, **k: seen.append(a) or None)
    with pytest.raises(upstream.UpstreamMissing):
        upstream.load_upstream("01_gap_analysis", data_dir=tmp_path, reports_dir=tmp_path, compute=False)
    assert seen == []
    monkeypatch.delenv(upstream.IGNORE_EARLIER_RUNS)
    with pytest.raises(upstream.UpstreamMissing):
        upstream.load_upstream("01_gap_analysis", data_dir=tmp_path, reports_dir=tmp_path, compute=False)
    assert len(seen) == 1
