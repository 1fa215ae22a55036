"""One run's limits: states, wall time and memory, checked cheaply by every phase.

A `Budget` is made when a run starts (`Budget.start`) and handed to every phase
(lowering, building the machine, compiling, the search, hang analysis, trace
building, smt).  `check()` raises `LimitReached` naming the limit and the phase;
the pipeline turns it into an `inconclusive` result.  The clock is read on every
call (tens of nanoseconds); the resident set size only when at least
``MEMORY_EVERY`` seconds have passed since it was last read, so callers may
check often.  A loop that is too hot even for that asks `stride()` how many more
items it may do before checking again, sized to about ``EVERY`` seconds of its
own measured speed.

A phase that never calls `check()` (parsing, one long compile, the encoding of a
huge formula) is still bounded: inside `Budget.watch()` a timer looks at the
limits every ``WATCH_EVERY`` seconds and, once a limit has been passed for
``WATCH_SLACK`` seconds without a phase noticing, raises `LimitReached` wherever
the main thread is (signal handlers run between two bytecodes).  A single C call
(z3) is bounded by its own timeout, set from `remaining()`.
The clock starts at ``started``; the command line passes `process_started()`,
so the time to start Python and read the spec counts too.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

EVERY = 0.05  # seconds of work between two checks of a hot loop
MEMORY_EVERY = 0.05  # seconds between two reads of the resident set size
DEFAULT_MEMORY_FRACTION = 0.5  # of the machine's physical memory
FALLBACK_MEMORY_MB = 4096  # when the machine's memory cannot be read
WATCH_EVERY = 0.1  # seconds between two looks of the watchdog timer
WATCH_SLACK = 0.3  # seconds a limit may stay unnoticed by the phase before the watchdog acts
# the state limit when none is given, by the search that runs (`Budget.states`): the
# Python one (explicit, cluster, the smt engine's proof) takes about 2 minutes and 1 GB
# for 2 M states; the native one stores about 100 bytes a state, ten times faster
PYTHON_MAX_STATES = 2_000_000
NATIVE_MAX_STATES = 50_000_000
_IMPORTED = time.monotonic()


def process_started() -> float:
    """`time.monotonic()` when this process started (Linux: from /proc; elsewhere when
    this module was imported)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # starttime, since boot
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks
    except (OSError, ValueError, IndexError, AttributeError):
        return _IMPORTED
    return min(_IMPORTED, time.monotonic() - max(0.0, age))


class LimitReached(Exception):
    """A state, time or memory limit ended a phase; ``reason`` is the user's wording."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def machine_memory_mb() -> int | None:
    """Physical memory of the machine in MB, if it can be read."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (ValueError, OSError, AttributeError):
        return None


def default_max_memory_mb() -> int:
    total = machine_memory_mb()
    return int(total * DEFAULT_MEMORY_FRACTION) if total else FALLBACK_MEMORY_MB


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float:
    """The process's current resident set size in MB (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_OURS = ("verifier.", "lark.")  # where the watchdog may raise (tlbcheck's code, the parser)


def _no_raise_here(frame: Any) -> bool:
    """Whether an exception raised in ``frame`` could be lost, changed or leave things
    half done: code not tlbcheck's or the parser's (z3's wrappers: ctypes turns an
    exception in an argument's conversion into its own error), a finaliser (``__del__``,
    a weakref callback of the GC) anywhere on the stack, or the entry or exit of a
    context manager (`Budget.watch` itself among them)."""
    if frame is None or not frame.f_globals.get("__name__", "").startswith(_OURS):
        return True
    if frame.f_code.co_name in ("watch", "__enter__", "__exit__"):
        return True
    while frame is not None:
        if frame.f_code.co_name in ("__del__", "_remove", "callback"):
            return True
        frame = frame.f_back
    return False


@dataclass
class Budget:
    """Limits of one run.  ``timeout`` in seconds and ``max_memory`` in MB; None: no limit.
    ``max_states`` None: the default of the search that runs (`states`)."""

    max_states: int | None = None
    timeout: float | None = None
    max_memory: float | None = None
    started: float = field(default_factory=time.monotonic)
    limit: float | None = None  # the timeout messages name (the user's, of which this is a part)
    phase: str = "start"
    _deadline: float = math.inf
    _memory_next: float = 0.0
    _rate_at: float = 0.0
    _rate_items: int = 0
    _memory_seen: float = 0.0  # when a phase last read the memory
    _pid: int = 0  # the process whose timer watches (a forked child's inherited handler: not)

    def __post_init__(self) -> None:
        if self.timeout is not None:
            self._deadline = self.started + self.timeout
        if self.limit is None:
            self.limit = self.timeout
        self._rate_at = self.started

    def enter(self, phase: str) -> None:
        """Name the phase that a limit reached from now on interrupts, and check."""
        self.phase = phase
        self.check()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float | None:
        """Seconds left before the timeout (at least a small positive amount), or None."""
        if self.timeout is None:
            return None
        return max(0.01, self._deadline - time.monotonic())

    def grace(self, seconds: float) -> None:
        """Allow ``seconds`` more from now if the deadline is nearer than that."""
        if self.timeout is not None:
            self._deadline = max(self._deadline, time.monotonic() + seconds)

    def check(self) -> None:
        """Raise `LimitReached` if the time or memory limit has been passed."""
        now = time.monotonic()
        if now > self._deadline:
            raise LimitReached(f"timeout after {self.limit:g} s ({self.phase})")
        if self.max_memory is not None and now >= self._memory_next:
            self._memory_next = now + MEMORY_EVERY
            self._memory_seen = now
            self._memory_check()

    def _memory_check(self) -> None:
        if self.max_memory is not None and rss_mb() > self.max_memory:
            raise LimitReached(f"memory limit of {self.max_memory:g} MB reached ({self.phase})")

    def _watchdog(self, _signum: int, frame: Any) -> None:
        """The timer's look: raise when a limit has gone unnoticed for `WATCH_SLACK` s
        (not inside a finaliser, where the exception would be lost: at the next look)."""
        if os.getpid() != self._pid or _no_raise_here(frame):  # at the next look
            return
        now = time.monotonic()
        if now > self._deadline + WATCH_SLACK:
            raise LimitReached(f"timeout after {self.limit:g} s ({self.phase})")
        if now > self._memory_seen + WATCH_SLACK:
            self._memory_check()

    @contextlib.contextmanager
    def watch(self) -> Iterator[Budget]:
        """Within: the limits hold wherever the main thread is (see the module's notes).
        Elsewhere than in the main thread, or without a time and memory limit, only
        the phases' own checks do."""
        if (
            self.timeout is None and self.max_memory is None
        ) or threading.current_thread() is not threading.main_thread():
            yield self
            return
        self._pid = os.getpid()
        old = signal.signal(signal.SIGALRM, self._watchdog)
        timer = signal.setitimer(signal.ITIMER_REAL, WATCH_EVERY, WATCH_EVERY)
        try:
            yield self
        finally:
            signal.setitimer(signal.ITIMER_REAL, *timer)
            signal.signal(signal.SIGALRM, old)

    def states(self, native: bool = False) -> int:
        """The state limit of a search: ``max_states`` when given, else the default of
        the search that runs (``native``: `NATIVE_MAX_STATES`, else `PYTHON_MAX_STATES`).
        Every search asks here, so its second, unreduced search and its hang analysis
        keep the same limit."""
        if self.max_states is not None:
            return self.max_states
        return NATIVE_MAX_STATES if native else PYTHON_MAX_STATES

    def states_reached(self, native: bool = False) -> str:
        """Why a search ended at its state limit: the number, and whether it is a default."""
        n = self.states(native)
        if self.max_states is not None:
            return f"state limit of {n} reached"
        which = "native" if native else "Python"
        return f"state limit of {n} reached (the {which} search's default)"

    def stride(self, done: int) -> int:
        """Check now, and say after how many more items (of ``done`` so far) to check
        again: about `EVERY` seconds at the speed measured since the last call."""
        self.check()
        now = time.monotonic()
        items = done - self._rate_items
        spent = now - self._rate_at
        self._rate_at, self._rate_items = now, done
        if items <= 0 or spent <= 0:
            return 1
        return max(1, min(int(items * EVERY / spent), 4 * items + 1))
