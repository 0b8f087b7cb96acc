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
import time

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
