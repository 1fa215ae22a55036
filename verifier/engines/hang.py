"""Hang analysis on the explored state graph: can a core never pass one of its awaits?"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Protocol

from verifier.engines.compile import State
from verifier.ir.system import CoreLayout, System

Position = Callable[[State], int]


class Graph(Protocol):
    """The explored state graph (`explicit.Exploration`): states and successor lists."""

    system: System
    states: list[State]
    succ_off: array  # type: ignore[type-arg]
    succ: array  # type: ignore[type-arg]
    fatal: bytearray


def await_views(core: CoreLayout) -> list[tuple[frozenset[int], Position]]:
    """Where a core's awaits can block: its program (the pc, or the pc saved while a
    handler runs) and its handler code (the pc while in a handler, else -1)."""
    views: list[tuple[frozenset[int], Position]] = []
    if core.program_awaits:
        views.append(
            (core.program_awaits, lambda s: s[core.saved_pc] if s[core.in_handler] else s[core.pc])
        )
    if core.handler_awaits:
        views.append((core.handler_awaits, lambda s: s[core.pc] if s[core.in_handler] else -1))
    return views


def find_hang(ex: Graph) -> tuple[int, int, int] | None:
    """A core hangs when it reaches a state from which its `await` can never be passed:
    every state reachable from there keeps it at the same await (a deadlock, or a set of
    states the machine never leaves while the await stays false).  Report the first such
    state in BFS order, which ends a shortest trace: (state, core, await pc)."""
    n = len(ex.states)
    best: tuple[int, int, int] | None = None
    for c, core in enumerate(ex.system.cores):
        for awaits, position in await_views(core):
            pos = [position(s) for s in ex.states]
            for p in sorted(awaits):
                first = doomed(ex, pos, p, n)
                if first is not None and (best is None or first < best[0]):
                    best = (first, c, p)
    return best


def doomed(ex: Graph, pos: list[int], p: int, n: int) -> int | None:
    """The first state at position ``p`` that cannot leave it, if any."""
    inside = [i for i in range(n) if pos[i] == p]
    if not inside:
        return None
    off, succ = ex.succ_off, ex.succ
    preds: dict[int, list[int]] = {i: [] for i in inside}
    escape: list[int] = []
    for i in inside:
        leaves = bool(ex.fatal[i])
        for k in range(off[i], off[i + 1]):
            j = succ[k]
            if pos[j] != p:
                leaves = True
            else:
                preds[j].append(i)
        if leaves:
            escape.append(i)
    can_leave = set(escape)
    stack = list(escape)
    while stack:
        j = stack.pop()
        for i in preds[j]:
            if i not in can_leave:
                can_leave.add(i)
                stack.append(i)
    return next((i for i in inside if i not in can_leave), None)
