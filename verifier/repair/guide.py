"""Which candidates to check first: the places the counterexamples point at.

A trace is a list of steps, each with the span of the statement it ran.  Two
things are read off the shortest traces of the unrepaired spec, under every
model that found a problem:

* reorderings: a store (or PTE write) buffered at one step and still in the
  buffer when a later step of the same core ran (its drain comes after, or never).
  A barrier just after that store is what a missing-fence bug needs: those
  places come first;
* distance: how many steps before the problem a statement last ran.  Edits at
  statements closer to the racing access are tried before edits further back,
  and edits at statements no trace ran come last, in source order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from verifier.lang import ast
from verifier.repair.edits import Edit
from verifier.run.result import Result, Trace

FAR = 1 << 30  # the distance of a statement no trace ran

Key = tuple[int, int]  # (line, column) of a statement


def key(s: ast.Stmt) -> Key:
    return (s.span.line, s.span.col)


@dataclass
class Guide:
    overtaken: set[Key] = field(default_factory=set)  # stores a later step overtook
    distance: dict[Key, int] = field(default_factory=dict)  # steps before the problem

    @staticmethod
    def of(results: Sequence[Result]) -> Guide:
        g = Guide()
        for r in results:
            for t in r.traces:
                g._read(t)
        return g

    def _read(self, t: Trace) -> None:
        n = len(t.steps)
        drained: dict[int, int] = {}
        for s in t.steps:
            if s.action == "drain":
                for link in s.links:
                    drained.setdefault(link, s.index)
        for s in t.steps:
            if s.span is None:
                continue
            k = (s.span.line, s.span.col)
            self.distance[k] = min(self.distance.get(k, FAR), n - s.index)
            if s.action in ("store-buffered", "ipi-buffered"):
                end = drained.get(s.index, n + 1)
                if any(
                    o.core == s.core and o.action != "drain" and s.index < o.index < end
                    for o in t.steps
                ):
                    self.overtaken.add(k)

    def rank(self, e: Edit) -> tuple[int, int]:
        """(tier, distance): 0 for a barrier just after an overtaken store, 1 for an edit at
        a statement a trace ran (nearest the problem first), 2 for the rest."""
        if e.kind == "fence" and e.after is not None and key(e.after) in self.overtaken:
            return (0, self.distance.get(key(e.after), FAR))
        near = [key(s) for s in (*e.at, *((e.after,) if e.after is not None else ()))]
        d = min((self.distance.get(k, FAR) for k in near), default=FAR)
        return (1, d) if d < FAR else (2, 0)

    def order(self, edits: Sequence[Edit], kinds: Sequence[tuple[str, int]]) -> list[Edit]:
        """``edits`` most promising first: the barriers after overtaken stores, then by the
        spread of their kind (the few structural edits before the many insertions), rank,
        kind (table order) and source position.  ``kinds``: (name, spread) in table order."""
        pos = {k: i for i, (k, _) in enumerate(kinds)}
        spread = dict(kinds)

        def where(e: Edit) -> tuple[int, ...]:
            tier, d = self.rank(e)
            first = 0 if tier == 0 else 1
            return (first, spread.get(e.kind, 9), tier, d, pos.get(e.kind, len(pos)), *key(e.at[0]))

        return sorted(edits, key=where)
