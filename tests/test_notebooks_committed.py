"""The committed notebooks as a reader and nbval see them: thin, parameterized, no stray warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_parameters_and_no_stderr(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert sum("parameters" in c.get("metadata", {}).get("tags", []) for c in code) == 1, f"{path.name}: one cell tagged parameters"
    assert all(c.get("outputs") for c in code[1:]), f"{path.name}: committed without outputs in some cell"
    # a warning printed to stderr lands on the reader's page, with a source path that differs per checkout (nbval)
    stderr = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert not stderr, f"{path.name}: stderr output committed: {''.join(stderr[0]['text'])[:200]}"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: an error output is committed"


def test_every_option_that_changes_the_estimate_is_a_parameter_of_notebook_02() -> None:
    """Each is in the parameters cell and passed by name into the evaluation's options (printed and recorded from there)."""
    from analysis.attribution.evaluation import ESTIMATE_OPTIONS
    from analysis.notebook_params import notebook_parameters

    path = next(p for p in NOTEBOOKS if p.stem == "02_training_attribution")
    assert set(ESTIMATE_OPTIONS) <= set(notebook_parameters(path))
    code = "".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code")
    assert all(f"{name}={name}" in code.replace(" ", "") for name in ESTIMATE_OPTIONS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_sees_every_parameter(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """papermill's own parser (``papermill --help-notebook``, its "unknown parameter" warning) reads every line of the cell.

    It gives up on an assignment whose comment holds ``=`` ("# "auto" = ...") and then warns
    "Passed unknown parameter" for an option that the notebook does take.
    """
    import logging

    import papermill as pm

    from analysis.notebook_params import notebook_parameters

    with caplog.at_level(logging.WARNING, logger="papermill"):
        seen = set(pm.inspect_notebook(str(path)))
    assert seen == set(notebook_parameters(path)), f"{path.name}: papermill misses {set(notebook_parameters(path)) - seen}"
    assert not [r for r in caplog.records if "Unable to parse" in r.getMessage()]
