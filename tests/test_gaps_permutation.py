"""The drivers' permutation importance, ROC AUC and logistic inner-CV scores are scikit-learn's, to the last bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from analysis.gaps.drivers import _models, _permutation_importance, _roc_auc

NUM, CAT = ["c1", "c2", "c3", "tenure_years"], ["department"]


def _problem(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Gaps in steps of 0.5 with missing values (ties in the scores), tenure, a department that matters."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({c: rng.integers(0, 5, n) / 2.0 for c in NUM[:3]})
    X["tenure_years"] = rng.uniform(0, 10, n)
    X["department"] = rng.choice(["Ops", "Sales", "Support"], n)
    for c in NUM[:3]:
        X.loc[rng.random(n) < 0.15, c] = np.nan
    logit = 0.9 * X["c1"].fillna(1) - 0.5 * X["c2"].fillna(1) + 0.8 * (X["department"] == "Sales") - 0.7
    return X, rng.random(n) < 1 / (1 + np.exp(-logit.to_numpy()))


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """As in the drivers: small models, and extra OpenMP threads only contend on a shared machine."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def fitted(_one_thread) -> tuple[dict, pd.DataFrame, np.ndarray]:
    X, y = _problem(260, 3)
    models = _models(NUM, CAT, seed=5)
    for m in models.values():
        m.fit(X.iloc[:160], y[:160])
    test = X.iloc[160:].copy()
    test.iloc[:3, test.columns.get_loc("department")] = "Finance"  # a department not seen in the fit
    return models, test, y[160:]


@pytest.mark.parametrize("name", ["logit", "gbm"])
@pytest.mark.parametrize("seed", [0, 11])
@pytest.mark.parametrize("n_repeats", [1, 3])
def test_permutation_importance_is_sklearns(fitted, name, seed, n_repeats):
    models, X, y = fitted
    ref = permutation_importance(models[name], X, y, scoring="roc_auc", n_repeats=n_repeats, random_state=seed)
    got = _permutation_importance(models[name], X, y, n_repeats=n_repeats, random_state=seed)
    assert got.shape == (X.shape[1], n_repeats)
    assert (got == ref.importances).all()
    assert (got.mean(axis=1) == ref.importances_mean).all()
    assert np.abs(got).max() > 0.01  # the problem is not degenerate: shuffling moves the AUC


def test_roc_auc_with_ties_is_sklearns(fitted):
    models, X, y = fitted
    score = models["gbm"].decision_function(X)
    assert len(np.unique(score)) < len(score)  # the trees tie: the case where the curve's corners matter
    for s in (score, np.round(score, 1), models["logit"].decision_function(X)):
        assert _roc_auc(y, s) == roc_auc_score(y, s)


def test_logistic_inner_cv_scores_are_sklearns():
    X, y = _problem(200, 8)
    kit = _models(NUM, CAT, seed=5)["logit"].fit(X, y)
    ref = _models(NUM, CAT, seed=5)["logit"].set_params(model__scoring="roc_auc").fit(X, y)
    assert kit.named_steps["model"].scoring is not ref.named_steps["model"].scoring
    assert (kit.named_steps["model"].scores_ == ref.named_steps["model"].scores_).all()
    assert kit.named_steps["model"].C_ == ref.named_steps["model"].C_
    assert (kit.decision_function(X) == ref.decision_function(X)).all()


def test_roc_auc_one_class_is_nan():
    assert np.isnan(_roc_auc(np.ones(4, bool), np.arange(4.0)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-3, 3) | st.floats(-1e3, 1e3)), min_size=2, max_size=60))
def test_roc_auc_property(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], dtype=float)
    if y.all() or not y.any():
        assert np.isnan(_roc_auc(y, s))
    else:
        assert _roc_auc(y, s) == roc_auc_score(y, s)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(20, 60))
def test_permutation_importance_property(seed, n_repeats, n):
    X, y = _problem(n + 40, seed % 1000)
    X = X[NUM]
    if y[:40].all() or not y[:40].any() or y[40:].all() or not y[40:].any():
        return
    model = LogisticRegression().fit(X.iloc[:40].fillna(0), y[:40])
    X_test = X.iloc[40:].fillna(0)
    ref = permutation_importance(model, X_test, y[40:], scoring="roc_auc", n_repeats=n_repeats, random_state=seed)
    assert (_permutation_importance(model, X_test, y[40:], n_repeats=n_repeats, random_state=seed) == ref.importances).all()
