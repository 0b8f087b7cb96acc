"""Difference-in-differences engines: Callaway–Sant'Anna and two-way fixed effects.

This module is the kit's thin layer over the field's libraries:

* :func:`staggered_did` runs the heterogeneity-robust staggered DiD of Callaway &
  Sant'Anna (2021) through ``diff_diff.CallawaySantAnna`` and returns a
  :class:`StaggeredDiDResults` in the vocabulary of ``linearmodels`` (``params``,
  ``std_errors``, ``conf_int(level)``, ``summary``) with tidy tables and the four
  aggregations (``simple``, ``dynamic``, ``group``, ``calendar``).
* :func:`twfe_event_study` and :func:`twfe_did` run the two-way fixed-effects
  regressions with clustered standard errors through ``linearmodels.PanelOLS``;
  they are kept as rungs of the method ladder and as the diagnostic reference,
  not as the recommended estimator.

``StaggeredDiDResults`` speaks the same vocabulary for the ATT(g, t) cells: ``params``,
``std_errors``, ``tstats``, ``pvalues``, ``cov``, ``nobs`` and ``conf_int(level)``, whose
default level is ``1 - alpha`` of the fit and which is the multiplier-bootstrap percentile
interval when the fit was bootstrapped. ``event_study_draws()`` gives the joint bootstrap
draws of the event-study effects, row for row the same multiplier weights as the overall
ATT's ``bootstrap_draws``.

Engine internals: the kit's post-treatment-only re-aggregation (anticipation > 0), the
cohort / calendar tables and the kept bootstrap draws use parts of ``diff_diff`` that are
not its public API (the results' aggregation kit, ``_KitAggregator``,
``_KitBootstrapAggregator._run_multiplier_bootstrap``, ``staggered_bootstrap.tiled_if_matmul``).
``pyproject.toml`` bounds ``diff-diff`` to the minor version they were checked against and
``tests/test_did_engine.py`` names the internal that changed when the bound moves.

Nothing here knows about training programmes; :mod:`analysis.attribution` builds
the estimation panel from the kit's tables and calls these engines.

Conventions
-----------
* ``cohort`` is the first treated period of a unit; ``0`` or ``NaN`` means never
  treated.
* The overall ATT (``aggregate("simple")``) averages the post-treatment cells
  ``t >= g`` weighted by cohort size. With ``anticipation = k > 0`` the comparison
  period moves to ``g - 1 - k`` but the cells ``g - k <= t < g`` are *not* averaged
  into the overall effect (they are the anticipation / pre-training window, shown
  in the dynamic profile); ``diff_diff`` itself would include them.
"""

from __future__ import annotations

import contextlib
import html
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis import did_speedups
from analysis.data import DataValidationError

__all__ = [
    "AggregateEffect",
    "ResultSummary",
    "StaggeredDiDResults",
    "TWFEResults",
    "fit_callaway_santanna",
    "prepare_did_panel",
    "staggered_did",
    "twfe_did",
    "twfe_event_study",
]

ControlGroup = Literal["never", "not_yet"]
Method = Literal["dr", "ipw", "reg"]
_CONTROL_MAP = {"never": "never_treated", "not_yet": "not_yet_treated"}
_AGG_ALIASES = {
    "simple": "simple",
    "overall": "simple",
    "dynamic": "dynamic",
    "event_study": "dynamic",
    "event": "dynamic",
    "group": "group",
    "cohort": "group",
    "calendar": "calendar",
    "time": "calendar",
}


# --------------------------------------------------------------------------- #
# Rendering
# --------------------------------------------------------------------------- #
@dataclass
class ResultSummary:
    """A rendered summary: a title, one or more tables and notes.

    Displays as text in a console and as an HTML table in a notebook, like the
    ``Summary`` objects of statsmodels / linearmodels.

    Parameters
    ----------
    title : str
        Heading.
    tables : list of (str or None, DataFrame)
        Captioned tables, rendered in order.
    notes : list of str
        Sentences shown under the tables.
    """

    title: str
    tables: list[tuple[str | None, pd.DataFrame]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_text(self) -> str:
        """Plain-text rendering."""
        width = 78
        out = ["=" * width, self.title.center(width), "=" * width]
        for caption, table in self.tables:
            if caption:
                out.append(caption)
                out.append("-" * min(width, len(caption)))
            out.append(table.to_string(float_format=lambda v: f"{v:,.4g}"))
            out.append("")
        for note in self.notes:
            out.append(f"Note: {note}")
        return "\n".join(out).rstrip() + "\n"

    def as_html(self) -> str:
        """HTML rendering (every string escaped)."""
        parts = [f"<h4>{html.escape(self.title)}</h4>"]
        for caption, table in self.tables:
            if caption:
                parts.append(f"<p><b>{html.escape(caption)}</b></p>")
            parts.append(table.to_html(float_format=lambda v: f"{v:,.4g}", escape=True))
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


def _crit(level: float, df: float | None) -> float:
    """Two-sided critical value: ``t(df)`` when ``df`` is given, else standard normal."""
    z = _z(level)
    return float(stats.t.ppf(0.5 + level / 2, df)) if df else z


# --------------------------------------------------------------------------- #
# Scalar aggregate
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class AggregateEffect:
    """One aggregated treatment effect with its uncertainty.

    Attributes
    ----------
    estimand : str
        What is averaged, in words.
    att : float
        Point estimate.
    se : float
        Standard error (bootstrap standard deviation when bootstrapped).
    alpha : float
        Significance level the fit used.
    draws : ndarray or None
        Multiplier-bootstrap draws of the estimate (``None`` when analytic).
    n_treated, n_control : int
        Distinct treated / control units that enter at least one averaged cell.
    df : float or None
        Degrees of freedom of the analytic reference distribution: ``t(df)`` when the
        engine clusters (``df = clusters - 1``, as ``diff_diff`` and R ``did``),
        standard normal when ``None``.
    """

    estimand: str
    att: float
    se: float
    alpha: float = 0.05
    draws: np.ndarray | None = field(default=None, repr=False)
    n_treated: int = 0
    n_control: int = 0
    df: float | None = None

    @property
    def inference(self) -> str:
        """``"multiplier bootstrap"`` or ``"analytic (influence function)"``."""
        return "multiplier bootstrap" if self.draws is not None else "analytic (influence function)"

    @property
    def tstat(self) -> float:
        """``att / se``."""
        return self.att / self.se if self.se and np.isfinite(self.se) else np.nan

    @property
    def pvalue(self) -> float:
        """Two-sided p-value (bootstrap percentile p-value when bootstrapped)."""
        if self.draws is not None:
            d = self.draws[np.isfinite(self.draws)]
            if d.size == 0:
                return np.nan
            centred = d - self.att
            return float(max(np.mean(np.abs(centred) >= abs(self.att)), 1 / (d.size + 1)))
        t = self.tstat
        if not np.isfinite(t):
            return np.nan
        return float(2 * (stats.t.sf(abs(t), self.df) if self.df else stats.norm.sf(abs(t))))

    def conf_int(self, level: float | None = None) -> tuple[float, float]:
        """Confidence interval.

        Percentile interval of the bootstrap draws when bootstrapped (as
        ``diff_diff`` and R ``did`` report it), otherwise ``att ± z·se``.

        Parameters
        ----------
        level : float, optional
            Confidence level; default ``1 - alpha`` of the fit.
        """
        level = 1 - self.alpha if level is None else level
        _z(level)  # validates the level
        if self.draws is not None:
            d = self.draws[np.isfinite(self.draws)]
            lo, hi = np.percentile(d, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
            return float(lo), float(hi)
        z = _crit(level, self.df)
        return self.att - z * self.se, self.att + z * self.se

    def tidy(self, level: float | None = None) -> pd.DataFrame:
        """One-row table: estimand, att, se, ci_low, ci_high, p_value, inference (level default ``1 - alpha``)."""
        lo, hi = self.conf_int(level)
        return pd.DataFrame(
            [
                {
                    "estimand": self.estimand,
                    "att": self.att,
                    "se": self.se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": self.pvalue,
                    "n_treated": self.n_treated,
                    "n_control": self.n_control,
                    "inference": self.inference,
                }
            ]
        )

    @property
    def summary(self) -> ResultSummary:
        """Rendered one-row table."""
        return ResultSummary(self.estimand, [(None, self.tidy().set_index("estimand"))])


# --------------------------------------------------------------------------- #
# Panel preparation
# --------------------------------------------------------------------------- #
@dataclass
class PreparedPanel:
    """A narrow, validated estimation frame ready for ``diff_diff``.

    Attributes
    ----------
    frame : DataFrame
        Columns ``unit, time, outcome, cohort`` (+ encoded covariates, cluster).
    outcome, unit, time, cohort : str
        Column names.
    covariates : list of str
        Numeric covariate columns in ``frame`` (categoricals already one-hot coded).
    cluster : str or None
        Cluster column in ``frame`` (``None`` = cluster by unit).
    notes : list of str
        What preparation did (rows dropped, units set aside), in words.
    set_aside : DataFrame
        Units excluded from estimation with the reason (never silent).
    """

    frame: pd.DataFrame
    outcome: str
    unit: str
    time: str
    cohort: str
    covariates: list[str]
    cluster: str | None
    notes: list[str] = field(default_factory=list)
    set_aside: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["unit", "cohort", "reason"])
    )


def _encode_covariates(
    frame: pd.DataFrame, covariates: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """One-hot code non-numeric covariates (first level dropped); return frame and names."""
    names: list[str] = []
    coded: dict[str, pd.Series] = {}
    text_cols: list[str] = []
    for col in covariates:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            coded[col] = s.astype(float)
            names.append(col)
            continue
        text_cols.append(col)
        as_text = s.astype("string")
        levels = sorted(as_text.dropna().unique())
        for lev in levels[1:]:
            name = f"{col}={lev}"
            coded[name] = (as_text == lev).astype(float).where(s.notna())
            names.append(name)
    rest = frame.drop(columns=[c for c in frame.columns if c in text_cols or c in coded])
    return pd.concat([rest, pd.DataFrame(coded, index=frame.index)], axis=1), names


def prepare_did_panel(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] | None = None,
    *,
    cluster: str | None = None,
    table: str = "panel",
) -> PreparedPanel:
    """Validate and narrow a long panel for :func:`fit_callaway_santanna`.

    Parameters
    ----------
    panel : DataFrame
        Long panel, one row per unit and period.
    outcome, unit, time, cohort : str
        Column names. ``cohort`` = first treated period, 0 or NaN = never treated.
    covariates : sequence of str, optional
        Covariates for conditional parallel trends; text/categorical columns are
        one-hot coded. ``diff_diff`` reads them at each cell's comparison period,
        so pass characteristics fixed before treatment.
    cluster : str, optional
        Column to cluster on (constant within unit); ``None`` clusters by unit.
    table : str
        Name used in error messages.

    Returns
    -------
    PreparedPanel

    Raises
    ------
    DataValidationError
        Missing columns, non-numeric time/outcome, duplicate unit-period rows, or a
        cohort that changes within a unit.
    """
    covariates = list(covariates or [])
    needed = [unit, time, outcome, cohort, *covariates] + ([cluster] if cluster else [])
    missing = [c for c in dict.fromkeys(needed) if c not in panel.columns]
    if missing:
        raise DataValidationError(
            f"{table}: missing column(s) {missing}; expected {needed}",
            table=table,
            column=missing[0],
        )
    frame = panel.loc[:, list(dict.fromkeys(needed))]
    notes: list[str] = []
    for col in (time, outcome):
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise DataValidationError(
                f"{table}.{col}: expected numbers, got dtype {frame[col].dtype}",
                table=table,
                column=col,
                rows=panel.loc[:, [unit, col]].head(5),
            )
    g = pd.to_numeric(frame[cohort], errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
    g[~np.isfinite(g)] = 0.0
    frame[cohort] = g
    # Checks on integer codes (counting and min/max per unit) are several times faster than
    # DataFrame.duplicated / groupby.nunique on the raw columns of a large panel.
    unit_code, _ = pd.factorize(frame[unit])
    time_code, time_levels = pd.factorize(frame[time])
    key = unit_code.astype(np.int64) * len(time_levels) + time_code
    dup = np.bincount(key, minlength=1)[key] > 1 if len(key) else np.zeros(0, dtype=bool)
    if dup.any():
        raise DataValidationError(
            f"{table}: more than one row per ({unit}, {time})",
            table=table,
            column=unit,
            rows=frame.loc[dup, [unit, time]].head(5),
        )
    lo = np.full(unit_code.max() + 1 if len(unit_code) else 0, np.inf)
    hi = np.full_like(lo, -np.inf)
    np.minimum.at(lo, unit_code, g)
    np.maximum.at(hi, unit_code, g)
    changing = np.nonzero(lo != hi)[0]
    if len(changing):
        bad = frame[unit].to_numpy()[np.isin(unit_code, changing[:5])]
        raise DataValidationError(
            f"{table}.{cohort}: first-treatment period must be constant within a {unit}",
            table=table,
            column=cohort,
            rows=frame.loc[frame[unit].isin(bad), [unit, time, cohort]].head(5),
        )
    set_aside: list[dict[str, Any]] = []
    nan_y = frame[outcome].isna()
    if nan_y.any():
        notes.append(f"{int(nan_y.sum())} row(s) with a missing {outcome} were not used.")
        frame = frame.loc[~nan_y]
    first_period = frame[time].min()
    early = (frame[cohort] > 0) & (frame[cohort] <= first_period)
    if early.any():
        units = frame.loc[early, [unit, cohort]].drop_duplicates()
        set_aside += [
            {"unit": u, "cohort": g, "reason": "treated in the first period: no pre-treatment month"}
            for u, g in units.itertuples(index=False)
        ]
        notes.append(
            f"{len(units)} unit(s) treated in or before the first period have no comparison "
            "month and were set aside."
        )
        frame = frame.loc[~early]
    if covariates:
        frame, names = _encode_covariates(frame, covariates)
        nan_x = frame[names].isna().any(axis=1)
        if nan_x.any():
            bad_units = frame.loc[nan_x, [unit, cohort]].drop_duplicates(unit)
            set_aside += [
                {"unit": u, "cohort": g, "reason": "missing covariate"}
                for u, g in bad_units.itertuples(index=False)
            ]
            notes.append(
                f"{len(bad_units)} unit(s) with a missing covariate were set aside "
                f"({int(nan_x.sum())} rows)."
            )
            frame = frame.loc[~frame[unit].isin(bad_units[unit])]
        const = [c for c in names if frame[c].min() == frame[c].max()]
        if const:
            notes.append(f"Covariate(s) {const} do not vary and were left out.")
            names = [c for c in names if c not in const]
        # Centre and scale continuous covariates: the estimators are invariant to it,
        # the per-cell logit / least squares are better conditioned.
        scaled = {}
        for c in names:
            col = frame[c]
            if not col.isin((0.0, 1.0)).all():  # indicators stay 0/1
                sd = float(col.std())
                scaled[c] = (col - float(col.mean())) / (sd if sd > 0 else 1.0)
        if scaled:
            frame = frame.assign(**scaled)
    else:
        names = []
    if cluster and frame[cluster].isna().any():
        raise DataValidationError(
            f"{table}.{cluster}: cluster identifier missing",
            table=table,
            column=cluster,
            rows=frame.loc[frame[cluster].isna(), [unit, time, cluster]].head(5),
        )
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        frame = frame.reset_index(drop=True)
    return PreparedPanel(
        frame=frame,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        covariates=names,
        cluster=cluster,
        notes=notes,
        set_aside=pd.DataFrame(set_aside, columns=["unit", "cohort", "reason"]),
    )


# --------------------------------------------------------------------------- #
# Callaway & Sant'Anna
# --------------------------------------------------------------------------- #
def _collect(records: Iterable[warnings.WarningMessage]) -> list[str]:
    """Distinct engine messages, numbers masked, with how often each occurred."""
    import re

    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for w in records:
        msg = " ".join(str(w.message).split())
        key = re.sub(r"-?\d+(\.\d+)?%?", "#", msg)
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, msg)
    return [first[k] if counts[k] == 1 else f"{first[k]} [similar message for {counts[k]} cells]" for k in counts]


# diff_diff keeps the event-study draws local to its bootstrap; the replay that keeps them
# swaps one module function for the duration of the call (see event_study_draws).
_REPLAY_LOCK = threading.Lock()


@contextlib.contextmanager
def _blas_threads(n: int | None) -> Iterator[None]:
    """Limit BLAS threads (``None`` = leave as is).

    With covariates, ``diff_diff`` solves one small regression / logit per
    ATT(g, t) cell; multithreaded BLAS on such small matrices is several times
    slower than a single thread (measured 5.3 s vs 2.0 s for a 2,000-employee,
    24-month doubly robust fit on 2 cores).
    """
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - shipped with scikit-learn
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def _weight_cohorts_by_units(raw: Any) -> bool:
    """Make every post-fit aggregation of ``raw`` weight a cohort by its number of units.

    The overall ATT averages the cells ``ATT(g, t)`` with the weight of cohort ``g``
    (R ``did``'s ``pg = n_g / N``): every cell of a cohort counts the same, whatever
    the share of the cohort still observed in month ``t``. ``diff_diff`` does this
    for fits with clusters (its cohort masses), but a panel fit without clusters
    weights each cell by the units observed in it, so on an unbalanced panel (people
    leave) the late months of every cohort count less, and the point estimate
    changed with the clustering. Writing the unit cohort masses into the fit's
    aggregation bookkeeping makes the simple, event-study and bootstrap aggregations
    use them.

    Returns
    -------
    bool
        True when the fit-time overall ATT weighted some cell differently (a post
        cell with fewer units than its cohort), so the overall effect must be
        re-aggregated; False when nothing changed (a balanced panel, a clustered
        or repeated-cross-section fit).
    """
    kit = getattr(raw, "_aggregation_kit", None)
    if kit is None:
        return False
    bk = kit.bookkeeping
    if not bk.get("is_panel", True) or bk.get("agg_cohort_masses") is not None or bk.get("survey_weights") is not None:
        return False
    cohorts = np.asarray(bk["unit_cohorts"], dtype=float)
    values, counts = np.unique(cohorts, return_counts=True)
    size = {float(v): float(c) for v, c in zip(values, counts)}
    bk["agg_cohort_masses"] = size
    bk["agg_total_weight"] = float(len(cohorts))
    return any(
        d.get("n_treated") != size.get(float(g))
        for (g, t), d in raw.group_time_effects.items()
        if t >= g and np.isfinite(d.get("effect", np.nan))
    )


def fit_callaway_santanna(
    prepared: PreparedPanel,
    *,
    control: ControlGroup = "never",
    method: Method = "dr",
    anticipation: int = 0,
    n_boot: int = 0,
    seed: int | None = None,
    alpha: float = 0.05,
    allow_unbalanced_panel: bool = False,
    base_period: Literal["varying", "universal"] = "varying",
    pscore_trim: float = 0.01,
    cells: Literal["all", "post"] = "all",
) -> StaggeredDiDResults:
    """Run ``diff_diff.CallawaySantAnna`` on a prepared panel (no extra copies).

    This is the estimation step alone: the kit's overhead over a bare
    ``diff_diff`` call is wrapping the result (and, with ``anticipation > 0``,
    re-aggregating the post-treatment cells).

    Parameters
    ----------
    prepared : PreparedPanel
        Output of :func:`prepare_did_panel`.
    control : {"never", "not_yet"}
        Comparison group: never-treated units only, or never- plus not-yet-treated.
    method : {"dr", "ipw", "reg"}
        Doubly robust, inverse probability weighting or outcome regression.
    anticipation : int
        Periods before treatment that may already be affected; the comparison
        period becomes ``g - 1 - anticipation``.
    n_boot : int
        Multiplier-bootstrap draws (0 = analytic influence-function SEs).
    seed : int, optional
        Bootstrap seed.
    alpha : float
        Significance level.
    allow_unbalanced_panel : bool
        Use R ``did``'s repeated-cross-section handling of an unbalanced panel
        (assumes a stable workforce composition). Default: within-cell panel
        differencing on the units observed at both periods.
    base_period : {"varying", "universal"}
        Comparison period of the pre-treatment cells: the previous period
        (default, as R ``did``) or the common last pre-treatment period (the
        layout HonestDiD needs). Post-treatment cells are identical.
    pscore_trim : float
        Propensity scores are clipped to ``[pscore_trim, 1 - pscore_trim]``
        (``diff_diff``'s default 0.01). With a small cohort against many
        controls the *typical* score is near the cohort's share, so a lower
        bound of 0.01 would flatten the control weights; R's ``DRDID`` does
        not clip low scores at all.
    cells : {"all", "post"}
        ``"post"`` estimates only the cells the overall ATT averages (``t >= g - anticipation``),
        not the pre-treatment cells an event study, a pre-trend test or HonestDiD needs: a fit
        read only through ``aggregate("simple")`` (robustness rows, subgroups) does about half
        the work for the same numbers, bit for bit (each cell is computed on its own, and the
        overall ATT is aggregated over the same cells in the same order).
        ``aggregate("dynamic")`` of such a fit raises.

    Returns
    -------
    StaggeredDiDResults
    """
    from diff_diff import CallawaySantAnna

    if control not in _CONTROL_MAP:
        raise ValueError(f"control must be 'never' or 'not_yet', got {control!r}")
    if method not in ("dr", "ipw", "reg"):
        raise ValueError(f"method must be 'dr', 'ipw' or 'reg', got {method!r}")
    est = CallawaySantAnna(
        control_group=_CONTROL_MAP[control],
        anticipation=int(anticipation),
        estimation_method=method,
        alpha=alpha,
        cluster=prepared.cluster,
        n_bootstrap=int(n_boot),
        seed=seed,
        allow_unbalanced_panel=allow_unbalanced_panel,
        base_period=base_period,
        rank_deficient_action="silent",
        pscore_fallback="unconditional",
        pscore_trim=pscore_trim,
    )
    if cells == "post":
        _post_treatment_cells_only(est)
    elif cells != "all":
        raise ValueError(f"cells must be 'all' or 'post', got {cells!r}")
    with warnings.catch_warnings(record=True) as rec, _blas_threads(1 if prepared.covariates else None), \
            did_speedups.installed():  # exact stand-ins for three diff_diff internals (analysis/did_speedups.py)
        warnings.simplefilter("always")
        try:
            raw = est.fit(
                prepared.frame,
                outcome=prepared.outcome,
                unit=prepared.unit,
                time=prepared.time,
                first_treat=prepared.cohort,
                covariates=prepared.covariates or None,
            )
        except (ValueError, np.linalg.LinAlgError) as exc:
            if allow_unbalanced_panel:
                raise ValueError(
                    "The repeated-cross-section handling of an unbalanced panel "
                    "(allow_unbalanced_panel=True) could not be estimated: some "
                    f"cohort-month cells are too small for the covariate model ({exc}). "
                    "Use the default within-cell panel differencing, fewer covariates, "
                    "or pool small cohorts."
                ) from exc
            raise
    return StaggeredDiDResults(
        raw,
        prepared=prepared,
        control=control,
        method=method,
        anticipation=int(anticipation),
        n_boot=int(n_boot),
        seed=seed,
        alpha=alpha,
        allow_unbalanced_panel=allow_unbalanced_panel,
        base_period=base_period,
        pscore_trim=pscore_trim,
        engine_messages=_collect(rec),
        prepared_ref=prepared,
        cells=cells,
    )


def _post_treatment_cells_only(est: Any) -> None:
    """Make a ``CallawaySantAnna`` estimator attempt only the cells ``t >= g - anticipation``.

    ``diff_diff`` asks ``_valid_periods_for_group`` which periods of a cohort to estimate (in
    every estimation path); this instance's answer keeps, of those, the ones its overall ATT
    averages. ``tests/test_did_engine.py`` names the method.
    """
    every = est._valid_periods_for_group

    def post_treatment(g: Any, time_periods: list[Any], observed_sorted: list[Any]) -> list[Any]:
        return [t for t in every(g, time_periods, observed_sorted) if t >= g - est.anticipation]

    est._valid_periods_for_group = post_treatment


def staggered_did(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] | None = None,
    control: ControlGroup = "never",
    method: Method = "dr",
    anticipation: int = 0,
    n_boot: int = 0,
    seed: int | None = None,
    *,
    cluster: str | None = None,
    alpha: float = 0.05,
    allow_unbalanced_panel: bool = False,
) -> StaggeredDiDResults:
    """Staggered difference-in-differences (Callaway & Sant'Anna 2021).

    Estimates every group-time average treatment effect ATT(g, t) with
    ``diff_diff.CallawaySantAnna`` and offers the simple, dynamic (event-study),
    group and calendar aggregations.

    Parameters
    ----------
    panel : DataFrame
        Long panel, one row per unit and period (may be unbalanced).
    outcome, unit, time : str
        Outcome, unit identifier and integer period columns.
    cohort : str
        First treated period; 0 or NaN = never treated.
    covariates : sequence of str, optional
        Pre-treatment characteristics for conditional parallel trends (text
        columns are one-hot coded).
    control : {"never", "not_yet"}
        Never-treated units only, or never- and not-yet-treated units.
    method : {"dr", "ipw", "reg"}
        Doubly robust (Sant'Anna & Zhao 2020), IPW or outcome regression.
    anticipation : int
        Number of periods before treatment excluded from the comparison.
    n_boot : int
        Multiplier-bootstrap draws; > 0 gives uniform (sup-t) bands in the
        dynamic aggregation and bootstrap draws of the overall ATT.
    seed : int, optional
        Random seed of the bootstrap.
    cluster : str, optional
        Cluster column (constant within unit); default clusters by unit.
    alpha : float
        Significance level of the stored intervals.
    allow_unbalanced_panel : bool
        R ``did``'s repeated-cross-section handling (see
        :func:`fit_callaway_santanna`).

    Returns
    -------
    StaggeredDiDResults

    Notes
    -----
    On an unbalanced panel each ATT(g, t) uses the units observed at both the
    comparison period and ``t`` (within-cell panel differencing, ``diff_diff``'s
    default).

    References
    ----------
    Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with
    multiple time periods. *Journal of Econometrics* 225(2), 200–230.
    Sant'Anna, P. H. C. & Zhao, J. (2020). Doubly robust difference-in-differences
    estimators. *Journal of Econometrics* 219(1), 101–122.

    Examples
    --------
    >>> res = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat")  # doctest: +SKIP
    >>> res.aggregate("simple").att  # doctest: +SKIP
    -0.0400
    """
    prepared = prepare_did_panel(panel, outcome, unit, time, cohort, covariates, cluster=cluster)
    return fit_callaway_santanna(
        prepared,
        control=control,
        method=method,
        anticipation=anticipation,
        n_boot=n_boot,
        seed=seed,
        alpha=alpha,
        allow_unbalanced_panel=allow_unbalanced_panel,
    )


class StaggeredDiDResults:
    """Results of :func:`staggered_did`.

    Attributes
    ----------
    raw : diff_diff.CallawaySantAnnaResults
        The engine's own result object.
    att_gt : DataFrame
        cohort, time, event_time, att, se, ci_low, ci_high, n_treated, n_control.
    params, std_errors, tstats, pvalues : Series
        ATT(g, t), standard errors (bootstrap standard deviations when
        bootstrapped), ``params / std_errors`` and two-sided p-values (bootstrap
        p-values when bootstrapped), indexed by (cohort, time).
    cov : DataFrame
        Covariance of the ATT(g, t) estimates (influence functions; covariance of
        the bootstrap draws when bootstrapped).
    nobs : int
        Unit-period rows of the estimation frame.
    notes : list of str
        Data preparation notes and engine messages, in words.
    """

    def __init__(
        self,
        raw: Any,
        *,
        prepared: PreparedPanel,
        control: str,
        method: str,
        anticipation: int,
        n_boot: int,
        seed: int | None,
        alpha: float,
        allow_unbalanced_panel: bool,
        engine_messages: list[str],
        base_period: str = "varying",
        prepared_ref: PreparedPanel | None = None,
        pscore_trim: float = 0.01,
        cells: str = "all",
    ) -> None:
        self.raw = raw
        self.pscore_trim = pscore_trim
        self.cells = cells  # "post": only the cells t >= g - anticipation were estimated (no event study)
        self.base_period = base_period
        self.prepared = prepared_ref
        self.outcome = prepared.outcome
        self.unit = prepared.unit
        self.time = prepared.time
        self.cohort = prepared.cohort
        self.covariates = list(prepared.covariates)
        self.cluster = prepared.cluster
        self.control = control
        self.method = method
        self.anticipation = anticipation
        self.n_boot = n_boot
        self.seed = seed
        self.alpha = alpha
        self.allow_unbalanced_panel = allow_unbalanced_panel
        self.set_aside = prepared.set_aside
        self.engine_messages = engine_messages
        self.notes = list(prepared.notes)
        self.n_obs = int(len(prepared.frame))
        self._agg_cache: dict[str, Any] = {}
        self._reweighted = _weight_cohorts_by_units(raw)

    # ---- cells -------------------------------------------------------------
    @cached_property
    def att_gt(self) -> pd.DataFrame:
        """Group-time effects: cohort, time, event_time, att, se, ci_low, ci_high, n_treated, n_control."""
        rows = []
        for (g, t), d in self.raw.group_time_effects.items():
            lo, hi = d.get("conf_int", (np.nan, np.nan))
            rows.append(
                {
                    "cohort": g,
                    "time": t,
                    "event_time": t - g,
                    "att": d["effect"],
                    "se": d["se"],
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_treated": d.get("n_treated", np.nan),
                    "n_control": d.get("n_control", np.nan),
                }
            )
        out = pd.DataFrame(rows)
        if out.empty:
            return out
        return out.sort_values(["cohort", "time"], ignore_index=True)

    @property
    def params(self) -> pd.Series:
        """ATT(g, t) indexed by (cohort, time)."""
        return self.att_gt.set_index(["cohort", "time"])["att"]

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors of ATT(g, t) indexed by (cohort, time)."""
        return self.att_gt.set_index(["cohort", "time"])["se"]

    @property
    def tstats(self) -> pd.Series:
        """``params / std_errors`` of ATT(g, t), indexed by (cohort, time)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.params / self.std_errors).rename("tstat")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of ATT(g, t) (the engine's bootstrap p-values when bootstrapped)."""
        rows = {}
        for (g, t), d in self.raw.group_time_effects.items():
            p = d.get("p_value", np.nan)
            if p is None or not np.isfinite(p):
                se = d.get("se", np.nan)
                p = 2 * stats.norm.sf(abs(d["effect"] / se)) if se and np.isfinite(se) else np.nan
            rows[(g, t)] = float(p)
        out = pd.Series(rows, name="pvalue", dtype=float)
        out.index = out.index.set_names(["cohort", "time"])
        return out.reindex(self.params.index)

    @property
    def nobs(self) -> int:
        """Unit-period rows of the estimation frame."""
        return self.n_obs

    @property
    def _df(self) -> float | None:
        """Degrees of freedom of the engine's analytic t reference (clusters - 1), ``None`` = normal."""
        df = getattr(self.raw, "df_inference", None)
        return float(df) if df is not None and np.isfinite(df) and df > 0 else None

    @cached_property
    def cov(self) -> pd.DataFrame:
        """Covariance matrix of the ATT(g, t) estimates, rows and columns indexed by (cohort, time).

        Analytic fits: from the engine's influence functions (summed within cluster,
        centred and scaled by ``G / (G - 1)`` when clustered), so its diagonal is
        ``std_errors ** 2``. Bootstrapped fits: the covariance of the multiplier-bootstrap
        draws of the cells (``ddof = 1``), whose diagonal is the bootstrap ``std_errors ** 2``.
        Cells without an estimate have NaN rows and columns.
        """
        index = self.params.index
        if self.raw.bootstrap_results is not None:
            draws = self._replay()["cells"]
            v = np.cov(draws.to_numpy(), rowvar=False, ddof=1)
            out = pd.DataFrame(np.atleast_2d(v), index=draws.columns, columns=draws.columns)
            return out.reindex(index=index, columns=index)
        kit = self._kit
        cells = [gt for gt in self.raw.group_time_effects if gt in kit.influence]
        n = int(kit.bookkeeping.get("canonical_size", len(kit.bookkeeping["all_units"])))
        m = np.zeros((n, len(cells)))
        for j, gt in enumerate(cells):
            info = kit.influence[gt]
            m[info["treated_idx"], j] = info["treated_inf"]
            m[info["control_idx"], j] = info["control_inf"]
        design = kit.bookkeeping.get("resolved_survey_unit")
        psu = getattr(design, "psu", None) if design is not None else None
        if psu is not None:
            codes, levels = pd.factorize(np.asarray(psu))
            g = len(levels)
            sums = np.zeros((g, len(cells)))
            np.add.at(sums, codes, m)
            sums -= sums.mean(axis=0)
            v = sums.T @ sums * (g / (g - 1) if g > 1 else np.nan)
        else:
            v = m.T @ m
        labels = pd.MultiIndex.from_tuples(cells, names=["cohort", "time"])
        return pd.DataFrame(v, index=labels, columns=labels).reindex(index=index, columns=index)

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Intervals of ATT(g, t) (columns lower, upper).

        Percentile intervals of the multiplier-bootstrap draws when the fit was
        bootstrapped (at ``level = 1 - alpha`` exactly the engine's intervals),
        otherwise pointwise ``att ± z·se``.

        Parameters
        ----------
        level : float, optional
            Confidence level; default ``1 - alpha`` of the fit.
        """
        level = 1 - self.alpha if level is None else level
        z = _crit(level, self._df)
        if self.raw.bootstrap_results is not None:
            draws = self._replay()["cells"]
            lo, hi = np.percentile(draws.to_numpy(), [(1 - level) / 2 * 100, (1 + level) / 2 * 100], axis=0)
            out = pd.DataFrame({"lower": lo, "upper": hi}, index=draws.columns)
            return out.reindex(self.params.index)
        p, s = self.params, self.std_errors
        return pd.DataFrame({"lower": p - z * s, "upper": p + z * s})

    @property
    def cohorts(self) -> list[Any]:
        """Treated cohorts estimated."""
        return list(self.raw.groups)

    @property
    def n_treated_units(self) -> int:
        """Ever-treated units in the estimation frame."""
        return int(self.raw.n_treated_units)

    @property
    def n_control_units(self) -> int:
        """Never-treated units in the estimation frame."""
        return int(self.raw.n_control_units)

    # ---- aggregation ---------------------------------------------------------
    @property
    def _kit(self) -> Any:
        return getattr(self.raw, "_aggregation_kit", None)

    def _post_cells(self) -> dict[tuple[Any, Any], dict[str, Any]]:
        return {gt: d for gt, d in self.raw.group_time_effects.items() if gt[1] >= gt[0]}

    def _units_used(self, cells: Iterable[tuple[Any, Any]]) -> tuple[int, int]:
        kit = self._kit
        if kit is None:
            return self.n_treated_units, self.n_control_units
        n_units = int(kit.bookkeeping.get("canonical_size", len(kit.bookkeeping["all_units"])))
        used_t = np.zeros(n_units, dtype=bool)
        used_c = np.zeros(n_units, dtype=bool)
        for gt in cells:  # mark instead of concatenating + sorting (O(n) per cell)
            info = kit.influence.get(gt)
            if info is not None:
                used_t[info["treated_idx"]] = True
                used_c[info["control_idx"]] = True
        return int(used_t.sum()), int(used_c.sum())

    def _simple(self) -> AggregateEffect:
        raw = self.raw
        estimand = "ATT averaged over treated units' post-treatment periods (t >= g)"
        cells = list(self._post_cells())
        n_t, n_c = self._units_used(cells)
        if self.anticipation == 0 and not self._reweighted:
            draws = None
            if raw.bootstrap_results is not None:
                draws = np.asarray(raw.bootstrap_results.bootstrap_distribution, dtype=float)
            return AggregateEffect(
                estimand, float(raw.overall_att), float(raw.overall_se), self.alpha, draws, n_t, n_c, self._df
            )
        # diff_diff averages t >= g - anticipation, and on a panel fit without clusters it
        # weights each cell by the trainees observed in it; the kit's estimand is t >= g
        # with every cohort weighted by its size.
        att, se, draws = self._reaggregate_post_only()
        return AggregateEffect(estimand, att, se, self.alpha, draws, n_t, n_c, self._df)

    def _reaggregate_post_only(self) -> tuple[float, float, np.ndarray | None]:
        """Cohort-size-weighted mean of the cells t >= g via diff_diff's own aggregator."""
        from diff_diff.staggered_results import _KitAggregator, _KitBootstrapAggregator

        kit = self._kit
        if kit is None:  # pragma: no cover - every in-package fit carries a kit
            raise RuntimeError("diff_diff result carries no aggregation kit")
        gte = self._post_cells()
        precomputed = dict(kit.bookkeeping)
        att, se, _ = _KitAggregator(kit.alpha, 0)._aggregate_simple(
            gte, kit.influence, None, None, precomputed
        )
        draws = None
        if self.raw.bootstrap_results is not None and kit.bootstrap is not None:
            spec = kit.bootstrap
            host = _KitBootstrapAggregator(kit.alpha, 0, spec.n_bootstrap, spec.weight_type)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                boot = host._run_multiplier_bootstrap(
                    group_time_effects=gte,
                    influence_func_info=kit.influence,
                    aggregate=None,
                    balance_e=None,
                    treatment_groups=self.raw.groups,
                    time_periods=self.raw.time_periods,
                    precomputed=precomputed,
                    cband=False,
                    _replay_bitgen_state=spec.bitgen_state,
                )
            draws = np.asarray(boot.bootstrap_distribution, dtype=float)
            se = float(boot.overall_att_se)
        return float(att), float(se), draws

    def event_study_draws(self, post_only: bool = False) -> pd.DataFrame | None:
        """Joint multiplier-bootstrap draws of the event-study effects.

        The draws behind the uniform (sup-t) band of :meth:`aggregate` ``("dynamic")``:
        row ``b`` of every column and draw ``b`` of :attr:`bootstrap_draws` (the
        overall ATT) come from the same multiplier weights, so any function of the
        dynamic profile (a sum over months, a cost-benefit ratio) can be spent draw by
        draw with the overall ATT's uncertainty kept consistent.

        Parameters
        ----------
        post_only : bool
            Keep only event times ``>= 0`` (the post-treatment months).

        Returns
        -------
        DataFrame or None
            Index ``draw`` (0 .. n_boot - 1), one column per event time (int),
            values = bootstrap draws of that event time's ATT. ``None`` when the
            fit was analytic (``n_boot = 0``).

        Notes
        -----
        ``diff_diff`` computes these draws inside its bootstrap and keeps only their
        standard deviations and the sup-t critical value; the kit replays the fit's
        bootstrap from its stored random-number state and keeps the draws. Their
        standard deviation equals the dynamic profile's ``se`` exactly.
        """
        if self.raw.bootstrap_results is None:
            return None
        out = self._replay()["event_time"]
        if post_only:
            out = out.loc[:, [c for c in out.columns if c >= 0]]
        return out.copy()

    def _replay(self) -> dict[str, pd.DataFrame]:
        """Replay the fit's multiplier bootstrap once; keep the cell and event-time draws."""
        if "replay" not in self._agg_cache:
            self._agg_cache["replay"] = self._replay_bootstrap()
        return self._agg_cache["replay"]

    def _replay_bootstrap(self) -> dict[str, pd.DataFrame]:
        """Replay the fit's multiplier bootstrap and keep the per-cell and per-event-time draws."""
        from diff_diff import staggered_bootstrap as _sb
        from diff_diff.staggered_results import _KitBootstrapAggregator

        kit = self._kit
        if kit is None or kit.bootstrap is None:  # pragma: no cover - in-package fits carry both
            raise RuntimeError("diff_diff result carries no bootstrap replay state")
        spec = kit.bootstrap
        captured: dict[str, Any] = {}

        class _Host(_KitBootstrapAggregator):
            def _prepare_event_study_aggregation(self, *args: Any, **kwargs: Any) -> Any:
                info = super()._prepare_event_study_aggregation(*args, **kwargs)
                captured["info"] = info
                return info

        original = _sb.tiled_if_matmul

        def _keep(*args: Any, **kwargs: Any) -> np.ndarray:
            out = original(*args, **kwargs)
            captured["perturbations"] = out
            return out

        host = _Host(
            kit.alpha,
            kit.anticipation,
            spec.n_bootstrap,
            spec.weight_type,
            bootstrap_label=kit.bookkeeping.get("bootstrap_label", "CallawaySantAnna"),
        )
        with _REPLAY_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _sb.tiled_if_matmul = _keep
            try:
                host._run_multiplier_bootstrap(
                    group_time_effects=self.raw.group_time_effects,
                    influence_func_info=kit.influence,
                    aggregate="event_study",
                    balance_e=None,
                    treatment_groups=self.raw.groups,
                    time_periods=self.raw.time_periods,
                    df=None,
                    unit=None,
                    precomputed=dict(kit.bookkeeping),
                    cband=False,
                    _replay_bitgen_state=spec.bitgen_state,
                )
            finally:
                _sb.tiled_if_matmul = original
        info = {e: d for e, d in captured["info"].items() if "combined_if" in d}
        rel = sorted(info)
        pert = captured["perturbations"]
        index = pd.RangeIndex(pert.shape[0], name="draw")
        # column layout of diff_diff's fused GEMM: [cells | overall (if any) | event times]
        gte = self.raw.group_time_effects
        cells = [gt for gt in gte if gt in kit.influence]
        cell_draws = np.array([gte[gt]["effect"] for gt in cells])[None, :] + pert[:, : len(cells)]
        es = pert[:, pert.shape[1] - len(rel) :]
        draws = np.column_stack([info[e]["effect"] + es[:, k] for k, e in enumerate(rel)]) if rel else (
            np.empty((pert.shape[0], 0))
        )
        return {
            "cells": pd.DataFrame(
                cell_draws, index=index, columns=pd.MultiIndex.from_tuples(cells, names=["cohort", "time"])
            ),
            "event_time": pd.DataFrame(draws, index=index, columns=pd.Index([int(e) for e in rel], name="event_time")),
        }

    def _dynamic(self) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            es = self.raw.aggregate("event_study")
        self._agg_cache["dynamic_raw"] = es
        df = pd.DataFrame(
            {
                "event_time": np.asarray(es.event_time).astype(int),
                "att": es.att,
                "se": es.se,
                "ci_low_pointwise": es.conf_int_lower,
                "ci_high_pointwise": es.conf_int_upper,
                "n_cohorts": es.n,
            }
        )
        if es.cband_lower is not None and es.cband_upper is not None:
            df["ci_low"] = es.cband_lower
            df["ci_high"] = es.cband_upper
            df["band"] = "uniform (sup-t multiplier bootstrap)"
        else:
            df["ci_low"] = df["ci_low_pointwise"]
            df["ci_high"] = df["ci_high_pointwise"]
            df["band"] = "pointwise (analytic)"
        df["period"] = np.where(
            df["event_time"] >= 0, "post", np.where(df["event_time"] >= -self.anticipation, "anticipation", "pre")
        )
        cols = ["event_time", "att", "se", "ci_low", "ci_high", "ci_low_pointwise", "ci_high_pointwise"]
        return df[cols + ["band", "period", "n_cohorts"]].sort_values("event_time", ignore_index=True)

    def _group(self) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.anticipation == 0:
                agg = self.raw.aggregate("group").to_dataframe()
                out = pd.DataFrame(
                    {
                        "cohort": agg["label"].astype(self.att_gt["cohort"].dtype),
                        "att": agg["att"],
                        "se": agg["se"],
                        "ci_low": agg["conf_int_lower"],
                        "ci_high": agg["conf_int_upper"],
                    }
                )
                return out.reset_index(drop=True)
        return self._fixed_weight_table("cohort")

    def _calendar(self) -> pd.DataFrame:
        return self._fixed_weight_table("time")

    def _fixed_weight_table(self, by: str) -> pd.DataFrame:
        """Aggregate post cells by cohort or calendar time with IF+WIF standard errors."""
        from diff_diff.staggered_results import _KitAggregator

        kit = self._kit
        cells = self.att_gt[self.att_gt["time"] >= self.att_gt["cohort"]]
        cells = cells[np.isfinite(cells["att"])]
        sizes = pd.Series(kit.bookkeeping["unit_cohorts"]).value_counts() if kit is not None else None
        rows = []
        agg = _KitAggregator(self.alpha, 0)
        z = _crit(1 - self.alpha, self._df)
        for key, sub in cells.groupby(by, sort=True):
            w = (
                sub["cohort"].map(sizes).to_numpy(float)
                if sizes is not None
                else sub["n_treated"].to_numpy(float)
            )
            w = w / w.sum()
            att = float(np.sum(w * sub["att"].to_numpy()))
            se = np.nan
            if kit is not None:
                pairs = list(zip(sub["cohort"], sub["time"]))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    se, _ = agg._compute_aggregated_se_with_wif(
                        pairs,
                        w,
                        sub["att"].to_numpy(),
                        sub["cohort"].to_numpy(),
                        kit.influence,
                        None,
                        None,
                        dict(kit.bookkeeping),
                    )
            rows.append(
                {by: key, "att": att, "se": se, "ci_low": att - z * se, "ci_high": att + z * se}
            )
        out = pd.DataFrame(rows, columns=[by, "att", "se", "ci_low", "ci_high"])
        return out

    def aggregate(
        self, kind: Literal["simple", "dynamic", "group", "calendar"] = "simple"
    ) -> Any:
        """Aggregate the ATT(g, t).

        Parameters
        ----------
        kind : {"simple", "dynamic", "group", "calendar"}
            ``simple``: the overall ATT (cohort-size-weighted mean of the cells
            ``t >= g``) as an :class:`AggregateEffect`. ``dynamic``: the event
            study by months since treatment (DataFrame event_time, att, se,
            ci_low, ci_high, where the interval is the uniform sup-t band when
            bootstrapped and pointwise otherwise). ``group``: by cohort.
            ``calendar``: by calendar period (analytic influence-function SEs).

        Returns
        -------
        AggregateEffect or DataFrame
        """
        key = _AGG_ALIASES.get(kind)
        if key is None:
            raise ValueError(f"kind must be one of simple, dynamic, group, calendar; got {kind!r}")
        if key == "dynamic" and self.cells == "post":
            raise ValueError("this fit estimated only the post-treatment cells (cells='post'): an event study needs "
                             "the months before training too; fit with cells='all'")
        if key not in self._agg_cache:
            self._agg_cache[key] = {
                "simple": self._simple,
                "dynamic": self._dynamic,
                "group": self._group,
                "calendar": self._calendar,
            }[key]()
        value = self._agg_cache[key]
        return value.copy() if isinstance(value, pd.DataFrame) else value

    @property
    def event_study_raw(self) -> Any:
        """``diff_diff`` event-study container (input to HonestDiD / pre-trend power)."""
        if "dynamic_raw" not in self._agg_cache:
            self.aggregate("dynamic")
        return self._agg_cache["dynamic_raw"]

    # ---- shortcuts -------------------------------------------------------------
    @property
    def att(self) -> float:
        """Overall ATT (``aggregate("simple").att``)."""
        return self.aggregate("simple").att

    @property
    def se(self) -> float:
        """Standard error of the overall ATT."""
        return self.aggregate("simple").se

    @property
    def bootstrap_draws(self) -> np.ndarray | None:
        """Bootstrap draws of the overall ATT (``None`` when analytic)."""
        return self.aggregate("simple").draws

    @property
    def specification(self) -> dict[str, Any]:
        """The estimator settings, for tables and reports."""
        return {
            "estimator": "Callaway & Sant'Anna (2021), diff_diff",
            "outcome": self.outcome,
            "control": {"never": "never treated", "not_yet": "never + not yet treated"}[self.control],
            # without covariates the three methods are one estimator: say that, not the method's name
            "method": {"dr": "doubly robust", "ipw": "inverse probability weighting", "reg": "outcome regression"}[
                self.method
            ] if self.covariates else "no covariate adjustment",
            "covariates": ", ".join(self.covariates) if self.covariates else "none",
            "anticipation": self.anticipation,
            "cluster": self.cluster or self.unit,
            "inference": f"multiplier bootstrap ({self.n_boot} draws)" if self.n_boot else "analytic",
            "unbalanced panel": (
                "repeated cross-sections (R did allow_unbalanced_panel)"
                if self.allow_unbalanced_panel
                else "within-cell panel differencing"
            ),
        }

    @property
    def summary(self) -> ResultSummary:
        """Overall ATT, specification and the ATT(g, t) table."""
        spec = pd.Series(self.specification, name="").to_frame()
        overall = self.aggregate("simple").tidy(1 - self.alpha).set_index("estimand")
        notes = self.notes + self.engine_messages
        return ResultSummary(
            "Staggered difference-in-differences",
            [("Specification", spec), ("Overall", overall), ("ATT(g, t)", self.att_gt.set_index(["cohort", "time"]))],
            notes,
        )

    def __repr__(self) -> str:
        s = self.aggregate("simple")
        return (
            f"StaggeredDiDResults(att={s.att:.4g}, se={s.se:.4g}, cohorts={len(self.cohorts)}, "
            f"control={self.control!r}, method={self.method!r}, anticipation={self.anticipation})"
        )


# --------------------------------------------------------------------------- #
# Two-way fixed effects
# --------------------------------------------------------------------------- #
class TWFEResults:
    """Results of a two-way fixed-effects regression (``linearmodels.PanelOLS``).

    Attributes
    ----------
    raw : linearmodels PanelEffectsResults
    params, std_errors, tstats, pvalues : Series
        Indexed by event time (event study) or term name (static).
    cov : DataFrame
        Clustered covariance of the estimated coefficients.
    nobs, n_clusters : int
    cluster : str
    """

    def __init__(
        self,
        raw: Any,
        *,
        terms: dict[str, Any],
        cluster: str,
        n_clusters: int,
        title: str,
        notes: list[str],
    ):
        self.raw = raw
        self._n_clusters = int(n_clusters)
        self._terms = terms  # regressor column -> label (event time or name)
        self.cluster = cluster
        self.title = title
        self.notes = notes

    def _relabel(self, s: pd.Series) -> pd.Series:
        s = s.loc[[c for c in self._terms if c in s.index]]
        s.index = pd.Index([self._terms[c] for c in s.index], name="term")
        return s

    @cached_property
    def params(self) -> pd.Series:
        """Coefficients."""
        return self._relabel(self.raw.params.copy())

    @cached_property
    def std_errors(self) -> pd.Series:
        """Clustered standard errors."""
        return self._relabel(self.raw.std_errors.copy())

    @cached_property
    def tstats(self) -> pd.Series:
        """t statistics."""
        return self._relabel(self.raw.tstats.copy())

    @cached_property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values."""
        return self._relabel(self.raw.pvalues.copy())

    @cached_property
    def cov(self) -> pd.DataFrame:
        """Covariance matrix of the coefficients."""
        keep = [c for c in self._terms if c in self.raw.cov.index]
        c = self.raw.cov.loc[keep, keep].copy()
        c.index = c.columns = pd.Index([self._terms[k] for k in keep], name="term")
        return c

    @property
    def nobs(self) -> int:
        """Observations used."""
        return int(self.raw.nobs)

    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return self._n_clusters

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals (columns lower, upper) with the t reference of the fit."""
        ci = self.raw.conf_int(level=level)
        ci = ci.loc[[c for c in self._terms if c in ci.index]]
        ci.index = pd.Index([self._terms[c] for c in ci.index], name="term")
        return ci

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """term, estimate, se, ci_low, ci_high, p_value."""
        ci = self.conf_int(level)
        return pd.DataFrame(
            {
                "term": self.params.index,
                "estimate": self.params.to_numpy(),
                "se": self.std_errors.to_numpy(),
                "ci_low": ci["lower"].to_numpy(),
                "ci_high": ci["upper"].to_numpy(),
                "p_value": self.pvalues.to_numpy(),
            }
        )

    @property
    def summary(self) -> ResultSummary:
        """Coefficient table."""
        return ResultSummary(
            self.title,
            [(None, self.tidy().set_index("term"))],
            [f"Unit and period fixed effects; standard errors clustered by {self.cluster}.", *self.notes],
        )

    def __repr__(self) -> str:
        return f"TWFEResults({self.title!r}, nobs={self.nobs}, terms={list(self.params.index)})"


def _fit_panelols(
    frame: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    regressors: list[str],
    cluster: str,
) -> Any:
    from linearmodels import PanelOLS

    data = frame.set_index([unit, time])
    exog = data[regressors]
    model = PanelOLS(data[outcome], exog, entity_effects=True, time_effects=True, drop_absorbed=True)
    if cluster in ("unit", unit):
        return model.fit(cov_type="clustered", cluster_entity=True), int(frame[unit].nunique())
    codes = pd.factorize(data[cluster])[0]
    clusters = pd.DataFrame(codes, index=data.index, columns=[cluster])
    return model.fit(cov_type="clustered", clusters=clusters), int(codes.max() + 1)


def _twfe_frame(
    panel: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str, extra: list[str]
) -> pd.DataFrame:
    needed = list(dict.fromkeys([unit, time, outcome, cohort, *extra]))
    missing = [c for c in needed if c not in panel.columns]
    if missing:
        raise DataValidationError(
            f"panel: missing column(s) {missing}", table="panel", column=missing[0]
        )
    frame = panel.loc[panel[outcome].notna(), needed].copy()
    frame[cohort] = pd.to_numeric(frame[cohort], errors="coerce").fillna(0.0)
    return frame


def twfe_event_study(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    event_times: Sequence[int] | None = None,
    cluster: str = "unit",
    *,
    reference: int = -1,
    bin_endpoints: bool = True,
    covariates: Sequence[str] | None = None,
) -> TWFEResults:
    """Two-way fixed-effects event-study regression with clustered SEs.

    ``y_it = a_i + l_t + sum_e b_e 1{t - g_i = e} + x_it'c + u_it`` estimated with
    ``linearmodels.PanelOLS``; never-treated units have no event dummies.

    Parameters
    ----------
    panel : DataFrame
        Long panel.
    outcome, unit, time, cohort : str
        Columns; ``cohort`` 0/NaN = never treated.
    event_times : sequence of int, optional
        Event times to estimate (the ``reference`` is omitted). Default: every
        observed event time.
    cluster : str
        ``"unit"`` (default) or a column name (manager, department, ...).
    reference : int
        Omitted event time (the normalisation, default -1).
    bin_endpoints : bool
        Pool event times beyond the first/last requested into the end bins
        (otherwise they fall into the reference category).
    covariates : sequence of str, optional
        Time-varying numeric controls.

    Returns
    -------
    TWFEResults
        ``params`` / ``std_errors`` indexed by event time.

    Notes
    -----
    With staggered adoption and heterogeneous effects the coefficients mix
    already-treated units into the comparison and can carry negative weights
    (Sun & Abraham 2021; Goodman-Bacon 2021); the kit reports this regression as
    a rung of the method ladder, not as its estimate.

    References
    ----------
    Sun, L. & Abraham, S. (2021). Estimating dynamic treatment effects in event
    studies with heterogeneous treatment effects. *J. Econometrics* 225(2).
    """
    covariates = list(covariates or [])
    extra = covariates + ([cluster] if cluster not in ("unit", unit) else [])
    frame = _twfe_frame(panel, outcome, unit, time, cohort, extra)
    treated = frame[cohort] > 0
    e = (frame[time] - frame[cohort]).where(treated)
    observed = sorted(int(v) for v in e.dropna().unique())
    if not observed:
        raise ValueError("twfe_event_study: no treated unit in the panel")
    ets = sorted(set(int(v) for v in (event_times if event_times is not None else observed)))
    ets = [v for v in ets if v != reference]
    if not ets:
        raise ValueError("twfe_event_study: no event time to estimate besides the reference")
    lo, hi = min(ets), max(ets)
    if bin_endpoints:
        e = e.clip(lower=lo, upper=hi) if lo < reference < hi else e
        if reference <= lo:
            e = e.where(e <= hi, hi)
        if reference >= hi:
            e = e.where(e >= lo, lo)
    terms: dict[str, Any] = {}
    for v in ets:
        col = f"_evt_{v}"
        frame[col] = (e == v).astype(float)
        if frame[col].any():
            terms[col] = v
    regs = list(terms) + covariates
    raw, n_cl = _fit_panelols(frame, outcome, unit, time, regs, cluster)
    notes = [f"Reference event time {reference}."]
    if bin_endpoints:
        notes.append(f"Event times beyond {lo}..{hi} pooled into the end bins.")
    return TWFEResults(
        raw, terms=terms, cluster=cluster, n_clusters=n_cl, title="TWFE event study", notes=notes
    )


def twfe_did(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    cluster: str = "unit",
    *,
    covariates: Sequence[str] | None = None,
) -> TWFEResults:
    """Static two-way fixed-effects DiD: one coefficient on ``1{t >= g_i}``.

    Parameters
    ----------
    panel : DataFrame
        Long panel.
    outcome, unit, time, cohort : str
        Columns; ``cohort`` 0/NaN = never treated.
    cluster : str
        ``"unit"`` or a cluster column.
    covariates : sequence of str, optional
        Time-varying numeric controls.

    Returns
    -------
    TWFEResults
        ``params["treated"]`` is the TWFE estimate.

    References
    ----------
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in
    treatment timing. *Journal of Econometrics* 225(2), 254–277.
    """
    covariates = list(covariates or [])
    extra = covariates + ([cluster] if cluster not in ("unit", unit) else [])
    frame = _twfe_frame(panel, outcome, unit, time, cohort, extra)
    frame["_treated"] = ((frame[cohort] > 0) & (frame[time] >= frame[cohort])).astype(float)
    raw, n_cl = _fit_panelols(frame, outcome, unit, time, ["_treated", *covariates], cluster)
    return TWFEResults(
        raw, terms={"_treated": "treated"}, cluster=cluster, n_clusters=n_cl, title="TWFE DiD", notes=[]
    )
