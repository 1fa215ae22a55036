"""Commuting siblings: the search that rebuilds shortest traces fires fewer commands.

After a search with partial-order reduction has found something, a search without it
(`engine.shortest`) explores the unreduced machine breadth first until it has found
every kind again, and its traces are shown.  With ``sleep`` on, that search skips,
in a state ``x`` reached from its parent ``p`` by command ``b``, every command ``a``
that reached an earlier child of ``p`` (a state first stored from ``p``, numbered
below ``x``) and commutes with ``b``: neither writes a field the other reads or
writes (reads: guard, updates, checks' conditions; `por.reads`).

Why nothing changes but the work.  Let ``y = a(p)`` be that earlier child.  Since
``a`` and ``b`` commute, ``a`` is enabled in ``x = b(p)``, ``b`` in ``y``, and
``a(x) = b(y)``; ``a``'s checks read nothing ``b`` writes, so they hold in ``x``
exactly as in ``p``.  ``y`` is numbered below ``x``, so it is expanded first, and
there ``b`` is not skipped (it reached ``x``, a later child of ``p``, and one command
reaches one child).  So when ``x`` is expanded, ``a(x)`` (its orbit, under symmetry:
the stored concrete state of a child is the successor itself) is already stored, and
every problem ``a`` reaches from ``x`` was already found from ``p``, numbered lower.
The skipped step would have found a known state and a known kind: the states, their
numbers, parents, first problems and traces are exactly those of the search without
skipping (tested on every spec and on generated ones); only the transitions it counts
are fewer.  The edges hang analysis walks are not all kept, so the search runs
without skipping when ``hang`` is wanted.
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
