"""An on-disk cache of evaluated attributions: one bootstrap evaluation per data set and options.

Notebook 02, notebook 03's "computed now" attribution (:mod:`analysis.upstream`) and the
tests of the sample data all run :func:`~analysis.attribution.evaluate_programs` with 999
bootstrap draws on the same data and the same options. With the environment variable
``TIK_EVALUATION_CACHE`` naming a folder (``make test`` sets a fresh temporary one per run),
:func:`evaluate_programs_cached` computes that evaluation once and every later caller — in
another pytest-xdist worker or a notebook kernel — reads the same result from the folder.
Without the variable it is exactly :func:`~analysis.attribution.evaluate_programs`.

The key of an entry is everything the result depends on: the sha256 of every file of the
data folder (the fingerprints ``run.json`` records, ground truth included), a hash of the
loaded tables as they are in memory (a table changed after loading is another data set), the
programs, every option (:meth:`EvaluationOptions.as_dict`), the sha256 of the ``analysis``
package's source and the versions of the numerical libraries. A caller waits on a lock file
while another process computes the same entry (``fcntl.flock``, released by the operating
system when that process ends), so concurrent callers never repeat the computation. Entries
are pickles: the folder is trusted, as the code is.

Every computation and every reuse is logged, one line each, in ``log.txt`` of the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from analysis.attribution.evaluation import AttributionReport, EvaluationOptions, evaluate_programs

try:  # POSIX; elsewhere concurrent callers may compute the same entry twice (still correct: writes are atomic)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["CACHE_ENV", "cache_dir", "cached", "entry_name", "evaluate_programs_cached", "evaluation_key"]

#: Environment variable naming the cache folder; unset = no cache.
CACHE_ENV = "TIK_EVALUATION_CACHE"
#: Libraries whose version can change a number of the evaluation.
_LIBRARIES = ("diff-diff", "numpy", "pandas", "scipy", "statsmodels", "linearmodels", "scikit-learn")
_PACKAGE = Path(__file__).resolve().parents[1]

T = TypeVar("T")


def cache_dir() -> Path | None:
    """The cache folder named by ``TIK_EVALUATION_CACHE``, or None when unset (no cache)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value) if value else None


def _code_version() -> dict[str, str]:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {"analysis": digest.hexdigest(), **versions}


def _tables_hash(tables: dict[str, pd.DataFrame]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tables):
        df = tables[name]
        digest.update(json.dumps([name, [str(c) for c in df.columns], [str(t) for t in df.dtypes]]).encode())
        digest.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def evaluation_key(dataset: Any, programs: Sequence[str] | None, options: EvaluationOptions) -> dict[str, Any]:
    """Everything an evaluation's result depends on, as a JSON-able mapping (hashed into the entry's name).

    Parameters
    ----------
    dataset : analysis.data.Dataset
        The loaded data set (its folder and its tables).
    programs : sequence of str, optional
        Program ids, as given to :func:`~analysis.attribution.evaluate_programs`.
    options : EvaluationOptions
        Every option of the evaluation.

    Returns
    -------
    dict
        ``inputs`` (sha256 of every file of the data folder), ``tables`` (hash of the loaded
        tables), ``programs``, ``options``, ``code`` (package source and library versions).
    """
    from analysis.upstream import input_fingerprints

    path = getattr(dataset, "path", None)
    return {
        "what": "evaluate_programs",
        "inputs": input_fingerprints(path) if path is not None else None,
        "tables": _tables_hash(dataset.tables),
        "programs": None if programs is None else [str(p) for p in programs],
        "options": options.as_dict(),
        "code": _code_version(),
    }


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _log(folder: Path, line: str) -> None:
    stamp = time.strftime("%H:%M:%S", time.gmtime())
    with open(folder / "log.txt", "a", encoding="utf-8") as fh:
        fh.write(f"{stamp} pid {os.getpid()} {line}\n")


def entry_name(key: dict[str, Any]) -> str:
    """The file stem of ``key``'s entry in a cache folder (``<stem>.pkl``, ``.json``, ``.lock``)."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]


def cached(key: dict[str, Any], compute: Callable[[], T], folder: str | Path, *, label: str = "") -> T:
    """``compute()``, once per ``key`` in ``folder``: the first caller computes and stores, later ones read.

    Parameters
    ----------
    key : dict
        JSON-able description of everything the result depends on.
    compute : callable
        Computes the result (called at most once per key while the folder lives).
    folder : str or Path
        The cache folder (made when missing).
    label : str
        Words for the log line.

    Returns
    -------
    The result, freshly computed or unpickled from the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = entry_name(key)
    entry = folder / f"{name}.pkl"
    with _locked(folder / f"{name}.lock"):
        if entry.exists():
            t0 = time.perf_counter()
            with open(entry, "rb") as fh:
                result = pickle.load(fh)
            _log(folder, f"reused {name} {label} ({time.perf_counter() - t0:.1f} s to read)")
            return result
        t0 = time.perf_counter()
        result = compute()
        seconds = time.perf_counter() - t0
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        (folder / f"{name}.json").write_text(json.dumps(key, indent=1, sort_keys=True, default=str), encoding="utf-8")
        _log(folder, f"computed {name} {label} ({seconds:.1f} s)")
        return result


def evaluate_programs_cached(
    dataset: Any,
    programs: Sequence[str] | None = None,
    options: EvaluationOptions | None = None,
    *,
    folder: str | Path | None = None,
    **overrides: Any,
) -> AttributionReport:
    """:func:`~analysis.attribution.evaluate_programs`, computed once per data set and options.

    Parameters
    ----------
    dataset, programs, options, **overrides
        As for :func:`~analysis.attribution.evaluate_programs`.
    folder : str or Path, optional
        Cache folder; default the folder named by ``TIK_EVALUATION_CACHE``. Neither: no cache,
        the evaluation is computed here.

    Returns
    -------
    AttributionReport
        The same values as a fresh :func:`~analysis.attribution.evaluate_programs` (except
        each evaluation's ``timings``, which are those of the computation that made it).

    Notes
    -----
    The key (:func:`evaluation_key`) holds every option, so two callers share an entry only
    when they ask for the same evaluation — notebook 02 with its defaults, notebook 03's
    "computed now" attribution and the sample-data tests do.
    """
    opt = EvaluationOptions.build(options, **overrides)
    folder = Path(folder) if folder is not None else cache_dir()
    if folder is None:
        return evaluate_programs(dataset, programs, opt)
    key = evaluation_key(dataset, programs, opt)
    label = f"evaluate_programs n_boot={opt.n_boot} seed={opt.seed} on {getattr(dataset, 'path', '?')}"
    return cached(key, lambda: evaluate_programs(dataset, programs, opt), folder, label=label)
