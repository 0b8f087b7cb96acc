"""Scheduled runs: execute every notebook with Papermill and publish a self-contained HTML report set.

One run = one folder ``reports/<YYYY-MM-DD_HHMMSS>_<dataset>/`` with an executive summary
``index.html``, one HTML page per notebook (no code), the executed notebooks, the CSV
tables the notebooks exported, and ``run.json`` (parameters, input fingerprints, package
versions, timings, status). ``reports/index.html`` lists every run, newest first, and
``reports/latest`` points at the newest successful run; a failed run never moves it.
The analyses' own progress lines (:func:`analysis.progress.report_progress`) go to
``progress/<notebook>.log`` in the run folder and are printed on the console as they come.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from traitlets import DottedObjectName, default

from analysis.data import CACHE_ENV, DataValidationError, load_dataset, write_dataset_cache
from analysis.kernel_forker import FORKER_ENV, ForkedKernelProvisioner, KernelForker, imports_of, notebook_imports
from analysis.notebook_params import ParameterError, check_params_file, executed_parameters
from analysis.privacy import DEFAULT_MIN_GROUP_SIZE, escape
from analysis.progress import PROGRESS_ENV, ProgressTail
from analysis.report import page_title
from analysis.run_summary import PAGE, rebuild_index, write_run_summary
from analysis.upstream import READY_FOLDER, input_fingerprints, results_marker

TEMPLATES = Path(__file__).parent / "templates"
KEY_PACKAGES = (
    "training-impact-kit", "pandas", "numpy", "scipy", "diff-diff", "linearmodels", "statsmodels", "scikit-learn",
    "pandera", "matplotlib", "seaborn", "papermill", "nbconvert", "nbclient", "ipykernel",
)  # fmt: skip
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")
#: Embedded images (base64 of a PNG in a page or a notebook): runs of the base64 alphabet this long carry
#: no words, and scanning them would find any short id ("S5") in the noise of ``/S5+``.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{100,}")


@dataclass
class NotebookRun:
    """Outcome of one notebook in a run."""

    name: str
    status: str = "pending"
    seconds: float = 0.0
    error: str | None = None
    html: str | None = None
    ipynb: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)  # every parameter of its parameters cell, as it ran
    depends_on: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """Outcome of a run: its folder, status and per-notebook results."""

    folder: Path
    status: str
    notebooks: list[NotebookRun] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every step succeeded."""
        return self.status == "ok"


def package_versions() -> dict[str, str]:
    """Installed versions of the libraries a result depends on."""
    versions = {"python": sys.version.split()[0]}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _new_run_folder(out: Path, dataset: str, now: datetime) -> Path:
    stem = f"{now:%Y-%m-%d_%H%M%S}_{re.sub(r'[^A-Za-z0-9_.-]+', '-', dataset)}"
    folder, k = out / stem, 1
    while folder.exists():
        k += 1
        folder = out / f"{stem}-{k}"
    folder.mkdir(parents=True)
    return folder


def _read_params(params_file: str | Path | None) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Global parameters and per-notebook sections (``notebooks: {name: {...}}``) of a YAML file."""
    if params_file is None:
        return {}, {}
    raw = yaml.safe_load(Path(params_file).read_text(encoding="utf-8")) or {}
    per_notebook = raw.pop("notebooks", {}) or {}
    return raw, per_notebook


class ThisInterpreterKernelManager(KernelManager):
    """A kernel manager that always starts *this* interpreter's ipykernel.

    ``kernel_name="python3"`` alone resolves through the Jupyter kernel-spec search path, where a
    ``python3`` spec in a ``JUPYTER_PATH`` folder (or a user-level one, outside a virtual
    environment or with ``JUPYTER_PREFER_ENV_PATH=0``) would win and run the notebooks in another
    environment, with other library versions than ``run.json`` records. Searching no spec folder
    leaves ipykernel's native spec, which runs ``sys.executable``. The kernel's channels are
    Unix sockets in a folder of its own (on POSIX; no TCP port two kernels could both be handed)
    and Curve-encrypted when pyzmq supports it.
    """

    @default("kernel_spec_manager")
    def _this_interpreter_only(self) -> KernelSpecManager:
        return KernelSpecManager(data_dir=self.data_dir, kernel_dirs=[])

    @default("transport")
    def _unix_sockets_where_possible(self) -> str:
        # TCP ports are picked by binding port 0 and letting it go: two notebooks' kernels starting side by side can be
        # handed the same free port, and one then dies before its first reply ("Address already in use")
        return "ipc" if os.name == "posix" else "tcp"

    @default("ip")
    def _private_socket_folder(self) -> str:
        if self.transport != "ipc":
            return super()._ip_default()
        self._socket_folder = tempfile.mkdtemp(prefix="tik-kernel-")
        return os.path.join(self._socket_folder, "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        folder = self.__dict__.get("_socket_folder")
        if folder and not restart:
            shutil.rmtree(folder, ignore_errors=True)

    @default("transport_encryption")
    def _encrypt_when_possible(self) -> str:
        import zmq

        return "auto" if zmq.has("curve") else "disabled"

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        """As jupyter_client's, with a kernel forked from the run's warm forker when one runs (:mod:`analysis.kernel_forker`)."""
        if self.provisioner is None and os.environ.get(FORKER_ENV):
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = ForkedKernelProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)

    async def _async_interrupt_kernel(self) -> None:
        """Interrupt the kernel, except as the first step of shutting it down.

        jupyter_client's ``shutdown_kernel`` sends SIGINT to the kernel's process group before
        every shutdown request, also the graceful one nbclient makes after the last cell. When
        the signal lands while ipykernel is inside a message handler (it installs Python's
        default SIGINT handler around each one; on a large run the kernel can still be busy
        there), ipykernel logs ``KeyboardInterrupt caught in kernel.`` to the kernel's stderr,
        which is the console of the run: a stray error line on a run that succeeded. The
        interrupt does nothing for a notebook that has run through; a kernel that does not
        stop on the shutdown request still gets SIGTERM and then SIGKILL (``finish_shutdown``),
        and interrupts outside a shutdown (a cell timeout) are sent as before.
        """
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


#: Seconds a notebook's kernel may take to start (papermill's default is 60). On a loaded machine (a scheduled
#: run beside other jobs, or the test suite's parallel workers each starting kernels) a start can take longer,
#: and a kernel that has not answered yet is not a failed analysis.
KERNEL_START_TIMEOUT = 300


class NotebookKernelManager(ThisInterpreterKernelManager):
    """The kernel manager of a notebook the run executes: this interpreter's kernel, asynchronous clients.

    nbclient reads a cell's output messages with ``get_msg(timeout=None)``; through a blocking
    client that call holds the event loop, so nbclient's once-a-second check that the kernel
    still lives never runs, and a kernel that dies in a cell (killed for memory, ``os._exit``)
    left the run waiting for ever. With an asynchronous client the check runs, and the notebook
    fails with "Kernel died" (``tests/test_pipeline.py``).
    """

    client_class = DottedObjectName("jupyter_client.asynchronous.AsyncKernelClient")


class _PrestartedKernel(NotebookKernelManager):
    """A notebook's kernel started, and its imports done, while the notebooks it depends on still run.

    nbclient leaves open the client it makes of a kernel manager it was handed, so this one
    remembers its clients for :meth:`stop` to close.
    """

    def start_and_import(self, cwd: str, imports: str) -> None:
        """Start the kernel in ``cwd`` and run ``imports`` in it, silently and in a namespace of their own.

        The notebook's cells then find the modules imported; its namespace, outputs and execution
        counts are as if it had started cold (an import that fails here fails again in its cell).
        """
        from jupyter_client.blocking import BlockingKernelClient

        self.start_kernel(cwd=cwd, extra_arguments=["--HistoryManager.hist_file=:memory:"])  # nbclient's own arguments
        kc = self.client(client_class=BlockingKernelClient)  # this start-up waits on its replies; nbclient's own is async
        kc.start_channels()
        kc.wait_for_ready(timeout=KERNEL_START_TIMEOUT)
        if imports:
            kc.execute_interactive(f"exec(compile({imports!r}, '<imports>', 'exec'), {{}})", silent=True, store_history=False,
                                   timeout=KERNEL_START_TIMEOUT)  # fmt: skip

    def client(self, client_class: type | None = None, **kwargs: Any) -> Any:
        usual = self.client_factory
        if client_class is not None:
            self.client_factory = client_class
        try:
            kc = super().client(**kwargs)
        finally:
            self.client_factory = usual
        self.__dict__.setdefault("_made_clients", []).append(kc)
        return kc

    def stop(self) -> None:
        """Shut the kernel down now and close every client made of it."""
        try:
            if self.has_kernel:
                self.shutdown_kernel(now=True)
        finally:
            for kc in self.__dict__.pop("_made_clients", []):
                kc.stop_channels()


def _prestart_kernel(cwd: str, notebook: Path) -> _PrestartedKernel | None:
    """A started kernel that has imported what ``notebook`` imports, or None when it could not start.

    On None, papermill starts the kernel itself and reports what fails.
    """
    km = None
    try:
        km = _PrestartedKernel(kernel_name="python3")
        km.start_and_import(cwd, notebook_imports(notebook))
    except Exception:  # noqa: BLE001
        if km is not None:
            km.stop()
        return None
    return km


def _wait_for_gate(gate: str) -> bool:
    """Block until the run opens the gate (``<gate>.go``: True) or closes it (``<gate>.stop``: False)."""
    while True:
        if os.path.exists(f"{gate}.go"):
            return True
        if os.path.exists(f"{gate}.stop"):
            return False
        time.sleep(0.02)


def _execute(
    src: str, dst: str, parameters: dict[str, Any], cwd: str, html: str, run_label: str, progress: str | None = None,
    gate: str | None = None,
) -> tuple[float, str | None, bool]:  # fmt: skip
    """Execute one notebook with Papermill and render its page (in a worker process).

    ``progress`` is the notebook's progress file: the kernel inherits this worker's environment,
    so ``TIK_PROGRESS_FILE`` set here is where :func:`analysis.progress.report_progress` writes.
    With a ``gate``, the notebook waits for the notebooks it depends on: its kernel starts and
    imports what the notebook imports at once, and its cells run when the run opens the gate
    (nothing runs when the run closes it). Returns the wall time of both steps in seconds
    (from the gate's opening), the error text (None when the notebook ran through) and whether
    the page was written.
    """
    import logging

    import papermill as pm

    # papermill's own reading of the parameters cell stumbles on comments ("Unable to parse line 9 ...");
    # the kit checks the parameters itself (analysis.notebook_params) before any notebook runs
    logging.getLogger("papermill.translators").setLevel(logging.ERROR)
    if progress:
        os.environ[PROGRESS_ENV] = progress
    else:
        os.environ.pop(PROGRESS_ENV, None)
    km = _prestart_kernel(cwd, Path(src)) if gate is not None else None
    error = None
    try:
        if gate is not None and not _wait_for_gate(gate):
            return 0.0, "skipped", False
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(
                src, dst, parameters=parameters, cwd=cwd, kernel_name="python3", progress_bar=False, log_output=False,
                kernel_manager_class=NotebookKernelManager, start_timeout=KERNEL_START_TIMEOUT, km=km,
                # the notebook has run through and written everything (tables, results, progress lines are closed
                # files): a graceful shutdown only waited ~0.8 s per notebook for a kernel with nothing left to do
                shutdown_kernel="immediate",
                # papermill writes the whole executed notebook (validated JSON, up to 1.2 MB) twice per cell by default:
                # about 0.5 s of notebook 04, the run's last. It is written once at the end, and also when a cell
                # raises (papermill writes it with the error before it re-raises); only a kernel that dies mid-run
                # leaves no executed notebook, its error in run.json and on the index page
                request_save_on_cell_execute=False,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the run, never lost
            error = (str(exc).strip() or type(exc).__name__)[-4000:]
    finally:
        if km is not None:
            km.stop()
    rendered = False
    if Path(dst).exists():
        try:
            render_html(Path(dst), Path(html), run_label)
            rendered = True
        except Exception as exc:  # noqa: BLE001
            error = error or f"HTML export failed: {exc}"
    return time.perf_counter() - t0, error, rendered


def hash_inputs(folder: Path) -> dict[str, str]:
    """sha256 of every file in the dataset folder (tables, mapping.yaml, ground truth ...).

    Parameters
    ----------
    folder : Path
        Dataset folder; hidden files are skipped.

    Returns
    -------
    dict of str to str
        Path relative to ``folder`` (POSIX) -> hex digest, in name order.
    """
    return input_fingerprints(folder)


def render_html(ipynb: Path, html: Path, run_label: str) -> None:
    """Render an executed notebook to a self-contained page with no code cells.

    The Papermill-injected parameters cell and the ``parameters`` cell are dropped (the
    notebook prints its parameters instead); stderr streams (library warnings) are left to
    the executed notebook; figures are embedded; nothing is fetched from another host.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    nb = nbformat.read(ipynb, as_version=4)
    nb.metadata["title"] = page_title(ipynb)
    drop = {"injected-parameters", "parameters"}
    nb.cells = [c for c in nb.cells if not drop & set(c.get("metadata", {}).get("tags", []))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    config = Config()
    config.TemplateExporter.extra_template_basedirs = [str(TEMPLATES)]
    exporter = HTMLExporter(config=config, template_name="kit", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"kit_run": run_label})
    html.write_text(body, encoding="utf-8")


def _published_files(folder: Path, notebook: str | None = None) -> list[Path]:
    """The pages, executed notebooks, tables and progress logs of a run folder: of one notebook, or every one there is."""
    stem, table = (notebook, f"{notebook}__*") if notebook else ("*", "*")  # all: every table, whatever its name
    return [*folder.glob(f"{stem}.html"), *folder.glob(f"{stem}.ipynb"), *folder.glob(f"tables/{table}.csv"),
            *folder.glob(f"progress/{stem}.log")]  # fmt: skip


class _LeakScan:
    """Employee ids in the published files of a run folder, each file read once it is final.

    A last line of defence behind :meth:`analysis.report.ReportContext.table`. A notebook's own
    files (page, executed notebook, tables, progress log) are final when it ends and are read then,
    while other notebooks still run; :meth:`leaks` reads what is new or changed since (the
    run's summary page), so the run's end reads one page instead of every file. Ids made of
    digits only (``10023``) cannot be told apart from counts and amounts in a page, so they are
    left to the table checks, which refuse identifier columns by name and by value. Embedded
    images are skipped: their base64 text holds every short id somewhere by chance.
    """

    def __init__(self, folder: Path, ids: frozenset[str]) -> None:
        self.folder = folder
        self.ids = frozenset(i for i in ids if not i.isdigit())
        self._read: dict[Path, tuple[int, int, list[str]]] = {}  # path -> (mtime_ns, size, ids found) when read

    def _found(self, path: Path) -> list[str]:
        stat = path.stat()
        seen = self._read.get(path)
        if seen is not None and seen[:2] == (stat.st_mtime_ns, stat.st_size):
            return seen[2]
        text = _BASE64_RUN.sub(" ", path.read_text(encoding="utf-8", errors="replace"))
        found = sorted(set(_TOKEN.findall(text)) & self.ids)
        self._read[path] = (stat.st_mtime_ns, stat.st_size, found)
        return found

    def notebook_ended(self, name: str) -> None:
        """Read the files of notebook ``name`` (its worker has ended: they are final)."""
        if self.ids:
            for path in _published_files(self.folder, name):
                self._found(path)

    def leaks(self) -> dict[str, list[str]]:
        """Every published file of the folder with ids in it (up to five each), by file name."""
        leaks: dict[str, list[str]] = {}
        for path in _published_files(self.folder) if self.ids else []:
            found = self._found(path)
            if found:
                leaks[path.name] = found[:5]
        return leaks


def notebook_dependencies(path: Path) -> list[str]:
    """Notebooks a notebook depends on: ``metadata.kit.depends_on`` (names without ``.ipynb``).

    Parameters
    ----------
    path : Path
        The notebook file.

    Returns
    -------
    list of str
        Declared dependencies, in the order written (empty when none are declared).
    """
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata") or {}
    deps = (meta.get("kit") or {}).get("depends_on") or []
    return [deps] if isinstance(deps, str) else [str(d).removesuffix(".ipynb") for d in deps]


def _write_skipped_page(html: Path, name: str, reason: str, run_label: str) -> None:
    """The page of a notebook that did not run: the reason, in words."""
    body = f"<h1>{escape(name)} — skipped</h1><p class=\"muted\">{escape(run_label)}</p><p>This notebook did not run: {escape(reason)}</p>"
    html.write_text(PAGE.format(title=escape(f"{name} — skipped"), body=body), encoding="utf-8")


def _dependents(name: str, items: list[NotebookRun]) -> set[str]:
    """Notebooks of the run that depend on ``name``, directly or through others."""
    found: set[str] = set()
    frontier = {name}
    while frontier:
        frontier = {i.name for i in items if frontier & set(i.depends_on) and i.name not in found and i.name != name}
        found |= frontier
    return found


def _execute_all(
    notebooks: list[Path], items: list[NotebookRun], folder: Path, notebooks_dir: Path, global_params: dict[str, Any],
    per_notebook: dict[str, dict[str, Any]], data_dir: Path, jobs: int, say: Any, t_run: float, progress: ProgressTail | None = None,
    ended: Callable[[str], None] | None = None,
) -> None:  # fmt: skip
    """Execute and render the notebooks in dependency order, independent ones side by side.

    A notebook starts once every notebook it depends on (``metadata.kit.depends_on``, among the
    notebooks of this run) has run through, or has said that its results are written
    (:meth:`analysis.report.ReportContext.results_ready`: notebook 02 says so after its exports,
    and 03 and 04 then run beside 02's figures); a dependency outside the run is the notebook's own
    business (:func:`analysis.upstream.load_upstream` finds or computes it). Its kernel starts,
    and imports what it imports, as soon as every notebook it depends on has started, so that
    only its own cells are left to wait for (``jobs`` counts the notebooks whose cells run). A
    notebook nothing waits for that had to queue for a slot waits on while a notebook others
    wait for still runs and has not written its results: notebook 02's evaluation workers use
    both cores, and 00 beside them only lengthened the run's longest chain (it now runs beside
    the short 03 -> 04), and its kernel starts while it queues. A notebook that has written its
    results and only draws its page holds no slot for a notebook of a chain (03 and 04 start
    beside 02's figures), while one that stands alone (00) waits for a free core. Of two notebooks
    nothing waits for, the one at the end of a chain (04) takes a freed slot before a free-standing
    one (00). When
    a dependency failed or was skipped, the notebook is ``skipped`` with the reason on its page
    and in ``run.json``; notebooks caught in a dependency cycle are skipped too. A dependency that
    fails after its results were written (in a figure) leaves the notebooks that read them as they
    ran; the run is failed all the same. ``ended`` is called with the name of each notebook whose
    worker has ended (its files are final), while the others run on.
    """
    heartbeat = 30.0
    names = {nb.stem for nb in notebooks}
    paths = {item.name: nb for nb, item in zip(notebooks, items, strict=True)}
    waiting = list(items)
    by_name = {item.name: item for item in items}
    injected: dict[str, dict[str, Any]] = {}
    for item in items:
        item.depends_on = notebook_dependencies(paths[item.name])
        injected[item.name] = {
            **global_params, **per_notebook.get(item.name, {}), "data_dir": str(data_dir), "output_dir": str(folder.resolve()),
        }  # fmt: skip
        item.parameters = executed_parameters(paths[item.name], injected[item.name])  # run.json: defaults included
        item.ipynb = paths[item.name].name
    # of the notebooks ready together, those that others wait for start first (02, on which 03 and 04 wait, before
    # 00 and 01): the run's longest chain starts at once instead of queueing behind a notebook nothing needs
    dependents = {item.name: _dependents(item.name, items) for item in items}
    # and of two that nothing waits for, the one at the end of a chain (04, after 02 and 03) before a free-standing one (00)
    waiting.sort(key=lambda item: (-len(dependents[item.name]), -len(item.depends_on)))
    gates = Path(tempfile.mkdtemp(prefix="tik-gates-"))

    def drawing_page(name: str) -> bool:
        """Whether a notebook runs on after saying its results are written (it only draws its page)."""
        return by_name[name].status == "running" and results_marker(folder, name).exists()

    def results_written(name: str) -> bool:
        """Whether a dependency's results are there to read: it ran through, or it runs on and said they are written."""
        return by_name[name].status == "ok" or drawing_page(name)

    def waits_for_results() -> bool:
        """Whether a notebook waits for a running dependency that may say at any moment that its results are written."""
        return any(by_name[d].status == "running" and not drawing_page(d)
                   for item in waiting for d in item.depends_on if d in names)  # fmt: skip

    warming: dict[str, Future] = {}  # submitted behind a closed gate
    queued_said: set[str] = set()

    def submit(item: NotebookRun, gate: str | None) -> Future:
        nb = paths[item.name]
        return pool.submit(
            _execute, str(nb), str(folder / nb.name), injected[item.name], str(notebooks_dir),
            str(folder / f"{nb.stem}.html"), f"{folder.name} · {nb.stem}",
            str(progress.path_for(nb.stem)) if progress is not None else None, gate,
        )  # fmt: skip

    # every notebook may hold a worker (those behind a gate wait in theirs). The workers are forked from this
    # process: papermill and nbconvert (whose jsonschema builds a grammar at import, ~2 s) are imported once here
    # instead of in each worker, and this process's objects are frozen out of the garbage collector, whose passes
    # in a worker would otherwise write to (and so copy) every page they share with it.
    import gc

    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    gc.freeze()
    with ProcessPoolExecutor(max_workers=max(1, jobs, len(items))) as pool:
        pending: dict[Future, NotebookRun] = {}
        last_beat = time.perf_counter() - t_run
        try:
            while waiting or pending:
                for item in list(waiting):
                    deps = [d for d in item.depends_on if d in names]
                    broken = [d for d in deps if by_name[d].status in ("failed", "skipped")]
                    # a notebook that has written its results and only draws its page holds no slot for a notebook of a
                    # chain (03 and 04 start beside 02's figures); one that stands alone (00) waits for a free core
                    chained = bool(deps) or bool(dependents[item.name])
                    running = sum(i.status == "running" and not (chained and drawing_page(i.name)) for i in items)
                    if broken:
                        what = ", ".join(f"{d} ({by_name[d].status})" for d in broken)
                        item.status, item.error = "skipped", f"skipped: it depends on {what}, so its inputs do not exist in this run"
                        if item.name in warming:
                            (gates / f"{item.name}.stop").touch()
                            pending.pop(warming.pop(item.name), None)
                    elif all(results_written(d) for d in deps):
                        # a notebook nothing waits for, queued behind busy slots, lets a freed slot's CPU go to the
                        # notebooks others wait for while any of them still runs and has not yet written its results,
                        # or is about to start (its kernel warm behind its gate): their chain is the run's length
                        held = item.name in queued_said and not dependents[item.name] and (
                            any(i.status == "running" and dependents[i.name] and not drawing_page(i.name) for i in items)
                            or any(d in names for name in warming for d in by_name[name].depends_on))
                        if running >= max(1, jobs) or held:
                            if item.name not in queued_said:
                                queued_said.add(item.name)
                                say(f"  [{time.perf_counter() - t_run:5.0f} s] queued {item.name}")
                                if item.name not in warming:  # its kernel starts and imports while it queues
                                    warming[item.name] = future = submit(item, str(gates / item.name))
                                    pending[future] = item
                            continue
                        if item.name in warming:
                            warming.pop(item.name)
                            (gates / f"{item.name}.go").touch()
                        else:
                            pending[submit(item, None)] = item
                        item.status = "running"
                        after = f" (after {', '.join(deps)})" if deps else ""
                        say(f"  [{time.perf_counter() - t_run:5.0f} s] start  {item.name}{after}")
                    else:
                        if item.name not in warming and deps and all(by_name[d].status in ("running", "ok") or d in warming for d in deps):
                            future = submit(item, str(gates / item.name))
                            warming[item.name] = future
                            pending[future] = item
                        continue
                    waiting.remove(item)
                if not pending:
                    for item in waiting:  # nothing runs and nothing can start: a dependency cycle
                        item.status = "skipped"
                        item.error = "skipped: circular dependency among " + ", ".join(sorted(i.name for i in waiting))
                    waiting = []
                for item in items:
                    if item.status == "skipped" and item.html is None:
                        _write_skipped_page(folder / f"{item.name}.html", item.name, item.error or "", f"{folder.name} · {item.name}")
                        item.html = f"{item.name}.html"
                        say(f"  [{time.perf_counter() - t_run:5.0f} s] {item.error.replace('skipped: ', 'skipped ' + item.name + ': ')}")
                if not pending:
                    break
                # a dependency's "results written" is a file, not a finished worker: look for it often while anything waits on it
                done, _ = wait(pending, timeout=0.05 if waits_for_results() else heartbeat, return_when=FIRST_COMPLETED)
                elapsed = time.perf_counter() - t_run
                if not done:
                    if elapsed - last_beat >= heartbeat:
                        last_beat = elapsed
                        busy = sorted(i.name for i in pending.values() if i.status == "running")
                        say(f"  [{elapsed:5.0f} s] still running: {', '.join(busy)}")
                    continue
                last_beat = elapsed
                for future in done:
                    item = pending.pop(future)
                    try:
                        item.seconds, item.error, rendered = future.result()
                    except Exception as exc:  # noqa: BLE001 - a worker that died is a failed notebook
                        item.error, rendered = f"worker failed: {exc!r}", False
                    if item.name in warming:  # its worker died before the gate opened
                        warming.pop(item.name)
                        waiting.remove(item)
                    item.status = "ok" if item.error is None else "failed"
                    item.html = f"{item.name}.html" if rendered else None
                    say(f"  [{elapsed:5.0f} s] {item.status:<6} {item.name} ({item.seconds:.1f} s)" + (f"\n    {item.error.strip().splitlines()[-1]}" if item.error else ""))
                    if ended is not None:
                        ended(item.name)
        finally:
            for name in warming:  # a run cut short: nothing may wait on a gate that never opens
                (gates / f"{name}.stop").touch()
    shutil.rmtree(gates, ignore_errors=True)  # once every worker has seen its gate
    shutil.rmtree(folder / READY_FOLDER, ignore_errors=True)  # the run's own signals, not part of the report


def run(
    data_dir: str | Path,
    *,
    params_file: str | Path | None = None,
    only: list[str] | None = None,
    out: str | Path = "reports",
    notebooks_dir: str | Path = "notebooks",
    jobs: int = 2,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    echo: bool = True,
) -> RunResult:
    """Execute the notebooks on a dataset and publish the report set.

    Parameters
    ----------
    data_dir : str or Path
        Dataset folder (validated first).
    params_file : str or Path, optional
        YAML with global parameters and a ``notebooks:`` section of per-notebook ones.
    only : list of str, optional
        Notebook names (stems or prefixes such as ``"02"``) to run; default all, in name order.
    out : str or Path
        Reports folder.
    notebooks_dir : str or Path
        Folder of the notebooks.
    jobs : int
        Notebooks executed at once (those that do not depend on each other run side by side).
    min_group_size : int
        Smallest group shown in any table or figure (a parameter of every notebook).
    echo : bool
        Print progress on the terminal.

    Returns
    -------
    RunResult
    """
    say = print if echo else (lambda *a, **k: None)
    started = datetime.now()
    out, data_dir, notebooks_dir = Path(out), Path(data_dir).resolve(), Path(notebooks_dir).resolve()
    check_params_file(params_file, sorted(notebooks_dir.glob("*.ipynb")))  # a usage error before any run folder exists
    out.mkdir(parents=True, exist_ok=True)
    folder = _new_run_folder(out, data_dir.name, started)
    global_params, per_notebook = _read_params(params_file)
    global_params.setdefault("min_group_size", min_group_size)
    notebooks = sorted(notebooks_dir.glob("*.ipynb"))
    if only:
        notebooks = [nb for nb in notebooks if any(nb.stem == o or nb.stem.startswith(o) for o in only)]
    record: dict[str, Any] = {
        "run_id": folder.name,
        "dataset": data_dir.name,
        "data_dir": str(data_dir),
        "started": started.isoformat(timespec="seconds"),
        "parameters": {"global": global_params, "notebooks": per_notebook, "only": only},
        "packages": package_versions(),
        "interpreter": sys.executable,
    }
    result = RunResult(folder=folder, status="ok", notebooks=[NotebookRun(nb.stem) for nb in notebooks])
    say(f"run {folder.name}: {len(notebooks)} notebook(s) on {data_dir}")
    t_run = time.perf_counter()
    ids: frozenset[str] = frozenset()
    shared: Path | None = None
    # the kernels' forker imports what the notebooks import while this process reads and checks the data (started by
    # `python -m analysis run` before this module's own imports, for every notebook of the folder)
    forker = KernelForker.started_early(notebooks_dir) or KernelForker(imports_of(notebooks))
    record["inputs"] = hash_inputs(data_dir)
    try:
        dataset = load_dataset(data_dir)
        employees = dataset.tables["employees"]
        ids = frozenset(map(str, employees["employee_id"]))
        if "manager_id" in employees:
            ids |= frozenset(map(str, employees["manager_id"].dropna()))
        shared = _share_dataset(dataset, record["inputs"])
        del dataset, employees
    except DataValidationError as exc:
        result.status, result.error = "failed", f"data validation failed: {exc}"
        say(f"  data validation failed:\n{exc}")
    except Exception as exc:  # noqa: BLE001 - an input the reader chokes on is a recorded failed run, never a traceback
        result.status, result.error = "failed", f"data could not be read: {type(exc).__name__}: {exc}"
        say(f"  {result.error}")
    if result.ok and not notebooks:
        result.status, result.error = "failed", f"no notebooks in {notebooks_dir}" + (f" match --only {' '.join(only)}" if only else "")
    if shared is not None and not result.ok:
        shutil.rmtree(shared.parent, ignore_errors=True)
    if not result.ok:
        forker.close()
    scan = _LeakScan(folder, ids)  # the published files' check for raw ids (none known: nothing to look for)
    if result.ok:
        # the analyses' own progress lines ("program P02 (2/3) started"), printed as they are written
        with forker, _notebooks_read(shared), ProgressTail(folder / "progress", say, t_run) as progress:
            _execute_all(notebooks, result.notebooks, folder, notebooks_dir, global_params, per_notebook, data_dir, jobs, say, t_run, progress,
                         ended=scan.notebook_ended)
        if any(item.status != "ok" for item in result.notebooks):
            result.status = "failed"
            result.error = "notebook(s) failed: " + ", ".join(
                i.name if i.status == "failed" else f"{i.name} ({i.status})" for i in result.notebooks if i.status != "ok"
            )
    record["notebooks"] = [asdict(n) for n in result.notebooks]
    record["finished"] = datetime.now().isoformat(timespec="seconds")
    record["seconds"] = round(time.perf_counter() - t_run, 2)
    headlines = _collect_headlines(folder)
    record["headlines"] = headlines
    write_run_summary(folder, record, result)
    leaks = scan.leaks()
    if leaks:
        result.status, result.error = "failed", f"privacy check failed: raw employee identifiers in {leaks}"
    record["status"], record["error"] = result.status, result.error
    (folder / "run.json").write_text(json.dumps(record, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    write_run_summary(folder, record, result)
    if result.ok:
        _point_latest(out, folder)
    rebuild_index(out)
    say(f"run {result.status}: {folder} ({record['seconds']:.1f} s)" + (f"\n  {result.error}" if result.error else ""))
    return result


def _share_dataset(dataset: Any, inputs: dict[str, str]) -> Path | None:
    """Write the validated dataset for the run's notebooks (:func:`analysis.data.write_dataset_cache`).

    A private temporary folder, not the published run folder; None when it cannot be written
    (the notebooks then read and validate the folder themselves, as without it).
    """
    folder = Path(tempfile.mkdtemp(prefix="tik-dataset-"))
    try:
        return write_dataset_cache(dataset, folder / "dataset.pickle", inputs)
    except Exception:  # noqa: BLE001 - the shared copy only saves time
        shutil.rmtree(folder, ignore_errors=True)
        return None


@contextmanager
def _notebooks_read(shared: Path | None) -> Iterator[None]:
    """``TIK_DATASET_CACHE`` set for the workers and kernels started in the block; the shared copy removed after."""
    before = os.environ.get(CACHE_ENV)
    if shared is not None:
        os.environ[CACHE_ENV] = str(shared)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = before
        if shared is not None:
            shutil.rmtree(shared.parent, ignore_errors=True)


def _collect_headlines(folder: Path) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for path in sorted((folder / "headlines").glob("*.json")):
        found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _point_latest(out: Path, folder: Path) -> None:
    """Point ``out/latest`` at ``folder`` (a relative symlink; a copy where links fail)."""
    latest = out / "latest"
    tmp = out / ".latest.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink() if tmp.is_symlink() else shutil.rmtree(tmp)
    try:
        os.symlink(folder.name, tmp, target_is_directory=True)
        os.replace(tmp, latest)
    except OSError:
        if latest.is_symlink():
            latest.unlink()
        elif latest.exists():
            shutil.rmtree(latest)
        shutil.copytree(folder, latest)


def skip_iri_grammars() -> None:
    """Keep ``jsonschema`` from importing ``rfc3987_syntax`` in this process (the command line's own).

    ``papermill`` and ``nbconvert`` import ``nbformat``, which imports ``jsonschema``, which imports
    ``rfc3987_syntax`` when it is installed (JupyterLab's ``jupyter-events`` brings it): that
    module compiles about 40 Lark grammars at import, about 1.2 s of CPU before the first
    notebook can start, for the ``iri`` / ``iri-reference`` format checkers. ``nbformat``
    validates notebooks without a format checker, and its schemas name no such format
    (``tests/test_pipeline.py`` holds both), so nothing here uses them. Marking the module
    absent makes ``jsonschema`` leave those two checkers out, as it does where the package is
    not installed. Only the ``python -m analysis run`` process does this; :func:`run` called in
    a session leaves that session's imports alone.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def cli(argv: list[str]) -> int:
    """``python -m analysis run --data DIR [--params FILE] [--only NAME ...] [--out reports]``."""
    parser = argparse.ArgumentParser(prog="python -m analysis run", description="Run every notebook on a dataset and write the HTML report set.")
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument("--params", default=None, help="YAML parameters (global keys and a notebooks: section)")
    parser.add_argument("--only", nargs="+", default=None, help="notebook names or prefixes to run")
    parser.add_argument("--out", default="reports", help="reports folder")
    parser.add_argument("--notebooks", default="notebooks", help="notebooks folder")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once")
    parser.add_argument("--min-group-size", type=int, default=DEFAULT_MIN_GROUP_SIZE)
    args = parser.parse_args(argv)
    skip_iri_grammars()
    try:
        result = run(
            args.data, params_file=args.params, only=args.only, out=args.out, notebooks_dir=args.notebooks,
            jobs=args.jobs, min_group_size=args.min_group_size,
        )  # fmt: skip
    except ParameterError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        return 2
    return 0 if result.ok else 1
