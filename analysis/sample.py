r"""Deterministic sample-data generator with known truth (the kit's embedded default).

``generate`` builds every table of the data contract for a fictional Chinese services
company (money in CNY) together with a ``ground_truth.json`` that records the true
training effects and competency gaps, so every report on the sample can show its
estimate beside the truth. Same configuration and seed, same data, value for value.
``python -m analysis sample`` writes it; ``data/sample/`` is the default configuration.

Generating process
------------------
Notation: employee :math:`i`, month (period) :math:`t = 1..T`, department :math:`d(i)`,
region :math:`r(i)`, first training month (cohort) :math:`g_i` (0 = never trained),
event time :math:`e = t - g_i`, :math:`s_d = +1` for a KPI where higher is better and
:math:`-1` where lower is better.

**Workforce.** Staff work in Sales, Customer Service or Operations, in one of five
regions, in teams of about ten led by a team lead (role ``Team Lead``, no monthly KPI)
of the same department and region. Staff present at the start have a tenure drawn from
30 days + Exponential(mean 1,000 days); with ``churn`` 15% of staff are hired inside the
panel (month 2 to T-1) and every employed staff member leaves with monthly probability
:math:`q_i = 0.011\,e^{-0.3 z_i}` (low performers leave a little more often; exits do
not depend on tenure). KPI rows exist from the hire month to the exit month inclusive.

**Competencies.** Each role has three competencies with a required level and a weight
(``role_requirements``). True level :math:`\ell_{ic} = \text{req}_{c} - \gamma_{ic}`,
:math:`\gamma_{ic} \sim N(\bar\gamma_c, 0.6^2)`, clipped to 1..5. The weighted gap is
:math:`G_i = \sum_c w_c \max(0, \text{req}_c - \ell_{ic})`. ``assessments`` measure the
levels with noise (sd 0.3; self-ratings +0.3): once before the panel (or a month after
hire) and again at the annual review in month :math:`\lceil T/2 \rceil + 1`, when
trainees' target competency has risen by :math:`0.6\,\lambda_i` (see learning below).

**KPI.** Each department has one KPI and one program aimed at it (no program aims at
another program's KPI, so trainees of other programs are never in its panel):

.. math::

    y_{it} = \alpha_i + S_d(\text{month of year}) + \beta_d\,(m_{r,t} - 100)
             - s_d L_d\, e^{-\text{tenure}_{it}/6} + \varepsilon_{it} + \tau_{it}

* person level :math:`\alpha_i = \mu_d + s_d\,(-\kappa_d (G_i - \bar G_d) + \sigma_{u,d} u_i + v_{\text{team}})`:
  the competency gap explains part of the KPI shortfall (``competency_gaps``; off:
  :math:`\kappa_d = 0`, the gaps still exist but do not move the KPI);
  :math:`z_i = s_d(\alpha_i - \mu_d)/\text{sd}_d(\alpha)` is the standardized performance;
* :math:`S_d` department seasonality (Spring Festival slump, 618 and Double 11 peaks;
  tickets follow sales a month later; errors rise in busy months);
* :math:`m_{r,t}` the regional market index (``context_monthly``): 100 + a slow national
  cycle + regional AR(1) noise + (``market_shocks``) an upswing of :math:`A_r` points
  (10, 8, 6, 4, 2 from the earliest to the latest roll-out region) centred on the
  region's roll-out month :math:`R_r`, logistic with a 1.5-month scale;
* a tenure learning curve: new staff start :math:`L_d` below the experienced level;
* :math:`\varepsilon_{it} \sim N(0, \sigma_d^2)` i.i.d. over months and people (no
  persistence), except the referral slump below;
* :math:`\tau_{it}` the training effect (zero before :math:`g_i` and for the never-trained).

**Who is trained, and when** (``staggered``). Program roll-out opens region by region:
region :math:`r` (in the order East, West, Central, South, North) is open in months
:math:`R_r .. R_r + W - 1`, :math:`W = \text{round}(0.3T)`, the first :math:`R` at
:math:`\max(3, \text{round}(T/6))`, the last window ending at :math:`T - 6` (months 4-18
of 24). In the j-th open month (:math:`j = 0..W-1`) every not-yet-trained staff member
employed for at least two months (so the month :math:`g - 2` exists) and not leaving
that month is sent with probability :math:`1 - \exp(-\Lambda\,\omega_j\,\rho_i)`,
:math:`\Lambda = 1.8`, :math:`\omega_j \propto 1 + j/(W-1)` summing to 1 (later months
catch up, so late cohorts are not tiny), :math:`\rho_i = e^{-z_i} / \overline{e^{-z}}` with
``low_performer_selection`` (low performers are sent sooner and more often) and 1
otherwise. About 45% of each department is never trained. Without ``staggered`` every
region is open in one month (:math:`\text{round}(T/2)`) with the same total probability.
Selection depends on the permanent level :math:`\alpha_i` only — not on tenure and not
on the transitory noise. (Because low performers leave the untrained pool early while
staff hired during a window join it late, a month's trainees are slightly more often
recent hires than the never-trained: a small tenure confound, about +2% of the effect
when tenure is ignored, gone when comparing within tenure bands.)

**Mean reversion** (``mean_reversion``). Staff are sent to training right after a bad
month: the probability of being sent in month :math:`g` rises with a low shock
:math:`\varepsilon_{i,g-1}`, :math:`P \propto \exp(-\delta \varepsilon_{i,g-1}/\sigma_d)`,
:math:`\delta = 1`. Exponential tilting of a normal shock gives
:math:`\varepsilon_{i,g-1} \mid \text{sent} \sim N(-s_d\delta\sigma_d, \sigma_d^2)`, which
is how it is generated: the trainee's month before training carries this slump. (Drawing
it this way, rather than sending people after their realized shock, leaves no
mirror-image "good month" in the never-trained, whose shocks stay N(0, σ²).) Because the
shocks are i.i.d., the dip exists at event time -1 only: a comparison anchored on month
:math:`g-1` (``anticipation=0``) credits training with the rebound; anchored on
:math:`g-2` (``anticipation=1``) with the never-trained of the same region (market) and
tenure band as controls it is unbiased (``tests/test_sample.py`` checks this on a large
generated set).

**Training effect** (``heterogeneous_effects``, ``exam_signal``):

.. math::

    \tau_{it} = s_d\,\text{peak}_p\,c_{g}\,h(t - g_i)\,\lambda_i\,k_i, \qquad t \ge g_i

with :math:`h(e) = \min(1, (e+1)/3)\,e^{-\max(0, e-3)/12}` (grows for three months,
then fades), :math:`c_g = 1.3 - 0.6\,(g - g_{\min})/(g_{\max} - g_{\min})` (early cohorts
gain more; :math:`g_{\min}, g_{\max}` the first and last roll-out months), both 1 without
``heterogeneous_effects``; :math:`\lambda_i = \max(0, 1 + 0.5 x_i)` the person's
learning, :math:`x_i \sim N(0,1)`; :math:`k_i = 0.2` for drop-outs, else 1 (intention to
treat: a drop-out is still in the cohort). Peaks: consultative selling +6,000 CNY of
monthly sales, service excellence +30 tickets a month, the compliance refresher 0 (a
true zero effect: a placebo). The learn / practice / exam records measure :math:`x_i`:
exam score :math:`= 70 + 12 x_i + N(0, 5^2)` (one retake +N(5, 4²) when below 60),
``exam_passed`` = score ≥ 60; completion, minutes, interruptions, practice attempts,
first-pass, error rate and drop-out all move with :math:`x_i`; the reaction score (L1)
only weakly. Without ``exam_signal`` the effect uses an independent draw instead of
:math:`x_i`, so the exam no longer predicts it.

**Money and plans.** ``costs`` (Phillips categories, per program and year) follow the
trainees of the year: per-head delivery, materials and travel, per-session facilitator
and facilities, participant time at the department's loaded hourly wage, fixed needs
assessment, design and evaluation, 10% overhead. ``headcount_plan`` (per department,
next year), ``budget_priorities`` and quarterly ``scorecard_inputs`` (training-company
figures from the balanced-scorecard library: revenue, NPS, renewals ...) complete it.

Truth
-----
For each program, ATT(g, t) is the mean true effect :math:`\tau_{it}` of cohort-g trainees
with a KPI row in month t; ``overall_att`` averages every post-training cell
(:math:`g \le t \le T`, at least one trainee observed) weighted by the cohort size
(the number of cohort-g trainees) — Callaway and Sant'Anna's simple aggregation of the
truth, the estimand the kit reports. ``att_event_time`` weights cohorts by size at each
event time, ``att_cohort`` averages a cohort's post months equally. ``att_exam_band``
and ``att_exam_passed`` apply the simple aggregation to the trainees of each band of
their first enrollment's exam score. ``gaps`` holds the true competency gaps.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.contract import COST_CATEGORIES, TABLES

__all__ = ["SampleConfig", "SampleData", "generate", "true_roi", "write_sample", "sample_readme", "cli"]


@dataclass(frozen=True)
class SampleConfig:
    """Settings of the sample generator; every confound has its own switch.

    Parameters
    ----------
    n_employees : int
        Rows of the employees table: everybody employed at some point of the panel
        (staff and team leads). At least 100.
    n_months : int
        Panel length in months (at least 12).
    seed : int
        Seed of the random generator; same seed, same data.
    start_month : str
        First panel month (YYYY-MM-01).
    mean_reversion : bool
        Trainees are sent right after a bad month (a slump at event time -1).
    market_shocks : bool
        Regions get a market upswing around their training roll-out.
    staggered : bool
        Training starts spread over many months (off: one month for everybody).
    heterogeneous_effects : bool
        Effects differ by cohort and grow, then fade (off: constant over both).
    churn : bool
        Hires and exits inside the panel (off: a balanced panel).
    exam_signal : bool
        The exam score measures the learning that scales the on-the-job effect.
    competency_gaps : bool
        Competency gaps lower the KPI level.
    low_performer_selection : bool
        Low performers (permanent level) are sent to training sooner and more often.
    effect_scale : float
        Multiplies every true effect (0 = no program works).
    noise_scale : float
        Multiplies the transitory KPI noise.
    n_cohorts : int, optional
        Training only in this many months, evenly spaced over the roll-out period
        (months 4 and 18 of 24 for two), every region at once, with the same total
        probability of being sent as the regional roll-out; ``None`` (default) = the
        regional roll-out above. For Monte Carlo studies of companies that run a
        program a few times only (``benchmarks/montecarlo.py --cohorts``).
    """

    n_employees: int = 2000
    n_months: int = 24
    seed: int = 7
    start_month: str = "2024-01-01"
    mean_reversion: bool = True
    market_shocks: bool = True
    staggered: bool = True
    heterogeneous_effects: bool = True
    churn: bool = True
    exam_signal: bool = True
    competency_gaps: bool = True
    low_performer_selection: bool = True
    effect_scale: float = 1.0
    noise_scale: float = 1.0
    n_cohorts: int | None = None


@dataclass
class SampleData:
    """Generated contract tables, their ground truth and the latent variables behind them.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Contract table name -> frame (dates as Timestamps, booleans as bool).
    ground_truth : dict
        JSON-ready truth (what ``ground_truth.json`` holds).
    latent : dict of str to ndarray
        Per-staff latent arrays (``employee_id``, ``alpha``, ``z``, ``cohort``, ``learning``,
        ``tau`` (staff x month), ``observed`` ...) for tests and Monte Carlo studies.
    """

    tables: dict[str, pd.DataFrame]
    ground_truth: dict[str, Any]
    latent: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- #
# The fictional company
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class _Dept:
    name: str
    share: float
    role: str
    kpi: str
    program: str
    mu: float  # experienced KPI level
    kappa: float  # KPI units lost per point of weighted competency gap
    sigma_u: float  # person-level sd beyond the gap
    sigma_team: float  # team (manager) level sd
    sigma_eps: float  # transitory monthly noise sd
    beta_market: float  # KPI units per market-index point
    tenure_gap: float  # how far below the experienced level a new hire starts
    season: float  # scale of the seasonal profile
    season_lag: int  # months the seasonal profile lags sales
    peak: float  # peak effect of the department's program (KPI units per month)
    decimals: int  # KPI rounding
    floor: float  # lowest possible KPI value
    hourly_wage: float  # loaded hourly cost of an hour of training time (CNY)


DEPARTMENTS: tuple[_Dept, ...] = (
    _Dept("Sales", 0.45, "Account Manager", "sales", "P01", 100_000.0, 40_000.0, 14_000.0, 4_000.0, 9_000.0,
          500.0, 20_000.0, 100_000.0, 0, 6_000.0, 2, 0.0, 95.0),
    _Dept("Customer Service", 0.30, "Service Agent", "tickets_resolved", "P02", 420.0, 90.0, 35.0, 10.0, 28.0,
          2.0, 90.0, 250.0, 1, 30.0, 0, 0.0, 60.0),
    _Dept("Operations", 0.25, "Operations Specialist", "error_rate", "P03", 2.8, 1.2, 0.45, 0.12, 0.35,
          0.02, 1.0, 1.4, 0, 0.0, 2, 0.1, 70.0),
)
#: kpi -> unit, higher_is_better, value_per_unit (CNY per unit per month), monthly target.
KPIS: dict[str, tuple[str, bool, float, float]] = {
    "sales": ("CNY", True, 0.25, 110_000.0),
    "tickets_resolved": ("tickets", True, 18.0, 450.0),
    "error_rate": ("errors per 100 orders", False, 1_600.0, 2.5),
}
#: program -> name, category, target competency, kpi, duration hours, benefit months.
PROGRAMS: dict[str, tuple[str, str, str, str, float, int]] = {
    "P01": ("Consultative selling", "sales", "needs_discovery", "sales", 16.0, 12),
    "P02": ("Service excellence", "service", "problem_solving", "tickets_resolved", 12.0, 12),
    "P03": ("Compliance refresher", "compliance", "process_compliance", "error_rate", 6.0, 12),
}
#: role -> (competency, required level, weight, mean gap).
COMPETENCIES: dict[str, tuple[tuple[str, float, float, float], ...]] = {
    "Account Manager": (("needs_discovery", 4.0, 0.40, 0.8), ("negotiation", 3.5, 0.35, 0.5), ("product_knowledge", 3.5, 0.25, 0.3)),
    "Service Agent": (("problem_solving", 4.0, 0.40, 0.7), ("empathy", 3.5, 0.30, 0.4), ("product_knowledge", 3.5, 0.30, 0.3)),
    "Operations Specialist": (("process_compliance", 4.0, 0.45, 0.6), ("attention_to_detail", 3.5, 0.35, 0.4), ("systems", 3.0, 0.20, 0.3)),
    "Team Lead": (("coaching", 4.0, 0.50, 0.6), ("planning", 3.5, 0.30, 0.4), ("performance_dialogue", 3.5, 0.20, 0.5)),
}
#: Regions in roll-out order (earliest first), their staff shares and market upswings.
REGIONS: tuple[str, ...] = ("East", "West", "Central", "South", "North")
REGION_SHARES: tuple[float, ...] = (0.22, 0.15, 0.15, 0.22, 0.26)
MARKET_UPSWING: tuple[float, ...] = (10.0, 8.0, 6.0, 4.0, 2.0)
#: Seasonal profile of sales by calendar month (share of the level): Spring Festival, 618, Double 11.
SEASON = np.array([-0.03, -0.12, 0.0, 0.0, 0.02, 0.06, -0.01, -0.02, 0.0, 0.01, 0.10, 0.05])
SEASON = SEASON - SEASON.mean()

TEAM_SIZE = 10
HIRE_SHARE = 0.15
EXIT_RATE = 0.011
TOTAL_HAZARD = 1.8
DIP = 1.0
EXAM_PASS = 60.0
REVIEW_GAIN = 0.6
DROPOUT_EFFECT = 0.2
TENURE_SCALE = 6.0
EXAM_BANDS: tuple[tuple[str, float, float], ...] = (("<60", -np.inf, 60.0), ("60-80", 60.0, 80.0), (">=80", 80.0, np.inf))
NO_EXAM = "no exam result"

_STREAMS = ("workforce", "competency", "market", "noise", "assign", "learning", "enroll", "assess", "money")


def _months(config: SampleConfig) -> pd.DatetimeIndex:
    return pd.date_range(config.start_month, periods=config.n_months, freq="MS")


def effect_shape(event_time: np.ndarray, heterogeneous: bool = True) -> np.ndarray:
    """Time profile :math:`h(e)` of the effect (0 before training).

    Parameters
    ----------
    event_time : ndarray
        Months since the first training month.
    heterogeneous : bool
        Grow-then-fade profile; otherwise 1 from month 0 on.

    Returns
    -------
    ndarray
        :math:`h(e)`, same shape as ``event_time``.
    """
    e = np.asarray(event_time, dtype=float)
    if not heterogeneous:
        return (e >= 0).astype(float)
    return np.where(e >= 0, np.minimum(1.0, (e + 1) / 3) * np.exp(-np.maximum(0.0, e - 3) / 12), 0.0)


def rollout_schedule(n_months: int, staggered: bool = True) -> tuple[np.ndarray, int]:
    """First open month of each region (roll-out order of :data:`REGIONS`) and window length.

    Parameters
    ----------
    n_months : int
        Panel length.
    staggered : bool
        Region by region over months; otherwise one month for everybody.

    Returns
    -------
    (ndarray, int)
        Open month (period) per region and the number of open months per region.
    """
    if not staggered:
        return np.full(len(REGIONS), int(round(n_months / 2))), 1
    first, last = max(3, int(round(n_months / 6))), n_months - 6
    window = max(1, min(int(round(0.3 * n_months)), last - first + 1))
    span = last - window + 1 - first
    opens = first + np.rint(np.arange(len(REGIONS)) * span / (len(REGIONS) - 1)).astype(int)
    return opens, window


def _few_cohort_months(opens: np.ndarray, window: int, n_cohorts: int | None) -> set[int] | None:
    """The training months of ``SampleConfig.n_cohorts`` (``None`` = regional roll-out)."""
    if n_cohorts is None:
        return None
    if int(n_cohorts) < 1:
        raise ValueError(f"n_cohorts must be at least 1, got {n_cohorts}")
    lo, hi = int(opens.min()), int(opens.max() + window - 1)
    return {int(v) for v in np.rint(np.linspace(lo, hi, int(n_cohorts)))}


def _allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` teams over groups: at least one per non-empty group, the rest by size."""
    k = (counts > 0).astype(int)
    spare = total - int(k.sum())
    if spare > 0 and counts.sum() > 0:
        quota = counts / counts.sum() * total - k
        quota = np.maximum(quota, 0)
        base = np.floor(quota / quota.sum() * spare).astype(int) if quota.sum() > 0 else np.zeros_like(k)
        k += base
        rest = spare - int(base.sum())
        order = np.argsort(-(quota / max(quota.sum(), 1e-12) * spare - base), kind="stable")
        k[order[:rest]] += 1
    return k


# --------------------------------------------------------------------------- #
# Generator
# --------------------------------------------------------------------------- #
def generate(config: SampleConfig = SampleConfig()) -> SampleData:
    """Generate every contract table and the ground truth.

    Parameters
    ----------
    config : SampleConfig
        Size, seed and confound switches.

    Returns
    -------
    SampleData
        ``tables`` (contract name -> DataFrame), ``ground_truth`` (JSON-ready dict) and
        ``latent`` (the latent variables, for tests).

    Raises
    ------
    ValueError
        Fewer than 100 employees or 12 months.
    """
    if config.n_employees < 100:
        raise ValueError(f"n_employees must be at least 100, got {config.n_employees}")
    if config.n_months < 12:
        raise ValueError(f"n_months must be at least 12, got {config.n_months}")
    streams = dict(zip(_STREAMS, (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(len(_STREAMS)))))
    months = _months(config)
    T = config.n_months
    periods = np.arange(1, T + 1)
    start = months[0]
    n_regions = len(REGIONS)

    # ---- workforce: departments, regions, teams ------------------------------------------
    rw = streams["workforce"]
    n_groups = len(DEPARTMENTS) * n_regions
    n_leads = max(n_groups, int(round(config.n_employees / (TEAM_SIZE + 1))))
    n = config.n_employees - n_leads
    dept = rw.choice(len(DEPARTMENTS), size=n, p=[d.share for d in DEPARTMENTS])
    region = rw.choice(n_regions, size=n, p=REGION_SHARES)
    group = dept * n_regions + region
    teams_per_group = _allocate(np.bincount(group, minlength=n_groups), n_leads)
    team_offset = np.concatenate([[0], np.cumsum(teams_per_group)[:-1]])
    order = np.lexsort((rw.random(n), group))
    rank = np.empty(n, dtype=int)
    group_sizes = np.bincount(group, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(group_sizes)[:-1]])
    rank[order] = np.arange(n) - starts[group[order]]
    team = team_offset[group] + (rank * teams_per_group[group]) // np.maximum(group_sizes[group], 1)
    n_teams = int(teams_per_group.sum())
    lead_group = np.repeat(np.arange(n_groups), teams_per_group)

    stock_days = 30 + np.minimum(rw.exponential(1_000.0, size=n), 12 * 365)
    inside = rw.random(n) < HIRE_SHARE
    inside_period = rw.integers(2, T, size=n)  # 2 .. T-1
    hire_day = rw.integers(0, 28, size=n)
    exit_draw = rw.random(n)
    exit_day = rw.integers(0, 28, size=n)
    grade_u = rw.random(n)
    lead_days = rw.integers(3 * 365, 12 * 365, size=n_teams)
    id_perm = rw.permutation(n + n_teams)

    # ---- competencies and person level ---------------------------------------------------
    rc = streams["competency"]
    n_comp = 3
    req = np.zeros((len(DEPARTMENTS), n_comp))
    wts = np.zeros_like(req)
    mgap = np.zeros_like(req)
    for k, d in enumerate(DEPARTMENTS):
        for j, (_c, r_, w_, g_) in enumerate(COMPETENCIES[d.role]):
            req[k, j], wts[k, j], mgap[k, j] = r_, w_, g_
    level = np.clip(req[dept] - rc.normal(mgap[dept], 0.6), 1.0, 5.0)
    gap = np.maximum(0.0, req[dept] - level)
    G = (wts[dept] * gap).sum(axis=1)
    u = rc.normal(size=n)
    v = rc.normal(size=n_teams)
    lead_level = np.clip(np.array([[c[1] for c in COMPETENCIES["Team Lead"]]]) - rc.normal(np.array([c[3] for c in COMPETENCIES["Team Lead"]]), 0.6, size=(n_teams, 3)), 1.0, 5.0)

    par = {name: np.array([getattr(d, name) for d in DEPARTMENTS])[dept] for name in _Dept.__dataclass_fields__ if name not in ("name", "role", "kpi", "program")}
    sign = np.where(np.array([KPIS[d.kpi][1] for d in DEPARTMENTS]), 1.0, -1.0)[dept]
    G_bar = np.array([G[dept == k].mean() if (dept == k).any() else 0.0 for k in range(len(DEPARTMENTS))])[dept]
    kappa = par["kappa"] if config.competency_gaps else np.zeros(n)
    dev = -kappa * (G - G_bar) + par["sigma_u"] * u + par["sigma_team"] * v[team]
    alpha = par["mu"] + sign * dev
    sd_dev = np.array([dev[dept == k].std() if (dept == k).sum() > 1 else 1.0 for k in range(len(DEPARTMENTS))])[dept]
    z = dev / sd_dev  # standardized performance: low = poor performer

    # ---- hires and exits ------------------------------------------------------------------
    if not config.churn:
        inside = np.zeros(n, dtype=bool)
    first = np.where(inside, inside_period, 1)
    hire_date = np.where(
        inside,
        months[np.clip(first - 1, 0, T - 1)].values + hire_day.astype("timedelta64[D]"),
        start.to_datetime64() - np.rint(stock_days).astype("timedelta64[D]"),
    ).astype("datetime64[ns]")
    q = EXIT_RATE * np.exp(-0.3 * z)
    stay = np.floor(np.log1p(-exit_draw) / np.log1p(-q)).astype(int) + 1  # geometric, >= 1
    last = first + stay
    if not config.churn:
        last = np.full(n, T + 1)
    leaves = last <= T
    last = np.minimum(last, T)
    observed = (periods[None, :] >= first[:, None]) & (periods[None, :] <= last[:, None])

    # ---- market index -----------------------------------------------------------------------
    rm = streams["market"]
    opens, window = rollout_schedule(T, config.staggered)
    ar = np.zeros((n_regions, T))
    shocks = rm.normal(0, 0.8, size=(n_regions, T))
    ar[:, 0] = shocks[:, 0] / math.sqrt(1 - 0.6**2)
    for t in range(1, T):
        ar[:, t] = 0.6 * ar[:, t - 1] + shocks[:, t]
    market = 100 + 1.5 * np.sin(2 * np.pi * periods / 30)[None, :] + ar
    if config.market_shocks:
        centre = opens + (window - 1) / 2 if window > 1 else opens.astype(float)
        market = market + np.array(MARKET_UPSWING)[:, None] / (1 + np.exp(-(periods[None, :] - centre[:, None]) / 1.5))
    market = np.round(market, 2)

    # ---- who is trained, and when ------------------------------------------------------------
    ra = streams["assign"]
    tilt = np.exp(-z) if config.low_performer_selection else np.ones(n)
    tilt = tilt / tilt.mean()
    open_month = np.zeros((n_regions, T + 1), dtype=bool)
    for r in range(n_regions):
        open_month[r, opens[r] : opens[r] + window] = True
    cohort = np.zeros(n, dtype=int)
    ramp = 1 + np.arange(window) / max(window - 1, 1)  # later months of a window send more (catch-up)
    ramp = ramp / ramp.sum()
    few = _few_cohort_months(opens, window, config.n_cohorts)
    for s in range(1, T + 1):
        draw = ra.random(n)
        if few is not None:  # a few company-wide training months (the draws above are taken either way)
            at_risk = (s in few) & (cohort == 0) & (first <= s - 2) & (last > s)
            p_send = 1 - np.exp(-TOTAL_HAZARD / len(few) * tilt)
            cohort[at_risk & (draw < p_send)] = s
            continue
        j = s - opens[region]
        at_risk = open_month[region, s] & (cohort == 0) & (first <= s - 2) & (last > s)
        p_send = 1 - np.exp(-TOTAL_HAZARD * ramp[np.clip(j, 0, window - 1)] * tilt)
        cohort[at_risk & (draw < p_send)] = s
    trained = cohort > 0

    # ---- learning, exam, effects ---------------------------------------------------------------
    rl = streams["learning"]
    x = rl.normal(size=n)
    x_other = rl.normal(size=n)
    drop_u = rl.random(n)
    exam1 = 70 + 12 * x + rl.normal(0, 5, size=n)
    retake = exam1 + rl.normal(5, 4, size=n)
    learning = np.maximum(0.0, 1 + 0.5 * (x if config.exam_signal else x_other))
    dropped = trained & (drop_u < 1 / (1 + np.exp(2.6 + 0.8 * x)))
    gmin, gmax = int(opens.min()), int(opens.max() + window - 1)
    if config.heterogeneous_effects and gmax > gmin:
        cohort_mult = 1.3 - 0.6 * (cohort - gmin) / (gmax - gmin)
    else:
        cohort_mult = np.ones(n)
    peak = par["peak"] * config.effect_scale
    person_effect = np.where(trained, sign * peak * cohort_mult * learning * np.where(dropped, DROPOUT_EFFECT, 1.0), 0.0)
    event = periods[None, :] - cohort[:, None]
    tau = np.where(trained[:, None], person_effect[:, None] * effect_shape(event, config.heterogeneous_effects), 0.0)

    # ---- KPI values ------------------------------------------------------------------------------
    rn = streams["noise"]
    eps = rn.normal(size=(n, T)) * (par["sigma_eps"] * config.noise_scale)[:, None]
    dip = np.zeros(n)
    if config.mean_reversion:
        dip = np.where(trained, -sign * DIP * par["sigma_eps"] * config.noise_scale, 0.0)
        rows = np.nonzero(trained)[0]
        eps[rows, cohort[rows] - 2] += dip[rows]
    moy = (months.month.values - 1)[None, :]
    season = par["season"][:, None] * SEASON[(moy - par["season_lag"][:, None].astype(int)) % 12]
    tenure_m = (months.values[None, :] - hire_date[:, None]) / np.timedelta64(1, "D") / (365.25 / 12)
    y = (
        alpha[:, None]
        + season
        + par["beta_market"][:, None] * (market[region] - 100)
        - (sign * par["tenure_gap"])[:, None] * np.exp(-np.maximum(tenure_m, 0.0) / TENURE_SCALE)
        + eps
        + tau
    )
    y = np.maximum(y, par["floor"][:, None])

    # ---- enrollments (a leaver's exit date falls after the last training day) -------------------
    ids = np.array([f"E{k + 1:05d}" for k in id_perm])
    staff_ids, lead_ids = ids[:n], ids[n:]
    exit_date = np.where(leaves, months[last - 1].values + exit_day.astype("timedelta64[D]"), np.datetime64("NaT")).astype("datetime64[ns]")
    enrollments, exit_date, first_exam = _enrollments(streams["enroll"], months, staff_ids, dept, cohort, trained, dropped, x, exam1, retake,
                                                      exit_date)

    # ---- employees table -------------------------------------------------------------------------
    tenure_start = np.maximum((start.to_datetime64() - hire_date) / np.timedelta64(1, "D"), 0) / 365.25
    grade_cut = np.where(tenure_start < 2, 0.8, np.where(tenure_start < 5, 0.35, 0.1))
    grade_cut2 = np.where(tenure_start < 2, 1.0, np.where(tenure_start < 5, 0.85, 0.6))
    grade = np.where(grade_u < grade_cut, "G1", np.where(grade_u < grade_cut2, "G2", "G3"))
    dept_names = np.array([d.name for d in DEPARTMENTS])
    role_names = np.array([d.role for d in DEPARTMENTS])
    region_names = np.array(REGIONS)
    employees = pd.concat(
        [
            pd.DataFrame({
                "employee_id": staff_ids, "department": dept_names[dept], "role": role_names[dept],
                "region": region_names[region], "hire_date": hire_date, "exit_date": exit_date,
                "grade": grade, "manager_id": lead_ids[team],
            }),
            pd.DataFrame({
                "employee_id": lead_ids, "department": dept_names[lead_group // n_regions], "role": "Team Lead",
                "region": region_names[lead_group % n_regions],
                "hire_date": (start.to_datetime64() - lead_days.astype("timedelta64[D]")).astype("datetime64[ns]"),
                "exit_date": np.full(n_teams, np.datetime64("NaT"), dtype="datetime64[ns]"), "grade": "G4",
                "manager_id": pd.array([pd.NA] * n_teams, dtype="string"),
            }),
        ],
        ignore_index=True,
    )
    employees["manager_id"] = employees["manager_id"].astype("string")
    employees = employees.sort_values("employee_id", ignore_index=True)

    # ---- KPI table -------------------------------------------------------------------------------
    ii, tt = np.nonzero(observed)
    values = y[ii, tt]
    dec = par["decimals"][ii].astype(int)
    values = np.where(dec == 0, np.round(values), np.round(values, 2))
    kpi_names = np.array([d.kpi for d in DEPARTMENTS])
    kpi_monthly = pd.DataFrame({"employee_id": staff_ids[ii], "month": months[tt], "kpi": kpi_names[dept[ii]], "value": values})
    kpi_monthly = kpi_monthly.sort_values(["employee_id", "month"], ignore_index=True)

    # ---- assessments -----------------------------------------------------------------------------
    gain = np.where(trained, REVIEW_GAIN * learning * np.where(dropped, DROPOUT_EFFECT, 1.0), 0.0)
    assessments = _assessments(streams["assess"], config, months, staff_ids, lead_ids, dept, lead_group // n_regions, first, last,
                               hire_date, level, lead_level, cohort, gain)

    # ---- money, plans, context ---------------------------------------------------------------------
    rmoney = streams["money"]
    tables: dict[str, pd.DataFrame] = {
        "employees": employees,
        "kpi_definitions": pd.DataFrame(
            [(k, unit, hib, vpu, target) for k, (unit, hib, vpu, target) in KPIS.items()],
            columns=["kpi", "unit", "higher_is_better", "value_per_unit", "target"],
        ),
        "programs": pd.DataFrame(
            [(p, nm, cat, comp, k, h, b) for p, (nm, cat, comp, k, h, b) in PROGRAMS.items()],
            columns=["program_id", "name", "category", "target_competency", "kpi", "duration_hours", "benefit_months"],
        ),
        "enrollments": enrollments,
        "kpi_monthly": kpi_monthly,
        "assessments": assessments,
        "role_requirements": pd.DataFrame(
            [(role, c, r_, w_) for role, comps in COMPETENCIES.items() for c, r_, w_, _g in comps],
            columns=["role", "competency", "required_level", "weight"],
        ),
        "costs": _costs(rmoney, enrollments),
        "headcount_plan": _headcount_plan(rmoney, employees, months),
        "budget_priorities": pd.DataFrame(
            [("P01", 0.5, 0.35, 0.15), ("P02", 0.3, 0.4, 0.3), ("P03", 0.2, 0.25, 0.55)],
            columns=["program_id", "strategic_weight", "business_weight", "employee_weight"],
        ),
        "context_monthly": pd.DataFrame(
            {"region": np.repeat(region_names, T), "month": np.tile(months, n_regions), "market_index": market.ravel()}
        ).sort_values(["region", "month"], ignore_index=True),
        "scorecard_inputs": _scorecard_inputs(rmoney, months),
    }
    # follow-ups draw from their own stream, so every other table stays value for value the same
    rfollow = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(FOLLOWUP_STREAM,)))
    tables["followups"], followup_truth = _followups(rfollow, months, enrollments, staff_ids, x, exit_date)
    tables = {name: tables[name] for name in TABLES}

    latent = {
        "employee_id": staff_ids, "department": dept_names[dept], "region": region_names[region], "alpha": alpha, "z": z,
        "gap": G, "first_period": first, "last_period": last, "cohort": cohort, "dropped": dropped, "learning": learning,
        "exam_first_attempt": exam1, "exam_score": first_exam, "dip": dip, "eps": eps, "tau": tau, "observed": observed, "market": market,
        "region_open_period": dict(zip(REGIONS, opens.tolist())), "window": window,
    }
    truth = _ground_truth(config, latent, level, dept)
    truth["gaps"].update(gap_analysis_truth(config, tables, latent, level, dept, gain))
    truth["roi"] = true_roi(truth, tables)
    truth["scorecard"] = _scorecard_truth(tables["enrollments"], followup_truth, truth["programs"])
    return SampleData(tables=tables, ground_truth=truth, latent=latent)


def _enrollments(rng: np.random.Generator, months: pd.DatetimeIndex, staff_ids: np.ndarray, dept: np.ndarray, cohort: np.ndarray,
                 trained: np.ndarray, dropped: np.ndarray, x: np.ndarray, exam1: np.ndarray, retake: np.ndarray,
                 exit_date: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One row per program run (the first run of every trainee, a second run for half of those who failed).

    Returns the enrollments, the exit dates (moved past the last training day of a trainee who
    leaves in the month after training, still inside that month) and each staff member's exam
    score of the first run (NaN: never trained or no exam result).
    """
    panel_end = (months[-1] + pd.offsets.MonthEnd(0)).to_datetime64()
    ti = np.nonzero(trained)[0]
    m = len(ti)
    xi = x[ti]
    prog = np.array([d.program for d in DEPARTMENTS])[dept[ti]]
    hours = np.array([PROGRAMS[p][4] for p in prog])
    start = months[cohort[ti] - 1].values + rng.integers(0, 20, size=m).astype("timedelta64[D]")
    end = start + rng.integers(7, 29, size=m).astype("timedelta64[D]")
    drop = dropped[ti]
    in_progress = ~drop & (end > panel_end)
    took = ~drop & ~in_progress
    s1 = np.clip(np.round(exam1[ti], 1), 0, 100)
    s2 = np.clip(np.round(retake[ti], 1), 0, 100)
    second = took & (s1 < EXAM_PASS)
    score = np.where(second, np.maximum(s1, s2), s1)
    passed = score >= EXAM_PASS
    status = np.where(drop, "dropped", np.where(in_progress, "in_progress", np.where(passed, "completed", "failed")))
    completion = np.where(drop, rng.uniform(0.1, 0.6, m), np.clip(0.88 + 0.06 * xi + rng.normal(0, 0.04, m), 0.3, 1.0))
    minutes = np.maximum(10.0, hours * 60 * (0.6 + 0.1 * xi + rng.normal(0, 0.1, m))) * np.where(drop, completion, 1.0)
    interruptions = rng.poisson(np.exp(0.9 - 0.35 * xi))
    attempts = 1 + rng.poisson(np.exp(0.2 - 0.5 * xi))
    first_pass = (xi + rng.normal(0, 0.8, m)) > -0.3
    err = np.clip(0.15 - 0.05 * xi + rng.normal(0, 0.03, m), 0.0, 1.0)
    reaction = np.clip(np.round(4.1 + 0.25 * xi + rng.normal(0, 0.4, m), 1), 1.0, 5.0)
    rerun_u = rng.random(m)
    rerun_gap = rng.integers(55, 80, size=m).astype("timedelta64[D]")
    rerun_score = np.clip(np.round(score + rng.normal(8, 5, m), 1), 0, 100)
    rerun_len = rng.integers(7, 22, size=m).astype("timedelta64[D]")
    rerun_minutes = minutes * rng.uniform(0.4, 0.7, m)
    first_rows = pd.DataFrame({
        "employee_id": staff_ids[ti], "program_id": prog, "status": status, "start_date": start,
        "end_date": np.where(in_progress, np.datetime64("NaT"), end).astype("datetime64[ns]"),
        "learn_completion": np.round(completion, 3),
        "learn_minutes": np.round(minutes),
        "learn_interruptions": interruptions,
        "practice_attempts": np.where(drop, 0, attempts),
        "practice_first_pass": pd.array(np.where(drop, pd.NA, first_pass), dtype="boolean"),
        "practice_error_rate": np.where(drop, np.nan, np.round(err, 3)),
        "exam_score": np.where(took, score, np.nan),
        "exam_attempts": np.where(took, 1 + second.astype(int), 0),
        "exam_passed": pd.array(np.where(took, passed, pd.NA), dtype="boolean"),
        "reaction_score": np.where(drop, np.nan, reaction),
    })
    # half of those who failed take the program again two to three months later
    again = (status == "failed") & (rerun_u < 0.5)
    r_start = start + rerun_gap
    r_end = r_start + rerun_len
    leave = exit_date[ti]
    again &= (r_start <= panel_end) & (np.isnat(leave) | (r_end < leave))
    r_prog = r_end > panel_end
    r_pass = rerun_score >= EXAM_PASS
    k = again
    reruns = pd.DataFrame({
        "employee_id": staff_ids[ti][k], "program_id": prog[k],
        "status": np.where(r_prog[k], "in_progress", np.where(r_pass[k], "completed", "failed")),
        "start_date": r_start[k], "end_date": np.where(r_prog[k], np.datetime64("NaT"), r_end[k]).astype("datetime64[ns]"),
        "learn_completion": np.round(np.minimum(1.0, completion[k] + 0.05), 3),
        "learn_minutes": np.round(rerun_minutes[k]),
        "learn_interruptions": np.maximum(0, interruptions[k] - 1),
        "practice_attempts": attempts[k],
        "practice_first_pass": pd.array(first_pass[k], dtype="boolean"),
        "practice_error_rate": np.round(np.clip(err[k] - 0.03, 0, 1), 3),
        "exam_score": np.where(r_prog[k], np.nan, rerun_score[k]),
        "exam_attempts": np.where(r_prog[k], 0, 1),
        "exam_passed": pd.array(np.where(r_prog[k], pd.NA, r_pass[k]), dtype="boolean"),
        "reaction_score": reaction[k],
    })
    out = pd.concat([first_rows, reruns], ignore_index=True)
    for col in ("learn_interruptions", "practice_attempts", "exam_attempts"):
        out[col] = out[col].astype("int64")
    exit_date = exit_date.copy()
    late = ~np.isnat(leave) & (end >= leave)
    exit_date[ti[late]] = end[late] + np.timedelta64(1, "D")
    first_exam = np.full(len(staff_ids), np.nan)
    first_exam[ti] = np.where(took, score, np.nan)
    return out.sort_values(["employee_id", "program_id", "start_date"], ignore_index=True), exit_date, first_exam


def _assessments(rng: np.random.Generator, config: SampleConfig, months: pd.DatetimeIndex, staff_ids: np.ndarray,
                 lead_ids: np.ndarray, dept: np.ndarray, lead_dept: np.ndarray, first: np.ndarray, last: np.ndarray,
                 hire_date: np.ndarray, level: np.ndarray, lead_level: np.ndarray, cohort: np.ndarray,
                 gain: np.ndarray) -> pd.DataFrame:
    """Competency assessments: a baseline for everybody, an annual review for staff employed then."""
    T = config.n_months
    start = months[0].to_datetime64()
    n, n_comp = level.shape
    comp_names = np.array([[c[0] for c in COMPETENCIES[d.role]] for d in DEPARTMENTS])
    target_idx = np.array([[c[0] for c in COMPETENCIES[d.role]].index(PROGRAMS[d.program][2]) for d in DEPARTMENTS])
    sources = np.array(["test", "manager", "self"])
    # baseline: before the panel for staff present at the start, about a month after hire otherwise
    base_day = np.where(first == 1, start - rng.integers(1, 60, size=n).astype("timedelta64[D]"),
                        hire_date.astype("datetime64[D]") + rng.integers(25, 40, size=n).astype("timedelta64[D]"))
    src = rng.choice(3, size=(n, n_comp), p=[0.4, 0.4, 0.2])
    noise = rng.normal(0, 0.3, size=(n, n_comp)) + np.where(src == 2, 0.3, 0.0)
    score = np.clip(np.round(level + noise, 1), 1.0, 5.0)
    panel_end = (months[-1] + pd.offsets.MonthEnd(0)).to_datetime64()
    keep = np.repeat(base_day.astype("datetime64[ns]") <= panel_end, n_comp)
    frames = [pd.DataFrame({
        "employee_id": np.repeat(staff_ids, n_comp)[keep], "competency": comp_names[dept].ravel()[keep],
        "assessed_on": np.repeat(base_day.astype("datetime64[ns]"), n_comp)[keep], "score": score.ravel()[keep],
        "source": sources[src].ravel()[keep],
    })]
    # annual review in month ceil(T/2)+1: target competency raised by training before it
    review = int(math.ceil(T / 2)) + 1
    review_day = months[review - 1].to_datetime64() + rng.integers(0, 20, size=n).astype("timedelta64[D]")
    src2 = rng.choice(2, size=(n, n_comp), p=[0.5, 0.5])
    lvl2 = level.copy()
    lvl2[np.arange(n), target_idx[dept]] += np.where((cohort > 0) & (cohort < review), gain, 0.0)
    score2 = np.clip(np.round(np.minimum(lvl2, 5.0) + rng.normal(0, 0.3, size=(n, n_comp)), 1), 1.0, 5.0)
    present = (first <= review - 2) & (last >= review) & (base_day < months[review - 1].to_datetime64())
    keep2 = np.repeat(present, n_comp)
    frames.append(pd.DataFrame({
        "employee_id": np.repeat(staff_ids, n_comp)[keep2], "competency": comp_names[dept].ravel()[keep2],
        "assessed_on": np.repeat(review_day.astype("datetime64[ns]"), n_comp)[keep2], "score": score2.ravel()[keep2],
        "source": sources[src2].ravel()[keep2],
    }))
    lead_comps = np.array([c[0] for c in COMPETENCIES["Team Lead"]])
    m = len(lead_ids)
    lsrc = rng.choice(3, size=(m, 3), p=[0.2, 0.5, 0.3])
    lscore = np.clip(np.round(lead_level + rng.normal(0, 0.3, size=(m, 3)) + np.where(lsrc == 2, 0.3, 0.0), 1), 1.0, 5.0)
    lday = start - rng.integers(1, 60, size=m).astype("timedelta64[D]")
    frames.append(pd.DataFrame({
        "employee_id": np.repeat(lead_ids, 3), "competency": np.tile(lead_comps, m),
        "assessed_on": np.repeat(lday.astype("datetime64[ns]"), 3), "score": lscore.ravel(),
        "source": np.array(["test", "manager", "self"])[lsrc].ravel(),
    }))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["employee_id", "assessed_on", "competency"], ignore_index=True)


def _costs(rng: np.random.Generator, enrollments: pd.DataFrame) -> pd.DataFrame:
    """Fully loaded costs by Phillips category, per program and calendar year of the runs."""
    wage = {d.program: d.hourly_wage for d in DEPARTMENTS}
    runs = enrollments.assign(year=enrollments["start_date"].dt.year).groupby(["program_id", "year"]).size()
    first_year = {p: runs.loc[p].index.min() for p in runs.index.get_level_values("program_id").unique()}
    rows = []
    for (program_id, year), n in runs.items():
        hours = PROGRAMS[program_id][4]
        days = hours / 8
        sessions = math.ceil(n / 20)
        launch = year == first_year[program_id]
        amounts = {
            "needs_assessment": 30_000.0 if launch else 8_000.0,
            "design_development": 120_000.0 * hours / 16 if launch else 15_000.0,
            "delivery": 350.0 * n,
            "materials": 120.0 * n,
            "facilitator": 6_000.0 * days * sessions,
            "facilities": 2_500.0 * days * sessions,
            "travel": 900.0 * 0.4 * n,
            "participant_time": n * hours * wage[program_id] * 1.35,
            "evaluation": 15_000.0 + 30.0 * n,
        }
        amounts["overhead"] = 0.10 * sum(amounts.values())
        noise = rng.uniform(0.95, 1.05, size=len(COST_CATEGORIES))
        for category, f in zip(COST_CATEGORIES, noise):
            rows.append((program_id, str(year), category, round(amounts[category] * f, 2)))
    return pd.DataFrame(rows, columns=["program_id", "period", "category", "amount"])


def _headcount_plan(rng: np.random.Generator, employees: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    """Next year's plan per department: headcount at the panel's end, planned hires and exits."""
    end = months[-1] + pd.offsets.MonthEnd(0)
    active = employees[(employees["hire_date"] <= end) & (employees["exit_date"].isna() | (employees["exit_date"] > end))]
    rows = []
    for department, n in active.groupby("department").size().items():
        growth = {"Sales": 0.10, "Customer Service": 0.05, "Operations": 0.02}.get(str(department), 0.05)
        exits = int(round(n * rng.uniform(0.10, 0.14)))
        rows.append((department, int(end.year + 1), int(n), exits + int(round(n * growth)), exits))
    return pd.DataFrame(rows, columns=["unit", "year", "current_headcount", "planned_hires", "planned_exits"])


#: Balanced-scorecard figures no HR export holds: base value, quarterly trend, noise sd, target, decimals.
SCORECARD: dict[str, tuple[float, float, float, float, int]] = {
    "training_revenue": (1_150_000.0, 30_000.0, 60_000.0, 1_300_000.0, 0),
    "gross_margin": (0.42, 0.004, 0.015, 0.45, 3),
    "client_satisfaction": (4.25, 0.02, 0.06, 4.5, 2),
    "net_promoter_score": (32.0, 1.0, 3.0, 40.0, 1),
    "client_renewal_rate": (0.78, 0.006, 0.02, 0.85, 3),
    "complaint_resolution_rate": (0.90, 0.004, 0.015, 0.95, 3),
    "on_time_delivery_rate": (0.91, 0.003, 0.015, 0.95, 3),
    "course_development_days": (48.0, -1.0, 4.0, 40.0, 1),
    "instructor_rating": (4.30, 0.01, 0.05, 4.5, 2),
    "lead_conversion_rate": (0.18, 0.002, 0.015, 0.22, 3),
    "internal_instructors": (12.0, 0.5, 1.0, 18.0, 0),
}


def _scorecard_inputs(rng: np.random.Generator, months: pd.DatetimeIndex) -> pd.DataFrame:
    """Quarterly company-level figures for the training function's balanced scorecard."""
    quarters = sorted({f"{m.year}-Q{(m.month - 1) // 3 + 1}" for m in months})
    rows = []
    for kpi, (base, trend, sd, target, decimals) in SCORECARD.items():
        noise = rng.normal(0, sd, size=len(quarters))
        for q_idx, (quarter, e) in enumerate(zip(quarters, noise)):
            rows.append((quarter, kpi, round(base + trend * q_idx + e, decimals), target))
    return pd.DataFrame(rows, columns=["period", "kpi", "value", "target"])


#: Seed-sequence spawn key of the follow-up stream (apart from the nine streams of ``_STREAMS``).
FOLLOWUP_STREAM = 1010
FOLLOWUP_MONTHS: tuple[int, ...] = (1, 3, 6)
#: Log-odds of having applied the training at each follow-up, by program (x = the person's learning draw).
FOLLOWUP_LOGIT: dict[str, dict[int, float]] = {
    "P01": {1: 0.2, 3: 0.7, 6: 0.6},
    "P02": {1: 0.4, 3: 0.9, 6: 0.8},
    "P03": {1: -0.3, 3: 0.0, 6: -0.2},
}
FOLLOWUP_SLOPE = 1.2


def _followups(rng: np.random.Generator, months: pd.DatetimeIndex, enrollments: pd.DataFrame, staff_ids: np.ndarray, x: np.ndarray,
               exit_date: np.ndarray) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Follow-ups 1, 3 and 6 months after the end of each trainee's first finished run (seed 000).

    Every trainee whose first run ended (completed or failed the exam; not dropped, not in
    progress) is followed up at each of 1, 3, 6 months after its end date that falls inside
    the panel and before the trainee leaves. ``applied`` ~ Bernoulli(logistic(θ_{p,m} +
    1.2 x_i)) — those who learned more apply it more; ``manager_rating`` = 3.2 + 0.5 x +
    0.5 applied + N(0, 0.5²), one decimal, clipped to 1-5. Returns the table and the true
    application probabilities (mean over the followed-up trainees) per program and month.
    """
    panel_end = (months[-1] + pd.offsets.MonthEnd(0)).to_datetime64()
    first = enrollments.sort_values(["employee_id", "program_id", "start_date"], kind="stable").drop_duplicates(["employee_id", "program_id"])
    first = first[first["status"].isin(["completed", "failed"])].reset_index(drop=True)
    pos = pd.Series(np.arange(len(staff_ids)), index=staff_ids)
    idx = pos[first["employee_id"].to_numpy()].to_numpy()
    u = rng.random((len(first), len(FOLLOWUP_MONTHS)))
    noise = rng.normal(0, 0.5, size=(len(first), len(FOLLOWUP_MONTHS)))
    employee = first["employee_id"].to_numpy(dtype=object)
    program = first["program_id"].to_numpy(dtype=object)
    parts = []
    prob: dict[str, dict[int, np.ndarray]] = {}
    end = first["end_date"].to_numpy(dtype="datetime64[ns]")
    leave = exit_date[idx]
    for j, m in enumerate(FOLLOWUP_MONTHS):
        due = (pd.DatetimeIndex(end) + pd.DateOffset(months=m)).to_numpy(dtype="datetime64[ns]")
        ok = (due <= panel_end) & (np.isnat(leave) | (due < leave))
        theta = first["program_id"].map(lambda p, m=m: FOLLOWUP_LOGIT[p][m]).to_numpy(float)
        p_apply = 1 / (1 + np.exp(-(theta + FOLLOWUP_SLOPE * x[idx])))
        applied = u[:, j] < p_apply
        rating = np.clip(np.round(3.2 + 0.5 * x[idx] + 0.5 * applied + noise[:, j], 1), 1.0, 5.0)
        parts.append(pd.DataFrame({"employee_id": employee[ok], "program_id": program[ok], "months_after": np.full(int(ok.sum()), m, dtype="int64"),
                                   "applied": applied[ok], "manager_rating": rating[ok]}))
        for p in np.unique(program[ok]):
            prob.setdefault(str(p), {})[m] = p_apply[ok & (program == p)]
    table = pd.concat(parts, ignore_index=True)
    table = table.sort_values(["employee_id", "program_id", "months_after"], ignore_index=True)
    truth = {p: {m: {"true_apply_probability": _r(np.mean(v)), "n": len(v)} for m, v in sorted(by_m.items())} for p, by_m in sorted(prob.items())}
    return table, truth


def _scorecard_truth(enrollments: pd.DataFrame, followups: dict[str, Any], programs: dict[str, Any]) -> dict[str, Any]:
    """The generator's record of the scorecard metrics it controls, per program."""
    out: dict[str, Any] = {
        "definition": "per program, over every run in enrollments: completion_rate = completed / runs that ended (not in progress); "
                      "exam_pass_rate = runs with exam_passed / runs with the exam taken; followups: the true probability of having "
                      "applied the training at 1, 3, 6 months (mean over the trainees followed up; scrap learning = 1 - the 1-month value); "
                      "kpi_change: the true effect at event times 1, 3, 6 (att_event_time)",
        "programs": {},
    }
    for p, rows in enrollments.groupby("program_id"):
        ended = rows["status"] != "in_progress"
        sat = rows["exam_attempts"] > 0
        passed = rows["exam_passed"].astype("boolean").fillna(False).astype(bool)
        by_e = {int(r["event_time"]): r["att"] for r in programs[p]["att_event_time"]}
        out["programs"][str(p)] = {
            "runs": int(len(rows)),
            "completion_rate": _r((rows["status"] == "completed").sum() / ended.sum()),
            "exam_pass_rate": _r(passed.sum() / sat.sum()),
            "followups": {str(m): v for m, v in followups.get(p, {}).items()},
            "kpi_change": {str(m): by_e.get(m) for m in FOLLOWUP_MONTHS},
        }
    return out


# --------------------------------------------------------------------------- #
# Ground truth
# --------------------------------------------------------------------------- #
def _r(value: float) -> float:
    """Round a truth figure (stable JSON across platforms)."""
    return float(round(float(value), 6))


def _simple_aggregation(tau: np.ndarray, observed: np.ndarray, cohort: np.ndarray, members: np.ndarray) -> tuple[pd.DataFrame, float]:
    """True ATT(g, t) cells of ``members`` and their cohort-size-weighted mean over post cells.

    Returns a frame with cohort, period, event_time, att, n (trainees observed) and cohort_size, one
    row per post-training cell with at least one trainee observed, and the simple aggregation.
    """
    T = tau.shape[1]
    cols = ["cohort", "period", "event_time", "att", "n", "cohort_size"]
    if len(members) == 0:
        return pd.DataFrame(columns=cols), 0.0
    g = cohort[members]
    post = observed[members] & (np.arange(1, T + 1)[None, :] >= g[:, None])
    mi, tj = np.nonzero(post)
    key = g[mi] * (T + 1) + tj + 1
    size = np.bincount(key, minlength=(T + 1) ** 2)
    total = np.bincount(key, weights=tau[members[mi], tj], minlength=(T + 1) ** 2)
    cells = np.nonzero(size)[0]
    gc, tc = cells // (T + 1), cells % (T + 1)
    cohort_size = np.bincount(g, minlength=T + 1)[gc]
    att = total[cells] / size[cells]
    frame = pd.DataFrame({"cohort": gc, "period": tc, "event_time": tc - gc, "att": att, "n": size[cells], "cohort_size": cohort_size})
    return frame, float(np.average(att, weights=cohort_size))


def _ground_truth(config: SampleConfig, latent: dict[str, Any], level: np.ndarray, dept: np.ndarray) -> dict[str, Any]:
    months = _months(config)
    tau, observed, cohort, exam = latent["tau"], latent["observed"], latent["cohort"], latent["exam_score"]
    programs: dict[str, Any] = {}
    month_text = [m.strftime("%Y-%m-%d") for m in months]
    for k, d in enumerate(DEPARTMENTS):
        members = np.nonzero((cohort > 0) & (dept == k))[0]
        in_dept = (dept == k) & observed.any(axis=1)
        cells, overall = _simple_aggregation(tau, observed, cohort, members)
        e, w, a = cells["event_time"].to_numpy(), cells["cohort_size"].to_numpy(float), cells["att"].to_numpy()
        ew = np.bincount(e, weights=w) if len(e) else np.zeros(0)
        by_event = {int(k): float(np.bincount(e, weights=w * a)[k] / ew[k]) for k in np.nonzero(ew)[0]}
        gs = cells["cohort"].to_numpy()
        gn = np.bincount(gs) if len(gs) else np.zeros(0)
        by_cohort = [(int(k), float(np.bincount(gs, weights=a)[k] / gn[k]), int(cells["cohort_size"].to_numpy()[gs == k][0])) for k in np.nonzero(gn)[0]]
        bands = []
        for label, lo, hi in EXAM_BANDS:
            sub = members[(exam[members] >= lo) & (exam[members] < hi)]
            bands.append((label, sub))
        bands.append((NO_EXAM, members[np.isnan(exam[members])]))
        passed = [("passed", members[exam[members] >= EXAM_PASS]), ("not passed", members[~(exam[members] >= EXAM_PASS)])]
        programs[d.program] = {
            "kpi": d.kpi,
            "department": d.name,
            "overall_att": _r(overall),
            "n_trainees": int(len(members)),
            "n_never_trained": int((in_dept & (cohort == 0)).sum()),
            "peak_effect": _r((1 if KPIS[d.kpi][1] else -1) * d.peak * config.effect_scale),
            "pre_training_dip": _r(float(latent["dip"][members].mean()) if len(members) else 0.0),
            "att_gt": [
                {"cohort": int(g), "cohort_month": month_text[int(g) - 1], "period": int(t), "event_time": int(t - g), "att": _r(a), "n": int(c)}
                for g, t, a, c in zip(cells["cohort"], cells["period"], cells["att"], cells["n"])
            ],
            "att_event_time": [{"event_time": k, "att": _r(v)} for k, v in by_event.items()],
            "att_cohort": [{"cohort": g, "cohort_month": month_text[g - 1], "att": _r(v), "n_trainees": c} for g, v, c in by_cohort],
            "att_exam_band": [
                {"band": label, "att": _r(_simple_aggregation(tau, observed, cohort, sub)[1]), "n_trainees": int(len(sub))}
                for label, sub in bands if len(sub)
            ],
            "att_exam_passed": [
                {"group": label, "att": _r(_simple_aggregation(tau, observed, cohort, sub)[1]), "n_trainees": int(len(sub))}
                for label, sub in passed if len(sub)
            ],
        }
        # weights use the exact (unrounded) cells; keep the rounded ones consistent for readers
    gap_rows = []
    for k, d in enumerate(DEPARTMENTS):
        idx = dept == k
        for j, (comp, required, weight, _m) in enumerate(COMPETENCIES[d.role]):
            g = np.maximum(0.0, required - level[idx, j])
            gap_rows.append({"role": d.role, "competency": comp, "required_level": required, "weight": weight,
                             "mean_level": _r(level[idx, j].mean()), "mean_gap": _r(g.mean()), "share_below_required": _r((g > 0).mean())})
    gaps = {
        "definition": "gap = max(0, required_level - true level) before any training; weighted gap = sum over the role's "
                      "competencies of weight x gap (staff only; team leads are assessed but carry no KPI)",
        "role_competency": gap_rows,
        "department_weighted_gap": {d.name: _r(latent["gap"][dept == k].mean()) for k, d in enumerate(DEPARTMENTS)},
        "kpi_change_per_weighted_gap_point": {
            d.kpi: _r(-(1 if KPIS[d.kpi][1] else -1) * d.kappa if config.competency_gaps else 0.0) for d in DEPARTMENTS
        },
    }
    return {
        # n_cohorts is left out at its default so the default sample's ground truth is unchanged
        "config": {k: v for k, v in asdict(config).items() if not (k == "n_cohorts" and v is None)},
        "description": "True effects and gaps of the generated sample; see analysis/sample.py (module docstring) "
                       "or README.md for the generating process.",
        "estimand": "overall_att = mean of the true ATT(g,t) over post-training cells (g <= t <= n_months with at least one "
                    "trainee observed), weighted by cohort size (the number of cohort-g trainees): Callaway-Sant'Anna's simple "
                    "aggregation. ATT(g,t) = mean true effect of cohort-g trainees with a KPI row in month t.",
        "region_rollout_period": latent["region_open_period"],
        "rollout_window_months": int(latent["window"]),
        "programs": programs,
        "gaps": gaps,
    }


def true_roi(truth: dict[str, Any], tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Each program's true ROI % under the kit's default ROI rules (notebook 03), for ``ground_truth.json``.

    Benefit = people who started the program (intention to treat) × Σ over event months
    0 … benefit_months−1 of the true event-time effect (``att_event_time``: cohorts weighted by size
    among the trainees observed at that month, the estimand of the attribution's dynamic profile;
    nothing beyond the last month the panel observes) × value_per_unit × (+1 when higher is better,
    −1 otherwise). Cost = every cost row of the program in full. ROI % = (benefit − cost) / cost × 100.
    Uses no random numbers, so no table changes.

    Parameters
    ----------
    truth : dict
        The ground truth built so far (``programs`` with ``att_event_time``).
    tables : dict of str to DataFrame
        The generated contract tables (programs, kpi_definitions, enrollments, costs).

    Returns
    -------
    dict
        ``definition`` and ``programs``: program_id -> true_roi_pct, true_benefit, cost_total,
        participants, benefit_months.
    """
    kdef = tables["kpi_definitions"].set_index("kpi")
    progs = tables["programs"].set_index("program_id")
    people = tables["enrollments"].groupby("program_id")["employee_id"].nunique()
    cost = tables["costs"].groupby("program_id")["amount"].sum()
    out: dict[str, Any] = {}
    for pid, info in truth["programs"].items():
        months = int(progs.loc[pid, "benefit_months"]) if pd.notna(progs.loc[pid, "benefit_months"]) else 12
        kpi = progs.loc[pid, "kpi"]
        sign = 1.0 if bool(kdef.loc[kpi, "higher_is_better"]) else -1.0
        per_trainee = sum(row["att"] for row in info["att_event_time"] if 0 <= row["event_time"] < months)
        benefit = float(people.get(pid, 0)) * float(kdef.loc[kpi, "value_per_unit"]) * sign * per_trainee
        total = float(cost.get(pid, 0.0))
        out[pid] = {
            "true_roi_pct": _r((benefit - total) / total * 100) if total > 0 else None,
            "true_benefit": _r(benefit + 0.0), "cost_total": _r(total), "participants": int(people.get(pid, 0)),
            "benefit_months": months,
        }
    return {
        "definition": "true ROI % = (B - C) / C x 100 with B = participants (everyone who started) x sum over event months "
                      "0..benefit_months-1 of the true att_event_time x value_per_unit (sign by higher_is_better; nothing "
                      "beyond the last observed event month) and C = every cost row of the program (the kit's default rules)",
        "programs": out,
    }


#: Default threshold of the training-needs list (level points of gap in the target competency).
NEEDS_THRESHOLD = 0.5


def gap_analysis_truth(config: SampleConfig, tables: dict[str, pd.DataFrame], latent: dict[str, Any], level: np.ndarray,
                       dept: np.ndarray, gain: np.ndarray) -> dict[str, Any]:
    """True answers of the gap analysis (notebook 01): shortfall drivers per KPI, eligible head counts per program.

    Parameters
    ----------
    config : SampleConfig
        Generator settings.
    tables : dict of str to DataFrame
        The generated contract tables (``employees`` and ``assessments`` are read).
    latent : dict
        Latent arrays of :func:`generate` (``employee_id``, ``cohort``).
    level : ndarray
        True competency levels before training, staff x 3 (the role's competencies in
        :data:`COMPETENCIES` order).
    dept : ndarray
        Department index per staff member.
    gain : ndarray
        Rise of the target competency through training (0 for the untrained).

    Returns
    -------
    dict
        ``shortfall_drivers``: per KPI the role's competencies ranked by their true
        contribution to the KPI shortfall, kappa x weight x mean true gap (KPI units lost per
        person against a colleague with no gap in it; the generator's alpha carries
        -kappa x sum of weight x gap). ``needs``: per program, among staff employed at the end of
        the panel whose role requires the target competency, the true number whose true gap
        exceeds :data:`NEEDS_THRESHOLD` at the date of their latest assessment
        (``true_eligible``: what an error-free assessment on that date would count; training
        after the review is not in it) and at the end of the panel (``true_eligible_now``).

    Notes
    -----
    Reads no random stream: every existing table stays as it was.
    """
    months = _months(config)
    staff_ids = latent["employee_id"]
    cohort = latent["cohort"]
    review = int(math.ceil(config.n_months / 2)) + 1
    review_start = months[review - 1]
    panel_end = months[-1] + pd.offsets.MonthEnd(0)
    emp = tables["employees"].set_index("employee_id")
    active = emp.loc[staff_ids, "exit_date"].isna().to_numpy() | (emp.loc[staff_ids, "exit_date"] > panel_end).to_numpy()
    ass = tables["assessments"]
    drivers: dict[str, Any] = {}
    needs: dict[str, Any] = {}
    pos = pd.Series(np.arange(len(staff_ids)), index=staff_ids)
    for k, d in enumerate(DEPARTMENTS):
        idx = dept == k
        comps = COMPETENCIES[d.role]
        kappa = d.kappa if config.competency_gaps else 0.0
        rows = []
        for j, (comp, required, weight, _m) in enumerate(comps):
            g = np.maximum(0.0, required - level[idx, j])
            rows.append({"competency": comp, "weight": weight, "mean_true_gap": _r(g.mean()),
                         "kpi_units_lost_per_person": _r(kappa * weight * g.mean())})
        rows.sort(key=lambda r: -r["kpi_units_lost_per_person"])
        for rank, row in enumerate(rows, start=1):
            row["rank"] = rank
        drivers[d.kpi] = rows
        target = PROGRAMS[d.program][2]
        j = [c[0] for c in comps].index(target)
        required = comps[j][1]
        mine = ass[(ass["competency"] == target) & ass["employee_id"].isin(staff_ids[idx])]
        latest = mine.groupby("employee_id")["assessed_on"].max()
        who = pos.loc[latest.index].to_numpy()
        trained_before = (cohort[who] > 0) & (cohort[who] < review) & (latest.to_numpy() >= review_start)
        level_then = np.minimum(level[who, j] + np.where(trained_before, gain[who], 0.0), 5.0)
        level_now_all = np.minimum(level[:, j] + np.where(cohort > 0, gain, 0.0), 5.0)
        keep = active[who]
        # staff assessed in the target competency, by position: np.isin on the object array of
        # ids compared every id with every assessed id (quadratic in head count)
        assessed = np.zeros(len(staff_ids), dtype=bool)
        assessed[who] = True
        assessed_active = idx & active & assessed
        needs[d.program] = {
            "competency": target, "role": d.role, "department": d.name, "threshold": NEEDS_THRESHOLD,
            "population": int((idx & active).sum()), "assessed": int(keep.sum()),
            "true_eligible": int(((required - level_then[keep]) > NEEDS_THRESHOLD).sum()),
            "true_eligible_now": int(((required - level_now_all[assessed_active]) > NEEDS_THRESHOLD).sum()),
        }
    return {
        "shortfall_drivers": drivers,
        "needs": needs,
        "needs_definition": "per program: staff employed at the end of the panel whose role requires the target competency "
                            f"and who were assessed in it; true_eligible = true gap (required - true level at the latest "
                            f"assessment) above {NEEDS_THRESHOLD}; true_eligible_now = the same with every training up to "
                            "the end of the panel counted",
    }


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #
def _format(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Stable text for CSV: dates as YYYY-MM-DD, booleans as true/false, missing as empty."""
    out = df.copy()
    for col in TABLES[name].columns:
        if col.name not in out.columns:
            continue
        if col.kind in ("date", "month"):
            out[col.name] = pd.to_datetime(out[col.name]).dt.strftime("%Y-%m-%d")
        elif col.kind == "bool":
            out[col.name] = out[col.name].astype("boolean").map({True: "true", False: "false"})
    return out


def write_sample(out_dir: str | Path, config: SampleConfig = SampleConfig()) -> Path:
    """Generate the sample and write one CSV per contract table, ``ground_truth.json`` and ``README.md``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write (created if needed). Only these files are (over)written.
    config : SampleConfig
        Generator settings.

    Returns
    -------
    Path
        The folder written.
    """
    data = generate(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in data.tables.items():
        _format(df, name).to_csv(out / f"{name}.csv", index=False, lineterminator="\n")
    (out / "ground_truth.json").write_text(json.dumps(data.ground_truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "README.md").write_text(sample_readme(data.ground_truth, data.tables), encoding="utf-8")
    return out


_README_PROCESS = r"""
## Generating process

Notation: employee *i*, month *t* = 1..T, department *d*, region *r*, first training month
(cohort) *g* (0 = never trained), event time *e = t − g*; *s* = +1 for a KPI where higher is
better, −1 where lower is better (error rate).

**Workforce.** Staff in Sales, Customer Service and Operations, five regions, teams of about
ten under a team lead (role `Team Lead`, no monthly KPI) of the same department and region.
With `churn`, 15% of staff are hired inside the panel and staff leave with monthly
probability q = 0.011·exp(−0.3·z) (z = standardized performance, below); exits do not depend
on tenure. KPI rows run from the hire month to the exit month inclusive.

**KPI** of employee *i* in month *t*:

    y[i,t] = α[i] + S_d(month of year) + β_d · (m[r,t] − 100) − s·L_d · exp(−tenure[i,t] / 6)
             + ε[i,t] + τ[i,t]

- α[i] = μ_d + s · (−κ_d · (G[i] − mean G) + σ_u · u[i] + team effect): the weighted competency
  gap G[i] = Σ_c w_c · max(0, required_c − level[i,c]) explains part of the KPI shortfall
  (`competency_gaps`; off: κ = 0). `assessments` measure the levels with noise (self-ratings
  +0.3) before the panel (or a month after hire) and at the annual review in month ⌈T/2⌉+1,
  when trainees' target competency has risen by 0.6·λ[i].
- S_d: seasonality (Spring Festival slump, 618 and Double 11 peaks; tickets follow sales one
  month later; errors rise in busy months). L_d: how far below the experienced level a new
  hire starts (learning curve, 6-month scale).
- m[r,t]: the regional market index in `context_monthly` = 100 + slow national cycle + regional
  AR(1) noise + (`market_shocks`) an upswing of A_r = 10, 8, 6, 4, 2 points (earliest to latest
  roll-out region), logistic around the region's roll-out months.
- ε[i,t] ~ N(0, σ_d²), i.i.d. over months and people, except the referral slump below.

**Who is trained, and when** (`staggered`). Roll-out opens region by region (East, West,
Central, South, North), each for W = round(0.3·T) months, from month max(3, round(T/6)) to
month T − 6 (months 4–18 of 24). In the j-th open month (j = 0..W−1) every not-yet-trained
staff member employed for at least two months and not leaving that month is sent with
probability 1 − exp(−1.8 · ω_j · ρ[i]), ω_j ∝ 1 + j/(W−1) summing to 1 (later months catch up),
ρ[i] = exp(−z[i]) / mean (`low_performer_selection`; 1 otherwise): low performers are sent
sooner and more often. About 45% of each department is never trained. Without `staggered`
every region is open in month round(T/2). Selection depends on the permanent level only —
not on tenure, not on the transitory noise. (Low performers leave the untrained pool early
while staff hired during a window join it late, so a month's trainees are slightly more often
recent hires than the never-trained: a small tenure confound, about +2% of the effect when
tenure is ignored, gone within tenure bands.)

**Mean reversion** (`mean_reversion`). People are sent right after a bad month:
P(sent in g) ∝ exp(−δ·ε[i,g−1]/σ), δ = 1. Tilting a normal shock this way gives
ε[i,g−1] | sent ~ N(−s·δ·σ_d, σ_d²), which is how it is generated (the trainee's month before
training carries the slump; the never-trained keep N(0, σ²) shocks, no mirror-image good
month). With i.i.d. shocks the dip exists at event time −1 only: anchoring the comparison on
month g−1 (`anticipation=0`) credits training with the rebound; anchoring on g−2
(`anticipation=1`) is unbiased with the never-trained of the same region (market) and tenure
band as controls — `tests/test_sample.py` checks this on a large generated set. What a naive
reading gets wrong: before/after credits training with the market upswing, the rebound from
the slump and the learning curve; trained-vs-untrained compares low performers with the rest.

**Training effect** (`heterogeneous_effects`, `exam_signal`), for t ≥ g:

    τ[i,t] = s · peak_p · c_g · h(t − g) · λ[i] · k[i]
    h(e) = min(1, (e + 1)/3) · exp(−max(0, e − 3)/12)          grows 3 months, then fades
    c_g  = 1.3 − 0.6 · (g − g_min)/(g_max − g_min)             early cohorts gain more
    λ[i] = max(0, 1 + 0.5 · x[i]),  x[i] ~ N(0, 1)              the person's learning
    k[i] = 0.2 for drop-outs, else 1                            intention to treat

Without `heterogeneous_effects` h = 1 and c = 1. The exam measures x: score = 70 + 12·x +
N(0, 5²), one retake (+N(5, 4²)) below 60, `exam_passed` = score ≥ 60; completion, minutes,
interruptions, practice attempts, first pass, error rate and drop-out move with x, the
reaction score (L1) only weakly. Without `exam_signal` λ uses an independent draw, so the
exam no longer predicts the effect. Half of those who fail take the program again 2–3
months later (a second enrollment row; the cohort is the first run).

**Money and plans.** `costs`: Phillips categories per program and year (per-head delivery,
materials, travel; per-session facilitator and facilities; participant time at the loaded
hourly wage; fixed needs assessment, design and evaluation; 10% overhead). `headcount_plan`
per department for the next year, `budget_priorities` per program, quarterly
`scorecard_inputs` (training revenue, gross margin, client satisfaction, NPS, renewal,
complaint resolution, on-time delivery, course development days, instructor rating, lead
conversion, internal instructors — value and target).

**Follow-ups** (own random stream). Every trainee whose first run ended (completed or failed)
is followed up 1, 3 and 6 months after its end, while inside the panel and employed:
`applied` ~ Bernoulli(logistic(θ_{p,m} + 1.2·x)), `manager_rating` = 3.2 + 0.5·x + 0.5·applied +
N(0, 0.5²), clipped to 1–5.

## Truth (`ground_truth.json`)

- `programs.<id>.att_gt`: true ATT(g, t) = mean τ of cohort-g trainees with a KPI row in month t
  (`n` of them).
- `overall_att`: the estimand the kit reports — every post-training cell (g ≤ t ≤ T) weighted
  by the cohort size (Callaway–Sant'Anna's simple aggregation of the truth).
- `att_event_time` (cohorts weighted by size at each event time), `att_cohort` (a cohort's post
  months weighted equally), `att_exam_band` / `att_exam_passed` (the simple aggregation over
  the trainees of each band of their first run's exam score), `pre_training_dip` (mean slump
  at event time −1).
- `gaps`: true mean gap per role × competency, mean weighted gap per department, KPI change
  per point of weighted gap; `shortfall_drivers` (per KPI, the role's competencies ranked by
  κ · weight · mean true gap, the KPI units each costs a person) and `needs` (per program, staff
  employed at the panel end whose true gap in the target competency exceeds 0.5 at their latest
  assessment, and at the panel end). `region_rollout_period`: first open month of each region.
- `roi.programs.<id>`: the true ROI % under notebook 03's default rules (everyone who started × the true
  `att_event_time` over months 0 … benefit_months−1 × value_per_unit, against every cost row), with the true
  benefit, cost and participants.
- `scorecard.programs.<id>`: completion and exam pass rates of every run, the true probability of
  having applied the training at the 1/3/6-month follow-ups (mean over those followed up) and
  the true KPI change at those months (`att_event_time`).
"""


def sample_readme(truth: dict[str, Any], tables: dict[str, pd.DataFrame] | None = None) -> str:
    """The sample folder's README: how it was generated, its parameters and what the truth is.

    Parameters
    ----------
    truth : dict
        Ground truth as returned by :func:`generate`.
    tables : dict of str to DataFrame, optional
        The generated tables (adds a row count per file).

    Returns
    -------
    str
        Markdown text.
    """
    cfg = truth["config"]
    switches = ", ".join(f"`{k}`={'on' if v else 'off'}" for k, v in cfg.items() if isinstance(v, bool))
    off = [f"--no-{k.replace('_', '-')}" for k, v in cfg.items() if isinstance(v, bool) and not v]
    command = f"python -m analysis sample --employees {cfg['n_employees']} --months {cfg['n_months']} --seed {cfg['seed']}"
    if off:
        command += " " + " ".join(off)
    lines = [
        "# Sample data (generated — do not edit by hand)",
        "",
        f"Written by `{command} --out data/sample` (`make sample`) from `analysis/sample.py`. Confounds: {switches}. "
        "Every table follows the data contract; `ground_truth.json` holds the true effects and gaps. A test regenerates "
        "this folder and compares it value for value.",
        "",
        "A fictional Chinese services company (money in CNY): Sales, Customer Service and Operations staff in five "
        "regions, one KPI and one training program per department. The compliance refresher (P03) has no effect at all: "
        "a placebo.",
        "",
        "## True overall effect per program (the estimand the reports estimate)",
        "",
        "| program | department | KPI | trainees | never trained | true ATT per trainee-month | dip at event time −1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for program_id, p in truth["programs"].items():
        lines.append(
            f"| {program_id} | {p['department']} | {p['kpi']} | {p['n_trainees']} | {p['n_never_trained']} | "
            f"{p['overall_att']:,.2f} | {p['pre_training_dip']:,.2f} |"
        )
    scale = truth["config"].get("effect_scale", 1.0)
    noise = truth["config"].get("noise_scale", 1.0)
    lines += [
        "",
        "## Parameters per department",
        "",
        "| department | KPI (unit) | experienced level μ | person sd σ_u | KPI per gap point κ | noise sd σ | per market point β "
        "| new hire below by L | program | peak effect |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in DEPARTMENTS:
        lines.append(
            f"| {d.name} | {d.kpi} ({KPIS[d.kpi][0]}) | {d.mu:,.6g} | {d.sigma_u:,.6g} | {d.kappa:,.6g} | {d.sigma_eps * noise:,.6g} "
            f"| {d.beta_market:,.6g} | {d.tenure_gap:,.6g} | {d.program} {PROGRAMS[d.program][0]} | {d.peak * scale:,.6g} |"
        )
    if tables is not None:
        lines += ["", "## Files", "", "| file | rows | what it holds |", "|---|---|---|"]
        for name, df in tables.items():
            lines.append(f"| {name}.csv | {len(df):,} | {TABLES[name].description} |")
        lines += ["", "`scorecard_inputs` figures (quarterly, value and target): " + ", ".join(f"`{k}`" for k in SCORECARD) + "."]
    lines += [_README_PROCESS]
    return "\n".join(lines)


def cli(argv: list[str]) -> int:
    """``python -m analysis sample``: write the sample data set.

    Parameters
    ----------
    argv : list of str
        Command-line arguments after ``sample``.

    Returns
    -------
    int
        Exit code (0 on success).
    """
    parser = argparse.ArgumentParser(prog="python -m analysis sample", description="Generate the sample data set with known truth.")
    parser.add_argument("--employees", type=int, default=SampleConfig.n_employees, help="rows of the employees table (default %(default)s)")
    parser.add_argument("--months", type=int, default=SampleConfig.n_months, help="panel length (default %(default)s)")
    parser.add_argument("--seed", type=int, default=SampleConfig.seed, help="random seed (default %(default)s)")
    parser.add_argument("--start-month", default=SampleConfig.start_month, help="first panel month (default %(default)s)")
    parser.add_argument("--effect-scale", type=float, default=SampleConfig.effect_scale, help="multiply every true effect")
    parser.add_argument("--noise-scale", type=float, default=SampleConfig.noise_scale, help="multiply the transitory KPI noise")
    parser.add_argument("--out", default="data/sample", help="output folder (default %(default)s)")
    switches = [f.name for f in fields(SampleConfig) if f.type in ("bool", bool)]
    for name in switches:
        parser.add_argument(f"--no-{name.replace('_', '-')}", dest=name, action="store_false", help=f"switch off {name.replace('_', ' ')}")
    args = parser.parse_args(argv)
    try:
        config = SampleConfig(
            n_employees=args.employees, n_months=args.months, seed=args.seed, start_month=args.start_month,
            effect_scale=args.effect_scale, noise_scale=args.noise_scale, **{k: getattr(args, k) for k in switches},
        )
        path = write_sample(args.out, config)
    except ValueError as exc:
        parser.error(str(exc))
    truth = json.loads((path / "ground_truth.json").read_text(encoding="utf-8"))
    effects = ", ".join(f"{p} {v['overall_att']:,.2f}" for p, v in truth["programs"].items())
    print(f"wrote sample data ({config.n_employees} employees x {config.n_months} months, seed {config.seed}) to {path}; true ATT: {effects}")
    return 0
