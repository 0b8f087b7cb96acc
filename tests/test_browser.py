"""Every page of a sample run, opened in headless Chromium at 1280 px as a reader would.

A page fails when a table, figure or block is wider than the page (or scrolls inside its
box), when text is clipped, or when it shows a Python repr (``None``, ``NaN``, ``True``,
``array(``, ``dtype`` ...). The browser is Debian's ``chromium`` (or ``$CHROMIUM``), driven by
Playwright for Python; Playwright's own browser download is never used. Without Chromium
the test is skipped with a message saying how to install it.

Run as a script to refresh the screenshots under ``reports/screenshots/`` (``make screenshots``)::

    python tests/test_browser.py --data data/sample --out reports/screenshots
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.report import page_title

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1280
INSTALL = (
    "Chromium is not installed, so the pages of a run were not checked in a browser. Install Debian's package "
    "(`sudo apt-get install -y chromium`; .ci/run does this) or point $CHROMIUM at a Chrome/Chromium executable."
)
#: Python reprs a reader must never see. Case-sensitive whole words; ``None``/``True``/``False`` followed by a
#: space and a word are English ("None of the programs", "True ROI (sample data)"), a repr is not
#: (``programs = None``, ``[True, False]``, a cell that says ``True``).
REPR = re.compile(r"\b(None|True|False)\b(?! [A-Za-z(])|\b(NaN|NaT|nan)\b|<NA>|array\(|dtype|Timestamp\(|<pandas\.|object at 0x")


def chromium_executable() -> str | None:
    """Path of a Chromium the tests may drive: ``$CHROMIUM``, else Debian's ``chromium`` on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


# One pass over the page's DOM: every problem a reader would see, as plain strings.
_PROBLEMS_JS = r"""
(width) => {
  const problems = [];
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    else if (el.classList.length) s += '.' + [...el.classList].slice(0, 2).join('.');
    const text = (el.innerText || el.alt || '').trim().replace(/\s+/g, ' ').slice(0, 60);
    return text ? `${s} ("${text}")` : s;
  };
  const doc = document.documentElement;
  if (doc.scrollWidth > width + 1) problems.push(`page is ${doc.scrollWidth} px wide at a ${width} px window`);
  for (const el of document.querySelectorAll('table, img, svg, pre, figure, .jp-OutputArea-output, p, li, h1, h2, h3')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not rendered (e.g. inside a closed <details>)
    if (r.right > width + 1 || r.left < -1) problems.push(`${name(el)} reaches ${Math.round(r.left)}-${Math.round(r.right)} px, beyond the ${width} px page`);
  }
  for (const el of document.querySelectorAll('body *')) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || el.closest('details:not([open])') && el.tagName !== 'SUMMARY' && !el.matches('details')) continue;
    const clipsX = cs.overflowX !== 'visible', clipsY = cs.overflowY !== 'visible';
    if (clipsX && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) problems.push(`${name(el)} clips or scrolls its content sideways (${el.scrollWidth} px in ${el.clientWidth} px)`);
    if (clipsY && el.scrollHeight > el.clientHeight + 1 && el.clientHeight > 0 && el !== document.body) problems.push(`${name(el)} clips its content vertically (${el.scrollHeight} px in ${el.clientHeight} px)`);
    if (cs.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)} cuts its text with an ellipsis`);
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0) problems.push(`${name(img)} did not load`);
  }
  return problems;
}
"""

_TEXT_JS = r"""
() => {
  // every text node on its own line (table cells never run together), collapsed sections included
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => node.parentElement.closest('style, script') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  return parts.join('\n');
}
"""


def page_problems(page: Any, url: str) -> list[str]:
    """Open ``url`` in a Playwright page at :data:`WIDTH` px and list what a reader would see wrong."""
    page.goto(url)
    page.wait_for_load_state("load")
    problems = list(page.evaluate(_PROBLEMS_JS, WIDTH))
    text = page.evaluate(_TEXT_JS)
    for match in REPR.finditer(text):
        lo, hi = max(0, match.start() - 50), min(len(text), match.end() + 50)
        problems.append(f"shows a Python repr {match.group(0)!r}: …{' '.join(text[lo:hi].split())}…")
    return problems


def run_pages(folder: Path) -> list[Path]:
    """Every page a reader of a run opens: the run summary, each notebook's page and the index of runs."""
    return [folder / "index.html", *sorted(p for p in folder.glob("*.html") if p.name != "index.html"), folder.parent / "index.html"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip(INSTALL)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency: make test installs it")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, java_script_enabled=True, offline=True)
    tab = context.new_page()
    yield tab
    context.close()


def test_the_checks_catch_what_they_are_for(page: Any, tmp_path: Path) -> None:
    # a page with each defect once: a wide table, a clipped cell, a repr, a wide picture
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><table><tr>" + "<td>wide&nbsp;column&nbsp;of&nbsp;text</td>" * 40 + "</tr></table>"
        '<div style="width: 80px; overflow: hidden; white-space: nowrap">a sentence cut at the edge of its box</div>'
        "<p>att = None, share = 0.5</p>"
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" style="width: 1500px; height: 10px">'
        '<details><summary>Method details</summary><p>hidden: array([1, 2])</p></details>'
        "</body></html>",
        encoding="utf-8",
    )
    found = page_problems(page, bad.as_uri())
    assert any("px wide at a 1280 px window" in p for p in found), found
    assert any(p.startswith("table") and "beyond the 1280 px page" in p for p in found), found
    assert any("clips or scrolls its content sideways" in p and "a sentence cut" in p for p in found), found
    assert any("'None'" in p for p in found) and any("'array('" in p for p in found), "reprs are found in collapsed sections too"
    cell = tmp_path / "cell.html"
    cell.write_text("<html><body><table><tr><td>True</td><td>12</td></tr></table><pre>calibrate = False\n</pre></body></html>", encoding="utf-8")
    assert sorted(p.split("'")[1] for p in page_problems(page, cell.as_uri())) == ["False", "True"]
    assert any(p.startswith("img") for p in found), found
    good = tmp_path / "good.html"
    good.write_text("<html><body><p>None of the 3 programs; True effect (sample data) 57%; True ROI 45%.</p></body></html>", encoding="utf-8")
    assert page_problems(page, good.as_uri()) == []


#: Pages that do not read cleanly yet, with what is wrong: expected to fail, strictly, so the entry must
#: go the moment the page is fixed (the test then fails as XPASS and says so).
NOT_YET_CONVERTED: dict[str, str] = {}
PAGES = ["index", *sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb")), "../index"]


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=NOT_YET_CONVERTED[n])) if n in NOT_YET_CONVERTED else n for n in PAGES],
)
def test_every_page_of_a_run_reads_cleanly_at_1280_px(page: Any, sample_run: Any, name: str) -> None:
    assert sample_run.result.ok, sample_run.result.error
    assert [p.stem for p in run_pages(sample_run.result.folder)[1:-1]] == PAGES[1:-1], "a page per notebook"
    html = sample_run.result.folder / f"{name}.html"
    problems = page_problems(page, html.resolve().as_uri())
    assert not problems, f"{html.name}:\n  " + "\n  ".join(problems[:15])


def test_run_summary_answers_in_words_with_titles(page: Any, sample_run: Any) -> None:
    page.goto((sample_run.result.folder / "index.html").as_uri())
    headings = page.locator("h2").all_inner_texts()
    assert headings[0] == "Findings" and "Download the tables" in headings
    assert page.locator("h3", has_text="Can the data be trusted?").count() == 1
    assert page.locator("h3", has_text="Did the training change the KPI it targets?").count() == 1
    links = page.locator("table a").all_inner_texts()
    assert links == [page_title(ROOT / "notebooks" / f"{name}.ipynb") for name in PAGES[1:-1]], "pages are linked by title"
    assert not set(links) & set(PAGES), "no page is named by its file name"
    assert page.locator("th", has_text="Error").count() == 0, "no empty error column when nothing failed"


def screenshots(data: Path, out: Path, *, jobs: int = 2) -> list[Path]:
    """Run every notebook on ``data`` and write a small PNG of the top of each page into ``out``."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from analysis.pipeline import run

    executable = chromium_executable()
    if executable is None:
        raise SystemExit(INSTALL)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        result = run(data, out=Path(tmp) / "reports", notebooks_dir=ROOT / "notebooks", jobs=jobs)
        if not result.ok:
            raise SystemExit(f"the run failed, no screenshots: {result.error}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
            tab = browser.new_page(viewport={"width": WIDTH, "height": 1600})
            for html in run_pages(result.folder)[:-1]:
                tab.goto(html.as_uri())
                target = out / f"{'summary' if html.name == 'index.html' else html.stem}.png"
                tab.screenshot(path=str(target), full_page=False)
                with Image.open(target) as im:
                    small = im.convert("RGB").resize((WIDTH // 2, im.height // 2), Image.LANCZOS).quantize(colors=128)
                small.save(target, optimize=True)
                written.append(target)
            browser.close()
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Refresh the screenshots of a sample run's pages.")
    parser.add_argument("--data", default=str(ROOT / "data" / "sample"))
    parser.add_argument("--out", default=str(ROOT / "reports" / "screenshots"))
    args = parser.parse_args()
    for path in screenshots(Path(args.data), Path(args.out)):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    sys.exit(0)
