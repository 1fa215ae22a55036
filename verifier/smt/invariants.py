"""Candidate invariants for the z3 engine's proofs: finite descriptions of state sets.

`Diagram` is a set of states exactly, as a multi-valued decision diagram over the
fields that vary in it.  When the explicit engine can enumerate every reachable
state, that set is the strongest invariant there is; `smt_prove` has z3 check that
it contains the initial state, is closed under z3's own encoding of the
transitions, and contains no problem state.

`Relations` over-approximates a set: the projections of its states onto k-tuples
of groups.  A group is the set of fields describing one machine object
(`Layout.groups`).  For a set of states R, the relational abstraction of arity k
keeps, for every group, the values it takes in R, and for every k groups that
vary, the value tuples they take together.  `smt_prove` grows it until it is
inductive and then checks that it excludes every problem.

Nothing here imports z3.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

StateT = tuple[int, ...]
Stop = Callable[[], bool]  # True when the caller's deadline has passed


class OutOfTime(Exception):
    """Building a description was stopped by the caller's deadline."""


class TooLarge(Exception):
    """Building a description would take more work than the caller allows."""


# ---------------------------------------------------------------- exact sets


@dataclass(frozen=True)
class Node:
    """Field ``order[level]`` takes one of the values of an edge; the edge's child
    describes the rest.  Edges are grouped by child: ``(child, values)``."""

    level: int
    edges: tuple[tuple[int, tuple[int, ...]], ...]


@dataclass
class Diagram:
    """A set of states as a reduced, shared multi-valued decision diagram.

    Fields constant over the set are in ``fixed``; the others are tested in
    ``order``, one level each.  Node 0 is the accepting leaf; ``nodes`` lists every
    other node after its children, ``root`` is the last one (or 0)."""

    fixed: tuple[tuple[int, int], ...]
    order: tuple[int, ...]
    nodes: list[Node]
    root: int

    @staticmethod
    def of(states: Sequence[StateT | bytes], stop: Stop = lambda: False) -> Diagram:
        """The diagram of a non-empty set of states (duplicates allowed): tuples, or
        `bytes` as the explicit engine packs them (which sort the same way)."""
        rows = sorted(set(states))
        if isinstance(rows[0], bytes):  # packed states: columns by C-level slicing
            blob, width = b"".join(rows), len(rows[0])  # type: ignore[arg-type]
            cols: list[Sequence[int]] = [blob[f::width] for f in range(width)]
        else:
            cols = list(zip(*rows, strict=True))
        fixed = tuple((f, col[0]) for f, col in enumerate(cols) if len(set(col)) == 1)
        constant = {f for f, _ in fixed}
        order = tuple(f for f in range(len(cols)) if f not in constant)
        d = Diagram(fixed, order, [Node(-1, ())], 0)
        unique: dict[tuple[int, tuple[tuple[int, tuple[int, ...]], ...]], int] = {}
        calls = [0]

        def build(level: int, lo: int, hi: int) -> int:
            """The node for rows[lo:hi], which agree on the fields above ``level``;
            the rows are sorted, so this level's field ascends within the range."""
            if level == len(order):
                return 0
            calls[0] += 1
            if calls[0] & 0xFFF == 1 and stop():
                raise OutOfTime
            col = cols[order[level]]
            by_child: dict[int, list[int]] = {}
            start = lo
            while start < hi:
                v = col[start]
                end = bisect_right(col, v, start, hi)
                by_child.setdefault(build(level + 1, start, end), []).append(v)
                start = end
            key = (level, tuple((c, tuple(vs)) for c, vs in sorted(by_child.items())))
            got = unique.get(key)
            if got is None:
                got = unique[key] = len(d.nodes)
                d.nodes.append(Node(*key))
            return got

        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, len(order) + 1000))  # one frame per level
        try:
            d.root = build(0, 0, len(rows))
        finally:
            sys.setrecursionlimit(limit)
        return d

    def __contains__(self, s: StateT) -> bool:
        if any(s[f] != v for f, v in self.fixed):
            return False
        n = self.root
        while n:
            node = self.nodes[n]
            v = s[self.order[node.level]]
            n = next((c for c, vs in node.edges if v in vs), -1)
            if n < 0:
                return False
        return True

    def edges(self) -> int:
        """Edge count (a measure of the formula z3 gets)."""
        return sum(len(vs) for node in self.nodes for _, vs in node.edges)


# ---------------------------------------------------------------- projections


@dataclass
class Relations:
    groups: tuple[tuple[int, ...], ...]
    arity: int
    states: list[StateT] = field(default_factory=list)
    values: list[set[StateT]] = field(default_factory=list)  # per group
    tuples: dict[tuple[int, ...], set[StateT]] = field(default_factory=dict)  # per combination
    varying: tuple[int, ...] = ()
    max_work: int | None = None  # projections one `add` may compute (None: no limit)

    def __post_init__(self) -> None:
        self.values = [set() for _ in self.groups]

    def project(self, s: StateT, g: int) -> StateT:
        return tuple(s[i] for i in self.groups[g])

    def add(self, states: Iterable[StateT], stop: Stop = lambda: False) -> bool:
        """Add states; True if the abstraction grew.  `OutOfTime` when ``stop`` says
        so, `TooLarge` when it would compute more than ``max_work`` projections (the
        abstraction is then incomplete and must not be used)."""
        new = [tuple(s) for s in states]
        self.states += new
        grew = False
        for n, s in enumerate(new):
            if n & 0x3FF == 0 and stop():
                raise OutOfTime
            for g, vals in enumerate(self.values):
                p = self.project(s, g)
                if p not in vals:
                    vals.add(p)
                    grew = True
        varying = tuple(g for g, vals in enumerate(self.values) if len(vals) > 1)
        if varying != self.varying:
            self.varying = varying
            self.tuples = {combo: set() for combo in combinations(varying, self.arity)}
            new = self.states
        work = comb(len(varying), self.arity) * len(new)
        if self.max_work is not None and work > self.max_work:
            raise TooLarge(f"{work:,} projections")
        for combo, seen in self.tuples.items():
            if stop():
                raise OutOfTime
            idx = [i for g in combo for i in self.groups[g]]
            for s in new:
                t = tuple(s[i] for i in idx)
                if t not in seen:
                    seen.add(t)
                    grew = True
        return grew

    def constraints(self) -> Iterator[tuple[tuple[int, ...], list[StateT]]]:
        """(fields, allowed value tuples) pairs whose conjunction is the abstraction."""
        for g, vals in enumerate(self.values):
            yield self.groups[g], sorted(vals)
        for combo, seen in self.tuples.items():
            yield tuple(i for g in combo for i in self.groups[g]), sorted(seen)

    def size(self) -> int:
        """Value tuples in the abstraction (a measure of the formula z3 gets)."""
        return sum(len(v) for v in self.values) + sum(len(t) for t in self.tuples.values())
