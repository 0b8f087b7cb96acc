"""Notebook kernels forked from one warm process: the run's imports done once, not once per kernel.

A scheduled run starts one kernel per notebook, and each fresh kernel spent about 1.5 s of CPU
importing pandas, matplotlib, diff_diff and the kit before its first cell ran: five kernels,
five times the same work, on the two cores the analyses need. :class:`KernelForker` starts
one *forker* process that imports ipykernel and what the run's notebooks import (their
top-level import statements, :func:`notebook_imports`) and then forks a
kernel for every launch request. A forked kernel is a fresh ipykernel in every way a notebook
can see: its own process and session, the working directory and environment variables of
the launch (``TIK_PROGRESS_FILE``, the dataset cache ...), fresh seeds for ``random`` and
numpy's global generator, the command line jupyter_client built; only the modules are
already imported. Nothing the kit imports reads an environment variable at import time.

:class:`ForkedKernelProvisioner` is the jupyter_client side: the pipeline's kernel manager
uses it while a forker runs (its socket is in ``TIK_KERNEL_FORKER``) and falls back to the
ordinary launch of a new interpreter when the forker cannot be reached.

The forker is single-threaded when it forks (it only imports and waits on its socket), exits
when its standard input closes (the run that started it ended, or died), and its kernels exit
when it does (ipykernel's parent poller watches it). ``python -m analysis run`` starts the
forker before it imports the pipeline (:meth:`KernelForker.start_early`), so that the two sets
of imports run side by side.

Each forked kernel also gets ``multiprocessing``'s fork server as a fork of itself, made before
ipykernel starts its threads (:func:`fork_multiprocessing_server`): the attribution's evaluation
workers are then forked from a process with the run's imports done, instead of from a new
interpreter that imports them all again.
"""

from __future__ import annotations

import ast
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

#: The forker's socket, for the kernel managers of the run's worker processes.
FORKER_ENV = "TIK_KERNEL_FORKER"
#: Set (to anything) to start every kernel the ordinary way, as before the forker.
DISABLE_ENV = "TIK_NO_KERNEL_FORKER"
_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class KernelForker:
    """A forker process for one run; a context manager that sets :data:`FORKER_ENV` while open.

    Parameters
    ----------
    imports : str
        Import statements, one per line, run in the forker before it forks its first kernel.
        A statement that fails is skipped (the notebook's own cell then fails as it would have).

    Notes
    -----
    Linux only (a kernel's end is watched through a pidfd, and forking without exec is not safe
    with macOS's system frameworks); elsewhere, or where :data:`DISABLE_ENV` is set, the forker
    does nothing and every kernel starts the ordinary way.
    """

    def __init__(self, imports: str) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._before: str | None = None
        self.socket_path = ""
        if not self.supported():
            return
        self._dir = tempfile.mkdtemp(prefix="tik-forker-")
        self.socket_path = os.path.join(self._dir, "forker.sock")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "analysis.kernel_forker", self.socket_path], stdin=subprocess.PIPE, close_fds=True,
        )  # fmt: skip
        assert self._process.stdin is not None
        self._process.stdin.write(imports.encode("utf-8") + b"\n\0")
        self._process.stdin.flush()

    @classmethod
    def start_early(cls, notebooks_dir: str | Path) -> None:
        """Start the forker for every notebook of ``notebooks_dir`` now, for the run that follows to take over.

        ``python -m analysis run`` calls this before it imports the pipeline (about 0.8 s of pandas
        and the kit), so that the forker's own imports (about 2 s) run beside them: the first
        kernels could otherwise not start until the forker had done its imports after the run's.
        The imports are those of the folder's notebooks, every one (a run of some of them imports a
        little more than it needs).
        """
        folder = Path(notebooks_dir).resolve()
        if cls.supported() and folder.is_dir() and folder not in _EARLY:
            _EARLY[folder] = cls(imports_of(sorted(folder.glob("*.ipynb"))))

    @classmethod
    def started_early(cls, notebooks_dir: str | Path) -> KernelForker | None:
        """The forker :meth:`start_early` started for ``notebooks_dir`` (handed over once), or None."""
        forker = _EARLY.pop(Path(notebooks_dir).resolve(), None)
        if forker is not None and forker._process is not None and forker._process.poll() is not None:
            forker.close()
            return None
        return forker

    @staticmethod
    def supported() -> bool:
        """Whether kernels can be forked here (Linux with pidfds, and not switched off by :data:`DISABLE_ENV`)."""
        return (sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")
                and not os.environ.get(DISABLE_ENV))  # fmt: skip

    def __enter__(self) -> KernelForker:
        if self._process is not None:
            deadline = time.monotonic() + 30  # the forker binds its socket first thing, before its imports
            while not os.path.exists(self.socket_path) and self._process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            self._before = os.environ.get(FORKER_ENV)
            os.environ[FORKER_ENV] = self.socket_path
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            if self._before is None:
                os.environ.pop(FORKER_ENV, None)
            else:
                os.environ[FORKER_ENV] = self._before
        self.close()

    def close(self) -> None:
        """Stop the forker (its kernels, if any still run, follow it) and remove its socket."""
        if self._process is None:
            return
        if self._process.stdin is not None and not self._process.stdin.closed:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


def notebook_imports(path: Path) -> str:
    """The top-level import statements of a notebook's code cells, its parameters cell aside.

    Parameters
    ----------
    path : Path
        The notebook file.

    Returns
    -------
    str
        One statement per line, each once, in the order written (cells with IPython magics are
        skipped).
    """
    lines: list[str] = []
    for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") != "code" or "parameters" in (cell.get("metadata") or {}).get("tags", []):
            continue
        try:
            tree = ast.parse("".join(cell.get("source", "")))
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    return "\n".join(dict.fromkeys(lines))


def imports_of(notebooks: list[Path]) -> str:
    """The import statements of every notebook in ``notebooks`` (:func:`notebook_imports`), each once."""
    return "\n".join(dict.fromkeys(line for nb in notebooks for line in notebook_imports(nb).splitlines()))


#: Forkers started before the run that takes them over (:meth:`KernelForker.start_early`), by notebooks folder.
_EARLY: dict[Path, KernelForker] = {}


class _ForkedProcess:
    """The part of :class:`subprocess.Popen` jupyter_client uses, for a kernel the forker forked.

    The kernel is the forker's child, not ours: its end is watched through a pidfd (opened as
    soon as the pid is known; it turns readable when the kernel ends, before the forker collects
    it, so a reused pid is never mistaken for it). Its exit code is the forker's to collect; an
    ended kernel reports 0.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self._pidfd, self.returncode = None, 0

    def poll(self) -> int | None:
        return self.wait(timeout=0) if self.returncode is None else self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None and self._pidfd is not None:
            with selectors.DefaultSelector() as sel:
                sel.register(self._pidfd, selectors.EVENT_READ)
                if sel.select(timeout):
                    os.close(self._pidfd)
                    self._pidfd, self.returncode = None, 0
        if self.returncode is None and timeout is not None and timeout > 0:
            raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None and self._pidfd is not None:
            signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def request_kernel(socket_path: str, argv: list[str], env: dict[str, str], cwd: str) -> int:
    """Ask the forker at ``socket_path`` for a kernel.

    Parameters
    ----------
    socket_path : str
        The forker's socket (:attr:`KernelForker.socket_path`).
    argv : list of str
        The kernel command jupyter_client built (``python -m ipykernel_launcher -f
        CONNECTION_FILE ...``); the forked kernel runs its arguments.
    env : dict of str to str
        The kernel's whole environment.
    cwd : str
        The kernel's working directory.

    Returns
    -------
    int
        The kernel's pid. The kernel leads a new session, so signals to its process group
        reach only it.

    Raises
    ------
    OSError
        When the forker cannot be reached or did not fork.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(300)  # the forker answers after its imports (a few seconds on a busy machine)
        conn.connect(socket_path)
        conn.sendall(json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode("utf-8"))
        conn.shutdown(socket.SHUT_WR)
        reply = b"".join(iter(lambda: conn.recv(65536), b""))
    try:
        return int(json.loads(reply)["pid"])
    except (ValueError, KeyError, TypeError) as exc:
        raise OSError(f"the kernel forker did not fork a kernel: {reply[:200]!r}") from exc


class ForkedKernelProvisioner(LocalProvisioner):  # type: ignore[misc]
    """jupyter_client's local provisioner, launching through the run's forker when one runs."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        path = os.environ.get(FORKER_ENV)
        ours = bool(cmd) and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable) and cmd[1:3] == ["-m", "ipykernel_launcher"]
        if not path or not ours or not os.path.exists(path):
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        try:
            pid = request_kernel(path, cmd, env, cwd)
        except OSError:
            return await super().launch_kernel(cmd, **kwargs)
        self.process = _ForkedProcess(pid)
        self.pid = self.pgid = pid  # the kernel leads its own session (see request_kernel)
        self.cwd = cwd
        return self.connection_info


# ---------------------------------------------------------------------------------------------- the forker itself


def _run_kernel(request: dict[str, Any], forker_pid: int) -> None:
    """In the forked child: become the kernel the request describes (never returns)."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the forker ignores it; ipykernel's interrupts need it
        fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, 0)
        os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.pop(FORKER_ENV, None)
        os.environ.setdefault("MPLBACKEND", _INLINE_BACKEND)
        # the kernel exits when the forker does (ipykernel polls its parent); the forker ends with the run
        os.environ["JPY_PARENT_PID"] = str(forker_pid)
        import random

        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        sys.argv = ["ipykernel_launcher", *request["argv"][3:], f"--IPKernelApp.parent_handle={forker_pid}"]
        fork_multiprocessing_server()
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - a kernel that cannot start says why on the run's console
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _forkserver_internals_known() -> bool:
    """Whether this Python's ``multiprocessing.forkserver`` is the one :func:`fork_multiprocessing_server` knows (3.11-3.13)."""
    import inspect
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    try:
        params = list(inspect.signature(forkserver.main).parameters)
    except (AttributeError, TypeError, ValueError):
        return False
    return (params == ["listener_fd", "alive_r", "preload", "main_path", "sys_path"]
            and isinstance(server, forkserver.ForkServer)
            and set(vars(server)) == {"_forkserver_address", "_forkserver_alive_fd", "_forkserver_pid", "_inherited_fds",
                                      "_lock", "_preload_modules"}
            and server._forkserver_pid is None)  # fmt: skip


def fork_multiprocessing_server() -> int | None:
    """Make this process's ``multiprocessing`` fork server a fork of it, as it is now.

    Called in a freshly forked kernel before ipykernel starts (one thread, the run's imports
    done). ``multiprocessing``'s ``forkserver`` context would otherwise start its server as a
    new interpreter that imports everything again (the evaluation's workers: about 2.7 s of
    CPU on the sample, before the first worker starts). The server forked here serves the same
    protocol (``multiprocessing.forkserver.main``); it preloads nothing, as its modules are
    imported already, and it exits when this process does. On a Python whose fork server
    differs from the one this was written against (3.11-3.13), nothing is done and the context
    starts its own server.

    Returns
    -------
    int or None
        The server's pid, or None when none was forked.
    """
    from multiprocessing import forkserver

    if not _forkserver_internals_known():
        return None
    # a folder of its own (not multiprocessing's temporary folder, which only an orderly exit of the kernel removes:
    # the run stops its kernels at once), removed by the server when it ends
    folder = tempfile.mkdtemp(prefix="tik-forkserver-")
    address = os.path.join(folder, "listener")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(address)
    os.chmod(address, 0o600)
    listener.listen()
    alive_r, alive_w = os.pipe()  # the server ends when every holder of the write end (this process, its workers) has closed it
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(alive_w)
            os.setpgid(0, 0)  # out of the kernel's process group, which the run kills at its end: the server ends on its own
            forkserver.main(listener.fileno(), alive_r, [])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            os._exit(code)
    os.close(alive_r)
    listener.close()
    server = forkserver._forkserver
    server._forkserver_address, server._forkserver_alive_fd, server._forkserver_pid = address, alive_w, pid
    return pid


def _reap() -> None:
    """Collect the kernels that ended, so their CPU time counts in the run's (``/usr/bin/time``, rusage)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(socket_path: str) -> None:
    """The forker's main loop: import, then fork a kernel per request until standard input closes.

    Parameters
    ----------
    socket_path : str
        Where to listen. The imports arrive on standard input, ended by a NUL byte.
    """
    # Ctrl-C on the run's terminal reaches this process too: the run handles it and closes our standard input
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)  # requests queue while the imports run
    imports = b""
    while not imports.endswith(b"\0"):
        more = os.read(0, 1 << 20)
        if not more:
            return  # the run ended before it sent the imports
        imports += more
    os.environ.setdefault("MPLBACKEND", _INLINE_BACKEND)  # what ipykernel sets before a notebook imports matplotlib
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]  # as ipykernel_launcher does before it imports (IPython puts the kernel's directory back)
    import ipykernel.kernelapp  # noqa: F401

    # the forker's working directory is not on sys.path (as for the kernel), so a module of the notebooks' own folder
    # is not found here and is imported by the kernel that needs it, in its own directory, as without the forker
    for line in imports.rstrip(b"\0").decode("utf-8").splitlines():
        try:
            exec(compile(line, "<notebook imports>", "exec"), {})  # noqa: S102 - the run's own notebooks' imports
        except Exception:  # noqa: BLE001, S112 - the notebook's own cell reports it
            continue
    # Python 3.12+ warns of fork() in a process with threads: the only ones here are the BLAS libraries' idle
    # worker pools, which stop and restart themselves around a fork (pthread_atfork), as for multiprocessing's fork
    warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks", category=DeprecationWarning)
    # the imported modules' objects live as long as any kernel: frozen out of the garbage collector, whose passes in a
    # kernel would otherwise write to (and so copy) every page it shares with the forker (as the run does for its workers)
    import gc

    gc.freeze()
    me = os.getpid()
    with selectors.DefaultSelector() as sel:
        sel.register(listener, selectors.EVENT_READ)
        sel.register(0, selectors.EVENT_READ)
        while True:
            events = sel.select(timeout=0.25)
            _reap()
            if any(key.fileobj == 0 for key, _ in events) and not os.read(0, 1):
                return  # the run closed our standard input: it has ended
            if not any(key.fileobj is listener for key, _ in events):
                continue
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(30)
                data = b"".join(iter(lambda: conn.recv(65536), b""))
                try:
                    request = json.loads(data)
                except ValueError:
                    continue
                ready_r, ready_w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    conn.close()
                    os.close(ready_r)
                    os.setsid()  # before the pid goes out: a signal to the kernel's group reaches only the kernel
                    os.close(ready_w)
                    _run_kernel(request, me)
                os.close(ready_w)
                os.read(ready_r, 1)  # returns when the child closed its end, i.e. after setsid
                os.close(ready_r)
                conn.sendall(json.dumps({"pid": pid}).encode("utf-8"))


if __name__ == "__main__":
    serve(sys.argv[1])
