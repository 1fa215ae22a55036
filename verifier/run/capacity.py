"""What the store-buffer bound means for a verdict (see `ir.buffers`).

A capacity sized from the program never stalls a core: nothing to say. Where
the program has no bound (a store in a loop with no fence), a command that
would add to a full buffer fails a fatal `capacity` check: that path ends, and
a run that reaches it has not explored every behaviour, so it is inconclusive
(the explicit engine finds it; the smt engine finds it or proves it
unreachable, like any check). An explicit `option buffer = N` stalls a full
core because the user asked for it, and the result says so.
"""

from __future__ import annotations

from dataclasses import replace

from verifier.ir.system import System
from verifier.run.result import Result

CAPACITY = "capacity"  # a check kind, never a problem kind of a verdict


def settle(r: Result, system: System) -> Result:
    """``r`` with the `capacity` kind turned into an inconclusive verdict, and the
    user's buffer option stated."""
    b = system.buffers
    notes = [r.reason] if r.reason else []
    if b.how == "option":
        n = b.capacity
        notes.append(f"option buffer = {n}: a core whose {n}-entry store buffer is full waits")
    if CAPACITY not in r.kinds:
        return replace(r, reason="; ".join(notes))
    notes.append(
        f"a store buffer reached {b.capacity} entries: a store in a loop with no fence "
        "has no bound, so not every execution was explored; `option buffer = N` "
        "explores with N entries (a full buffer then waits)"
    )
    return replace(
        r,
        verdict="inconclusive",
        kinds=tuple(k for k in r.kinds if k != CAPACITY),
        traces=tuple(t for t in r.traces if t.kind != CAPACITY),
        expectation_met=False,
        reason="; ".join(notes),
    )
