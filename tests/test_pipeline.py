"""The scheduled-run pipeline end to end: report folder, run.json, indexes, privacy, offline pages, failures."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analysis.pipeline import cli, rebuild_index, run
from analysis.sample import SampleConfig, write_sample

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "<script>alert(1)</script>"


class _Links(HTMLParser):
    """Collect every src/href of a page, noting which are plain <a> links."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[tuple[str, str, str]] = []
        self.classes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "class" and value:
                self.classes.update(value.split())
            if name in ("src", "href") and value and re.match(r"^(https?:)?//", value.strip(), re.I):
                if not (tag == "a" and name == "href"):
                    self.external.append((tag, name, value))


def element_classes(html: str) -> set[str]:
    """CSS classes used by the page's elements (not its style sheets)."""
    parser = _Links()
    parser.feed(html)
    return parser.classes


def external_resources(html: str) -> list[tuple[str, str, str]]:
    """Every resource a page would fetch from another host (plain <a> links excepted)."""
    parser = _Links()
    parser.feed(html)
    css_urls = re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", html)
    imports = re.findall(r"@import\s+['\"]?((?:https?:)?//[^'\";]+)", html)
    return parser.external + [("css", "url", u) for u in css_urls + imports]


def test_external_resource_detector_catches_cdn_scripts() -> None:
    page = '<script src="https://cdn.example/require.js"></script><a href="https://example.org">doc</a><img src="//x/y.png">'
    page += "<style>@font-face { src: url('https://fonts.example/f.woff'); }</style>"
    found = external_resources(page)
    assert ("script", "src", "https://cdn.example/require.js") in found
    assert ("img", "src", "//x/y.png") in found
    assert ("css", "url", "https://fonts.example/f.woff") in found
    assert not any(tag == "a" for tag, _, _ in found)


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_sample(tmp_path_factory.mktemp("data") / "small", SampleConfig(n_employees=300, seed=5))
    emp = folder / "employees.csv"
    emp.write_text(emp.read_text(encoding="utf-8").replace("Operations", HOSTILE), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def good_run(small_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("reports")
    params = tmp_path_factory.mktemp("params") / "params.yaml"
    params.write_text("notebooks:\n  02_training_attribution: {n_boot: 99}\n", encoding="utf-8")
    result = run(small_dataset, out=out, params_file=params, notebooks_dir=ROOT / "notebooks", echo=False)
    return result, out, small_dataset


def test_run_writes_complete_report_set(good_run) -> None:
    result, out, data = good_run
    assert result.ok, result.error
    folder = result.folder
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{6}_small", folder.name)
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    for name in notebooks:
        assert (folder / f"{name}.html").is_file()
        assert (folder / f"{name}.ipynb").is_file()
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "ok"
    assert [n["name"] for n in record["notebooks"]] == notebooks
    assert all(n["status"] == "ok" and n["seconds"] > 0 for n in record["notebooks"])
    assert set(record["inputs"]) == {p.name for p in data.iterdir() if p.suffix == ".csv"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in record["inputs"].values())
    assert record["packages"]["diff-diff"] != "not installed" and record["packages"]["pandas"] == pd.__version__
    assert record["parameters"]["notebooks"] == {"02_training_attribution": {"n_boot": 99}}
    assert list((folder / "tables").glob("00_data_quality__*.csv"))
    assert record["headlines"]["00_data_quality"][0]["text"].startswith("12 tables passed the data contract")
    assert (out / "latest").resolve() == folder.resolve()


def test_pages_have_no_code_and_fetch_nothing(good_run) -> None:
    result, _, _ = good_run
    pages = sorted(result.folder.glob("*.html")) + [result.folder.parent / "index.html"]
    assert len(pages) >= 3
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert external_resources(html) == [], page.name
        assert not element_classes(html) & {"jp-InputArea-editor", "jp-CodeMirrorEditor", "highlight", "jp-InputPrompt"}, f"code cell in {page.name}"
        assert "load_dataset(" not in html and "from analysis" not in html, f"code text in {page.name}"
        assert "injected-parameters" not in html


def test_no_employee_identifiers_anywhere(good_run) -> None:
    result, _, data = good_run
    ids = set(pd.read_csv(data / "employees.csv", dtype=str)["employee_id"])
    for path in [*result.folder.glob("*.html"), *result.folder.glob("tables/*.csv")]:
        tokens = set(re.findall(r"[A-Za-z0-9_\-]+", path.read_text(encoding="utf-8")))
        assert not tokens & ids, f"{path.name} shows employee ids {sorted(tokens & ids)[:3]}"


def test_hostile_strings_render_as_text(good_run) -> None:
    result, _, _ = good_run
    html = (result.folder / "00_data_quality.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE not in html


KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python"}}


def test_failed_notebook_keeps_latest_on_last_good_run(tmp_path: Path, small_dataset: Path, capsys) -> None:
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    good = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("data_dir = None\noutput_dir = None\nmin_group_size = 5", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('fine')"),
    ], metadata=KERNEL)  # fmt: skip
    nbformat.write(good, nbdir / "01_good.ipynb")
    out = tmp_path / "reports"
    first = run(small_dataset, out=out, notebooks_dir=nbdir, echo=False)
    assert first.ok
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise RuntimeError('boom: KPI table exploded')")], metadata=KERNEL)
    nbformat.write(bad, nbdir / "02_bad.ipynb")
    code = cli(["--data", str(small_dataset), "--out", str(out), "--notebooks", str(nbdir)])
    assert code == 1
    assert "boom: KPI table exploded" in capsys.readouterr().out
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink())
    failed = runs[-1]
    record = json.loads((failed / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "failed"
    assert {n["name"]: n["status"] for n in record["notebooks"]} == {"01_good": "ok", "02_bad": "failed"}
    assert "boom" in (failed / "index.html").read_text(encoding="utf-8")
    assert (out / "latest").resolve() == first.folder.resolve()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.index(failed.name) < index.index(first.folder.name), "newest first"
    assert "failed" in index


def test_invalid_data_is_a_failed_run(tmp_path: Path, small_dataset: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for p in small_dataset.iterdir():
        (broken / p.name).write_bytes(p.read_bytes())
    (broken / "programs.csv").unlink()
    result = run(broken, out=tmp_path / "reports", notebooks_dir=ROOT / "notebooks", echo=False)
    assert not result.ok
    assert "table programs" in (result.error or "")
    assert not (tmp_path / "reports" / "latest").exists()
    assert json.loads((result.folder / "run.json").read_text(encoding="utf-8"))["status"] == "failed"


def test_rebuild_index_on_empty_folder(tmp_path: Path) -> None:
    index = rebuild_index(tmp_path)
    assert "No successful run yet" in index.read_text(encoding="utf-8")
