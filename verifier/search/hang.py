"""Hang analysis on the explored state graph: can a core never pass one of its awaits?"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from verifier.ir.system import Command, CoreLayout, System
from verifier.run.budget import Budget
from verifier.run.compile import Compiled, State

Position = Callable[[State], int]


class Graph(Protocol):
    """The explored state graph (`explicit.Exploration`): states and successor lists."""

    system: System
    succ_off: array  # type: ignore[type-arg]
    succ: array  # type: ignore[type-arg]

    @property
    def states(self) -> Sequence[State]: ...


def await_fields(core: CoreLayout) -> list[tuple[frozenset[int], int, int, int | None]]:
    """Where a core's awaits can block, as fields: per view, its awaits' pcs, the
    in-handler flag, the field holding the position while in a handler, and the one
    holding it otherwise (None: -1, not waiting).  Its program: the pc saved while a
    handler runs, else the pc; its handler code: the pc while in a handler."""
    views: list[tuple[frozenset[int], int, int, int | None]] = []
    if core.program_awaits:
        views.append((core.program_awaits, core.in_handler, core.saved_pc, core.pc))
    if core.handler_awaits:
        views.append((core.handler_awaits, core.in_handler, core.pc, None))
    return views


def await_views(core: CoreLayout) -> list[tuple[frozenset[int], Position]]:
    """`await_fields` as position functions of a state."""
    return [(awaits, _position(*fields)) for awaits, *fields in await_fields(core)]


def _position(flag: int, inside: int, outside: int | None) -> Position:
    if outside is None:
        return lambda s: s[inside] if s[flag] else -1
    return lambda s: s[inside] if s[flag] else s[outside]


@dataclass(frozen=True)
class Hang:
    """Core ``core`` can never pass its await at ``pc`` from ``state`` on; ``stuck``: it
    is in a handler that never returns (over the interrupted await)."""

    state: int
    core: int
    pc: int
    stuck: bool = False


def find_hang(ex: Graph, compiled: Compiled, budget: Budget | None = None) -> Hang | None:
    """A core hangs when it reaches a state from which its `await` can never be passed:
    no execution from there fires that await's own command (a deadlock, a condition that
    stays false, or a handler that never returns over the interrupted await). A path that
    ends in another core's failure does not pass it; one that ends in the awaiting core's
    own failure is reported as that failure instead. Report the first such state in BFS
    order, which ends a shortest trace."""
    best: Hang | None = None
    for c, core in enumerate(ex.system.cores):
        for awaits, position in await_views(core):
            pos = array("i", map(position, ex.states))
            at = {p: array("i") for p in awaits}  # one pass, not one per await
            for i, p in enumerate(pos):
                if p in at:
                    at[p].append(i)
            for p in sorted(awaits):
                if budget is not None:
                    budget.check()
                first = doomed(ex, pos, p, at[p], passes(ex.system, compiled, c, p))
                if first is not None and (best is None or first < best.state):
                    best = Hang(first, c, p)
    if best is None:
        return None
    return Hang(best.state, best.core, best.pc, stuck_in_handler(ex, best.state, best.core))


def await_commands(system: System, c: int, p: int) -> list[Command]:
    """The commands whose firing passes core ``c``'s await at ``p``: its own at that pc
    (every engine's notion of passing an await, `passes` and the parameterised proof's)."""
    return [cmd for cmd in system.commands if cmd.core == c and cmd.site == p]


def passes(system: System, compiled: Compiled, c: int, p: int) -> Callable[[State], bool]:
    """In a state, does core ``c`` fire its await at ``p``, or end the path by a failure
    of its own (a fatal check of one of its commands)?"""
    mine = {cmd.id for cmd in await_commands(system, c, p)}
    pc, sites, machine = system.cores[c].pc, compiled.site_succ[c], compiled.machine_succ[c]

    def fires(s: State) -> bool:
        out: list[tuple[int, State | None]] = []
        site = sites[s[pc]]
        if site is not None:
            site(s, out, [])
        machine(s, out, [])
        return any(cid in mine or n is None for cid, n in out)

    return fires


def stuck_in_handler(ex: Graph, state: int, c: int) -> bool:
    """Is core ``c`` in a handler in ``state`` that it never returns from?"""
    flag = ex.system.cores[c].in_handler
    seen, stack = {state}, [state]
    while stack:
        i = stack.pop()
        if not ex.states[i][flag]:
            return False
        for k in range(ex.succ_off[i], ex.succ_off[i + 1]):
            j = ex.succ[k]
            if j not in seen:
                seen.add(j)
                stack.append(j)
    return True


def doomed(
    ex: Graph,
    pos: Sequence[int],
    p: int,
    inside: Sequence[int],
    fires: Callable[[State], bool],
) -> int | None:
    """The first of ``inside`` (the states at position ``p``, in order) from which the
    await at ``p`` never fires.  The edges between them are reversed into flat arrays
    (no Python object per state): their number in ``inside``, per state of the graph."""
    if not inside:
        return None
    off, succ = ex.succ_off, ex.succ
    local = array("i", [-1]) * len(pos)
    for k, i in enumerate(inside):
        local[i] = k
    can_leave = bytearray(len(inside))
    src, dst = array("i"), array("i")  # the edges inside, by their numbers in ``inside``
    for k, i in enumerate(inside):
        leaves = fires(ex.states[i])
        for e in range(off[i], off[i + 1]):
            j = succ[e]
            if pos[j] != p:
                leaves = True
            else:
                src.append(k)
                dst.append(local[j])
        if leaves:
            can_leave[k] = 1
    start = array("i", [0]) * (len(inside) + 1)  # predecessors of k: preds[start[k]:start[k+1]]
    for d in dst:
        start[d + 1] += 1
    for k in range(len(inside)):
        start[k + 1] += start[k]
    fill = array("i", start)
    preds = array("i", [0]) * len(dst)
    for s, d in zip(src, dst, strict=True):
        preds[fill[d]] = s
        fill[d] += 1
    stack = [k for k in range(len(inside)) if can_leave[k]]
    while stack:
        k = stack.pop()
        for e in range(start[k], start[k + 1]):
            q = preds[e]
            if not can_leave[q]:
                can_leave[q] = 1
                stack.append(q)
    return next((inside[k] for k in range(len(inside)) if not can_leave[k]), None)
