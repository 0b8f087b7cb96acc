r"""Deterministic sample-data generator with known truth (the kit's embedded default).

The generator writes every table of the data contract for a fictional Chinese services
company and a ``ground_truth.json`` with the true training effects and competency gaps,
so every report on the sample can show its estimate beside the truth.

Generating process
------------------
Staff :math:`i` work in one department (Sales, Customer Service, Operations) and region
:math:`r(i)`; team leads (role ``Team Lead``) manage teams of about ten and carry no KPI.
About 20% of staff are hired inside the panel; each month employed staff leave with
probability ``exit_rate`` (churn). KPI rows exist only from the hire month to the exit
month. Each department has one KPI and one program that targets it:

=========  ==================  ====================  ===============================
program    department          KPI (unit)            peak effect per trainee-month
=========  ==================  ====================  ===============================
P01        Sales               sales (CNY)           +6,000
P02        Customer Service    tickets_resolved      +30
P03        Operations          error_rate (per 100)  0 (a program with no effect)
=========  ==================  ====================  ===============================

Monthly KPI of employee :math:`i` in month :math:`t`:

.. math::

    y_{it} = \alpha_i + s_d(t) + \beta_d (m_{r,t} - 100) + L_d (1 - e^{-\text{tenure}_{it}/6})
             + \varepsilon_{it} + \tau_{it} D_{it}

* :math:`\alpha_i = \mu_d - \kappa_d G_i + u_i`: a person level lowered by the weighted
  competency gap :math:`G_i = \sum_c w_{rc} \max(0, \text{required}_{rc} - \text{level}_{ic})`
  (``competency_gaps``); assessments measure the levels with noise (self-ratings biased up).
* :math:`s_d(t)` department seasonality; :math:`m_{r,t}` the regional market index
  (``context_monthly``). With ``market_shocks`` each region's index swings up by 8 points
  from its training roll-out month on, so early-rollout regions enjoy an upswing just when
  their staff are trained: naive before/after and unconditional comparisons credit training
  with the market; comparing within region removes it.
* :math:`\varepsilon_{it}` i.i.d. transitory noise (no persistence).
* Selection (``mean_reversion``): each eligible employee has a candidate training month
  :math:`g_i` (region roll-out month + noise, ``staggered``) and is trained with probability
  :math:`\operatorname{logit}^{-1}(a - 1.0\,z(\alpha_i) - 1.2\,\varepsilon_{i,g_i-1}/\sigma_\varepsilon)`:
  low performers and people who just had a bad month are sent. Because the transitory
  noise is i.i.d., the dip exists at event time −1 only: comparing with month :math:`g-2`
  (``anticipation=1``) is unbiased, comparing with :math:`g-1` credits training with the
  rebound (mean reversion).
* Effect (``heterogeneous_effects``): :math:`\tau_{it} = \text{peak}_p \cdot c_g \cdot
  h(t-g) \cdot \ell_i` for :math:`t \ge g`, where :math:`h(e) = \min(1, (e+1)/3)\,
  e^{-\max(0, e-3)/12}` grows for three months then fades, :math:`c_g` falls from 1.3 for
  the earliest cohort to 0.7 for the latest. Learning :math:`\ell_i = \max(0, 1 + 0.5 z_i)`
  where :math:`z_i` is latent learning that the exam measures (``exam_signal``: exam score
  :math:`= 70 + 12 z_i + \text{noise}`); drop-outs get 20% of the effect (intention to treat).

Truth
-----
``ground_truth.json`` gives, per program, the true ATT(g, t) (mean true effect of cohort-g
trainees with a KPI row in month t), the overall ATT (every post-training cell weighted
by cohort size: Callaway–Sant'Anna's simple aggregation of the truth), the dynamic
profile, per-cohort effects, effects by exam band, and the true competency gaps.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.contract import TABLES


@dataclass(frozen=True)
class SampleConfig:
    """Settings of the sample generator; every confound has its own switch.

    Parameters
    ----------
    n_employees : int
        Rows of the employees table (staff plus team leads).
    n_months : int
        Panel length in months.
    seed : int
        Seed of the random generator; same seed, same data.
    start_month : str
        First panel month (YYYY-MM-01).
    mean_reversion, market_shocks, staggered, heterogeneous_effects, churn, exam_signal, competency_gaps : bool
        Confound switches (see module docstring).
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


@dataclass
class SampleData:
    """Generated contract tables and their ground truth."""

    tables: dict[str, pd.DataFrame]
    ground_truth: dict[str, Any]


DEPARTMENTS = {
    # name: (share, role, kpi, program, mu, alpha_sd, eps_sd, market_beta, tenure_gain, gap_penalty, season_amp)
    "Sales": (0.5, "Account Manager", "sales", "P01", 100_000.0, 18_000.0, 9_000.0, 600.0, 25_000.0, 30_000.0, 6_000.0),
    "Customer Service": (0.3, "Service Agent", "tickets_resolved", "P02", 420.0, 45.0, 30.0, 2.0, 120.0, 75.0, 20.0),
    "Operations": (0.2, "Operations Specialist", "error_rate", "P03", 3.0, 0.6, 0.5, -0.02, -1.0, 1.0, 0.2),
}
PROGRAMS = {
    "P01": ("Consultative selling", "sales", "needs_discovery", "sales", 16.0, 6_000.0),
    "P02": ("Service excellence", "service", "empathy", "tickets_resolved", 12.0, 30.0),
    "P03": ("Compliance refresher", "compliance", "process_compliance", "error_rate", 6.0, 0.0),
}
KPIS = {
    # kpi: unit, higher_is_better, value_per_unit (CNY per unit per month), target
    "sales": ("CNY", True, 0.25, 110_000.0),
    "tickets_resolved": ("tickets", True, 18.0, 450.0),
    "error_rate": ("errors per 100 orders", False, 1_500.0, 2.5),
}
COMPETENCIES = {
    "Account Manager": (("needs_discovery", 4.0, 0.4), ("negotiation", 3.5, 0.35), ("product_knowledge", 3.5, 0.25)),
    "Service Agent": (("empathy", 4.0, 0.4), ("problem_solving", 3.5, 0.35), ("product_knowledge", 3.5, 0.25)),
    "Operations Specialist": (("process_compliance", 4.0, 0.5), ("attention_to_detail", 3.5, 0.3), ("systems", 3.0, 0.2)),
    "Team Lead": (("coaching", 4.0, 0.6), ("planning", 3.5, 0.4)),
}
REGIONS = ("North", "East", "South", "West", "Central")
REGION_SHARES = (0.25, 0.25, 0.2, 0.15, 0.15)
#: Roll-out month (period) of each region; early regions get the market upswing early.
REGION_ROLLOUT_FRACTION = (0.2, 0.35, 0.5, 0.65, 0.8)
TEAM_SIZE = 10
EXIT_RATE = 0.012
EXAM_PASS = 60.0
HOURLY_WAGE = 80.0


def _months(config: SampleConfig) -> pd.DatetimeIndex:
    return pd.date_range(config.start_month, periods=config.n_months, freq="MS")


def _effect_shape(event_time: np.ndarray, heterogeneous: bool) -> np.ndarray:
    e = np.asarray(event_time, dtype=float)
    if not heterogeneous:
        return (e >= 0).astype(float)
    return np.where(e >= 0, np.minimum(1.0, (e + 1) / 3) * np.exp(-np.maximum(0.0, e - 3) / 12), 0.0)


def generate(config: SampleConfig = SampleConfig()) -> SampleData:
    """Generate every contract table and the ground truth.

    Parameters
    ----------
    config : SampleConfig
        Size, seed and confound switches.

    Returns
    -------
    SampleData
        ``tables`` (contract name -> DataFrame) and ``ground_truth`` (JSON-ready dict).
    """
    rng = np.random.default_rng(config.seed)
    months = _months(config)
    T = config.n_months
    start = months[0]

    # ---- staff and team leads
    n_leads = max(3, config.n_employees // (TEAM_SIZE + 1))
    n_staff = config.n_employees - n_leads
    dept_names = list(DEPARTMENTS)
    dept = rng.choice(len(dept_names), size=n_staff, p=[DEPARTMENTS[d][0] for d in dept_names])
    region = rng.choice(len(REGIONS), size=n_staff, p=REGION_SHARES)
    hired_inside = rng.random(n_staff) < 0.2
    hire_period = np.where(hired_inside, rng.integers(2, max(3, T - 2), size=n_staff), 0)
    prior_days = rng.integers(60, 365 * 8, size=n_staff)
    hire_date = np.where(
        hired_inside,
        (months[np.clip(hire_period - 1, 0, T - 1)] + pd.to_timedelta(rng.integers(0, 27, size=n_staff), unit="D")).values,
        (start - pd.to_timedelta(prior_days, unit="D")).values,
    )
    hire_date = pd.DatetimeIndex(hire_date)
    first_period = np.where(hired_inside, hire_period, 1)
    exit_period = np.full(n_staff, T + 1)
    if config.churn:
        draws = rng.geometric(EXIT_RATE, size=n_staff)
        exit_period = np.where(first_period + draws <= T, first_period + draws, T + 1)
    grade = rng.choice(["G1", "G2", "G3"], size=n_staff, p=[0.5, 0.35, 0.15])

    # ---- competencies and person levels
    roles = np.array([DEPARTMENTS[dept_names[d]][1] for d in dept])
    gap_mean = np.array([0.8, 0.6, 0.5])[dept]
    weighted_gap = np.zeros(n_staff)
    assess_rows: list[pd.DataFrame] = []
    req_rows = []
    for role, comps in COMPETENCIES.items():
        for comp, required, weight in comps:
            req_rows.append((role, comp, required, weight))
    levels: dict[tuple[str, str], np.ndarray] = {}
    for d, name in enumerate(dept_names):
        role = DEPARTMENTS[name][1]
        for comp, required, weight in COMPETENCIES[role]:
            gap = rng.normal(gap_mean, 0.5, size=n_staff) if config.competency_gaps else rng.normal(0.0, 0.3, size=n_staff)
            level = np.clip(required - gap, 1.0, 5.0)
            levels[(role, comp)] = level
            in_role = dept == d
            weighted_gap[in_role] += weight * np.maximum(0.0, required - level[in_role])

    mu = np.array([DEPARTMENTS[dept_names[d]][4] for d in dept])
    alpha_sd = np.array([DEPARTMENTS[dept_names[d]][5] for d in dept])
    eps_sd = np.array([DEPARTMENTS[dept_names[d]][6] for d in dept])
    beta = np.array([DEPARTMENTS[dept_names[d]][7] for d in dept])
    tenure_gain = np.array([DEPARTMENTS[dept_names[d]][8] for d in dept])
    gap_penalty = np.array([DEPARTMENTS[dept_names[d]][9] for d in dept])
    season_amp = np.array([DEPARTMENTS[dept_names[d]][10] for d in dept])
    sign = np.where(np.array([KPIS[DEPARTMENTS[dept_names[d]][2]][1] for d in dept]), 1.0, -1.0)
    u = rng.normal(0, 1, size=n_staff)
    alpha = mu - sign * gap_penalty * (weighted_gap if config.competency_gaps else 0.0) + alpha_sd * u

    # ---- market index per region and month
    periods = np.arange(1, T + 1)
    rollout = np.array([max(4, min(T - 6, int(round(f * T)))) for f in REGION_ROLLOUT_FRACTION])
    market = 100 + 2.0 * np.sin(2 * np.pi * periods / 12)[None, :] + rng.normal(0, 0.6, size=(len(REGIONS), T))
    if config.market_shocks:
        market += 8.0 * (1 - np.exp(-np.maximum(0, periods[None, :] - rollout[:, None] + 1) / 3.0))
    eps = rng.normal(0, 1, size=(n_staff, T)) * eps_sd[:, None]

    # ---- selection into training
    if config.staggered:
        candidate = rollout[region] + np.rint(rng.normal(0, 1.5, size=n_staff)).astype(int)
    else:
        candidate = np.full(n_staff, int(round(T / 2)))
    candidate = np.clip(candidate, 4, T - 4)
    employed_before = (first_period <= candidate - 3) & (exit_period > candidate)
    z_alpha = (alpha - mu) / alpha_sd * sign
    prev_shock = eps[np.arange(n_staff), candidate - 2] / eps_sd * sign
    logit = 0.4 - 1.0 * z_alpha
    if config.mean_reversion:
        logit = logit - 1.2 * prev_shock
    trained = employed_before & (rng.random(n_staff) < 1 / (1 + np.exp(-logit)))
    cohort = np.where(trained, candidate, 0)

    # ---- learn / practice / exam and effects
    latent = rng.normal(0, 1, size=n_staff)
    dropped = trained & (rng.random(n_staff) < 0.08)
    exam = np.clip(np.round(70 + 12 * latent + rng.normal(0, 5, size=n_staff), 1), 0, 100)
    learn = np.maximum(0.0, 1 + 0.5 * latent) if config.exam_signal else np.ones(n_staff)
    learn = np.where(dropped, 0.2, learn)
    trained_cohorts = np.unique(cohort[trained])
    gmin, gmax = (trained_cohorts.min(), trained_cohorts.max()) if len(trained_cohorts) else (1, 1)
    if config.heterogeneous_effects and gmax > gmin:
        cohort_mult = 1.3 - 0.6 * (cohort - gmin) / (gmax - gmin)
    else:
        cohort_mult = np.ones(n_staff)
    peak = np.array([PROGRAMS[DEPARTMENTS[dept_names[d]][3]][5] for d in dept]) * sign
    event = periods[None, :] - cohort[:, None]
    tau = np.where(trained[:, None], peak[:, None] * cohort_mult[:, None] * learn[:, None] * _effect_shape(event, config.heterogeneous_effects), 0.0)

    # ---- KPI values
    tenure_months = (months.values[None, :] - hire_date.values[:, None]) / np.timedelta64(1, "D") / (365.25 / 12)
    season = season_amp[:, None] * np.sin(2 * np.pi * (periods[None, :] - 3) / 12)
    y = (
        alpha[:, None]
        + season
        + beta[:, None] * (market[region] - 100)
        + tenure_gain[:, None] * (1 - np.exp(-np.maximum(tenure_months, 0) / 6))
        + eps
        + tau
    )
    observed = (periods[None, :] >= first_period[:, None]) & (periods[None, :] <= np.minimum(exit_period, T)[:, None])
    y = np.where(np.array([dept_names[d] == "Operations" for d in dept])[:, None], np.maximum(y, 0.05), np.maximum(y, 0.0))

    staff_ids = np.array([f"E{i + 1:05d}" for i in range(n_staff)])
    lead_ids = np.array([f"E{n_staff + j + 1:05d}" for j in range(n_leads)])
    order = np.lexsort((np.arange(n_staff), region, dept))
    team = np.empty(n_staff, dtype=int)
    team[order] = np.minimum(np.arange(n_staff) // TEAM_SIZE, n_leads - 1)
    manager = lead_ids[team]

    exit_date = pd.Series(pd.NaT, index=range(n_staff), dtype="datetime64[ns]")
    has_exit = exit_period <= T
    exit_date[has_exit] = months[exit_period[has_exit] - 1] + pd.to_timedelta(rng.integers(0, 27, size=int(has_exit.sum())), unit="D")
    lead_dept = [dept_names[dept[order[min(j * TEAM_SIZE, n_staff - 1)]]] for j in range(n_leads)]
    lead_region = [REGIONS[region[order[min(j * TEAM_SIZE, n_staff - 1)]]] for j in range(n_leads)]
    employees = pd.concat(
        [
            pd.DataFrame(
                {
                    "employee_id": staff_ids,
                    "department": [dept_names[d] for d in dept],
                    "role": roles,
                    "region": [REGIONS[r] for r in region],
                    "hire_date": hire_date,
                    "exit_date": exit_date.values,
                    "grade": grade,
                    "manager_id": manager,
                }
            ),
            pd.DataFrame(
                {
                    "employee_id": lead_ids,
                    "department": lead_dept,
                    "role": "Team Lead",
                    "region": lead_region,
                    "hire_date": start - pd.to_timedelta(rng.integers(365 * 2, 365 * 12, size=n_leads), unit="D"),
                    "exit_date": pd.NaT,
                    "grade": "G4",
                    "manager_id": pd.NA,
                }
            ),
        ],
        ignore_index=True,
    )

    ii, tt = np.nonzero(observed)
    kpi_monthly = pd.DataFrame(
        {
            "employee_id": staff_ids[ii],
            "month": months[tt],
            "kpi": [DEPARTMENTS[dept_names[d]][2] for d in dept[ii]],
            "value": np.round(y[ii, tt], 2),
        }
    )

    # ---- enrollments
    ti = np.nonzero(trained)[0]
    start_date = months[cohort[ti] - 1] + pd.to_timedelta(rng.integers(0, 20, size=len(ti)), unit="D")
    prog = np.array([DEPARTMENTS[dept_names[d]][3] for d in dept[ti]])
    duration_days = rng.integers(7, 30, size=len(ti))
    end_date = start_date + pd.to_timedelta(duration_days, unit="D")
    in_progress = end_date > months[-1] + pd.offsets.MonthEnd(0)
    status = np.where(dropped[ti], "dropped", np.where(in_progress, "in_progress", "completed"))
    took_exam = status == "completed"
    ex = np.where(took_exam, exam[ti], np.nan)
    passed = np.where(took_exam, ex >= EXAM_PASS, np.nan)
    status = np.where(took_exam & (ex < EXAM_PASS) & (rng.random(len(ti)) < 0.5), "failed", status)
    lat = latent[ti]
    enrollments = pd.DataFrame(
        {
            "employee_id": staff_ids[ti],
            "program_id": prog,
            "status": status,
            "start_date": start_date,
            "end_date": pd.Series(end_date).where(status != "in_progress").values,
            "learn_completion": np.round(np.where(dropped[ti], rng.uniform(0.1, 0.6, len(ti)), np.clip(0.85 + 0.06 * lat + rng.normal(0, 0.04, len(ti)), 0, 1)), 3),
            "learn_minutes": np.round(np.maximum(30, 600 + 90 * lat + rng.normal(0, 80, len(ti))), 0),
            "learn_interruptions": rng.poisson(np.exp(0.8 - 0.3 * lat)),
            "practice_attempts": 1 + rng.poisson(np.exp(0.3 - 0.4 * lat)),
            "practice_first_pass": (lat + rng.normal(0, 0.8, len(ti))) > -0.2,
            "practice_error_rate": np.round(np.clip(0.18 - 0.06 * lat + rng.normal(0, 0.03, len(ti)), 0, 1), 3),
            "exam_score": ex,
            "exam_attempts": np.where(took_exam, 1 + (ex < EXAM_PASS).astype(int) + (rng.random(len(ti)) < 0.1), 0),
            "exam_passed": pd.array(passed, dtype="boolean") if False else pd.Series(passed).map({1.0: True, 0.0: False}).astype("boolean"),
            "reaction_score": np.round(np.clip(4.0 + 0.3 * lat + rng.normal(0, 0.4, len(ti)), 1, 5), 1),
        }
    ).sort_values(["employee_id", "program_id", "start_date"], ignore_index=True)

    # ---- assessments (one per staff member and competency, just before the panel)
    for d, name in enumerate(dept_names):
        role = DEPARTMENTS[name][1]
        idx = np.nonzero(dept == d)[0]
        for comp, _required, _weight in COMPETENCIES[role]:
            source = rng.choice(["test", "manager", "self"], size=len(idx), p=[0.4, 0.4, 0.2])
            noise = rng.normal(0, 0.3, size=len(idx)) + np.where(source == "self", 0.3, 0.0)
            assess_rows.append(
                pd.DataFrame(
                    {
                        "employee_id": staff_ids[idx],
                        "competency": comp,
                        "assessed_on": start - pd.to_timedelta(rng.integers(1, 60, size=len(idx)), unit="D"),
                        "score": np.round(np.clip(levels[(role, comp)][idx] + noise, 0, 5), 2),
                        "source": source,
                    }
                )
            )
    assessments = pd.concat(assess_rows, ignore_index=True)
    assessments = assessments[assessments["employee_id"].isin(staff_ids[first_period == 1])].reset_index(drop=True)

    tables = {
        "employees": employees,
        "kpi_definitions": pd.DataFrame(
            [(k, unit, hib, vpu, target) for k, (unit, hib, vpu, target) in KPIS.items()],
            columns=["kpi", "unit", "higher_is_better", "value_per_unit", "target"],
        ),
        "programs": pd.DataFrame(
            [(p, n, c, comp, k, h, 12) for p, (n, c, comp, k, h, _peak) in PROGRAMS.items()],
            columns=["program_id", "name", "category", "target_competency", "kpi", "duration_hours", "benefit_months"],
        ),
        "enrollments": enrollments,
        "kpi_monthly": kpi_monthly,
        "assessments": assessments,
        "role_requirements": pd.DataFrame(req_rows, columns=["role", "competency", "required_level", "weight"]),
        "costs": _costs(enrollments, rng),
        "headcount_plan": _headcount_plan(employees, months, rng),
        "budget_priorities": pd.DataFrame(
            [("P01", 0.5, 0.35, 0.15), ("P02", 0.3, 0.4, 0.3), ("P03", 0.2, 0.25, 0.55)],
            columns=["program_id", "strategic_weight", "business_weight", "employee_weight"],
        ),
        "context_monthly": pd.DataFrame(
            {
                "region": np.repeat(REGIONS, T),
                "month": np.tile(months, len(REGIONS)),
                "market_index": np.round(market.ravel(), 2),
            }
        ),
        "scorecard_inputs": _scorecard_inputs(months, rng),
    }
    truth = _ground_truth(config, tables, staff_ids, dept, dept_names, cohort, trained, tau, observed, exam, took_exam_by=(ti, took_exam),
                          weighted_gap=weighted_gap, levels=levels, rollout=rollout)
    return SampleData(tables=tables, ground_truth=truth)


def _costs(enrollments: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Fully loaded costs by Phillips category, per program and year."""
    rows = []
    trainees = enrollments.assign(year=enrollments["start_date"].dt.year).groupby(["program_id", "year"]).size()
    for (program_id, year), n in trainees.items():
        hours = PROGRAMS[program_id][4]
        per_head = {"delivery": 900.0, "materials": 150.0, "facilitator": 400.0, "facilities": 120.0, "travel": 260.0}
        fixed = {"needs_assessment": 30_000.0, "design_development": 120_000.0, "evaluation": 25_000.0}
        amounts = {k: v * n * hours / 16 for k, v in per_head.items()} | fixed
        amounts["participant_time"] = n * hours * HOURLY_WAGE * 1.3
        amounts["overhead"] = 0.12 * sum(amounts.values())
        if year != trainees.index.get_level_values("year").min():
            amounts["design_development"] = 20_000.0
        for category, amount in amounts.items():
            rows.append((program_id, str(year), category, round(amount * rng.uniform(0.95, 1.05), 2)))
    return pd.DataFrame(rows, columns=["program_id", "period", "category", "amount"])


def _headcount_plan(employees: pd.DataFrame, months: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    """Next year's plan per department: current headcount, planned hires and exits."""
    end = months[-1] + pd.offsets.MonthEnd(0)
    active = employees[(employees["hire_date"] <= end) & (employees["exit_date"].isna() | (employees["exit_date"] > end))]
    rows = []
    for department, n in active.groupby("department").size().items():
        rows.append((department, int(end.year + 1), int(n), int(round(n * rng.uniform(0.12, 0.25))), int(round(n * rng.uniform(0.08, 0.15)))))
    return pd.DataFrame(rows, columns=["unit", "year", "current_headcount", "planned_hires", "planned_exits"])


def _scorecard_inputs(months: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    """Quarterly company-level figures no export holds (balanced-scorecard inputs)."""
    quarters = sorted({f"{m.year}-Q{(m.month - 1) // 3 + 1}" for m in months})
    figures = {
        "training_revenue": (1_200_000.0, 1_300_000.0, 0.06),
        "learner_nps": (38.0, 40.0, 0.15),
        "client_renewal_rate": (0.82, 0.85, 0.03),
        "course_satisfaction": (4.3, 4.5, 0.03),
        "instructor_utilization": (0.71, 0.75, 0.05),
    }
    rows = []
    for k, (base, target, sd) in figures.items():
        for q in quarters:
            rows.append((q, k, round(base * (1 + rng.normal(0, sd)), 4), target))
    return pd.DataFrame(rows, columns=["period", "kpi", "value", "target"])


def _ground_truth(config, tables, staff_ids, dept, dept_names, cohort, trained, tau, observed, exam, took_exam_by, *, weighted_gap, levels, rollout) -> dict[str, Any]:  # noqa: ANN001
    T = config.n_months
    months = _months(config)
    programs: dict[str, Any] = {}
    ti, took_exam = took_exam_by
    exam_taken = np.full(len(staff_ids), np.nan)
    exam_taken[ti[took_exam]] = exam[ti[took_exam]]
    for program_id, (_n, _c, _comp, kpi, _h, _peak) in PROGRAMS.items():
        d = [i for i, name in enumerate(dept_names) if DEPARTMENTS[name][3] == program_id][0]
        members = np.nonzero(trained & (dept == d))[0]
        cells = []
        for g in np.unique(cohort[members]):
            ids = members[cohort[members] == g]
            ids = ids[observed[ids].any(axis=1)]
            for t in range(int(g), T + 1):
                obs = ids[observed[ids, t - 1]]
                if len(obs):
                    cells.append({"cohort": int(g), "cohort_month": months[g - 1].strftime("%Y-%m-%d"), "period": t, "event_time": t - int(g),
                                  "att": float(tau[obs, t - 1].mean()), "n": int(len(obs)), "cohort_size": int(len(ids))})
        cell = pd.DataFrame(cells)
        overall = float(np.average(cell["att"], weights=cell["cohort_size"])) if len(cell) else 0.0
        by_event = cell.groupby("event_time").apply(lambda f: np.average(f["att"], weights=f["cohort_size"]), include_groups=False)
        by_cohort = cell.groupby("cohort")["att"].mean()
        post_i, post_t = np.nonzero(observed[members] & (np.arange(1, T + 1)[None, :] >= cohort[members][:, None]))
        who = members[post_i]
        band = pd.cut(exam_taken[who], [-np.inf, 60, 80, np.inf], right=False, labels=["<60", "60-80", ">=80"])
        eff = pd.DataFrame({"band": band, "tau": tau[who, post_t]}).dropna()
        bands = eff.groupby("band", observed=True)["tau"].agg(["mean", "size"])
        programs[program_id] = {
            "kpi": kpi,
            "overall_att": overall,
            "n_trainees": int(len(members)),
            "att_gt": cell.drop(columns="cohort_size").to_dict("records"),
            "att_event_time": [{"event_time": int(e), "att": float(v)} for e, v in by_event.items()],
            "att_cohort": [{"cohort": int(g), "att": float(v)} for g, v in by_cohort.items()],
            "att_exam_band": [{"band": str(b), "att": float(r["mean"]), "n_trainee_months": int(r["size"])} for b, r in bands.iterrows()],
        }
    gap_rows = []
    for role, comps in COMPETENCIES.items():
        d = [i for i, name in enumerate(dept_names) if DEPARTMENTS[name][1] == role]
        if not d:
            continue
        idx = np.nonzero(dept == d[0])[0]
        for comp, required, _w in comps:
            gap_rows.append({"role": role, "competency": comp, "mean_gap": float(np.maximum(0.0, required - levels[(role, comp)][idx]).mean())})
    by_dept = {dept_names[d]: float(weighted_gap[dept == d].mean()) for d in range(len(dept_names))}
    return {
        "config": asdict(config),
        "description": "True effects and gaps of the generated sample; see analysis/sample.py for the generating process.",
        "estimand": "overall_att = mean over post-training cells (g <= t <= n_months) of the true ATT(g,t), weighted by cohort size "
        "(Callaway-Sant'Anna simple aggregation); ATT(g,t) = mean true effect of cohort-g trainees with a KPI row in month t.",
        "region_rollout_period": {REGIONS[r]: int(p) for r, p in enumerate(rollout)},
        "programs": programs,
        "gaps": {"role_competency": gap_rows, "department_weighted_gap": by_dept},
    }


def _format(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Stable text formatting for CSV: dates as YYYY-MM-DD, booleans as true/false."""
    out = df.copy()
    spec = TABLES[name]
    for col in spec.columns:
        if col.name not in out.columns:
            continue
        if col.kind in ("date", "month"):
            out[col.name] = pd.to_datetime(out[col.name]).dt.strftime("%Y-%m-%d")
        elif col.kind == "bool":
            out[col.name] = out[col.name].map({True: "true", False: "false"})
    return out


def write_sample(out_dir: str | Path, config: SampleConfig = SampleConfig()) -> Path:
    """Generate the sample and write it as one CSV per contract table plus ground truth.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write (created if needed).
    config : SampleConfig
        Generator settings.

    Returns
    -------
    Path
        The folder written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(config)
    for name, df in data.tables.items():
        _format(df, name).to_csv(out / f"{name}.csv", index=False, lineterminator="\n")
    (out / "ground_truth.json").write_text(json.dumps(data.ground_truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "README.md").write_text(sample_readme(data.ground_truth), encoding="utf-8")
    return out


def sample_readme(truth: dict[str, Any]) -> str:
    """The sample folder's README: how it was generated and what the truth is."""
    cfg = truth["config"]
    switches = ", ".join(f"{k}={'on' if v else 'off'}" for k, v in cfg.items() if isinstance(v, bool))
    lines = [
        "# Sample data (generated — do not edit by hand)",
        "",
        f"Written by `python -m analysis sample --employees {cfg['n_employees']} --months {cfg['n_months']} --seed {cfg['seed']}`"
        f" (`make sample`); confounds: {switches}. Every table follows the data contract; `ground_truth.json` holds the"
        " true effects and gaps. A test regenerates this folder and compares it value for value.",
        "",
        "## True overall effect per program (the estimand the reports estimate)",
        "",
        "| program | KPI | trainees | true ATT per trainee-month |",
        "|---|---|---|---|",
    ]
    for program_id, p in truth["programs"].items():
        lines.append(f"| {program_id} | {p['kpi']} | {p['n_trainees']} | {p['overall_att']:,.2f} |")
    lines += ["", "## Generating process", "", (__doc__ or "").strip(), ""]
    return "\n".join(lines)


def cli(argv: list[str]) -> int:
    """``python -m analysis sample``: write the sample data set."""
    parser = argparse.ArgumentParser(prog="python -m analysis sample", description="Generate the sample data set with known truth.")
    parser.add_argument("--employees", type=int, default=SampleConfig.n_employees)
    parser.add_argument("--months", type=int, default=SampleConfig.n_months)
    parser.add_argument("--seed", type=int, default=SampleConfig.seed)
    parser.add_argument("--start-month", default=SampleConfig.start_month)
    parser.add_argument("--out", default="data/sample")
    switches = [f.name for f in fields(SampleConfig) if f.type in ("bool", bool)]
    for name in switches:
        parser.add_argument(f"--no-{name.replace('_', '-')}", dest=name, action="store_false", help=f"switch off {name.replace('_', ' ')}")
    args = parser.parse_args(argv)
    config = SampleConfig(
        n_employees=args.employees, n_months=args.months, seed=args.seed, start_month=args.start_month, **{n: getattr(args, n) for n in switches}
    )
    path = write_sample(args.out, config)
    print(f"wrote sample data ({config.n_employees} employees x {config.n_months} months, seed {config.seed}) to {path}")
    return 0
