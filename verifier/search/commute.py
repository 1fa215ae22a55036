"""Sleep sets: the search that rebuilds shortest traces fires fewer commands.

After a search with partial-order reduction has found something, a search without it
(`engine.shortest`) explores the unreduced machine breadth first until it has found
every kind again, and its traces are shown.  With ``sleep`` on, each state has a sleep
set of commands it does not fire.  The initial state's is empty; a state ``x`` first
stored from its parent ``p`` by command ``b`` sleeps on the commands ``a`` that commute
with ``b`` (neither writes a field the other reads or writes; reads: guard, updates,
checks' conditions, `por.reads`) and either reached an earlier child of ``p`` (a state
first stored from ``p``, numbered below ``x``) or are in ``p``'s sleep set.

Why nothing changes but the work.  Claim: when a state ``z`` is expanded, ``a(z)`` is
stored already (its orbit, under symmetry) for every ``a`` it sleeps on, and every
problem ``a`` reaches from ``z`` was found from a state numbered below ``z``.  By
induction on ``z``'s number; ``z = b(p)`` is a child of ``p``, and ``a`` commutes with
``b``, so ``a`` is enabled in ``z``, ``b`` in ``a(p)``, ``a(z) = b(a(p))``, and ``a``'s
checks read nothing ``b`` writes: they hold in ``z`` exactly as in ``p``.

- ``a`` reached an earlier child ``y = a(p)``: ``y`` is numbered below ``z``, so it is
  expanded first, and its stored concrete state is ``a(p)`` itself.  It does not sleep
  on ``b``: ``b`` is not in ``p``'s sleep set (``p`` fired it) and reached no child of
  ``p`` before ``y`` (one command, one successor).  So ``y`` fires ``b`` and stores
  ``a(z)``.  ``a`` fired from ``p``, which found its problems.
- ``a`` is in ``p``'s sleep set: by induction ``a(p)`` was stored when ``p`` was
  expanded, as some state ``w`` numbered below ``z`` (``z`` was new then).  ``w`` is
  ``a(p)`` or, under symmetry, a permutation of it, whose successors are the permuted
  successors of ``a(p)``; expanding ``w`` (before ``z``) fires the step matching ``b``
  or sleeps on it, and either way (the second by induction, ``w`` < ``z``) ``a(z)``'s
  orbit is stored.  ``a``'s problems from ``p`` are those from ``z``, found below
  ``p`` by induction.

So a skipped step would have found a known state and known problems: the states, their
numbers, parents, first problems and traces are exactly those of the search without
sleep sets (tested on every spec, example and generated specs, the native search
against the Python one); only the transitions it counts are fewer.  The edges hang
analysis walks are not all fired, so the search runs without sleep sets (and with its
edges) when ``hang`` is wanted.
"""

from __future__ import annotations

from collections.abc import Sequence

from verifier.ir.system import System
from verifier.search.por import reads, writes


def masks(system: System) -> tuple[list[int], list[int]]:
    """Each command's read fields and written fields, as bit masks."""
    rd = [_mask(reads(c)) for c in system.commands]
    wr = [_mask(writes(c)) for c in system.commands]
    return rd, wr


def _mask(fields: frozenset[int]) -> int:
    out = 0
    for f in fields:
        out |= 1 << f
    return out


class Sleep:
    """Sleep sets: ``children(sleep, cmds)`` gives the sleep sets of the children a state
    sleeping on ``sleep`` has just added, reached by ``cmds`` in order (above)."""

    def __init__(self, rd: list[int], wr: list[int]) -> None:
        self.rd, self.wr = rd, wr
        self.memo: dict[tuple[int, int], bool] = {}

    def commute(self, a: int, b: int) -> bool:
        key = (a, b)
        got = self.memo.get(key)
        if got is None:
            rd, wr = self.rd, self.wr
            got = not (wr[a] & (rd[b] | wr[b]) or wr[b] & rd[a])
            self.memo[key] = got
        return got

    def children(self, sleep: frozenset[int], cmds: Sequence[int]) -> list[frozenset[int]]:
        out, base, commute = [], set(sleep), self.commute
        for b in cmds:
            out.append(frozenset(a for a in base if commute(a, b)))
            base.add(b)
        return out


def sleep_sets(system: System) -> Sleep:
    return Sleep(*masks(system))
