"""The kit's stand-ins for ``diff_diff`` internals (analysis/did_speedups.py) give diff_diff's own numbers.

Reference: ``diff_diff.CallawaySantAnna`` 3.13 itself, run on R ``did``'s ``mpdta`` panel
(Callaway & Sant'Anna 2021; ``../shared/data/mpdta.csv``) with the stand-ins out and in:
every ATT(g, t), standard error, aggregate and bootstrap draw must be the same float, not
merely close.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import did_speedups
from analysis.did import fit_callaway_santanna, prepare_did_panel

from tests.conftest import MPDTA, NEEDS_MPDTA

pytestmark = NEEDS_MPDTA


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    df = pd.read_csv(MPDTA)
    # a cluster above the county: the state (first digits of the FIPS code), 29 clusters
    df["state"] = df["countyreal"] // 1000
    # and clusters whose ids are not in the units' order (pandas sums those by another routine)
    df["market"] = df["countyreal"].map(dict(zip(sorted(df["countyreal"].unique()), np.random.default_rng(5).integers(0, 40, 500))))
    # drop some county-years so the panel is unbalanced (each cell uses a different set of counties)
    rng = np.random.default_rng(11)
    return df.loc[rng.random(len(df)) > 0.08].reset_index(drop=True)


def _diff_diff_fit(df: pd.DataFrame, method: str, cluster: str | None, n_boot: int = 0):
    from diff_diff import CallawaySantAnna

    est = CallawaySantAnna(estimation_method=method, cluster=cluster, n_bootstrap=n_boot, seed=3,
                           rank_deficient_action="silent", pscore_fallback="unconditional")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(df, outcome="lemp", unit="countyreal", time="year", first_treat="first.treat",
                       covariates=["lpop"])


def _cells(raw) -> pd.DataFrame:
    rows = [{"g": g, "t": t, "att": d["effect"], "se": d["se"], "n_t": d["n_treated"], "n_c": d["n_control"]}
            for (g, t), d in raw.group_time_effects.items()]
    return pd.DataFrame(rows).sort_values(["g", "t"], ignore_index=True)


@pytest.mark.parametrize("cluster", ["state", "market"])
@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
def test_cell_cluster_se_is_diff_diffs_number(mpdta, method, cluster):
    ref = _diff_diff_fit(mpdta, method, cluster, n_boot=49)
    with did_speedups.installed():
        from diff_diff import staggered

        assert staggered._cluster_robust_se_from_per_gt_if is did_speedups.cell_cluster_se
        fast = _diff_diff_fit(mpdta, method, cluster, n_boot=49)
    pd.testing.assert_frame_equal(_cells(fast), _cells(ref), check_exact=True)
    assert fast.overall_att == ref.overall_att and fast.overall_se == ref.overall_se
    np.testing.assert_array_equal(fast.bootstrap_results.bootstrap_distribution,
                                  ref.bootstrap_results.bootstrap_distribution)
    # diff_diff's own function is back once the block ends
    from diff_diff import staggered

    assert staggered._cluster_robust_se_from_per_gt_if is not did_speedups.cell_cluster_se


@pytest.mark.parametrize("cluster", ["state", "market"])
def test_cell_cluster_se_matches_on_every_cell_directly(mpdta, cluster):
    from diff_diff import staggered

    raw = _diff_diff_fit(mpdta, "dr", cluster)
    kit = raw._aggregation_kit
    design = kit.bookkeeping["resolved_survey_unit"]
    assert design is not None and design.psu is not None
    for gt, info in kit.influence.items():
        assert did_speedups.cell_cluster_se(info, design) == staggered._cluster_robust_se_from_per_gt_if(info, design), gt
    # malformed inputs: the same None as diff_diff
    assert did_speedups.cell_cluster_se({"treated_idx": []}, design) is None


def _design(psu: np.ndarray):
    """The unit-level design diff_diff synthesises for ``cluster=``: clusters only."""
    from diff_diff.survey import ResolvedSurveyDesign

    return ResolvedSurveyDesign(weights=np.ones(len(psu)), weight_type="pweight", strata=None, psu=psu, fpc=None,
                                n_strata=0, n_psu=len(np.unique(psu)), lonely_psu="remove")


def _same(a, b) -> bool:
    """The same value of the same type (NaN equal to NaN, None to None)."""
    if a is None or b is None:
        return a is b
    return type(a) is type(b) and (a == b or (np.isnan(a) and np.isnan(b)))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 600), n_clusters=st.integers(1, 60), seed=st.integers(0, 2**32 - 1),
       order=st.sampled_from(["sorted", "shuffled", "one run each"]), nan=st.sampled_from([False, False, False, True]),
       share=st.sampled_from([0.0, 0.1, 0.5, 1.0]), scale=st.sampled_from([1e-9, 1.0, 1e4]))
def test_cluster_sums_and_variance_are_diff_diffs_numbers(n, n_clusters, seed, order, nan, share, scale):
    """Cluster sums by pandas' own dispatch (reduceat for sorted codes, Cython group_sum otherwise) and
    diff_diff's variance arithmetic: the same floats as compute_survey_if_variance / the cell SE."""
    from diff_diff import staggered
    from diff_diff.survey import compute_survey_if_variance

    rng = np.random.default_rng(seed)
    psu = rng.integers(0, n_clusters, n) * 7 + 3  # labels that are not 0..G-1
    if order == "sorted":
        psu = np.sort(psu)
    elif order == "one run each":
        psu = np.repeat(np.arange(n_clusters), n // n_clusters + 1)[:n]
    chosen = rng.random(n) < share
    psi = np.zeros(n)
    psi[chosen] = rng.normal(size=int(chosen.sum())) * scale
    if nan:
        psi[rng.integers(n)] = np.nan
    design = _design(psu)
    grouper = did_speedups._cluster_grouper(design)
    assert grouper is not None
    sums = grouper._cython_operation(psi[np.newaxis, :], "sum", axis=1, min_count=0, skipna=True).T
    ref_sums = pd.DataFrame(psi[:, np.newaxis]).groupby(psu).sum().values
    assert np.array_equal(sums, ref_sums, equal_nan=True) and sums.strides == ref_sums.strides
    assert _same(did_speedups.cluster_if_variance(psi, grouper), compute_survey_if_variance(psi, design))
    # the whole cell: treated and control units drawn apart, as diff_diff's cells are
    idx = rng.permutation(n)
    n_t = int(rng.integers(0, n + 1))
    info = {"treated_idx": idx[:n_t], "control_idx": idx[n_t:],
            "treated_inf": psi[idx[:n_t]], "control_inf": psi[idx[n_t:]]}
    assert _same(did_speedups.cell_cluster_se(info, design), staggered._cluster_robust_se_from_per_gt_if(info, design))


def test_cell_cluster_se_leaves_other_designs_to_diff_diff(monkeypatch):
    """Strata (or no pandas grouper to reuse): diff_diff's own function computes the SE."""
    from diff_diff import staggered

    rng = np.random.default_rng(4)
    psu = rng.integers(0, 9, 120)
    info = {"treated_idx": np.arange(30), "control_idx": np.arange(30, 120),
            "treated_inf": rng.normal(size=30), "control_inf": rng.normal(size=90)}
    calls = []
    original = staggered._cluster_robust_se_from_per_gt_if
    monkeypatch.setattr(did_speedups, "_diff_diff_cell_se", lambda: lambda *a: calls.append(a) or original(*a))
    stratified = _design(psu)
    stratified.strata = psu % 2
    assert _same(did_speedups.cell_cluster_se(info, stratified), original(info, stratified)) and len(calls) == 1
    monkeypatch.setattr(did_speedups, "_sums_by_cython_operation", lambda grouper_type: False)
    did_speedups._GROUPERS.clear()
    plain = _design(psu)
    assert _same(did_speedups.cell_cluster_se(info, plain), original(info, plain)) and len(calls) == 2
    did_speedups._GROUPERS.clear()


def test_shared_regressions_reuse_without_changing_a_number(mpdta):
    prep = prepare_did_panel(mpdta, "lemp", "countyreal", "year", "first.treat", ["lpop"], cluster="state")
    alone = [fit_callaway_santanna(prep, method="dr", anticipation=a, n_boot=n, seed=5) for a, n in ((0, 0), (1, 19), (0, 0))]
    with did_speedups.shared_regressions() as memo:
        shared = [fit_callaway_santanna(prep, method="dr", anticipation=a, n_boot=n, seed=5) for a, n in ((0, 0), (1, 19), (0, 0))]
    assert memo.hits > 0 and memo.misses > 0
    # the third fit repeats the first: every regression of it is reused
    for one, two in zip(alone, shared):
        pd.testing.assert_frame_equal(two.att_gt, one.att_gt, check_exact=True)
        for kind in ("dynamic", "group", "calendar"):
            pd.testing.assert_frame_equal(two.aggregate(kind), one.aggregate(kind), check_exact=True)
        a, b = one.aggregate("simple"), two.aggregate("simple")
        assert (a.att, a.se) == (b.att, b.se)
        assert two.engine_messages == one.engine_messages


def test_shared_regressions_replay_warnings_and_diagnostics():
    from diff_diff import staggered

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    y = (rng.random(40) < 0.15).astype(float)  # few events: diff_diff warns of a low events-per-variable ratio
    with did_speedups.installed(), did_speedups.shared_regressions() as memo:
        out = []
        for _ in range(2):
            diag: dict = {}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                beta, p = staggered.solve_logit(X, y, diagnostics_out=diag, context_label="cell (3, 4)")
            out.append((beta, p, diag, [str(w.message) for w in caught]))
    assert memo.hits == 1 and memo.misses == 1
    (b1, p1, d1, w1), (b2, p2, d2, w2) = out
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_array_equal(p1, p2)
    assert d1 == d2 and d1["is_low"]
    assert w1 == w2 and any("Events Per Variable" in m for m in w1)
    # and the numbers are diff_diff's own
    from diff_diff.linalg import solve_logit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_beta, ref_p = solve_logit(X, y, context_label="cell (3, 4)")
    np.testing.assert_array_equal(b1, ref_beta)
    np.testing.assert_array_equal(p1, ref_p)


def test_shared_regressions_bound_changes_nothing_but_the_hits(mpdta):
    prep = prepare_did_panel(mpdta, "lemp", "countyreal", "year", "first.treat", ["lpop"], cluster="state")
    with did_speedups.shared_regressions(max_bytes=1) as memo:  # nothing fits: every regression computed
        a = fit_callaway_santanna(prep, method="dr")
        b = fit_callaway_santanna(prep, method="dr")
    assert memo.hits == 0 and not memo.entries
    pd.testing.assert_frame_equal(a.att_gt, b.att_gt, check_exact=True)


def test_shared_regressions_compute_an_argument_they_cannot_key_on():
    """A list (not an array) as weights cannot be digested: the regression is computed, not looked up."""
    from diff_diff import staggered
    from diff_diff.linalg import solve_logit

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = (rng.random(200) < 0.4).astype(float)
    weights = [1.0] * 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with did_speedups.installed(), did_speedups.shared_regressions() as memo:
            beta, p = staggered.solve_logit(X, y, weights=weights)
            staggered.solve_logit(X, y, weights=weights)
        ref_beta, ref_p = solve_logit(X, y, weights=np.asarray(weights))
    assert memo.hits == 0 and memo.misses == 0  # neither stored nor looked up
    np.testing.assert_array_equal(beta, ref_beta)
    np.testing.assert_array_equal(p, ref_p)


# --------------------------------------------------------------------------- #
# Cholesky stand-ins: scipy's numbers and errors, bit for bit
# --------------------------------------------------------------------------- #
@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 14), rows=st.integers(0, 40), seed=st.integers(0, 2**32 - 1), lower=st.booleans(),
       scale=st.sampled_from([1e-8, 1.0, 1e6]), rhs=st.sampled_from([1, 2]))
def test_cholesky_stand_ins_are_scipys_numbers(k, rows, seed, lower, scale, rhs):
    import scipy.linalg

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(k + rows, k)) * scale
    gram = x.T @ x + np.eye(k) * scale**2 * 1e-9
    c_ref = scipy.linalg.cho_factor(gram, lower=lower)
    c_kit = did_speedups.cho_factor(gram, lower=lower)
    assert c_kit[1] == c_ref[1]
    assert np.array_equal(c_kit[0], c_ref[0])
    b = rng.normal(size=(k,) if rhs == 1 else (k, 3))
    ref = scipy.linalg.cho_solve(c_ref, b)
    kit = did_speedups.cho_solve(c_kit, b)
    assert kit.shape == ref.shape and np.array_equal(kit, ref)
    assert not np.shares_memory(kit, b)  # b is never overwritten, as scipy's default


def test_cholesky_stand_ins_raise_scipys_errors():
    import scipy.linalg

    not_pd = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(scipy.linalg.LinAlgError, match="2-th leading minor"):
        did_speedups.cho_factor(not_pd)
    with pytest.raises(scipy.linalg.LinAlgError, match="2-th leading minor"):
        scipy.linalg.cho_factor(not_pd)
    for bad in (np.array([[1.0, np.nan], [np.nan, 1.0]]), np.ones((2, 3))):
        with pytest.raises(ValueError):
            did_speedups.cho_factor(bad)
    c = did_speedups.cho_factor(np.eye(2))
    with pytest.raises(ValueError):
        did_speedups.cho_solve(c, np.array([1.0, np.inf]))
    with pytest.raises(ValueError):
        did_speedups.cho_solve(c, np.ones(3))
    # other dtypes go to scipy: same result
    g32 = np.eye(3, dtype=np.float32) * 4
    assert np.array_equal(did_speedups.cho_factor(g32)[0], scipy.linalg.cho_factor(g32)[0])


def test_cholesky_stand_ins_are_in_only_during_a_kit_fit():
    import scipy.linalg
    from diff_diff import linalg

    with did_speedups.installed():
        assert linalg.cho_factor is did_speedups.cho_factor and linalg.cho_solve is did_speedups.cho_solve
        with did_speedups.installed():  # re-entrant
            pass
        assert linalg.cho_factor is did_speedups.cho_factor
    assert linalg.cho_factor is scipy.linalg.cho_factor and linalg.cho_solve is scipy.linalg.cho_solve


# --------------------------------------------------------------------------- #
# safe_inference: diff_diff's t statistic, p-value and interval, bit for bit
# --------------------------------------------------------------------------- #
def _same_inference(a, b) -> bool:
    (ta, pa, (la, ua)), (tb, pb, (lb, ub)) = a, b
    return all(_same(x, y) for x, y in ((ta, tb), (pa, pb), (la, lb), (ua, ub)))


_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-50, 50),
    st.floats(-1e-3, 1e-3),
    st.sampled_from([0.0, -0.0, 1e-308, 5e-324, 8.0, 38.0, 40.0]),
)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@settings(max_examples=600, deadline=None)
@given(effect=_FLOATS, se=_FLOATS, alpha=st.sampled_from([0.05, 0.1, 0.01, 0.2, 0.5]),
       kind=st.sampled_from(["float", "float64", "mixed"]),
       df=st.one_of(st.none(), st.integers(-3, 120), st.sampled_from([10**6, 2**40])))
def test_safe_inference_is_diff_diffs_inference(effect, se, alpha, kind, df):
    from diff_diff.utils import safe_inference

    if kind == "float64":
        effect, se = np.float64(effect), np.float64(se)
    elif kind == "mixed":
        effect = np.float64(effect)
    assert _same_inference(did_speedups.safe_inference(effect, se, alpha, df), safe_inference(effect, se, alpha, df))
    assert _same_inference(did_speedups.safe_inference(effect, se, alpha=alpha, df=df),
                           safe_inference(effect, se, alpha=alpha, df=df))


def test_safe_inference_leaves_other_cases_to_diff_diff():
    """A non-int df, an integer effect and SE, a float32 t, a NaN effect: diff_diff's own, the same objects."""
    from diff_diff.utils import safe_inference

    for args in ((0.3, 0.1, 0.05, np.int64(12)), (0.3, 0.1, 0.05, 12.0), (0.3, 0.1, 0.05, 2.5), (0.3, 0.1, 0.05, 0),
                 (0.3, 0.1, 0.05, float("inf")), (3, 2, 0.05, None), (3, 2, 0.05, 7),
                 (np.float32(0.3), np.float32(0.1), 0.05, None), (np.nan, 0.2, 0.05, None), (np.inf, 0.2, 0.05, 9)):
        assert _same_inference(did_speedups.safe_inference(*args), safe_inference(*args)), args


@pytest.mark.parametrize("cluster", [None, "state"])
def test_kit_fit_inference_is_diff_diffs(mpdta, cluster):
    """Every cell's and the overall t statistic, p-value and interval, with the stand-ins in and out."""
    ref = _diff_diff_fit(mpdta, "dr", cluster)
    with did_speedups.installed():
        from diff_diff import staggered

        assert staggered.safe_inference is did_speedups.safe_inference
        fast = _diff_diff_fit(mpdta, "dr", cluster)
    from diff_diff import staggered, utils

    assert staggered.safe_inference is utils.safe_inference
    assert fast.group_time_effects.keys() == ref.group_time_effects.keys()
    for gt, cell in ref.group_time_effects.items():
        mine = fast.group_time_effects[gt]
        assert _same_inference((mine["t_stat"], mine["p_value"], mine["conf_int"]),
                               (cell["t_stat"], cell["p_value"], cell["conf_int"])), gt
    assert _same_inference((fast.overall_t_stat, fast.overall_p_value, fast.overall_conf_int),
                           (ref.overall_t_stat, ref.overall_p_value, ref.overall_conf_int))


# --------------------------------------------------------------------------- #
# solve_logit: weights of ones are weights=None, bit for bit
# --------------------------------------------------------------------------- #
def _logit_run(X, y, weights, action):
    from diff_diff.linalg import solve_logit

    diag: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = solve_logit(X, y, weights=weights, rank_deficient_action=action, diagnostics_out=diag)
        except (ValueError, np.linalg.LinAlgError) as exc:
            out = (type(exc), str(exc))
    return out, diag, [(w.category, str(w.message)) for w in caught]


@settings(max_examples=80, deadline=None)
@given(n=st.integers(8, 250), p=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       share=st.sampled_from([0.02, 0.1, 0.5]), separate=st.booleans(), duplicate=st.booleans(),
       action=st.sampled_from(["silent", "warn"]))
def test_solve_logit_with_unit_weights_is_solve_logit_without(n, p, seed, share, separate, duplicate, action):
    """The memo keys weights of ones as None: diff_diff's logit must give the same floats, diagnostics and warnings."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.choice([1e-3, 1.0, 1e3], size=p)
    if duplicate:
        X[:, -1] = X[:, 0]
    y = (rng.random(n) < share).astype(float)
    if separate:
        y = (X[:, 0] > np.median(X[:, 0])).astype(float)
    ones, none = _logit_run(X, y, np.ones(n), action), _logit_run(X, y, None, action)
    (a, da, wa), (b, db, wb) = ones, none
    if isinstance(a[0], type):
        assert a == b
    else:
        assert np.array_equal(a[0], b[0], equal_nan=True) and np.array_equal(a[1], b[1], equal_nan=True)
    assert da == db and wa == wb


def test_shared_regressions_key_unit_logit_weights_as_none():
    from diff_diff import staggered

    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 3))
    y = (rng.random(300) < 0.3).astype(float)
    almost = np.ones(300)
    almost[7] = np.nextafter(1.0, 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with did_speedups.installed(), did_speedups.shared_regressions() as memo:
            beta1, p1 = staggered.solve_logit(X, y, weights=np.ones(300))
            beta2, p2 = staggered.solve_logit(X, y)  # reused
            assert (memo.hits, memo.misses) == (1, 1)
            staggered.solve_logit(X, y, weights=almost)  # not ones: computed
            staggered.solve_logit(X, y, weights=np.ones(300, dtype=np.float32))  # not float64: computed
            assert (memo.hits, memo.misses) == (1, 3)
            # the outcome regression is not keyed so (solve_ols takes another solver with weights)
            staggered._linear_regression(X, y, weights=np.ones(300))
            staggered._linear_regression(X, y)
            assert (memo.hits, memo.misses) == (1, 5)
        from diff_diff.linalg import solve_logit

        ref_beta, ref_p = solve_logit(X, y)
        with pytest.raises(ValueError, match="sum to zero"):  # no rows: ones are not None, so not keyed as None
            solve_logit(X[:0], y[:0], weights=np.ones(0))
    assert not did_speedups._unit_weights({"X": X[:0], "weights": np.ones(0)})
    for beta, p in ((beta1, p1), (beta2, p2)):
        assert np.array_equal(beta, ref_beta) and np.array_equal(p, ref_p)


# --------------------------------------------------------------------------- #
# _precompute_structures: diff_diff's dict, the covariates placed instead of re-indexed
# --------------------------------------------------------------------------- #
def _same_entry(a, b) -> bool:
    """The same object: arrays of one dtype, shape, strides, writeability and values (NaN where NaN)."""
    if isinstance(a, np.ndarray):
        return (type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
                and a.flags.writeable == b.flags.writeable
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict):
        return (type(b) is dict and list(a) == list(b)
                and all(type(k) is type(kb) for k, kb in zip(a, b)) and all(_same_entry(a[k], b[k]) for k in a))
    if isinstance(a, list):
        return type(b) is list and len(a) == len(b) and all(_same_entry(x, y) for x, y in zip(a, b))
    if isinstance(a, pd.api.extensions.ExtensionArray):
        return type(a) is type(b) and a.dtype == b.dtype and a.equals(b)
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and _same_entry(vars(a), vars(b))
    return type(a) is type(b) and (a is b or a == b or (a != a and b != b))


def _precompute_both(args: dict):
    """diff_diff's _precompute_structures and the stand-in on the same arguments: (outcome, outcome)."""
    from diff_diff import CallawaySantAnna

    est = CallawaySantAnna()
    runs = []
    for method in (CallawaySantAnna.__dict__["_precompute_structures"], did_speedups.precompute_structures):
        try:
            runs.append(("ok", method(est, **args)))
        except Exception as exc:  # noqa: BLE001 - the same error is the contract
            runs.append(("raised", (type(exc), str(exc))))
    return runs


def _assert_same_precomputed(args: dict) -> dict | None:
    (kind, ref), (kind2, mine) = _precompute_both(args)
    assert kind == kind2, (ref, mine)
    if kind == "raised":
        assert mine == ref
        return None
    assert list(mine) == list(ref)
    for key in ref:
        if key != "covariate_by_period" or ref[key] is None:
            assert _same_entry(mine[key], ref[key]), key
    mine_cov, ref_cov = mine["covariate_by_period"], ref["covariate_by_period"]
    if ref_cov is not None:
        assert type(mine_cov) is dict and list(mine_cov) == list(ref_cov)
        assert [type(t) for t in mine_cov] == [type(t) for t in ref_cov]
        for t, values in ref_cov.items():
            ours = mine_cov[t]
            # pandas' memory layout follows its block splits (a read-only view with any strides, or a
            # writable copy); diff_diff reads these through boolean masks only (test_did_engine.py)
            assert type(ours) is np.ndarray and ours.dtype == values.dtype and ours.shape == values.shape, t
            missing = pd.isna(values)
            assert np.array_equal(pd.isna(ours), missing), t
            assert np.array_equal(ours[~missing], values[~missing]), t
            if values.dtype == np.float64:  # what diff_diff reads: the same array
                mask = np.arange(len(values)) % 3 != 1
                assert _same_entry(ours[mask], values[mask]), t
    return ref


def _captured_precompute_args(df: pd.DataFrame, covariates: list[str], cluster: str | None, unit: str = "countyreal"):
    """The arguments diff_diff's fit passes _precompute_structures (its cleaned frame, periods, cluster design)."""
    from diff_diff import CallawaySantAnna

    captured = []
    original = CallawaySantAnna.__dict__["_precompute_structures"]

    def record(self, *args, **kwargs):
        captured.append(inspect.signature(original).bind(self, *args, **kwargs).arguments)
        return original(self, *args, **kwargs)

    est = CallawaySantAnna(cluster=cluster, rank_deficient_action="silent", pscore_fallback="unconditional")
    CallawaySantAnna._precompute_structures = record
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(df, outcome="lemp", unit=unit, time="year", first_treat="first.treat", covariates=covariates)
    finally:
        CallawaySantAnna._precompute_structures = original
    assert len(captured) == 1
    args = dict(captured[0])
    args.pop("self")
    return args


def _string_ids(df: pd.DataFrame) -> pd.DataFrame:
    """County ids as strings whose sorted order is not the counties' numeric order."""
    out = df.copy()
    codes = np.random.default_rng(8).permutation(out["countyreal"].nunique())
    ids = dict(zip(sorted(out["countyreal"].unique()), codes))
    out["county"] = out["countyreal"].map(lambda c: f"c{ids[c]}").astype("string")
    return out


@pytest.mark.parametrize("ids", ["numbers", "strings"])
@pytest.mark.parametrize("cluster", [None, "state"])
def test_precompute_structures_is_diff_diffs_dict_on_mpdta(mpdta, cluster, ids):
    df = _string_ids(mpdta)
    rng = np.random.default_rng(21)
    df["lpop2"] = df["lpop"] ** 2 + rng.normal(size=len(df))  # varies by year, unlike lpop
    unit = "county" if ids == "strings" else "countyreal"
    args = _captured_precompute_args(df, ["lpop", "lpop2"], cluster, unit=unit)
    assert args["df"][unit].dtype == df[unit].dtype and args["covariates"] == ["lpop", "lpop2"]
    assert args["df"].groupby([unit, "year"]).size().pipe(len) < 500 * 5, "the panel should be unbalanced"
    assert (args["resolved_survey"] is None) == (cluster is None)
    ref = _assert_same_precomputed(args)
    by_period = ref["covariate_by_period"]
    assert list(by_period) == args["time_periods"] and np.isnan(by_period[2004]).any()
    if ids == "strings":
        assert list(ref["all_units"]) == sorted(df["county"].unique())
    # NaN covariates, and periods diff_diff was asked for that the data lacks or lacks some of
    args["df"] = args["df"].copy()
    args["df"].loc[rng.random(len(args["df"])) < 0.1, "lpop2"] = np.nan
    assert _assert_same_precomputed(args) is not None
    assert _assert_same_precomputed({**args, "time_periods": [2007, 2003, 1999]}) is not None


@pytest.mark.parametrize("ids", ["numbers", "strings"])
def test_kit_fit_with_placed_covariates_is_diff_diffs(mpdta, ids):
    """A whole fit (cells, aggregate, bootstrap) with the stand-in in and out, string unit ids in another order."""
    from diff_diff import CallawaySantAnna, staggered

    df = _string_ids(mpdta)
    df["lpop2"] = df["lpop"] ** 2 + np.random.default_rng(21).normal(size=len(df))
    unit = "county" if ids == "strings" else "countyreal"

    def fit():
        est = CallawaySantAnna(estimation_method="dr", cluster="state", n_bootstrap=49, seed=3,
                               rank_deficient_action="silent", pscore_fallback="unconditional")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return est.fit(df, outcome="lemp", unit=unit, time="year", first_treat="first.treat",
                           covariates=["lpop", "lpop2"])

    ref = fit()
    with did_speedups.installed():
        assert staggered.CallawaySantAnna._precompute_structures is did_speedups.precompute_structures
        with did_speedups.installed():  # re-entrant
            pass
        assert staggered.CallawaySantAnna._precompute_structures is did_speedups.precompute_structures
        fast = fit()
    assert CallawaySantAnna._precompute_structures is not did_speedups.precompute_structures
    assert "_precompute_structures" in CallawaySantAnna.__dict__
    pd.testing.assert_frame_equal(_cells(fast), _cells(ref), check_exact=True)
    assert fast.overall_att == ref.overall_att and fast.overall_se == ref.overall_se
    np.testing.assert_array_equal(fast.bootstrap_results.bootstrap_distribution,
                                  ref.bootstrap_results.bootstrap_distribution)


@settings(max_examples=200, deadline=None)
@given(n_units=st.integers(1, 9), n_periods=st.integers(1, 6), n_cov=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       ids=st.sampled_from(["int64", "string", "object"]), drop=st.sampled_from([0.0, 0.2, 0.6]),
       nan=st.sampled_from([0.0, 0.3]), periods=st.sampled_from(["observed", "extra", "subset"]),
       shuffle=st.booleans())
def test_precompute_structures_is_diff_diffs_on_random_panels(n_units, n_periods, n_cov, seed, ids, drop, nan,
                                                              periods, shuffle):
    rng = np.random.default_rng(seed)
    labels = rng.choice(10_000, n_units, replace=False) * 7 - 3000  # not in sorted order, some negative
    unit = np.repeat(labels, n_periods)
    year = np.tile(np.arange(n_periods) * 2 + 2001, n_units)  # gapped periods
    cohort = np.repeat(rng.choice([0.0, 2003.0, 2005.0], n_units), n_periods)
    df = pd.DataFrame({"u": unit, "year": year.astype(np.int64), "y": rng.normal(size=len(year)), "g": cohort})
    for j in range(n_cov):
        x = rng.normal(size=len(df)) * 10.0 ** rng.integers(-3, 4)
        x[rng.random(len(df)) < nan] = np.nan
        df[f"x{j}"] = x
    if ids == "string":
        df["u"] = df["u"].map(lambda v: f"e{v}").astype("string")
    elif ids == "object":
        df["u"] = df["u"].map(lambda v: f"e{v}").astype(object)
    df = df.loc[rng.random(len(df)) >= drop]
    if shuffle:
        df = df.sample(frac=1.0, random_state=int(rng.integers(0, 2**31)))
    observed = sorted(df["year"].unique())
    time_periods = {"observed": observed, "extra": observed + [np.int64(2099)], "subset": observed[::2]}[periods]
    args = {"df": df, "outcome": "y", "unit": "u", "time": "year", "first_treat": "g",
            "covariates": [f"x{j}" for j in range(n_cov)][::-1], "time_periods": time_periods,
            "treatment_groups": sorted(g for g in df["g"].unique() if g > 0)}
    # every non-empty panel here takes the placing path
    assert (did_speedups._placeable(df, "u", "year", args["covariates"], time_periods) is None) == df.empty
    _assert_same_precomputed(args)


def test_precompute_structures_leaves_other_panels_to_diff_diff(mpdta, monkeypatch):
    """Mixed dtypes, an int covariate, extension floats, float periods, duplicate rows: diff_diff's own loop (or error)."""
    placed = []
    original = did_speedups.covariates_by_period
    monkeypatch.setattr(did_speedups, "covariates_by_period", lambda *a: placed.append(1) or original(*a))
    base = mpdta.loc[mpdta["countyreal"] % 3 > 0].copy()  # a smaller panel
    base["lpop2"] = base["lpop"] * 2.0
    args = {"df": base, "outcome": "lemp", "unit": "countyreal", "time": "year", "first_treat": "first.treat",
            "covariates": ["lpop", "lpop2"], "time_periods": sorted(base["year"].unique()),
            "treatment_groups": sorted(g for g in base["first.treat"].unique() if g > 0)}
    ref = _assert_same_precomputed(args)
    assert placed == [1] and ref["covariate_by_period"][2003].dtype == np.float64

    panels = {
        "float32 covariate": base.assign(lpop2=base["lpop2"].astype(np.float32)),
        "int covariate": base.assign(lpop2=base["countyreal"]),
        "nullable float": base.assign(lpop2=base["lpop2"].astype("Float64")),
        "bool covariate": base.assign(lpop2=base["countyreal"] % 2 == 0),
        "float periods": base.assign(year=base["year"].astype(float)),
        "float units": base.assign(countyreal=base["countyreal"].astype(float)),
    }
    dtypes = set()
    for name, df in panels.items():
        placed.clear()
        time_periods = sorted(df["year"].unique())
        got = _assert_same_precomputed({**args, "df": df, "time_periods": time_periods})
        assert placed == [], name
        dtypes.add(got["covariate_by_period"][time_periods[0]].dtype)
    assert {np.dtype(object), np.dtype(np.float64)} <= dtypes  # the bool column: reindex makes objects

    # a county with two rows in a year: diff_diff raises (in its pivot), and so does the stand-in
    dup = pd.concat([base, base.iloc[[5]]], ignore_index=True)
    (kind, err), (kind2, err2) = _precompute_both({**args, "df": dup})
    assert kind == kind2 == "raised" and err == err2
    periods = pd.Index(args["time_periods"], dtype=np.int64)
    units = np.sort(dup["countyreal"].unique())
    assert did_speedups.covariates_by_period(dup, "countyreal", "year", ["lpop"], periods, units) is None
    # a covariate list diff_diff cannot select: its own error
    placed.clear()
    for covariates in (["lpop", "nope"], ["lpop", "lpop"], ("lpop",)):
        _assert_same_precomputed({**args, "covariates": covariates})
    assert placed == []
