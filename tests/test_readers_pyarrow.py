"""Large CSV files are parsed with pyarrow: the frames, line numbers and errors are those of pandas' C reader."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import readers
from analysis.readers import ReadError, read_table

ROOT = Path(__file__).resolve().parents[1]

# well-formed and malformed CSV that a user's export can hold; pyarrow reads the first kind
# identically and refuses most of the second (left to the C reader)
CASES = {
    "plain": "a,b\n1,2\n3,4\n",
    "no final newline": "a,b\n1,2\n3,4",
    "quoted comma and quoted empty": 'a,b\n"x, y",2\n"",4\n',
    "blanks kept": "a , b\n 1 , 2 \n",
    "blank lines": "a,b\n1,2\n\n3,4\n\n",
    "empty fields": "a,b,c\n1,,\n,,\n",
    "an empty column": "a,b\n1,\n2,\n",
    "header only": "a,b\n",
    "header without newline": "a,b",
    "fewer fields": "a,b,c\n1,2\n",
    "more fields": "a,b\n1,2,3\n",
    "repeated header": "a,a\n1,2\n",
    "header without a name": "a,,b\n1,2,3\n",
    "newline inside quotes": 'a,b\n"x\ny",2\n',
    "unicode": "名前,部署\n東京,営業\n",
    "quote inside a field": 'a,b\nx"y,2\n',
    "escaped quotes": 'a,b\n"say ""hi""",2\n',
    "missing spellings stay text": "a,b\nNA,null\nNaN,None\n",
    "one column with a blank line": "a\n1\n\n2\n",
    "a line of spaces": "a,b\n1,2\n  \n3,4\n",
    "trailing comma": "a,b,\n1,2,\n",
    "byte order mark": "\ufeffa,b\n1,2\n",
    "CRLF": "a,b\r\n1,2\r\n",
    "semicolons": "a;b\n1;2\n",
}


def _read(data: bytes, monkeypatch: pytest.MonkeyPatch, threshold: int) -> tuple[str, object]:
    monkeypatch.setattr(readers, "PYARROW_MIN_BYTES", threshold)
    try:
        raw = read_table(data, "t.csv", table="t")
    except ReadError as exc:
        return "error", (type(exc).__name__, str(exc))
    return "ok", raw


def _same(data: bytes, monkeypatch: pytest.MonkeyPatch) -> str:
    c_kind, c_out = _read(data, monkeypatch, threshold=1 << 62)
    a_kind, a_out = _read(data, monkeypatch, threshold=0)
    assert c_kind == a_kind
    if c_kind == "error":
        assert a_out == c_out
        return c_kind
    pd.testing.assert_frame_equal(a_out.frame, c_out.frame, check_exact=True)
    assert list(a_out.lines) == list(c_out.lines)
    assert a_out.notes == c_out.notes
    return c_kind


@pytest.mark.parametrize("name", list(CASES))
def test_pyarrow_and_c_reader_agree(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _same(CASES[name].encode("utf-8"), monkeypatch)


def test_well_formed_files_are_read_by_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    # the fast path is taken (not silently always the fallback) on the well-formed cases
    for name in ("plain", "quoted comma and quoted empty", "newline inside quotes", "unicode", "byte order mark"):
        data = CASES[name].encode("utf-8")
        assert readers._read_csv_pyarrow(data, data.decode("utf-8-sig")) is not None, name
    for name in ("fewer fields", "more fields", "a line of spaces", "CRLF"):
        data = CASES[name].encode("utf-8")
        assert readers._read_csv_pyarrow(data, data.decode("utf-8-sig")) is None, name


@pytest.mark.parametrize("path", sorted((ROOT / "data" / "sample").glob("*.csv")), ids=lambda p: p.name)
def test_sample_tables_read_identically(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _same(path.read_bytes(), monkeypatch) == "ok"


def test_large_files_take_the_pyarrow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = readers._read_csv_pyarrow
    monkeypatch.setattr(readers, "_read_csv_pyarrow", lambda data, text: calls.append(len(data)) or real(data, text))
    big = ("employee_id,month,kpi,value\n" + "E00001,2024-01-01,sales,1.5\n" * 40_000).encode()
    assert len(big) >= readers.PYARROW_MIN_BYTES
    raw = read_table(big, "kpi_monthly.csv", table="kpi_monthly")
    assert calls == [len(big)] and raw.frame.shape == (40_000, 4) and raw.lines[-1] == 40_001
    read_table(b"a,b\n1,2\n", "small.csv", table="t")
    assert calls == [len(big)], "a small file went to pyarrow"
