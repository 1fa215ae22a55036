"""Breadth-first search over the oracle's machine, then `hang` on the explored graph.

No reductions: every interleaving of every core step, drain, delivery and walker
fill is a separate transition.  The search stops at ``max_states`` and then says
so (``complete`` False); `hang` is only judged on a complete graph.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from verifier.lang.checked import CheckedSpec
from verifier.lang.frontend import load, load_text

from .arm import machine_for
from .machine import Machine, Out
from .state import State


@dataclass(frozen=True)
class OracleResult:
    kinds: frozenset[str]
    complete: bool
    states: int

    @property
    def verdict(self) -> str:
        if self.kinds:
            return "unsafe"
        return "safe" if self.complete else "inconclusive"


def run_oracle(checked: CheckedSpec, model: str, max_states: int = 200_000) -> OracleResult:
    m = machine_for(checked, model)
    start = m.initial()
    index: dict[State, int] = {start: 0}
    states = [start]
    edges: list[list[Out]] = []
    kinds: set[str] = set()
    todo = deque([0])
    complete = True
    while todo:
        n = todo.popleft()
        outs = m.successors(states[n])
        while len(edges) <= n:
            edges.append([])
        edges[n] = outs
        for o in outs:
            kinds |= o.kinds
            if o.state is not None and o.state not in index:
                if len(states) >= max_states:
                    complete = False
                    continue
                index[o.state] = len(states)
                states.append(o.state)
                todo.append(index[o.state])
    if complete and _hangs(m, states, edges, index):
        kinds.add("hang")
    return OracleResult(frozenset(kinds), complete, len(states))


def _await_locs(m: Machine, s: State) -> list[tuple[int, tuple[object, ...]]]:
    """(core, location) of every await a core is at, its own or one a handler interrupted."""
    out: list[tuple[int, tuple[object, ...]]] = []
    for i, cs in enumerate(s.cores):
        code = m.code[i]
        if cs.pc < len(code) and _is_await(code[cs.pc]):
            out.append((i, ("main", cs.pc)))
        if cs.hand is not None:
            hcode = m.hcode[(cs.hand.name, i)]
            if cs.hand.pc < len(hcode) and _is_await(hcode[cs.hand.pc]):
                out.append((i, ("h", cs.hand.name, cs.hand.pc)))
    return out


def _is_await(ins: object) -> bool:
    from verifier.lang import ast

    return getattr(ins, "op", None) == "stmt" and isinstance(getattr(ins, "node", None), ast.Await)


def _hangs(
    m: Machine, states: list[State], edges: list[list[Out]], index: dict[State, int]
) -> bool:
    """Is there a reachable state where a core at an await can never pass it?"""
    preds: list[list[int]] = [[] for _ in states]
    for n, outs in enumerate(edges):
        for o in outs:
            if o.state is not None:
                preds[index[o.state]].append(n)
    waiting: dict[tuple[int, tuple[object, ...]], list[int]] = {}
    for n, s in enumerate(states):
        for key in _await_locs(m, s):
            waiting.setdefault(key, []).append(n)
    for (core, loc), at in waiting.items():
        good = set()
        for n, outs in enumerate(edges):
            for o in outs:
                mine = o.core == core
                if (o.passed == (core, loc)) or (mine and o.state is None):
                    good.add(n)
                    break
        todo = list(good)
        while todo:
            n = todo.pop()
            for p in preds[n]:
                if p not in good:
                    good.add(p)
                    todo.append(p)
        if any(n not in good for n in at):
            return True
    return False


def oracle_file(path: str, model: str, defines: list[str] | None = None) -> OracleResult:
    return run_oracle(load(path, defines or []), model)


def oracle_text(text: str, model: str, max_states: int = 200_000) -> OracleResult:
    return run_oracle(load_text(text, "oracle.tlb", []), model, max_states)
