"""What the store-buffer bound means for a verdict (see `ir.buffers`).

A capacity sized from the program never stalls a core: nothing to say. Where
the program has no bound (a store in a loop with no fence), the machine uses a
fixed capacity; a run that reaches it with a core waiting to buffer one more
entry has not explored every behaviour, so it is inconclusive. An explicit
`option buffer = N` stalls a full core because the user asked for it, and the
result says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from verifier.ir.system import System


def capacity_note(system: System, states: Iterable[Sequence[int]]) -> tuple[bool, str]:
    """(whether the capacity cut the exploration short, what the result should say)."""
    b = system.buffers
    if b.how == "option":
        n = b.capacity
        return False, f"option buffer = {n}: a core whose {n}-entry store buffer is full waits"
    if b.how == "capped" and any(b.stalled(s) for s in states):
        return True, (
            f"a store buffer reached {b.capacity} entries: a store in a loop with no fence "
            "has no bound, so not every execution was explored; `option buffer = N` "
            "explores with N entries (a full buffer then waits)"
        )
    return False, ""
