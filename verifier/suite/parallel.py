"""Running suite jobs in worker processes, and stopping them at once on Ctrl-C."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class Interrupted(Exception):
    """Ctrl-C: the run stopped; ``unfinished`` are the jobs without an outcome,
    ``finished`` the outcomes of the others (in job order)."""

    def __init__(self, unfinished: Sequence[Any], finished: Sequence[Any] = ()) -> None:
        super().__init__(f"{len(unfinished)} jobs not finished")
        self.unfinished = tuple(unfinished)
        self.finished = tuple(finished)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and stops us


def run_parallel(
    work: Callable[..., T],
    calls: Sequence[tuple[Any, ...]],
    jobs: int,
    record: Callable[[T], None],
) -> None:
    """``work(*args)`` for each of ``calls`` in up to ``jobs`` worker processes; results
    are recorded in submission order (the output does not depend on timing).  On
    Ctrl-C (KeyboardInterrupt in this process) the workers are killed at once, not
    waited for; the interrupt goes on to the caller."""
    pool = multiprocessing.get_context().Pool(min(jobs, len(calls)), _ignore_sigint)
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
