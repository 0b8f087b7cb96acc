"""Exact speed-ups of the ``diff_diff`` internals that dominate a Callaway–Sant'Anna fit.

Every function here returns, bit for bit, what the function it stands in for returns; only the
work done to get there changes. They are swapped into ``diff_diff.staggered`` and
``diff_diff.linalg`` for the duration of :func:`analysis.did.fit_callaway_santanna`
(:func:`installed`), so a bare ``diff_diff.CallawaySantAnna`` call outside the kit runs
``diff_diff``'s own code.

* :func:`cell_cluster_se` replaces ``staggered._cluster_robust_se_from_per_gt_if``, the
  cluster-robust standard error of one ATT(g, t) cell. ``diff_diff`` sums the cell's
  influence function within cluster with a pandas ``DataFrame(...).groupby(psu).sum()`` per
  cell, which builds a frame, factorises the same cluster ids and wraps the result again for
  every cell. Here pandas groups the ids once per fit and every cell makes the one call pandas'
  ``groupby(...).sum()`` makes underneath (the grouper's ``_cython_operation``, which picks
  ``numpy.add.reduceat`` or the Cython ``group_sum`` as pandas would), then does
  ``diff_diff``'s variance arithmetic in its order (:func:`cluster_if_variance`). Designs other
  than the plain one-stage cluster design ``cluster=`` synthesises (strata, finite-population
  correction, replicate weights) go to ``diff_diff``'s own function.
* :func:`safe_inference` replaces ``staggered.safe_inference`` (``diff_diff.utils``' function), the t
  statistic, p-value and confidence interval of every cell and aggregate: the p-values
  ``2 * scipy.stats.norm.sf(|t|)`` and, with a clustered fit's integer degrees of freedom,
  ``2 * scipy.stats.t.sf(|t|, df)`` are ``2 * scipy.special.ndtr(-|t|)`` and
  ``2 * scipy.special.stdtr(df, -|t|)`` underneath, called here without scipy's distribution
  layer (2.5 instead of 40 us a call, timeit; 16,000 of the sample's 17,000 calls have a df).
* :func:`shared_regressions` keeps the results of the per-cell propensity logits
  (``linalg.solve_logit``) and outcome regressions (``staggered._linear_regression``) while it is
  open, keyed by a SHA-256 digest of their inputs, and hands a stored result back when the same
  regression comes again: the fits of one program evaluation repeat many of them (the HonestDiD
  fit repeats the recommended estimate's post-training cells, the "every training month as it is"
  row the months the pooling left alone, the subgroup fits the comparison group's outcome
  regressions; on the sample 15,904 of 23,294). A logit given weights of all ones (a fit with
  ``cluster=`` passes them) is keyed as one given none (the employee-clustering robustness fit):
  ``solve_logit`` computes the same numbers for both (see :func:`_memoised`).
  The warnings a regression raised are raised again, and its EPV diagnostics written again, on
  every reuse, so the fit's engine messages are the same too.

* :func:`cho_factor` and :func:`cho_solve` replace scipy's functions of those names inside
  ``diff_diff.linalg``, where the propensity logit factors and solves its k x k normal equations
  in each Fisher-scoring step: the same LAPACK calls (``dpotrf``, ``dpotrs``) with the same
  arguments, without scipy's batching and checking layers (on the sample's P01 evaluation, 2,500
  logits: 12.6 s instead of 13.8 s, timed call by call in one process).

* :func:`precompute_structures` replaces the method ``CallawaySantAnna._precompute_structures``
  (once per fit). ``diff_diff`` builds the covariates of every period with a boolean filter,
  ``set_index`` and ``reindex`` on the unit ids per period (24 periods, string employee ids:
  1.8 of its 2.1 s on the sample's 57 fits). Here diff_diff's own method builds every other entry
  (it is called with ``covariates=None``, the one thing that argument changes) and the covariate
  arrays are placed from the rows by position: each row goes to its unit's row of its period's
  NaN-filled array, values copied, never computed. Only float64 covariates, integer periods and
  integer or string unit ids take that path, where the arrays are provably ``diff_diff``'s
  (dtype, shape, values, NaN where a unit has no row; the memory layout, which diff_diff's
  boolean-mask reads do not see, can differ, see :func:`covariates_by_period`); anything else
  runs ``diff_diff``'s method with the covariates.

``tests/test_did_speedups.py`` holds each of them equal to ``diff_diff``'s own result (exactly,
on R ``did``'s ``mpdta`` panel) and ``tests/test_did_engine.py`` names the internal that changed
when the ``diff-diff`` bound moves.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
from scipy.linalg.lapack import dpotrf, dpotrs
from scipy.special import ndtr, stdtr

__all__ = [
    "cell_cluster_se",
    "cho_factor",
    "cho_solve",
    "cluster_if_variance",
    "covariates_by_period",
    "installed",
    "precompute_structures",
    "safe_inference",
    "shared_regressions",
]

#: Bytes of stored regression results :func:`shared_regressions` keeps at most (oldest dropped first).
DEFAULT_MAX_BYTES = 256 * 2**20

_LOCK = threading.RLock()
_DEPTH = 0
_ORIGINALS: dict[str, Any] = {}
_LINALG_ORIGINALS: dict[str, Any] = {}
_METHOD_ORIGINALS: dict[str, Any] = {}


# --------------------------------------------------------------------------- #
# Cluster-robust SE of one ATT(g, t) cell
# --------------------------------------------------------------------------- #
#: The last designs seen: id(design) -> (design, pandas' grouper of its clusters, or None).
_GROUPERS: OrderedDict[int, tuple[Any, Any]] = OrderedDict()


def _plain_cluster_design(resolved: Any) -> bool:
    """The one-stage cluster design ``cluster=`` synthesises: clusters only, no strata, FPC or replicates."""
    return (
        getattr(resolved, "psu", None) is not None
        and getattr(resolved, "strata", None) is None
        and getattr(resolved, "fpc", None) is None
        and getattr(resolved, "replicate_method", None) is None
    )


def _cluster_grouper(resolved: Any) -> Any:
    """pandas' grouper of ``resolved.psu``, built once per design; None when pandas offers none.

    It is the grouper ``pd.DataFrame(scores).groupby(psu)`` builds for every cell in
    ``diff_diff`` (its ``_grouper``: the same factorised, sorted cluster codes). None when that
    grouper is missing or its ``_cython_operation`` is not pandas 3's
    ``(values, how, axis, min_count, **kwargs)`` (pandas 2 puts a ``kind`` first): then
    ``diff_diff``'s own function runs.
    """
    key = id(resolved)
    hit = _GROUPERS.get(key)
    if hit is not None and hit[0] is resolved:
        return hit[1]
    psu = np.asarray(resolved.psu)
    grouper = getattr(pd.DataFrame(np.zeros((len(psu), 1))).groupby(psu), "_grouper", None)
    if not _sums_by_cython_operation(type(grouper)):
        grouper = None
    _GROUPERS[key] = (resolved, grouper)
    while len(_GROUPERS) > 4:
        _GROUPERS.popitem(last=False)
    return grouper


@functools.lru_cache(maxsize=None)
def _sums_by_cython_operation(grouper_type: type) -> bool:
    """Whether ``grouper_type._cython_operation`` has the signature :func:`cluster_if_variance` calls."""
    op = getattr(grouper_type, "_cython_operation", None)
    if not callable(op):
        return False
    try:
        names = list(inspect.signature(op).parameters)
    except (TypeError, ValueError):
        return False
    return names[:5] == ["self", "values", "how", "axis", "min_count"]


def cluster_if_variance(psi: np.ndarray, grouper: Any) -> float:
    """``diff_diff.survey.compute_survey_if_variance(psi, design)`` for a plain one-stage cluster design.

    Parameters
    ----------
    psi : ndarray of float64, shape (n,)
        Per-unit influence-function values.
    grouper : pandas.core.groupby.ops.BaseGrouper
        pandas' grouper of the design's ``psu`` (:func:`_cluster_grouper`).

    Returns
    -------
    float
        ``G / (G - 1) * sum_j (psi_j - mean_j psi_j)^2`` with ``psi_j`` the sum of ``psi`` over
        cluster ``j`` (Liang & Zeger 1986); 0.0 when that is zero, NaN with fewer than two
        clusters, as ``diff_diff``'s function.

    Notes
    -----
    ``diff_diff`` (``survey._compute_stratified_psu_meat``, no strata, no FPC) sums within
    cluster by ``pd.DataFrame(psi[:, None]).groupby(psu).sum().values``. pandas runs that sum as
    ``grouper._cython_operation(block, "sum", axis=1, min_count=0, skipna=True)`` on the frame's
    one float block (shape 1 x n), which picks the kernel itself: ``numpy.add.reduceat`` when the
    cluster codes are sorted and ``psi`` has no NaN, else its Kahan-compensated Cython
    ``group_sum`` (the two differ in the last digits, so neither may be called in the other's
    place). Here the same call runs on the same block with the grouper built once per design,
    so the cluster sums are the same numbers in the same memory layout; the rest is
    ``diff_diff``'s arithmetic, in its order (mean, centring, ``centered.T @ centered``, the
    ``(1 - f) * G / (G - 1)`` factor with ``f = 0``).
    """
    psu_scores = grouper._cython_operation(psi[np.newaxis, :], "sum", axis=1, min_count=0, skipna=True).T
    n_psu = psu_scores.shape[0]
    if n_psu < 2:
        return np.nan  # diff_diff: a zero meat and no variance computed
    psu_mean = psu_scores.mean(axis=0, keepdims=True)
    centered = psu_scores - psu_mean
    f_h = 0.0
    adjustment = (1.0 - f_h) * (n_psu / (n_psu - 1))
    meat = adjustment * (centered.T @ centered)
    meat_scalar = float(meat[0, 0])
    if meat_scalar == 0.0:
        return 0.0
    return meat_scalar


def cell_cluster_se(inf_info: dict[str, Any] | None, resolved_survey: Any) -> float | None:
    """CR1 cluster-robust SE of one ATT(g, t) cell, as ``diff_diff.staggered._cluster_robust_se_from_per_gt_if``.

    Parameters
    ----------
    inf_info : dict or None
        The cell's influence function: ``treated_idx``, ``control_idx`` (offsets into
        ``resolved_survey.psu``), ``treated_inf``, ``control_inf``.
    resolved_survey : diff_diff.survey.ResolvedSurveyDesign
        The unit-level design of the fit (its ``psu`` = the cluster of every unit).

    Returns
    -------
    float or None
        The standard error; NaN when the clustered variance is not identified (fewer than
        two clusters); None when the inputs are malformed (the caller keeps the unit-level
        SE), exactly as ``diff_diff``'s function.

    Notes
    -----
    The checks and the influence-function vector are those of ``diff_diff``'s function; the
    variance is :func:`cluster_if_variance`, ``diff_diff.survey.compute_survey_if_variance``'s
    arithmetic with the clusters grouped once per fit instead of once per cell. Designs other
    than the plain one-stage cluster design go to ``diff_diff``'s own function.
    """
    original = _ORIGINALS.get("_cluster_robust_se_from_per_gt_if") or _diff_diff_cell_se()
    grouper = _cluster_grouper(resolved_survey) if _plain_cluster_design(resolved_survey) else None
    if grouper is None:
        return original(inf_info, resolved_survey)
    if (
        inf_info is None
        or "treated_inf" not in inf_info
        or "control_inf" not in inf_info
        or "treated_idx" not in inf_info
        or "control_idx" not in inf_info
    ):
        return None
    treated_idx = np.asarray(inf_info["treated_idx"])
    control_idx = np.asarray(inf_info["control_idx"])
    treated_inf = np.asarray(inf_info["treated_inf"])
    control_inf = np.asarray(inf_info["control_inf"])
    n = len(resolved_survey.psu)
    if (
        treated_idx.size > 0
        and (treated_idx.max(initial=-1) >= n or treated_idx.min(initial=0) < 0)
    ) or (
        control_idx.size > 0
        and (control_idx.max(initial=-1) >= n or control_idx.min(initial=0) < 0)
    ):
        return None
    psi_per_index = np.zeros(n)
    if treated_idx.size:
        psi_per_index[treated_idx] += treated_inf
    if control_idx.size:
        psi_per_index[control_idx] += control_inf
    var = cluster_if_variance(psi_per_index, grouper)
    if np.isnan(var):
        return float("nan")
    if var < 0:
        return None
    return float(np.sqrt(var))


def _diff_diff_cell_se() -> Callable[..., Any]:
    from diff_diff import staggered

    return staggered._cluster_robust_se_from_per_gt_if


# --------------------------------------------------------------------------- #
# Inference of one estimate (t statistic, p-value, confidence interval)
# --------------------------------------------------------------------------- #
def safe_inference(effect: Any, se: Any, alpha: float = 0.05, df: Any = None) -> tuple[Any, Any, tuple[Any, Any]]:
    """``diff_diff.utils.safe_inference`` with the p-value computed without scipy's distribution layer.

    Parameters
    ----------
    effect, se, alpha, df
        As ``diff_diff.utils.safe_inference``: the estimate, its standard error, the level of
        the confidence interval, the degrees of freedom (None: the normal distribution).

    Returns
    -------
    tuple
        ``(t_stat, p_value, (ci_lower, ci_upper))``, the same objects' values and types as
        ``diff_diff``'s function; all NaN when ``se`` (or ``df``) is not finite and positive.

    Notes
    -----
    ``diff_diff`` computes the two-sided p-value as ``float(2 * scipy.stats.norm.sf(|t|))``, or
    ``float(2 * scipy.stats.t.sf(|t|, df))`` given degrees of freedom; for a finite float64
    ``|t|`` and a positive integer ``df`` scipy's ``sf`` reduces to ``scipy.special.ndtr(-|t|)``
    and ``scipy.special.stdtr(df, -|t|)`` (its support and argument checks pass them through
    unchanged, ``df`` goes in as an integer either way), which are called here directly, then
    doubled and converted as ``diff_diff`` does. The gates on ``se`` and ``df``,
    ``t = effect / se`` and the confidence interval (``diff_diff.utils.compute_confidence_interval``,
    whose critical value ``diff_diff`` caches) are ``diff_diff``'s own. A ``df`` that is not None
    or a Python int, or a ``t`` that is not a finite float, goes to ``diff_diff``'s own function.
    """
    from diff_diff import utils

    original = _ORIGINALS.get("safe_inference") or utils.safe_inference
    if df is not None and type(df) is not int:
        return original(effect, se, alpha, df)
    if not (np.isfinite(se) and se > 0):
        return np.nan, np.nan, (np.nan, np.nan)
    if df is not None and not (np.isfinite(df) and df > 0):
        return np.nan, np.nan, (np.nan, np.nan)
    t_stat = effect / se
    if (type(t_stat) is not float and type(t_stat) is not np.float64) or not np.isfinite(t_stat):
        return original(effect, se, alpha, df)
    p_value = ndtr(-np.abs(t_stat)) if df is None else stdtr(df, -np.abs(t_stat))
    p_value *= 2
    conf_int = utils.compute_confidence_interval(effect, se, alpha, df=df)
    return t_stat, float(p_value), conf_int


# --------------------------------------------------------------------------- #
# Cholesky factor and solve of the logits' and regressions' small normal equations
# --------------------------------------------------------------------------- #
def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """``scipy.linalg.cho_factor`` with its wrappers skipped for a finite, square float64 matrix.

    Parameters
    ----------
    a, lower, overwrite_a, check_finite
        As ``scipy.linalg.cho_factor``.

    Returns
    -------
    tuple
        ``(c, lower)``, the factor LAPACK's ``dpotrf`` returns (``clean=False``), as scipy's.

    Notes
    -----
    ``diff_diff``'s logit (``linalg.solve_logit``) factors a k x k normal matrix in each of its
    up to 25 Fisher-scoring steps; scipy's batching and checking layers cost about four times the
    factorisation itself at k = 10. For a 2-D, non-empty, square, finite float64 array this calls
    the same LAPACK routine with the same arguments scipy would (so the factor is the same
    numbers) and raises the same errors; any other input goes to scipy's own function.
    """
    if (
        type(a) is not np.ndarray
        or a.dtype != np.float64
        or a.ndim != 2
        or a.shape[0] != a.shape[1]
        or a.size == 0
        or (check_finite and not np.isfinite(a).all())
    ):
        return scipy.linalg.cho_factor(a, lower=lower, overwrite_a=overwrite_a, check_finite=check_finite)
    c, info = dpotrf(a, lower=lower, overwrite_a=overwrite_a, clean=False)
    if info > 0:
        raise scipy.linalg.LinAlgError(f"{info}-th leading minor of the array is not positive definite")
    if info < 0:
        raise ValueError(f'LAPACK reported an illegal value in {-info}-th argument on entry to "POTRF".')
    return c, lower


def cho_solve(c_and_lower: Any, b: Any, overwrite_b: bool = False, check_finite: bool = True) -> Any:
    """``scipy.linalg.cho_solve`` with its wrappers skipped for a float64 factor and right-hand side.

    Parameters
    ----------
    c_and_lower, b, overwrite_b, check_finite
        As ``scipy.linalg.cho_solve``.

    Returns
    -------
    ndarray
        The solution LAPACK's ``dpotrs`` returns, as scipy's (same routine, same arguments);
        inputs other than a finite square float64 factor and a finite float64 vector or matrix
        of matching rows go to scipy's own function.
    """
    c, lower = c_and_lower
    if (
        type(c) is not np.ndarray
        or type(b) is not np.ndarray
        or c.dtype != np.float64
        or b.dtype != np.float64
        or c.ndim != 2
        or c.shape[0] != c.shape[1]
        or b.ndim not in (1, 2)
        or b.shape[0] != c.shape[1]
        or b.size == 0
        or (check_finite and not (np.isfinite(b).all() and np.isfinite(c).all()))
    ):
        return scipy.linalg.cho_solve(c_and_lower, b, overwrite_b=overwrite_b, check_finite=check_finite)
    x, info = dpotrs(c, b, lower=lower, overwrite_b=overwrite_b)
    if info != 0:
        raise ValueError(f"illegal value in {-info}th argument of internal potrs")
    return x


# --------------------------------------------------------------------------- #
# Regressions shared between the fits of one evaluation
# --------------------------------------------------------------------------- #
class _Memo:
    """Stored regression results, oldest dropped first beyond ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.entries: OrderedDict[bytes, tuple[Any, list[warnings.WarningMessage], dict[str, Any], int]] = OrderedDict()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> Any:
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
            self.hits += 1
        return hit

    def put(self, key: bytes, value: Any, caught: list[warnings.WarningMessage], diag: dict[str, Any]) -> None:
        size = sum(a.nbytes for a in value if isinstance(a, np.ndarray)) + 256
        self.misses += 1
        if size > self.max_bytes:
            return
        self.entries[key] = (value, caught, diag, size)
        self.nbytes += size
        while self.nbytes > self.max_bytes:
            _, (_, _, _, s) = self.entries.popitem(last=False)
            self.nbytes -= s


_MEMOS: list[_Memo] = []


class _Fallback(Exception):
    """An argument the digest cannot key on (not an array, a scalar, a string or None): compute the regression."""


@contextlib.contextmanager
def shared_regressions(max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[_Memo]:
    """Reuse identical per-cell regressions across the kit's fits while the block runs.

    Parameters
    ----------
    max_bytes : int
        Most bytes of stored results kept (the oldest go first); a regression no longer
        stored is computed again, so the bound changes the time, never a number.

    Yields
    ------
    object
        The store (``hits`` and ``misses`` count the regressions reused and computed).

    Notes
    -----
    Only fits run through :func:`analysis.did.fit_callaway_santanna` inside the block share
    results. A regression is reused only when every input is the same (arrays compared
    through a SHA-256 digest of their bytes, shape and dtype; every other argument by value),
    and the single-threaded BLAS the kit fits with makes the computation deterministic.
    """
    memo = _Memo(max_bytes)
    with _LOCK:
        _MEMOS.append(memo)
    try:
        yield memo
    finally:
        with _LOCK:
            _MEMOS.remove(memo)


def _digest(bound: dict[str, Any], skip: frozenset[str]) -> bytes:
    h = hashlib.sha256()
    for name in sorted(bound):
        if name in skip:
            continue
        value = bound[name]
        h.update(name.encode())
        if isinstance(value, np.ndarray):
            arr = np.ascontiguousarray(value)
            h.update(f"a{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.view(np.uint8).reshape(-1) if arr.size else b"")
        elif value is None or isinstance(value, (bool, int, float, str)):
            h.update(f"v{type(value).__name__}:{value!r}".encode())
        else:
            raise _Fallback  # an argument we cannot key on: compute it
    return h.digest()


def _copy(value: Any) -> Any:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in value)


def _unit_weights(arguments: dict[str, Any]) -> bool:
    """``weights`` is a float64 vector of ones, one per row of a non-empty ``X``.

    Not for no rows: ``solve_logit`` rejects empty weights (they sum to zero), not None.
    """
    w, x = arguments.get("weights"), arguments.get("X")
    return (
        type(w) is np.ndarray
        and w.dtype == np.float64
        and type(x) is np.ndarray
        and x.ndim == 2
        and w.shape == (x.shape[0],)
        and w.size > 0
        and bool((w == 1.0).all())
    )


def _memoised(
    name: str, func: Callable[..., Any], diagnostics: str | None, unit_weights_are_none: bool = False
) -> Callable[..., Any]:
    """``func`` with its results stored in the innermost open :func:`shared_regressions` block.

    With ``unit_weights_are_none``, ``weights`` of all ones are keyed as ``weights=None``: only for
    ``solve_logit``, which reads ``weights`` in its checks (all passed by ones, as by None), its
    zero-weight branches (not taken by either) and ``w_total = weights * w_irls`` (``1.0 * x == x``
    for every float), so both calls compute the same numbers and raise the same warnings
    (``tests/test_did_engine.py`` lists those lines). ``_linear_regression`` is not keyed so:
    ``solve_ols`` takes another solver when given weights.
    """
    sig = inspect.signature(func)
    skip = frozenset({diagnostics} if diagnostics else ())

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        memo = _MEMOS[-1] if _MEMOS else None
        if memo is None:
            return func(*args, **kwargs)
        try:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            keyed = bound.arguments
            if unit_weights_are_none and _unit_weights(keyed):
                keyed = {**keyed, "weights": None}
            key = name.encode() + _digest(keyed, skip)
        except (TypeError, _Fallback):
            return func(*args, **kwargs)
        diag_out = bound.arguments.get(diagnostics) if diagnostics else None
        hit = memo.get(key)
        if hit is not None:
            value, caught, diag, _ = hit
            _reraise(caught)
            if diag_out is not None:
                diag_out.update(diag)
            return _copy(value)
        diag: dict[str, Any] = {}
        if diagnostics:
            bound.arguments[diagnostics] = diag
        error: BaseException | None = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = func(*bound.args, **bound.kwargs)
            except BaseException as exc:  # raised again below, after its warnings
                error = exc
        _reraise(caught)
        if diag_out is not None:
            diag_out.update(diag)
        if error is not None:
            raise error
        memo.put(key, value, list(caught), dict(diag))
        return _copy(value)

    wrapper.__wrapped__ = func  # type: ignore[attr-defined]
    wrapper.__name__ = f"shared_{name}"
    return wrapper


def _reraise(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


# --------------------------------------------------------------------------- #
# The per-period covariate arrays of a fit
# --------------------------------------------------------------------------- #
_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)


def _unit_ids_hash_exactly(ids: pd.Series) -> bool:
    """Unit ids whose hash lookup is plain equality: int64, or strings (pandas' string dtype or str objects), none missing."""
    dtype = ids.dtype
    if dtype == _INT64:
        return True
    if isinstance(dtype, pd.StringDtype) or dtype == np.dtype(object):
        if ids.isna().any():
            return False
        return dtype != np.dtype(object) or pd.api.types.infer_dtype(ids, skipna=False) == "string"
    return False


def _placeable(df: pd.DataFrame, unit: str, time: str, covariates: Any, time_periods: Any) -> pd.Index | None:
    """The periods as an int64 index when :func:`precompute_structures` may place the covariates; else None.

    That is when ``covariates`` is a non-empty list of distinct column names, all float64 (so
    ``reindex(...).values`` is float64 whether or not a unit lacks a row); the columns of ``df``
    are unique; the periods are distinct integers and the time column is int64 (``==`` and the
    hash lookup agree); and the unit ids are int64 or strings, none missing (so ``reindex``'s
    lookup is plain equality and every row's unit is one of ``diff_diff``'s ``all_units``).
    """
    if type(covariates) is not list or not covariates or len(df) == 0:
        return None
    columns = df.columns
    if not columns.is_unique or unit not in columns or time not in columns or unit in covariates:
        return None
    if len(set(covariates)) != len(covariates) or not all(type(c) is str and c in columns for c in covariates):
        return None
    if any(df[c].dtype != _FLOAT64 for c in covariates) or df[time].dtype != _INT64:
        return None
    if not all(isinstance(t, (int, np.integer)) and not isinstance(t, (bool, np.bool_)) for t in time_periods):
        return None
    try:
        periods = pd.Index(list(time_periods), dtype=_INT64)
    except (OverflowError, TypeError, ValueError):
        return None
    if not periods.is_unique or not _unit_ids_hash_exactly(df[unit]):
        return None
    return periods


def covariates_by_period(
    df: pd.DataFrame, unit: str, time: str, covariates: list[str], periods: pd.Index, all_units: Any
) -> list[np.ndarray] | None:
    """Each period's (n_units, n_covariates) float64 covariates, as ``diff_diff``'s ``covariate_by_period`` holds them.

    Parameters
    ----------
    df : pandas.DataFrame
        The panel the fit was given.
    unit, time : str
        Unit and time columns (:func:`_placeable`'s dtypes).
    covariates : list of str
        Covariate columns (float64).
    periods : pandas.Index
        The periods, int64, distinct.
    all_units : array-like
        ``diff_diff``'s ``all_units`` (the sorted unique unit ids).

    Returns
    -------
    list of ndarray or None
        One array per period, in ``periods``' order: row ``i`` holds the covariates of
        ``all_units[i]`` in that period, NaN when it has no row there, as
        ``df[df[time] == t].set_index(unit).reindex(all_units)[covariates].values``: the same
        floats (copied, never computed), float64, NaN in the same places. None when a row's unit
        is not in ``all_units`` or a unit has two rows in a period (``reindex`` raises there):
        then ``diff_diff``'s loop must run.

    Notes
    -----
    The arrays are read-only and F-ordered (each the transpose of a C-ordered covariates x units
    block), as pandas hands out the kit's frames'. pandas' own memory layout follows how its
    blocks happen to split (``set_index`` and the row filter split them): a read-only view of
    one block, with positive, stepped or negative strides by the columns' order in it, or a
    writable copy of several. ``diff_diff`` reads these arrays only through boolean masks
    (``cov_matrix[treated_valid]``), whose results are new C-ordered arrays with the same
    values whatever the source's layout (``tests/test_did_engine.py`` names those reads).
    """
    n_units = len(all_units)
    unit_pos = pd.Index(all_units).get_indexer(df[unit])
    if (unit_pos < 0).any():
        return None
    period_pos = periods.get_indexer(df[time])
    asked = period_pos >= 0
    rows_period, rows_unit = period_pos[asked], unit_pos[asked]
    cells = rows_period * n_units + rows_unit
    if cells.size and np.bincount(cells, minlength=len(periods) * n_units).max() > 1:
        return None
    cube = np.full((len(periods), len(covariates), n_units), np.nan)
    for j, name in enumerate(covariates):
        cube[rows_period, j, rows_unit] = df[name].to_numpy()[asked]
    out = []
    for k in range(len(periods)):
        values = cube[k].T
        values.flags.writeable = False
        out.append(values)
    return out


def precompute_structures(
    self: Any,
    df: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treat: str,
    covariates: list[str] | None,
    time_periods: list[Any],
    treatment_groups: list[Any],
    resolved_survey: Any = None,
) -> dict[str, Any]:
    """``CallawaySantAnna._precompute_structures`` with the per-period covariates placed, not re-indexed.

    Parameters
    ----------
    self : diff_diff.CallawaySantAnna
        The estimator.
    df, outcome, unit, time, first_treat, covariates, time_periods, treatment_groups, resolved_survey
        As ``diff_diff``'s method.

    Returns
    -------
    dict
        ``diff_diff``'s dict: the same keys in the same order, the same arrays.

    Notes
    -----
    ``diff_diff``'s method reads ``covariates`` only to build ``covariate_by_period``
    (``tests/test_did_engine.py`` holds it to that), so it is called here with
    ``covariates=None`` for every other entry (and raises what it raises, e.g. on a unit with
    two rows in a period, in its ``pivot`` before its covariate loop), then its
    ``covariate_by_period`` (None so) is replaced by :func:`covariates_by_period`'s arrays,
    keyed by the periods given in their order, as ``diff_diff``'s loop keys them. Inputs
    :func:`_placeable` turns down run ``diff_diff``'s method as given.
    """
    from diff_diff import staggered

    original = _METHOD_ORIGINALS.get("_precompute_structures") or staggered.CallawaySantAnna._precompute_structures
    periods = _placeable(df, unit, time, covariates, time_periods)
    if periods is None:
        return original(self, df, outcome, unit, time, first_treat, covariates, time_periods, treatment_groups,
                        resolved_survey=resolved_survey)
    precomputed = original(self, df, outcome, unit, time, first_treat, None, time_periods, treatment_groups,
                           resolved_survey=resolved_survey)
    arrays = covariates_by_period(df, unit, time, covariates, periods, precomputed["all_units"])
    if arrays is None:  # not reached after diff_diff's pivot accepted the panel; its own loop decides
        return original(self, df, outcome, unit, time, first_treat, covariates, time_periods, treatment_groups,
                        resolved_survey=resolved_survey)
    precomputed["covariate_by_period"] = dict(zip(time_periods, arrays))
    return precomputed


# --------------------------------------------------------------------------- #
# Installing the speed-ups for the duration of a kit fit
# --------------------------------------------------------------------------- #
@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Swap the speed-ups into ``diff_diff.staggered`` (and its ``CallawaySantAnna``) and ``diff_diff.linalg`` for the block (re-entrant; restored after)."""
    global _DEPTH
    from diff_diff import linalg, staggered

    with _LOCK:
        if _DEPTH == 0:
            _ORIGINALS.update(
                _cluster_robust_se_from_per_gt_if=staggered._cluster_robust_se_from_per_gt_if,
                solve_logit=staggered.solve_logit,
                _linear_regression=staggered._linear_regression,
                safe_inference=staggered.safe_inference,
            )
            _LINALG_ORIGINALS.update(cho_factor=linalg.cho_factor, cho_solve=linalg.cho_solve)
            staggered._cluster_robust_se_from_per_gt_if = cell_cluster_se
            staggered.safe_inference = safe_inference
            staggered.solve_logit = _memoised(
                "solve_logit", _ORIGINALS["solve_logit"], "diagnostics_out", unit_weights_are_none=True
            )
            staggered._linear_regression = _memoised("_linear_regression", _ORIGINALS["_linear_regression"], None)
            linalg.cho_factor = cho_factor
            linalg.cho_solve = cho_solve
            _METHOD_ORIGINALS["_precompute_structures"] = staggered.CallawaySantAnna.__dict__["_precompute_structures"]
            staggered.CallawaySantAnna._precompute_structures = precompute_structures
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                for attr, original in _ORIGINALS.items():
                    setattr(staggered, attr, original)
                for attr, original in _LINALG_ORIGINALS.items():
                    setattr(linalg, attr, original)
                for attr, original in _METHOD_ORIGINALS.items():
                    setattr(staggered.CallawaySantAnna, attr, original)
                _ORIGINALS.clear()
                _LINALG_ORIGINALS.clear()
                _METHOD_ORIGINALS.clear()
