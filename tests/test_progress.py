"""Progress of a run: report_progress writes a notebook's file, the pipeline prints it as the run goes."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from analysis.progress import PROGRESS_ENV, ProgressTail, report_progress

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python"}}


def test_report_progress_appends_a_stamped_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "02.log"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    report_progress("program P02 (2/3)\nstarted")
    report_progress("program P02 (2/3) finished")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [line[9:] for line in lines] == ["program P02 (2/3) started", "program P02 (2/3) finished"]
    assert all(line[2] == ":" and line[5] == ":" and line[8] == " " for line in lines)


def test_report_progress_without_a_file_does_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    report_progress("nobody listens")
    monkeypatch.setenv(PROGRESS_ENV, str(tmp_path / "no" / "such" / "folder" / "x.log"))
    report_progress("cannot be written, never raises")


def test_tail_prints_new_complete_lines_of_every_notebook_once(tmp_path: Path) -> None:
    printed: list[str] = []
    tail = ProgressTail(tmp_path / "progress", printed.append, t0=time.perf_counter(), interval=60)
    first, second = tail.path_for("02_training_attribution"), tail.path_for("01_gap_analysis")
    first.write_text("23:01:02 program P01 (1/3) started\n23:01:09 program P01 (1/3) fini", encoding="utf-8")
    assert tail.poll() == 1
    assert printed[0].endswith("02_training_attribution: program P01 (1/3) started")
    assert printed[0].startswith("  [") and " s] " in printed[0]
    assert tail.poll() == 0, "a line still being written is not printed"
    with open(first, "a", encoding="utf-8") as fh:
        fh.write("shed\n")
    second.write_text("23:01:10 gaps computed\n", encoding="utf-8")
    assert tail.poll() == 2
    assert [p.split("] ", 1)[1] for p in printed[1:]] == ["01_gap_analysis: gaps computed", "02_training_attribution: program P01 (1/3) finished"]
    assert tail.poll() == 0


def test_tail_thread_prints_while_running_and_what_is_left_on_exit(tmp_path: Path) -> None:
    printed: list[str] = []
    with ProgressTail(tmp_path, printed.append, t0=time.perf_counter(), interval=0.05) as tail:
        tail.path_for("02").write_text("12:00:00 program P02 (2/3) started\n", encoding="utf-8")
        deadline = time.monotonic() + 10
        while not printed and time.monotonic() < deadline:
            time.sleep(0.02)
        assert printed and printed[0].endswith("02: program P02 (2/3) started"), "the thread did not print while running"
        with open(tail.path_for("02"), "a", encoding="utf-8") as fh:
            fh.write("12:00:05 program P02 (2/3) finished\n")
    assert printed[-1].endswith("02: program P02 (2/3) finished")
    assert len(printed) == 2


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from analysis.sample import SampleConfig, write_sample

    return write_sample(tmp_path_factory.mktemp("tiny") / "data", SampleConfig(n_employees=300, n_months=24, seed=5))


def test_pipeline_prints_each_notebooks_progress_lines(tmp_path: Path, tiny_dataset: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from analysis.pipeline import run

    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    for name in ("01_one", "02_two"):
        code = f"from analysis.progress import report_progress\nreport_progress('{name} step 1 of 2')\nreport_progress('{name} step 2 of 2')"
        cells = [
            nbformat.v4.new_code_cell("data_dir = None\noutput_dir = None\nmin_group_size = 5", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell(code),
        ]
        nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=KERNEL), nbdir / f"{name}.ipynb")
    result = run(tiny_dataset, out=tmp_path / "reports", notebooks_dir=nbdir, jobs=2)
    assert result.ok, result.error
    captured = capfd.readouterr()  # the file descriptors: the kernels' stderr is in it too
    out = captured.out.splitlines()
    for name in ("01_one", "02_two"):
        mine = [line for line in out if f"] {name}: " in line]
        assert [line.split(": ", 1)[1] for line in mine] == [f"{name} step 1 of 2", f"{name} step 2 of 2"]
        started = next(i for i, line in enumerate(out) if f"start  {name}" in line)
        assert started < out.index(mine[0])
        assert any(f"ok     {name} (" in line for line in out)
        assert (result.folder / "progress" / f"{name}.log").read_text(encoding="utf-8").count("\n") == 2
    assert "KeyboardInterrupt" not in captured.out + captured.err
