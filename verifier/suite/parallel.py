"""Running suite jobs in worker processes, and stopping them at once on Ctrl-C,
SIGTERM or SIGHUP.

Workers never outlive the suite: the parent kills them when it is interrupted,
and on Linux each asks the kernel (prctl PR_SET_PDEATHSIG) to kill it when its
parent dies, even by SIGKILL.  Workers ignore SIGINT and SIGHUP (the terminal
sends those to the whole process group: the parent decides) and end quietly on
SIGTERM (no traceback from a pipe to a parent that is gone).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1


class Interrupted(Exception):
    """The run stopped (Ctrl-C or another signal ``signum``); ``unfinished`` are the
    jobs without an outcome, ``finished`` the outcomes of the others (in job order)."""

    def __init__(
        self, unfinished: Sequence[Any], signum: int = signal.SIGINT, finished: Sequence[Any] = ()
    ) -> None:
        super().__init__(f"{len(unfinished)} jobs not finished")
        self.unfinished = tuple(unfinished)
        self.signum = signum
        self.finished = tuple(finished)


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent ends (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _quit(_signum: int, _frame: Any) -> None:
    os._exit(128 + signal.SIGTERM)  # no cleanup: the parent has stopped listening


def _worker_start(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and stops us
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _quit)
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def run_parallel(
    work: Callable[..., T],
    calls: Sequence[tuple[Any, ...]],
    jobs: int,
    record: Callable[[T], None],
) -> None:
    """``work(*args)`` for each of ``calls`` in up to ``jobs`` worker processes; results
    are recorded in submission order (the output does not depend on timing).  On an
    interrupt (KeyboardInterrupt in this process, which SIGTERM and SIGHUP raise too
    under the command line) the workers are killed at once, not waited for; the
    interrupt goes on to the caller."""
    pool = multiprocessing.get_context().Pool(min(jobs, len(calls)), _worker_start, (os.getpid(),))
    try:
        pending = [pool.apply_async(work, args) for args in calls]
        for p in pending:
            record(p.get())
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
