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
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

EVERY = 0.05  # seconds of work between two checks of a hot loop
MEMORY_EVERY = 0.05  # seconds between two reads of the resident set size
DEFAULT_MEMORY_FRACTION = 0.5  # of the machine's physical memory
FALLBACK_MEMORY_MB = 4096  # when the machine's memory cannot be read


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


@dataclass
class Budget:
    """Limits of one run.  ``timeout`` in seconds and ``max_memory`` in MB; None: no limit."""

    max_states: int | None = None
    timeout: float | None = None
    max_memory: float | None = None
    started: float = field(default_factory=time.monotonic)
    phase: str = "start"
    _deadline: float = math.inf
    _memory_next: float = 0.0
    _rate_at: float = 0.0
    _rate_items: int = 0

    def __post_init__(self) -> None:
        if self.timeout is not None:
            self._deadline = self.started + self.timeout
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
            raise LimitReached(f"timeout after {self.timeout:g} s ({self.phase})")
        if self.max_memory is not None and now >= self._memory_next:
            self._memory_next = now + MEMORY_EVERY
            if rss_mb() > self.max_memory:
                raise LimitReached(f"memory limit of {self.max_memory:g} MB reached ({self.phase})")

    def check_states(self, n: int) -> None:
        if self.max_states is not None and n > self.max_states:
            raise LimitReached(f"state limit of {self.max_states} reached")

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
