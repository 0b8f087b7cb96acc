"""The run summary (``<run>/index.html``, the page a CFO opens) and the index of runs (``reports/index.html``).

The run summary leads with the findings for each question the kit answers (data, gaps, effect,
ROI, budget, scorecard — as far as this run's notebooks answer them; at most
:data:`SHOWN_PER_QUESTION` each, the rest collapsed), each in words with its money figure where
one exists and a link to its page by title; then the pages (an error
column only when something failed), the CSV exports under "Download the tables", grouped
by page, and the run facts. Every data string is HTML-escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from analysis.privacy import escape
from analysis.report import NOTEBOOK_QUESTIONS, QUESTIONS, fmt_money, page_title, readable

#: Findings shown per question; the rest of a question's findings are collapsed under "N more findings".
SHOWN_PER_QUESTION = 3

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>
body {{ max-width: 1000px; margin: 0 auto; padding: 1rem 1.5rem 3rem; font-family: -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", Helvetica, Arial, sans-serif; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.6rem; margin-bottom: 0.2rem; }} h2 {{ font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }}
h3 {{ font-size: 1rem; margin: 1.1rem 0 0.3rem; }}
.status-ok {{ color: #1a7f37; }} .status-failed {{ color: #b42318; font-weight: bold; }}
table {{ border-collapse: collapse; max-width: 100%; }} td, th {{ text-align: left; padding: 0.35rem 0.8rem; border-bottom: 1px solid #e5e5e5; vertical-align: top; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
pre {{ white-space: pre-wrap; overflow-wrap: anywhere; background: #fff4f4; padding: 0.6rem; margin: 0; }} .muted {{ color: #666; font-size: 0.9rem; }}
ul.findings {{ padding-left: 1.2rem; margin: 0.2rem 0; }} ul.findings li {{ margin: 0.25rem 0; }}
.money {{ font-weight: 600; white-space: nowrap; }} .source {{ color: #555; font-size: 0.9rem; white-space: nowrap; }}
ul.downloads {{ columns: 2; padding-left: 1.2rem; margin: 0.2rem 0; }}
details.more {{ margin: 0 0 0.4rem 1.2rem; color: #444; }} details.more > summary {{ cursor: pointer; font-size: 0.9rem; }}
</style></head><body>
{body}
</body></html>
"""


def _link(href: str | None, text: str) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>' if href else escape(text)


def _title(folder: Path, name: str) -> str:
    """A page's title from the executed notebook in the run folder (else from the notebook name)."""
    executed = folder / f"{name}.ipynb"
    return page_title(executed if executed.is_file() else name)


def _question(notebook: str, headline: dict[str, Any]) -> str:
    return headline.get("question") or NOTEBOOK_QUESTIONS.get(notebook[:2]) or "other"


def findings_by_question(headlines: dict[str, list[dict[str, Any]]]) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """The run's headlines grouped by the question they answer, in :data:`analysis.report.QUESTIONS` order.

    Parameters
    ----------
    headlines : dict
        Notebook name -> its headlines (``text``, ``key``, ``value``, ``question``, ``money``).

    Returns
    -------
    list of (question key, list of (notebook, headline))
        Only questions with at least one finding; unknown keys last, under ``"other"``.
    """
    grouped: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for notebook, items in headlines.items():
        for item in items:
            grouped.setdefault(_question(notebook, item), []).append((notebook, item))
    order = [*QUESTIONS, *sorted(set(grouped) - set(QUESTIONS))]
    return [(q, grouped[q]) for q in order if q in grouped]


def _findings_html(folder: Path, headlines: dict[str, list[dict[str, Any]]], pages: dict[str, str | None], currency: str) -> list[str]:
    parts = ["<h2>Findings</h2>"]
    grouped = findings_by_question(headlines)
    if not grouped:
        return [*parts, "<p>No findings were recorded.</p>"]
    for question, items in grouped:
        parts.append(f"<h3>{escape(QUESTIONS.get(question, 'Other findings'))}</h3><ul class=\"findings\">")
        rows = []
        for notebook, item in items:
            money = item.get("money")
            label = f"{escape(item['money_label'])} " if item.get("money_label") else ""
            figure = f'<span class="money">{label}{escape(fmt_money(money, currency))}</span> · ' if money is not None else ""
            source = f' <span class="source">— {_link(pages.get(notebook), _title(folder, notebook))}</span>'
            rows.append(f"<li>{figure}{escape(item['text'])}{source}</li>")
        parts += rows[:SHOWN_PER_QUESTION]
        parts.append("</ul>")
        if len(rows) > SHOWN_PER_QUESTION:
            more = len(rows) - SHOWN_PER_QUESTION
            parts.append(f'<details class="more"><summary>{more} more finding{"s" if more > 1 else ""}</summary><ul class="findings">'
                         + "".join(rows[SHOWN_PER_QUESTION:]) + "</ul></details>")  # fmt: skip
    return parts


def _pages_html(folder: Path, notebooks: Iterable[Any]) -> list[str]:
    notebooks = list(notebooks)
    failed = any(getattr(n, "error", None) for n in notebooks)
    head = "<tr><th>Page</th><th>Status</th><th>Time</th>" + ("<th>Error</th>" if failed else "") + "</tr>"
    rows = [f"<h2>Pages</h2><table>{head}"]
    for item in notebooks:
        status = "ran" if item.status == "ok" else item.status
        cells = [
            f"<td>{_link(item.html, _title(folder, item.name))}</td>",
            f'<td class="status-{escape(item.status)}">{escape(status)}</td>',
            f'<td class="num">{item.seconds:,.0f} s</td>',
        ]
        if failed:
            last = item.error.strip().splitlines()[-1] if item.error and item.error.strip() else ""
            cells.append(f"<td>{f'<pre>{escape(last)}</pre>' if last else ''}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    return rows


def _downloads_html(folder: Path, names: list[str]) -> list[str]:
    tables = sorted((folder / "tables").glob("*.csv"))
    if not tables:
        return []
    parts = ['<h2>Download the tables</h2><p class="muted">Every table behind the pages, raw and unrounded, as CSV (small groups suppressed).</p>']
    by_page: dict[str, list[Path]] = {}
    for path in tables:
        notebook, _, table = path.stem.partition("__")
        by_page.setdefault(notebook if table else "", []).append(path)
    order = [n for n in names if n in by_page] + sorted(set(by_page) - set(names))
    for notebook in order:
        title = _title(folder, notebook) if notebook else "Other tables"
        items = "".join(
            f'<li><a href="tables/{escape(p.name)}" download>{escape(readable(p.stem.partition("__")[2] or p.stem))}</a></li>' for p in by_page[notebook]
        )
        parts.append(f'<h3>{escape(title)}</h3><ul class="downloads">{items}</ul>')
    return parts


def write_run_summary(folder: Path, record: dict[str, Any], result: Any, *, currency: str = "¥") -> Path:
    """Write the run's summary page ``<folder>/index.html``.

    Parameters
    ----------
    folder : Path
        The run folder.
    record : dict
        The run record (``dataset``, ``headlines`` ...), as written to ``run.json``.
    result : analysis.pipeline.RunResult
        Status, error and per-notebook outcomes (name, status, seconds, error, html).
    currency : str
        Currency symbol of the money figures.

    Returns
    -------
    Path
        The page.
    """
    pages = {item.name: item.html for item in result.notebooks}
    parts = [f"<h1>Training Impact Kit — {escape(record['dataset'])}</h1>"]
    status = "all pages ran" if result.status == "ok" else result.status
    parts.append(
        f'<p class="muted">Run {escape(folder.name)} · <span class="status-{escape(result.status)}">{escape(status)}</span>'
        f' · <a href="../index.html">all runs</a></p>'
    )
    if result.error:
        parts.append(f"<pre>{escape(result.error)}</pre>")
    parts += _findings_html(folder, record.get("headlines") or {}, pages, currency)
    parts += _pages_html(folder, result.notebooks)
    parts += _downloads_html(folder, list(pages))
    parts.append('<h2>Run</h2><p class="muted">Parameters, input fingerprints (sha256), package versions and timings: <a href="run.json">run.json</a>.</p>')
    page = folder / "index.html"
    page.write_text(PAGE.format(title=escape(f"Training Impact Kit — {record['dataset']}"), body="\n".join(parts)), encoding="utf-8")
    return page


def rebuild_index(out: str | Path) -> Path:
    """Write ``out/index.html``: every run, newest first, with status and headline findings.

    Parameters
    ----------
    out : str or Path
        Reports folder.

    Returns
    -------
    Path
        The index file.
    """
    out = Path(out)
    runs = []
    for path in out.glob("*/run.json"):
        if path.parent.name == "latest":
            continue
        try:
            runs.append(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError:
            continue
    runs.sort(key=lambda r: r.get("run_id", ""), reverse=True)
    rows = ["<tr><th>Run</th><th>Data</th><th>Status</th><th>Headline findings</th></tr>"]
    for r in runs:
        texts = [h["text"] for hs in (r.get("headlines") or {}).values() for h in hs][:6]
        status = r.get("status", "")
        rows.append(
            f'<tr><td><a href="{escape(r["run_id"])}/index.html">{escape(r["run_id"])}</a></td><td>{escape(r.get("dataset", ""))}</td>'
            f'<td class="status-{escape(status)}">{escape(status)}</td>'
            f"<td>{'<br>'.join(escape(t) for t in texts)}</td></tr>"
        )
    latest = '<p><a href="latest/index.html">Latest successful run</a></p>' if (out / "latest").exists() else "<p>No successful run yet.</p>"
    table = f"<table>{''.join(rows)}</table>" if runs else ""
    body = f"<h1>Training Impact Kit — runs</h1>{latest}{table}"
    index = out / "index.html"
    index.write_text(PAGE.format(title="Training Impact Kit — runs", body=body), encoding="utf-8")
    return index
