"""Kernels forked from the run's warm forker are fresh kernels with the imports done (analysis.kernel_forker)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from analysis.kernel_forker import DISABLE_ENV, FORKER_ENV, ForkedKernelProvisioner, KernelForker, _ForkedProcess
from analysis.pipeline import ThisInterpreterKernelManager

#: What a kernel reports of itself, written to a file (the kernel's stdout is not ours to read).
PROBE = """
import json, os, random, sys
import numpy as np
json.dump({
    "pid": os.getpid(), "ppid": os.getppid(), "sid": os.getsid(0), "cwd": os.getcwd(), "path": sys.path,
    "env": {k: v for k, v in os.environ.items() if k.startswith(("PROBE_", "TIK_", "MPLBACKEND"))},
    "jpy_parent": os.environ.get("JPY_PARENT_PID"), "preloaded": "analysis.privacy" in sys.modules,
    "random": random.random(), "np_random": float(np.random.random()),
}, open(OUT, "w"))
"""


def _probe(tmp_path: Path, name: str, cwd: Path) -> tuple[dict, ThisInterpreterKernelManager]:
    km = ThisInterpreterKernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(cwd), env={**os.environ, "PROBE_NAME": name})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        out = tmp_path / f"{name}.json"
        reply = kc.execute_interactive(PROBE.replace("OUT", repr(str(out))), timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        return json.loads(out.read_text()), km
    finally:
        kc.stop_channels()


def test_a_forked_kernel_is_a_fresh_kernel_with_the_imports_done(tmp_path: Path) -> None:
    cwd = tmp_path / "nb"
    cwd.mkdir()
    cold, km = _probe(tmp_path, "cold", cwd)
    km.shutdown_kernel(now=True)
    assert not cold["preloaded"] and cold["ppid"] == os.getpid()
    with KernelForker("import analysis.privacy\nimport no_such_module_anywhere") as forker:  # a failing import is skipped
        warm = []
        for name in ("warm1", "warm2"):
            report, km = _probe(tmp_path, name, cwd)
            assert isinstance(km.provisioner, ForkedKernelProvisioner)
            warm.append((report, km))
        forker_pid = forker._process.pid
        for report, _ in warm:
            assert report["preloaded"], "the forker's imports are in the kernel"
            assert report["ppid"] == forker_pid != os.getpid()
            assert report["sid"] == report["pid"], "the kernel leads its own session (signals reach only it)"
            assert report["cwd"] == cold["cwd"] == str(cwd)
            assert report["path"] == cold["path"], "sys.path as in a kernel started on its own"
            assert report["jpy_parent"] == str(forker_pid)
            assert report["env"] == {**cold["env"], "PROBE_NAME": report["env"]["PROBE_NAME"]}
            assert FORKER_ENV not in report["env"]
        assert [r["env"]["PROBE_NAME"] for r, _ in warm] == ["warm1", "warm2"], "each kernel has its launch's environment"
        assert warm[0][0]["random"] != warm[1][0]["random"], "random is seeded afresh in each kernel"
        assert warm[0][0]["np_random"] != warm[1][0]["np_random"], "numpy's global generator is seeded afresh"
        # shutting a forked kernel down ends its process
        report, km = warm[0]
        km.shutdown_kernel(now=True)
        assert not km.is_alive()
        # the other one ends with the forker (ipykernel's parent poller watches it)
        survivor = warm[1][1]
    proc = survivor.provisioner.process
    assert proc is not None and proc.wait(timeout=30) == 0, "a kernel of a closed forker ends"
    assert not os.path.exists(forker.socket_path)


def test_a_switched_off_forker_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "1")
    with KernelForker("import json") as forker:
        assert forker._process is None and FORKER_ENV not in os.environ


def test_a_kernel_starts_the_ordinary_way_when_no_forker_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORKER_ENV, str(tmp_path / "gone.sock"))
    report, km = _probe(tmp_path, "fallback", tmp_path)
    try:
        assert report["ppid"] == os.getpid() and not report["preloaded"]
    finally:
        km.shutdown_kernel(now=True)


def _displayed(km: ThisInterpreterKernelManager, code: str) -> list[str]:
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        types: list[str] = []
        kc.execute_interactive(code, timeout=120, output_hook=lambda m: types.extend(m["content"].get("data", {})))
        return types
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_bare_pyplot_figure_shows_in_a_forked_kernel_as_in_a_cold_one(tmp_path: Path) -> None:
    # the forker imports pyplot (analysis.plots does) before any IPython shell exists; the kernel's inline backend
    # must still show a figure that a cell leaves open, as a notebook outside the kit's show() helpers expects
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2])"
    cold = ThisInterpreterKernelManager(kernel_name="python3")
    cold.start_kernel(cwd=str(tmp_path))
    assert "image/png" in _displayed(cold, code)
    with KernelForker("import matplotlib.pyplot\nimport analysis.plots"):
        warm = ThisInterpreterKernelManager(kernel_name="python3")
        warm.start_kernel(cwd=str(tmp_path))
        assert isinstance(warm.provisioner, ForkedKernelProvisioner)
        assert "image/png" in _displayed(warm, code)


def test_a_forked_kernel_can_be_interrupted_and_the_forker_outlives_a_ctrl_c(tmp_path: Path) -> None:
    # papermill interrupts a cell that runs past its timeout; Ctrl-C on the run's terminal reaches the forker too
    import signal

    with KernelForker("import json") as forker:
        time.sleep(0.5)  # the forker is importing, or waiting on its socket
        forker._process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert forker._process.poll() is None, "the forker outlived the Ctrl-C"
        km = ThisInterpreterKernelManager(kernel_name="python3")
        km.start_kernel(cwd=str(tmp_path))
        assert isinstance(km.provisioner.process, _ForkedProcess), "the kernel came from the forker"
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            msg_id = kc.execute("import time\ntime.sleep(60)")
            time.sleep(1.0)
            km.interrupt_kernel()
            reply = kc.get_shell_msg(timeout=30)
            assert reply["parent_header"]["msg_id"] == msg_id
            assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def test_kernels_talk_over_unix_sockets_in_a_folder_of_their_own(tmp_path: Path) -> None:
    # TCP ports picked by binding port 0 can be handed to two kernels starting side by side ("Address already in use")
    kms = [ThisInterpreterKernelManager(kernel_name="python3") for _ in range(2)]
    folders = [os.path.dirname(km.ip) for km in kms]
    assert [km.transport for km in kms] == ["ipc", "ipc"] and folders[0] != folders[1]
    os.rmdir(folders[1])  # never started
    km = kms[0]
    km.start_kernel(cwd=str(tmp_path))  # another working directory than ours: the socket paths are absolute
    assert _displayed(km, "print(1)") == [] and not os.path.exists(folders[0]), "the socket folder goes with the kernel"


#: In a kernel: one worker of multiprocessing's forkserver context, and what it and its server are.
POOL_PROBE = """
import json, multiprocessing, os, sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
    worker_parent = pool.submit(os.getppid).result()
    worker_pid = pool.submit(os.getpid).result()
server = forkserver._forkserver._forkserver_pid
json.dump({"kernel": os.getpid(), "server": server, "worker_parent": worker_parent, "worker": worker_pid,
           "address": forkserver._forkserver._forkserver_address,
           "server_cmdline": open(f"/proc/{server}/cmdline", "rb").read().decode().split("\\0"),
           "kernel_cmdline": open("/proc/self/cmdline", "rb").read().decode().split("\\0")}, open(OUT, "w"))
"""


def _run_in_kernel(km: ThisInterpreterKernelManager, code: str) -> None:
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        reply = kc.execute_interactive(code, timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()


def test_a_forked_kernels_multiprocessing_workers_come_from_a_fork_of_it_not_a_new_interpreter(tmp_path: Path) -> None:
    # the evaluation's workers (forkserver context) would otherwise wait for a new interpreter to import everything again
    out = tmp_path / "pool.json"
    with KernelForker("import analysis.privacy"):
        km = ThisInterpreterKernelManager(kernel_name="python3")
        km.start_kernel(cwd=str(tmp_path))
        try:
            _run_in_kernel(km, POOL_PROBE.replace("OUT", repr(str(out))))
        finally:
            km.shutdown_kernel(now=True)
        seen = json.loads(out.read_text())
        assert seen["worker_parent"] == seen["server"] != seen["kernel"]
        assert seen["server_cmdline"] == seen["kernel_cmdline"], "the server is a fork of the kernel, not `python -c ...`"
        assert "multiprocessing.forkserver" not in " ".join(seen["server_cmdline"])
        # the server ends with its kernel (its end of the alive pipe closes), the worker with the pool
        deadline = time.monotonic() + 30
        while any(os.path.exists(f"/proc/{pid}") and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
                  for pid in (seen["server"], seen["worker"])) and time.monotonic() < deadline:  # fmt: skip
            time.sleep(0.05)
        assert time.monotonic() < deadline, "the kernel's fork server outlived it"
        # though the kernel's process group was killed (as the run stops its kernels), the server removed its socket
        assert not os.path.exists(os.path.dirname(seen["address"])), "the server's folder is left behind"


def test_the_fork_server_is_left_to_multiprocessing_where_its_internals_are_not_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    from multiprocessing import forkserver

    from analysis import kernel_forker

    monkeypatch.setattr(forkserver._forkserver, "_forkserver_pid", None)  # as in a kernel just forked (no server yet)
    assert kernel_forker._forkserver_internals_known(), f"this Python ({os.sys.version.split()[0]}) is one the kit knows"
    monkeypatch.setattr(forkserver._forkserver, "_forkserver_pid", 12345)  # a server runs already
    assert not kernel_forker._forkserver_internals_known()
    assert kernel_forker.fork_multiprocessing_server() is None
    monkeypatch.setattr(forkserver._forkserver, "_forkserver_pid", None)
    monkeypatch.setattr(forkserver, "main", lambda listener_fd, alive_r, preload, main_path=None, sys_path=None, *, authkey_r=None: None)
    assert kernel_forker.fork_multiprocessing_server() is None, "Python 3.14's server takes an authentication key"


def test_a_run_takes_over_the_forker_started_before_its_imports(tmp_path: Path) -> None:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    (nbdir / "a.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": "import json\nx = 1", "metadata": {}}]}))
    KernelForker.start_early(nbdir)
    KernelForker.start_early(nbdir)  # once per folder
    early = KernelForker.started_early(nbdir / ".." / "nbs")
    try:
        assert early is not None and early._process is not None and early._process.poll() is None
        assert KernelForker.started_early(nbdir) is None, "handed over once"
        with early:
            assert os.environ[FORKER_ENV] == early.socket_path and os.path.exists(early.socket_path)
    finally:
        early.close()
    assert KernelForker.started_early(tmp_path / "elsewhere") is None
