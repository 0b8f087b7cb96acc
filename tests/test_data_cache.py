"""The validated dataset a run shares with its notebooks: used only while it matches the folder's files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import data as data_mod
from analysis.data import CACHE_ENV, load_dataset, write_dataset_cache
from analysis.upstream import input_fingerprints

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cache") / "sample"
    shutil.copytree(ROOT / "data" / "sample", out)
    return out


@pytest.fixture(scope="module")
def fresh(folder: Path):
    return load_dataset(folder)


@pytest.fixture
def cache(tmp_path: Path, folder: Path, fresh, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_dataset_cache(fresh, tmp_path / "dataset.pickle", input_fingerprints(folder))
    monkeypatch.setenv(CACHE_ENV, str(path))
    return path


def _no_validation(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = data_mod.validate_folder
    monkeypatch.setattr(data_mod, "validate_folder", lambda folder, mapping: calls.append(folder) or real(folder, mapping))
    return calls


def test_cached_dataset_is_the_validated_one(cache: Path, folder: Path, fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _no_validation(monkeypatch)
    got = load_dataset(folder)
    assert calls == [], "the folder was read again although the shared dataset matches it"
    assert list(got.tables) == list(fresh.tables)
    for name, df in fresh.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], df, check_exact=True)
    assert got.warnings == fresh.warnings and got.fingerprints == fresh.fingerprints
    assert got.path == folder
    assert got.panel("tickets_resolved", "P02").equals(fresh.panel("tickets_resolved", "P02"))


def test_a_changed_file_is_read_again(cache: Path, tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(folder, changed)
    write_dataset_cache(load_dataset(changed), cache, input_fingerprints(changed))
    with open(changed / "README.md", "a", encoding="utf-8") as fh:
        fh.write("\nedited after the run validated the folder\n")
    calls = _no_validation(monkeypatch)
    load_dataset(changed)
    assert calls == [changed]


def test_another_folder_a_mapping_or_a_broken_file_is_no_cache(cache: Path, tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    calls = _no_validation(monkeypatch)
    load_dataset(other)
    assert calls == [other]
    (folder / "mapping.yaml").write_text("columns: {}\n", encoding="utf-8")
    try:
        load_dataset(folder, mapping=folder / "mapping.yaml")
        assert calls[-1] == folder
    finally:
        (folder / "mapping.yaml").unlink()
    cache.write_bytes(b"not a pickle")
    load_dataset(folder)
    assert calls == [other, folder, folder]
