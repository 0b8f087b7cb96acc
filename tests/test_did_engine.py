"""Guard the ``diff_diff`` internals that :mod:`analysis.did` relies on.

The kit re-aggregates ATT(g, t) cells (post-treatment months only when anticipation > 0,
by cohort and calendar month) and keeps the multiplier-bootstrap draws per event time
through parts of ``diff_diff`` that are not its public API. ``pyproject.toml`` therefore
bounds ``diff-diff`` to the minor version these tests were written against; when the
bound is moved, each test below names the internal that changed, so the fix is a
targeted one (or a move to the public API if ``diff_diff`` gained one).
"""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]


def _bound() -> SpecifierSet:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(r'"diff-diff([^"]*)"', text)
    assert m, "pyproject.toml: no diff-diff requirement found"
    return SpecifierSet(m.group(1))


def test_installed_diff_diff_is_within_the_tested_bound():
    bound, installed = _bound(), version("diff-diff")
    assert installed in bound, (
        f"diff-diff {installed} is installed but pyproject.toml allows {bound}: analysis/did.py uses "
        "diff_diff internals checked only for that range; run tests/test_did_engine.py against the new "
        "version before widening the bound"
    )
    # the bound is a single minor version: internals may change in any minor release
    assert any(s.operator == "<" for s in bound) and any(s.operator == ">=" for s in bound)


def _params(func) -> set[str]:
    return set(inspect.signature(func).parameters)


@pytest.mark.parametrize(
    ("owner", "name", "needed"),
    [
        ("_KitAggregator", "_aggregate_simple", {"group_time_effects", "influence_func_info", "precomputed"}),
        ("_KitAggregator", "_compute_aggregated_se_with_wif", {"gt_pairs", "weights", "effects", "groups_for_gt"}),
        (
            "_KitBootstrapAggregator",
            "_run_multiplier_bootstrap",
            {"group_time_effects", "influence_func_info", "aggregate", "balance_e", "treatment_groups",
             "time_periods", "df", "unit", "precomputed", "cband", "_replay_bitgen_state"},
        ),  # fmt: skip
        ("_KitBootstrapAggregator", "_prepare_event_study_aggregation", {"gt_pairs", "group_time_effects"}),
    ],
)
def test_private_aggregators_keep_their_signatures(owner, name, needed):
    from diff_diff import staggered_results

    cls = getattr(staggered_results, owner, None)
    assert cls is not None, f"diff_diff.staggered_results.{owner} is gone (used by analysis/did.py)"
    func = getattr(cls, name, None)
    assert func is not None, f"diff_diff.staggered_results.{owner}.{name} is gone (used by analysis/did.py)"
    missing = needed - _params(func)
    assert not missing, f"diff_diff {owner}.{name} lost parameter(s) {sorted(missing)} (used by analysis/did.py)"
    if owner == "_KitBootstrapAggregator":
        init = _params(cls.__init__)
        assert {"alpha", "anticipation", "n_bootstrap", "bootstrap_weights", "bootstrap_label"} <= init, (
            f"diff_diff.staggered_results.{owner}.__init__ changed: {sorted(init)}"
        )


def test_bootstrap_gemm_is_a_module_function_of_staggered_bootstrap():
    from diff_diff import bootstrap_chunking, staggered_bootstrap

    assert getattr(staggered_bootstrap, "tiled_if_matmul", None) is bootstrap_chunking.tiled_if_matmul, (
        "diff_diff.staggered_bootstrap.tiled_if_matmul changed: StaggeredDiDResults.event_study_draws() "
        "keeps the event-time draws by wrapping it during a bootstrap replay"
    )
    assert {"weight_stream", "n_bootstrap", "n_units", "columns"} <= _params(bootstrap_chunking.tiled_if_matmul)


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n, periods = 120, np.arange(1, 7)
    cohort = rng.choice([0, 3, 5], size=n)
    y = rng.normal(size=(n, len(periods))) + np.where((periods >= cohort[:, None]) & (cohort[:, None] > 0), 1.0, 0.0)
    return pd.DataFrame({"unit": np.repeat(np.arange(n), 6), "period": np.tile(periods, n),
                         "cohort": np.repeat(cohort, 6), "y": y.ravel()})  # fmt: skip


@pytest.mark.parametrize("n_boot", [0, 49])
def test_fitted_result_carries_the_aggregation_kit(n_boot):
    from analysis.did import staggered_did

    res = staggered_did(_panel(), "y", "unit", "period", "cohort", n_boot=n_boot, seed=1)
    kit = getattr(res.raw, "_aggregation_kit", None)
    assert kit is not None, "diff_diff results no longer carry _aggregation_kit (used by analysis/did.py)"
    for attr in ("influence", "bookkeeping", "alpha", "anticipation", "bootstrap", "cband"):
        assert hasattr(kit, attr), f"diff_diff _aggregation_kit lost attribute {attr!r} (used by analysis/did.py)"
    for key in ("all_units", "unit_cohorts", "canonical_size", "resolved_survey_unit"):
        assert key in kit.bookkeeping, f"diff_diff _aggregation_kit.bookkeeping lost {key!r} (used by analysis/did.py)"
    cell = next(iter(kit.influence.values()))
    assert {"treated_idx", "control_idx", "treated_inf", "control_inf"} <= set(cell), (
        f"diff_diff influence-function cells changed: {sorted(cell)} (used by StaggeredDiDResults.cov)"
    )
    if n_boot:
        for attr in ("n_bootstrap", "weight_type", "bitgen_state"):
            assert hasattr(kit.bootstrap, attr), f"diff_diff _aggregation_kit.bootstrap lost {attr!r}"
        # the internals still compute what the kit expects of them
        draws = res.event_study_draws()
        dyn = res.aggregate("dynamic").set_index("event_time")
        np.testing.assert_allclose(draws.std(ddof=1), dyn["se"], rtol=1e-9)
    post = res.aggregate("calendar")
    assert np.isfinite(post["se"]).all() and (post["se"] > 0).all()


@pytest.mark.parametrize(
    ("name", "needed"),
    [
        ("_cluster_robust_se_from_per_gt_if", {"inf_info", "resolved_survey"}),
        ("solve_logit", {"X", "y", "rank_deficient_action", "weights", "context_label", "diagnostics_out"}),
        ("_linear_regression", {"X", "y", "rank_deficient_action", "weights"}),
        ("safe_inference", {"effect", "se", "alpha", "df"}),
    ],
)
def test_speedup_targets_are_module_functions_of_staggered(name, needed):
    """analysis/did_speedups.py swaps these names of diff_diff.staggered during a kit fit."""
    from diff_diff import staggered

    func = getattr(staggered, name, None)
    assert callable(func), f"diff_diff.staggered.{name} is gone (analysis/did_speedups.py stands in for it)"
    missing = needed - _params(func)
    assert not missing, f"diff_diff.staggered.{name} lost parameter(s) {sorted(missing)} (analysis/did_speedups.py)"
    assert f"= {name}(" in inspect.getsource(staggered), (
        f"diff_diff.staggered no longer calls {name} by its module name: the stand-in would not be used"
    )


def test_every_estimation_path_asks_the_estimator_which_periods_to_estimate():
    """fit_callaway_santanna(cells="post") answers CallawaySantAnna._valid_periods_for_group for its instance."""
    from diff_diff import CallawaySantAnna, staggered

    method = getattr(CallawaySantAnna, "_valid_periods_for_group", None)
    assert callable(method), "CallawaySantAnna._valid_periods_for_group is gone (analysis/did.py: cells='post')"
    assert _params(method) >= {"g", "time_periods", "observed_sorted"}, "its parameters changed (analysis/did.py)"
    source = inspect.getsource(staggered)
    assert source.count("self._valid_periods_for_group(") >= 3, (
        "diff_diff no longer asks self._valid_periods_for_group in every estimation path: cells='post' may not apply"
    )


def test_cholesky_targets_are_scipys_names_in_diff_diff_linalg():
    """analysis/did_speedups.py swaps diff_diff.linalg's cho_factor / cho_solve (scipy's) during a kit fit."""
    import scipy.linalg
    from diff_diff import linalg

    assert linalg.cho_factor is scipy.linalg.cho_factor and linalg.cho_solve is scipy.linalg.cho_solve, (
        "diff_diff.linalg no longer imports scipy's cho_factor / cho_solve: analysis/did_speedups.py's stand-ins "
        "may not apply"
    )
    source = inspect.getsource(linalg.solve_logit)
    assert "cho_factor(gram)" in source and "cho_solve(chol," in source, (
        "diff_diff.linalg.solve_logit no longer calls cho_factor / cho_solve by their module names"
    )


def test_cell_variance_is_diff_diffs_single_stratum_cluster_arithmetic():
    """did_speedups.cluster_if_variance repeats _compute_stratified_psu_meat's no-strata, cluster branch."""
    from diff_diff import survey

    assert {"psi", "resolved"} <= _params(survey.compute_survey_if_variance)
    source = inspect.getsource(survey._compute_stratified_psu_meat)
    for line in (
        "psu_scores = pd.DataFrame(scores).groupby(psu).sum().values",
        "psu_mean = psu_scores.mean(axis=0, keepdims=True)",
        "centered = psu_scores - psu_mean",
        "adjustment = (1.0 - f_h) * (n_psu / (n_psu - 1))",
        "meat = adjustment * (centered.T @ centered)",
    ):
        assert line in source, (
            f"diff_diff.survey._compute_stratified_psu_meat no longer has {line!r}: analysis/did_speedups.py's "
            "cluster_if_variance repeats that arithmetic in that order and must follow it"
        )
    if_source = inspect.getsource(survey.compute_survey_if_variance)
    assert "if _variance_computed or legitimate_zero_count > 0:" in if_source, (
        "diff_diff.survey.compute_survey_if_variance changed its zero / NaN rule (analysis/did_speedups.py repeats it)"
    )


def test_groupby_sum_is_the_groupers_cython_operation():
    """pandas' DataFrame.groupby(psu).sum() is BaseGrouper._cython_operation(block, "sum", axis=1, min_count=0, skipna=True).

    did_speedups.cluster_if_variance makes that call itself with the grouper built once per fit;
    pandas 3.1 picks numpy.add.reduceat for sorted codes and the Cython group_sum otherwise, and the
    two differ in the last digits, so it must be pandas' own dispatch, not either kernel alone.
    """
    from pandas.core.groupby import groupby, ops

    from analysis import did_speedups

    names = list(inspect.signature(ops.BaseGrouper._cython_operation).parameters)
    assert names[:5] == ["self", "values", "how", "axis", "min_count"], (
        f"pandas BaseGrouper._cython_operation is now {names}: analysis/did_speedups.py's cluster sums fall back "
        "to diff_diff's own cell SE (slower, same numbers); update cluster_if_variance to the new call"
    )
    assert did_speedups._sums_by_cython_operation(ops.BaseGrouper)
    agg = inspect.getsource(groupby.GroupBy._cython_agg_general)
    assert "self._grouper._cython_operation(" in agg and "axis=data.ndim - 1," in agg, (
        "pandas GroupBy._cython_agg_general no longer calls self._grouper._cython_operation(values, how, "
        "axis=data.ndim - 1, ...) (analysis/did_speedups.py makes that call itself)"
    )
    assert '"sum",' in inspect.getsource(groupby.GroupBy.sum) and "skipna=skipna" in inspect.getsource(groupby.GroupBy.sum)
    rng = np.random.default_rng(2)
    for psu in (np.sort(rng.integers(0, 20, 300)), rng.integers(0, 20, 300)):
        psi = rng.normal(size=300)
        grouper = pd.DataFrame(np.zeros((300, 1))).groupby(psu)._grouper
        ours = grouper._cython_operation(psi[np.newaxis, :], "sum", axis=1, min_count=0, skipna=True).T
        ref = pd.DataFrame(psi[:, np.newaxis]).groupby(psu).sum().values
        assert np.array_equal(ours, ref) and ours.strides == ref.strides, (
            "pandas' groupby sum is no longer the grouper's _cython_operation (analysis/did_speedups.py)"
        )


def test_p_values_are_ndtr_and_stdtr_underneath():
    """did_speedups.safe_inference computes 2 * norm.sf(|t|) as 2 * ndtr(-|t|), 2 * t.sf(|t|, df) as 2 * stdtr(df, -|t|)."""
    from diff_diff import staggered, utils
    from scipy.stats import _continuous_distns

    assert staggered.safe_inference is utils.safe_inference, (
        "diff_diff.staggered no longer imports diff_diff.utils.safe_inference (analysis/did_speedups.py swaps it)"
    )
    p_source = inspect.getsource(utils.compute_p_value)
    for line in ("p_value = stats.t.sf(np.abs(t_stat), df)", "p_value = stats.norm.sf(np.abs(t_stat))",
                 "p_value *= 2", "return float(p_value)"):
        assert line in p_source, f"diff_diff.utils.compute_p_value no longer has {line!r} (analysis/did_speedups.py)"
    s_source = inspect.getsource(utils.safe_inference)
    for line in ("if not (np.isfinite(se) and se > 0):", "if df is not None and not (np.isfinite(df) and df > 0):",
                 "t_stat = effect / se",
                 "conf_int = compute_confidence_interval(effect, se, alpha, df=df)"):
        assert line in s_source, f"diff_diff.utils.safe_inference no longer has {line!r} (analysis/did_speedups.py)"
    assert "_norm_cdf(-x)" in inspect.getsource(_continuous_distns._norm_sf), "scipy's norm.sf is no longer ndtr(-x)"
    assert "sc.ndtr(x)" in inspect.getsource(_continuous_distns._norm_cdf), "scipy's norm.cdf is no longer ndtr"
    assert "sc.stdtr(df, -x)" in inspect.getsource(_continuous_distns.t_gen._sf), "scipy's t.sf is no longer stdtr"


def test_solve_logit_reads_weights_only_where_ones_and_none_agree():
    """did_speedups keys solve_logit's weights of ones as weights=None (the same computation).

    That holds because diff_diff's logit reads ``weights`` only in these statements: checks that
    ones pass, zero-weight branches that neither takes, and ``w_total = weights * w_irls``
    (``1.0 * x == x``). Any other use must be read before the key is trusted.
    """
    import ast
    import textwrap

    from diff_diff import linalg

    source = textwrap.dedent(inspect.getsource(linalg.solve_logit))
    lines = source.splitlines()
    uses = sorted({lines[node.lineno - 1].strip() for node in ast.walk(ast.parse(source))
                   if isinstance(node, ast.Name) and node.id == "weights"})
    expected = sorted({
        "if weights is not None:",
        "weights = np.asarray(weights, dtype=np.float64)",
        "if weights.shape != (n,):",
        'raise ValueError(f"weights must have shape ({n},), got {weights.shape}")',
        "if np.any(np.isnan(weights)):",
        "if np.any(~np.isfinite(weights)):",
        "if np.any(weights < 0):",
        "if np.sum(weights) <= 0:",
        "if weights is not None and np.any(weights == 0):",
        "pos_mask = weights > 0",
        "y_eff = y[weights > 0]",
        "w_total = weights * w_irls",
    })
    assert uses == expected, (
        f"diff_diff.linalg.solve_logit reads weights differently now: {sorted(set(uses) ^ set(expected))}; "
        "analysis/did_speedups.py keys weights of ones as None (unit_weights_are_none): check it still holds"
    )


def _name_lines(source: str, name: str) -> set[str]:
    """The stripped lines of ``source`` where the variable ``name`` is read or written."""
    import ast
    import textwrap

    source = textwrap.dedent(source)
    lines = source.splitlines()
    return {lines[node.lineno - 1].strip() for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Name) and node.id == name}


def test_precompute_structures_reads_covariates_only_in_its_covariate_loop():
    """did_speedups.precompute_structures calls CallawaySantAnna._precompute_structures with covariates=None and
    places covariate_by_period itself: that holds while the method reads ``covariates`` only in this loop, after
    its pivot (which raises on a unit with two rows in a period), and diff_diff reads the arrays only by masks."""
    from diff_diff import CallawaySantAnna, staggered, staggered_aggregation, staggered_bootstrap, staggered_results

    from analysis import did_speedups

    method = CallawaySantAnna.__dict__.get("_precompute_structures")
    assert callable(method), "CallawaySantAnna._precompute_structures is gone (analysis/did_speedups.py stands in for it)"
    assert list(inspect.signature(method).parameters) == list(inspect.signature(did_speedups.precompute_structures).parameters), (
        "CallawaySantAnna._precompute_structures changed its parameters (analysis/did_speedups.py repeats them)"
    )
    assert inspect.getsource(staggered).count("self._precompute_structures(") >= 2
    source = inspect.getsource(method)
    assert _name_lines(source, "covariates") == {"if covariates:",
                                                 "period_cov = period_data.reindex(all_units)[covariates]"}, (
        "CallawaySantAnna._precompute_structures reads covariates elsewhere now: analysis/did_speedups.py calls it "
        "with covariates=None for every entry but covariate_by_period"
    )
    for line in (
        "unit_info = df.groupby(unit)[first_treat].first()",
        "all_units = unit_info.index.values",
        "outcome_wide = df.pivot(index=unit, columns=time, values=outcome)",
        "covariate_by_period = None",
        "for t in time_periods:",
        "period_data = df[df[time] == t].set_index(unit)",
        "period_cov = period_data.reindex(all_units)[covariates]",
        "covariate_by_period[t] = period_cov.values",
        '"covariate_by_period": covariate_by_period,',
    ):
        assert line in source, (
            f"CallawaySantAnna._precompute_structures no longer has {line!r}: analysis/did_speedups.py's "
            "covariates_by_period repeats that loop"
        )
    assert source.index("df.pivot(") < source.index("for t in time_periods:"), "the pivot no longer precedes the loop"
    # diff_diff reads the arrays only through boolean masks (new C-ordered arrays whatever their layout)
    assert _name_lines(inspect.getsource(staggered), "cov_matrix") == {
        "cov_matrix = covariate_by_period[base_period_val]",
        "X_treated = cov_matrix[treated_valid]",
        "X_control = cov_matrix[control_valid]",
        "X_ctrl_raw = cov_matrix[control_valid_base]",
        "X_treated_pair = cov_matrix[treated_valid]",
        "X_control_pair = cov_matrix[control_valid]",
    }, "diff_diff.staggered reads covariate_by_period's arrays differently now (analysis/did_speedups.py)"
    assert "cov_matrix = covariate_by_period[base_period_val]" in _name_lines(inspect.getsource(staggered),
                                                                              "covariate_by_period")
    for module in (staggered_aggregation, staggered_bootstrap, staggered_results):
        assert "covariate_by_period" not in inspect.getsource(module), f"{module.__name__} reads covariate_by_period"
    block = np.random.default_rng(1).normal(size=(4, 60))
    mask = np.arange(60) % 3 != 0
    masked = [a[mask] for a in (block[:2].T, block[::2].T, block[1::-1].T, np.ascontiguousarray(block[:2].T))]
    assert all(m.flags.c_contiguous and m.strides == masked[-1].strides for m in masked), (
        "numpy's boolean indexing now keeps the source's layout: analysis/did_speedups.py's covariate arrays "
        "must then have pandas' layout too"
    )
