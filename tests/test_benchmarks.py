"""The speed benchmarks time the kit's own code: their callables must run and agree with diff-diff's.

``benchmarks/attribution.py`` (and ``benchmarks/scale.py``, which uses it for the kit / diff-diff ratio) builds
an :class:`analysis.attribution.EstimationPanel` by hand; when the dataclass gained fields the benchmark's kit
row failed in its child process and the ratio came out as NaN. This holds the callables to the same
ATT(g, t) as a bare ``diff_diff.CallawaySantAnna`` fit on the same panel.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    env = dict(os.environ)
    sys.path.insert(0, str(BENCH))
    try:
        import attribution  # pins BLAS threads in os.environ for its timed children: put the environment back
        from _panels import staggered_panel
    finally:
        sys.path.remove(str(BENCH))
        os.environ.clear()
        os.environ.update(env)
    return attribution, staggered_panel


@pytest.mark.parametrize("method, covariates", [("reg", []), ("dr", "COVARIATES")])
def test_kit_estimate_callable_equals_diff_diff_on_the_benchmark_panel(bench, method: str, covariates) -> None:
    attribution, staggered_panel = bench
    covs = attribution.COVARIATES if covariates == "COVARIATES" else covariates
    panel = staggered_panel(300, 12, seed=5)
    kit_gt, kit_overall = attribution.SETUPS["kit estimate"](panel, method, covs, 0)()
    dd_gt, dd_overall = attribution.SETUPS["diff-diff"](panel, method, covs, 0)()
    assert len(kit_gt) > 10
    assert attribution.max_diff(kit_gt, dd_gt) < 1e-9
    assert np.isclose(kit_overall, dd_overall, rtol=0, atol=1e-9)
