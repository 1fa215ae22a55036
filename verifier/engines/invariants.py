"""Relational invariants: the projections of a set of states onto k-tuples of groups.

A group is the set of fields describing one machine object (`Layout.groups`).
For a set of states R, the relational abstraction of arity k keeps, for every
group, the values it takes in R, and for every k groups that vary, the value
tuples they take together.  It over-approximates R; the z3 engine (`smt.py`)
grows it until it is inductive and then checks that it excludes every problem,
which proves safety for every depth.  Nothing here imports z3.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations

StateT = tuple[int, ...]


@dataclass
class Relations:
    groups: tuple[tuple[int, ...], ...]
    arity: int
    states: list[StateT] = field(default_factory=list)
    values: list[set[StateT]] = field(default_factory=list)  # per group
    tuples: dict[tuple[int, ...], set[StateT]] = field(default_factory=dict)  # per combination
    varying: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.values = [set() for _ in self.groups]

    def project(self, s: StateT, g: int) -> StateT:
        return tuple(s[i] for i in self.groups[g])

    def add(self, states: Iterable[StateT]) -> bool:
        """Add states; True if the abstraction grew."""
        new = [tuple(s) for s in states]
        self.states += new
        grew = False
        for s in new:
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
        for combo, seen in self.tuples.items():
            for s in new:
                t = tuple(s[i] for g in combo for i in self.groups[g])
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
