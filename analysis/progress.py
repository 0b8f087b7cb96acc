"""Progress of a long run, outside the notebooks' outputs.

Analysis code calls :func:`report_progress` at its milestones ("program P02 (2/3)
started"). The message goes to the file named by the environment variable
``TIK_PROGRESS_FILE`` (one line each, appended), which the pipeline sets for every
notebook it executes and prints to the console as the run goes. Nothing is written
into a notebook's outputs, so committed notebooks and nbval are unaffected; with
the variable unset (JupyterLab, tests) the call does nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Environment variable naming the progress file of the current run.
PROGRESS_ENV = "TIK_PROGRESS_FILE"


def report_progress(message: str) -> None:
    """Append ``message`` (one line, with a UTC time stamp) to the run's progress file.

    Parameters
    ----------
    message : str
        What the analysis is doing now, in words.

    Notes
    -----
    Does nothing when ``TIK_PROGRESS_FILE`` is unset; a progress file that cannot
    be written never stops an analysis.
    """
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return
    line = f"{time.strftime('%H:%M:%S', time.gmtime())} {' '.join(str(message).split())}\n"
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
    except OSError:
        pass


class ProgressTail:
    """Print the progress lines of a run's notebooks as they are written (a background thread).

    The pipeline gives every notebook its own progress file, ``<folder>/<notebook>.log``
    (its kernel inherits ``TIK_PROGRESS_FILE`` from the worker process that starts it);
    this thread polls the folder and hands each new complete line to ``say`` as
    ``[elapsed s] <notebook>: <message>``, so notebooks running side by side stay told
    apart. Use it as a context manager: leaving it reads what is left and stops the thread.

    Parameters
    ----------
    folder : Path
        Folder of the progress files (created when missing).
    say : callable
        Prints one line (``print`` on the console).
    t0 : float
        ``time.perf_counter()`` at the start of the run; elapsed times count from it.
    interval : float
        Seconds between polls.
    """

    def __init__(self, folder: Path, say: Callable[[str], Any], t0: float, interval: float = 0.5) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.say, self.t0, self.interval = say, t0, interval
        self._offsets: dict[Path, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tik-progress", daemon=True)

    def path_for(self, notebook: str) -> Path:
        """The progress file of one notebook."""
        return self.folder / f"{notebook}.log"

    def poll(self) -> int:
        """Print the complete lines written since the last poll; returns how many."""
        shown = 0
        for path in sorted(self.folder.glob("*.log")):
            start = self._offsets.get(path, 0)
            try:
                with open(path, "rb") as fh:
                    fh.seek(start)
                    chunk = fh.read()
            except OSError:
                continue
            done = chunk.rfind(b"\n") + 1  # a line still being written waits for the next poll
            if not done:
                continue
            self._offsets[path] = start + done
            for raw in chunk[:done].decode("utf-8", errors="replace").splitlines():
                message = raw.split(" ", 1)[1] if raw[:2].isdigit() and raw[2:3] == ":" and " " in raw else raw  # drop the HH:MM:SS stamp
                if message.strip():
                    self.say(f"  [{time.perf_counter() - self.t0:5.0f} s] {path.stem}: {message.strip()}")
                    shown += 1
        return shown

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def __enter__(self) -> ProgressTail:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()
