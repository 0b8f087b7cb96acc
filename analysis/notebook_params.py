"""Notebook parameters: what each notebook's ``parameters`` cell accepts, and checking a run's ``--params`` against it.

Papermill injects any key it is given and only warns on stderr about one the notebook does
not know, so a misspelt ``n_bootstrap`` would silently run with the default while
``run.json`` records it as used. :func:`check_parameters` makes that a usage error naming
the notebook and the parameters it accepts, before any run folder is made; a value of the
wrong type (``n_boot: lots``) is an error too.

Types come from the defaults in the ``parameters`` cell: an ``int`` default takes whole
numbers, a ``float`` default any number, a ``bool`` default true/false, a ``list`` default a
list, a ``str`` default text or a number (a notebook may take ``"auto"`` or ``1``), and a
``None`` default anything. An annotated assignment (``n_boot: int = 999``) states the type
outright.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: Keys the pipeline itself passes to every notebook.
PIPELINE_KEYS = ("data_dir", "output_dir")


class ParameterError(ValueError):
    """A usage error in the run parameters (unknown key, wrong type, unreadable file)."""


@dataclass(frozen=True)
class Parameter:
    """One assignment of a notebook's ``parameters`` cell."""

    name: str
    default: Any
    kinds: tuple[type, ...] | None  # None: any value
    comment: str = ""

    def describe(self) -> str:
        """``n_boot (int, default 999)``."""
        kind = "any" if self.kinds is None else "number" if self.kinds == (int, float) else _KIND_NAMES.get(self.kinds[0], self.kinds[0].__name__)
        return f"{self.name} ({kind}, default {self.default!r})"


_KIND_NAMES = {int: "int", float: "number", bool: "bool", str: "text", list: "list", dict: "mapping"}
_ANNOTATIONS = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "list": (list,), "dict": (dict,)}


def _kinds_of(default: Any) -> tuple[type, ...] | None:
    if default is None:
        return None
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, int):
        return (int,)
    if isinstance(default, float):
        return (int, float)
    if isinstance(default, str):
        return (str, int, float)
    if isinstance(default, (list, tuple)):
        return (list,)
    if isinstance(default, dict):
        return (dict,)
    return None


def _annotation_kinds(node: ast.expr) -> tuple[type, ...] | None:
    """Kinds of an annotation such as ``int``, ``int | str`` or ``list | None`` (None: any)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _annotation_kinds(node.left), _annotation_kinds(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Constant) and node.value is None:
        return (type(None),)
    if isinstance(node, ast.Name) and node.id in _ANNOTATIONS:
        return _ANNOTATIONS[node.id]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in _ANNOTATIONS:
        return _ANNOTATIONS[node.value.id]
    return None


def notebook_parameters(path: str | Path) -> dict[str, Parameter]:
    """The parameters a notebook accepts: the assignments of its cell tagged ``parameters``.

    Parameters
    ----------
    path : str or Path
        An ``.ipynb`` file.

    Returns
    -------
    dict of str to Parameter
        By name, in the cell's order; empty when the notebook has no ``parameters`` cell.
    """
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    found: dict[str, Parameter] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        source = "".join(cell.get("source", ""))
        lines = source.splitlines()
        for node in ast.parse(source).body:
            target, value, kinds = None, None, ...
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target, value = node.targets[0].id, node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                target, value, kinds = node.target.id, node.value, _annotation_kinds(node.annotation)
            if target is None:
                continue
            try:
                default = ast.literal_eval(value) if value is not None else None
            except ValueError:
                default = None
            comment = lines[node.lineno - 1].split("#", 1)[1].strip() if "#" in lines[node.lineno - 1] else ""
            found[target] = Parameter(target, default, _kinds_of(default) if kinds is ... else kinds, comment)
    return found


def executed_parameters(path: str | Path, passed: dict[str, Any]) -> dict[str, Any]:
    """Every parameter a notebook runs with: its ``parameters`` cell's defaults, overridden by what is passed.

    What ``run.json`` records per notebook, so a run states every option of every notebook,
    the ones left at their default included.

    Parameters
    ----------
    path : str or Path
        An ``.ipynb`` file.
    passed : dict
        The parameters the run injects (``--params`` and the pipeline's own ``data_dir``,
        ``output_dir``); those the notebook does not accept (a global parameter meant for other
        notebooks) are left out.

    Returns
    -------
    dict
        By name in the cell's order; the passed values themselves when the notebook has no
        ``parameters`` cell.
    """
    accepted = notebook_parameters(path)
    if not accepted:
        return dict(passed)
    return {name: passed.get(name, param.default) for name, param in accepted.items()}


def _fits(value: Any, kinds: tuple[type, ...] | None) -> bool:
    if kinds is None or value is None:
        return True
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, float) and float not in kinds and int in kinds:
        return value.is_integer()
    return isinstance(value, tuple(k for k in kinds if k is not bool))


def read_params_file(params_file: str | Path | None) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Global parameters and the ``notebooks:`` section of a ``--params`` YAML file.

    Raises
    ------
    ParameterError
        A file that is missing, not YAML, or not shaped ``{key: value, notebooks: {name: {key: value}}}``.
    """
    if params_file is None:
        return {}, {}
    path = Path(params_file)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ParameterError(f"--params {path}: cannot be read as UTF-8 YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ParameterError(f"--params {path}: expected keys and values (and a notebooks: section); found {type(raw).__name__}")
    raw = dict(raw)
    per_notebook = raw.pop("notebooks", None) or {}
    if not isinstance(per_notebook, dict) or not all(isinstance(v, dict) for v in per_notebook.values()):
        raise ParameterError(f"--params {path}: expected notebooks: {{notebook name: {{parameter: value}}}}")
    return {str(k): v for k, v in raw.items()}, {str(k): {str(p): v for p, v in ps.items()} for k, ps in per_notebook.items()}


def check_parameters(
    notebooks: list[Path], global_params: dict[str, Any], per_notebook: dict[str, dict[str, Any]], *, source: str = "--params"
) -> None:
    """Check run parameters against each notebook's ``parameters`` cell.

    Parameters
    ----------
    notebooks : list of Path
        The notebooks of the kit (all of them, so that one parameters file serves every ``--only``).
    global_params : dict
        Parameters for every notebook; each must be accepted by at least one of them.
    per_notebook : dict
        ``{notebook stem: {parameter: value}}``; every key must be accepted by that notebook.
    source : str
        Where the parameters came from, for messages.

    Raises
    ------
    ParameterError
        An unknown notebook, an unknown parameter (naming the notebook and the parameters it
        accepts) or a value of the wrong type.
    """
    accepted = {nb.stem: notebook_parameters(nb) for nb in notebooks}
    for name in per_notebook:
        if name not in accepted:
            raise ParameterError(f"{source}: notebooks: {name!r} is not a notebook in the notebooks folder; the notebooks are {', '.join(accepted) or '(none)'}")
    for name, params in per_notebook.items():
        for key, value in params.items():
            _check_one(name, key, value, accepted[name], source)
    for key, value in global_params.items():
        takers = [name for name, params in accepted.items() if key in params]
        if not takers and accepted:
            every = sorted({p for params in accepted.values() for p in params if p not in PIPELINE_KEYS})
            raise ParameterError(f"{source}: parameter {key!r} is not a parameter of any notebook ({', '.join(accepted)}); they accept {', '.join(every)}")
        for name in takers:
            _check_one(name, key, value, accepted[name], source)


def _check_one(notebook: str, key: str, value: Any, params: dict[str, Parameter], source: str) -> None:
    if key in PIPELINE_KEYS:
        raise ParameterError(f"{source}: {key!r} is set by the run itself (--data, --out) and cannot be a parameter")
    if key not in params:
        shown = "; ".join(p.describe() for p in params.values() if p.name not in PIPELINE_KEYS)
        raise ParameterError(f"{source}: notebook {notebook} has no parameter {key!r}; it accepts {shown or 'no parameters'}")
    param = params[key]
    if not _fits(value, param.kinds):
        raise ParameterError(
            f"{source}: notebook {notebook}, parameter {key!r}: expected {param.describe()}; got {value!r} ({type(value).__name__})"
            + (f" — {param.comment}" if param.comment else "")
        )


def check_params_file(params_file: str | Path | None, notebooks: list[Path]) -> None:
    """Read a ``--params`` file and check it against the kit's notebooks (see :func:`check_parameters`)."""
    global_params, per_notebook = read_params_file(params_file)
    check_parameters(notebooks, global_params, per_notebook, source=f"--params {Path(params_file).name}" if params_file else "--params")
