"""The template folder and the notebook-parameter checks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.contract import TABLES
from analysis.data import DataValidationError, load_dataset
from analysis.notebook_params import ParameterError, check_parameters, notebook_parameters
from analysis.template import EXAMPLES, GUIDE_HEADER, write_template
from analysis.validation import Mapping

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tpl") / "template"
    assert main(["template", "--out", str(out)]) == 0
    return out


def test_template_csv_and_workbook_carry_the_contract_headers(template: Path) -> None:
    from openpyxl import load_workbook

    for name, spec in TABLES.items():
        headers = [c.name for c in spec.columns]
        assert (template / "csv" / f"{name}.csv").read_text(encoding="utf-8") == ",".join(headers) + "\n"
        wb = load_workbook(template / "excel" / f"{name}.xlsx")
        assert wb.sheetnames == [name, "example", "guide"]
        assert [c.value for c in wb[name][1]] == headers
        assert all(v is None for row in wb[name].iter_rows(min_row=2, values_only=True) for v in row), "the data sheet starts empty"
        example = list(wb["example"].iter_rows(values_only=True))
        assert list(example[0]) == headers and len(example) == 2
        assert [v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else ("" if v is None else v) for v in example[1]] == [EXAMPLES[name][h] for h in headers]
        guide = list(wb["guide"].iter_rows(min_row=3, values_only=True))
        assert guide[0] == GUIDE_HEADER and [r[0] for r in guide[1:]] == headers
        coded = {r[0]: r[3] for r in guide[1:] if r[3]}
        for col in spec.columns:
            if col.isin is not None:
                assert coded[col.name] == ", ".join(col.isin)
                rules = [dv for dv in wb[name].data_validations.dataValidation if dv.formula1 == '"' + ",".join(col.isin) + '"']
                assert rules, f"{name}.{col.name}: no drop-down of its codes"
    guide = {r[0]: r for r in load_workbook(template / "excel" / "enrollments.xlsx")["guide"].iter_rows(min_row=4, values_only=True)}
    assert guide["status"][1:4] == ("yes", "text, never empty", "enrolled, in_progress, completed, dropped, failed")
    assert guide["employee_id"][4] == "must exist in table employees (column employee_id); part of the key: one row per employee_id + program_id + start_date"
    assert guide["exam_score"][1:3] == ("no", "number, 0 to 100, may be empty")


def test_empty_template_is_refused_as_empty_not_broken(template: Path) -> None:
    with pytest.raises(DataValidationError, match=r"table employees \(file employees.xlsx, sheet 'employees'\): expected at least one row"):
        load_dataset(template / "excel")
    with pytest.raises(DataValidationError, match=r"table employees \(file employees.csv\): expected at least one row"):
        load_dataset(template / "csv")


def test_guide_examples_filled_into_the_workbooks_form_a_valid_dataset(template: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    for name in TABLES:
        wb = load_workbook(template / "excel" / f"{name}.xlsx")
        example = [r[-1] for r in wb["guide"].iter_rows(min_row=4, values_only=True)]
        wb[name].append(example)
        wb.save(tmp_path / f"{name}.xlsx")
    ds = load_dataset(tmp_path)
    assert set(ds.tables) == set(TABLES)
    emp = ds.employees.iloc[0]
    assert (emp["employee_id"], emp["hire_date"], pd.isna(emp["exit_date"])) == ("E001", pd.Timestamp("2022-01-10"), True)
    enr = ds.enrollments.iloc[0]
    assert (enr["status"], enr["exam_score"], bool(enr["exam_passed"]), bool(enr["practice_first_pass"])) == ("completed", 82.0, True, False)
    assert ds.kpi_monthly["value"].tolist() == [EXAMPLES["kpi_monthly"]["value"]]
    assert ds.costs["period"].tolist() == ["2024"] and ds.headcount_plan["year"].tolist() == [2025]


def test_mapping_skeleton_names_every_contract_column_and_code(template: Path) -> None:
    mapping = Mapping.read(template / "mapping.yaml")
    for name, spec in TABLES.items():
        assert mapping.columns[name] == {c.name: c.name for c in spec.columns}
        for col in spec.columns:
            if col.isin is not None:
                assert mapping.values[name][col.name] == {c: c for c in col.isin}
    # as written it changes nothing: the sample loads through it
    folder = template.parent / "with_mapping"
    folder.mkdir()
    for path in (ROOT / "tests").parent.joinpath("data", "sample").glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "mapping.yaml").write_bytes((template / "mapping.yaml").read_bytes())
    assert len(load_dataset(folder).enrollments) > 0


def test_template_never_overwrites(template: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (template / "mapping.yaml").read_bytes()
    assert main(["template", "--out", str(template)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (template / "mapping.yaml").read_bytes() == before
    with pytest.raises(FileExistsError):
        write_template(template)


# --------------------------------------------------------------------------- notebook parameters


def _notebook(folder: Path, name: str, source: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell("print(1)")]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


PARAMS_A = """data_dir = "../data/sample"
output_dir = None
min_group_size = 5  # groups smaller than this are suppressed
n_boot = 999  # bootstrap draws
level = 0.90
programs = None  # or a list of program ids
cluster = "auto"  # or "employee"
grow: float = 1 / 3  # annotated, not a literal
flags: list | None = None
"""


def test_parameters_cell_is_read_with_defaults_and_types(tmp_path: Path) -> None:
    params = notebook_parameters(_notebook(tmp_path, "01_a", PARAMS_A))
    assert list(params) == ["data_dir", "output_dir", "min_group_size", "n_boot", "level", "programs", "cluster", "grow", "flags"]
    assert (params["n_boot"].default, params["n_boot"].kinds, params["n_boot"].comment) == (999, (int,), "bootstrap draws")
    assert params["level"].kinds == (int, float) and params["programs"].kinds is None and params["cluster"].default == "auto"
    assert params["grow"].kinds == (int, float) and params["flags"].kinds == (list, type(None))
    # the kit's own notebooks all have one
    for nb in sorted(NOTEBOOKS.glob("*.ipynb")):
        assert {"data_dir", "output_dir", "min_group_size"} <= set(notebook_parameters(nb)), nb.name


def test_unknown_and_mistyped_parameters_are_usage_errors(tmp_path: Path) -> None:
    notebooks = [_notebook(tmp_path, "01_a", PARAMS_A), _notebook(tmp_path, "02_b", "data_dir = None\noutput_dir = None\nmin_group_size = 5\nseed = 7\n")]
    check_parameters(notebooks, {"min_group_size": 10, "seed": 3}, {"01_a": {"n_boot": 199, "cluster": "employee", "programs": ["P01"], "grow": 0.5, "level": 1}})
    with pytest.raises(ParameterError) as info:
        check_parameters(notebooks, {}, {"01_a": {"n_bootstrap": 199}})
    assert "notebook 01_a has no parameter 'n_bootstrap'; it accepts min_group_size (int, default 5); n_boot (int, default 999)" in str(info.value)
    with pytest.raises(ParameterError, match="'controls' is not a parameter of any notebook"):
        check_parameters(notebooks, {"controls": ["market_index"]}, {})
    with pytest.raises(ParameterError, match=r"parameter 'n_boot': expected n_boot \(int, default 999\); got 'lots' \(str\) — bootstrap draws"):
        check_parameters(notebooks, {}, {"01_a": {"n_boot": "lots"}})
    with pytest.raises(ParameterError, match="notebook 01_a, parameter 'min_group_size'.*got 2.5"):
        check_parameters(notebooks, {"min_group_size": 2.5}, {})
    with pytest.raises(ParameterError, match="got True"):
        check_parameters(notebooks, {}, {"01_a": {"level": True}})
    with pytest.raises(ParameterError, match="'01_x' is not a notebook in the notebooks folder"):
        check_parameters(notebooks, {}, {"01_x": {"n_boot": 9}})
    with pytest.raises(ParameterError, match="'data_dir' is set by the run itself"):
        check_parameters(notebooks, {"data_dir": "/tmp"}, {})


def test_run_with_an_unknown_parameter_exits_2_before_any_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("notebooks:\n  02_training_attribution: {n_bootstrap: 99}\n", encoding="utf-8")
    out = tmp_path / "reports"
    code = main(["run", "--data", str(ROOT / "data" / "sample"), "--params", str(params), "--out", str(out), "--notebooks", str(NOTEBOOKS)])
    err = capsys.readouterr().err
    assert code == 2 and "usage error: --params params.yaml: notebook 02_training_attribution has no parameter 'n_bootstrap'" in err
    assert "Traceback" not in err and not out.exists()
    params.write_text("[not, a, mapping]\n", encoding="utf-8")
    assert main(["run", "--data", str(ROOT / "data" / "sample"), "--params", str(params), "--out", str(out)]) == 2
    assert "expected keys and values" in capsys.readouterr().err and not out.exists()


def test_every_contract_column_has_an_example() -> None:
    for name, spec in TABLES.items():
        assert set(EXAMPLES[name]) == {c.name for c in spec.columns}, name
