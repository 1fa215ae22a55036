"""Exhaustive breadth-first exploration of a System, and hang analysis on the state graph.

The search owns the visited set, parent map, edge store, limits and progress;
what a step does comes from the compiled commands only.  Breadth-first order
makes the first transition reaching a problem kind the end of a shortest trace.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from verifier.engines.compile import State, compact, compile_system
from verifier.ir.system import CoreLayout, System

ProgressFn = Callable[[int, int, int], None]  # (states, frontier, transitions)


@dataclass(frozen=True)
class Found:
    """Where a problem kind was first reached: ``state`` --``command``--> problem."""

    kind: str
    state: int
    command: int  # -1 for hang (the trace ends in ``state``)
    check: int  # index into the command's checks; -1 for hang
    core: int = -1
    await_pc: int = -1


@dataclass
class Exploration:
    """The explored graph.  ``states`` holds one concrete state per stored state (with
    symmetry reduction: the first state met of each orbit), so ``path`` is a real
    execution.  Edges (``succ_off``/``succ``) and ``fatal`` are kept only when asked
    (hang analysis needs them)."""

    system: System
    states: list[State]
    parent: array  # type: ignore[type-arg]
    via: array  # type: ignore[type-arg]
    found: dict[str, Found]
    transitions: int
    complete: bool
    reason: str = ""
    seconds: float = 0.0
    succ_off: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]
    succ: array = field(default_factory=lambda: array("i"))  # type: ignore[type-arg]
    fatal: bytearray = field(default_factory=bytearray)
    stopped: bool = False  # ended at the first problem (``stop_at_first``)

    def state(self, i: int) -> tuple[int, ...]:
        return tuple(self.states[i])

    def path(self, state: int) -> list[int]:
        """Command ids from the initial state to ``state``."""
        cmds = []
        while state > 0:
            cmds.append(self.via[state])
            state = self.parent[state]
        return cmds[::-1]


def has_awaits(system: System) -> bool:
    return any(core.program_awaits or core.handler_awaits for core in system.cores)


CHECK_EVERY = 64  # states between two clock readings (well under 50 ms)


def explore(
    system: System,
    *,
    max_states: int = 1_000_000,
    timeout: float | None = None,
    progress: ProgressFn | None = None,
    canon: Callable[[bytes], bytes] | None = None,
    edges: bool = False,
    stop_at_first: bool = False,
) -> Exploration:
    """Explore every reachable state, or until a state or time limit.

    ``canon``: states are looked up by ``canon(state)`` (symmetry reduction; see
    `symmetry.py`); it needs bytes states.  ``edges``: keep the successor lists even
    when no core has an `await` (with one they are always kept: hang analysis walks
    them).
    ``stop_at_first``: end at the first problem found."""
    start = time.monotonic()
    packed = compact(system)
    if canon is not None and not packed:
        raise ValueError("symmetry reduction needs states that fit in bytes")
    keep = edges or has_awaits(system)
    compiled = compile_system(system, packed=packed)
    checks = compiled.checks
    successors = compiled.successors
    fatal_of = [tuple(ch.fatal for ch in cmd.checks) for cmd in system.commands]
    kinds_of = [tuple(ch.kind for ch in cmd.checks) for cmd in system.commands]

    init: State = bytes(system.init) if packed else system.init
    key0 = canon(init) if canon is not None else init  # type: ignore[arg-type]
    index: dict[State, int] = {key0: 0}  # with edges: key -> state number
    seen: set[State] = {key0}  # without edges
    states = [init]
    parent = array("i", [-1])
    via = array("i", [-1])
    succ_off = array("q", [0])
    succ = array("i")
    fatal = bytearray()
    found: dict[str, Found] = {}
    transitions = 0
    complete = True
    reason = ""
    i = 0
    while i < len(states):
        s = states[i]
        has_fatal = 0
        out: list[tuple[int, State | None]] = []
        hit: list[int] = []
        try:
            successors(s, out, hit)
        except ValueError as exc:  # bytes() of a value outside a field's declared range
            raise RuntimeError(f"a state field left its declared range ({exc})") from exc
        transitions += len(out)
        for cid in hit:
            for h in checks[cid](s):  # type: ignore[misc]
                kind = kinds_of[cid][h]
                if kind not in found:
                    found[kind] = Found(kind, i, cid, h)
                if fatal_of[cid][h]:
                    has_fatal = 1
        for cid, n in out:
            if n is None:  # a fatal check held: the path ends
                continue
            key = canon(n) if canon is not None else n  # type: ignore[arg-type]
            if keep:
                j = index.get(key)
                if j is None:
                    j = len(states)
                    index[key] = j
                    states.append(n)
                    parent.append(i)
                    via.append(cid)
                succ.append(j)
            elif key not in seen:
                seen.add(key)
                states.append(n)
                parent.append(i)
                via.append(cid)
        if keep:
            succ_off.append(len(succ))
            fatal.append(has_fatal)
        i += 1
        if stop_at_first and found:
            complete, reason = False, "stopped at the first problem"
            break
        if len(states) > max_states:
            complete, reason = False, f"state limit of {max_states} reached"
            break
        if i % CHECK_EVERY == 0:  # the one place limits are checked per batch of states
            if progress is not None:
                progress(len(states), len(states) - i, transitions)
            if timeout is not None and time.monotonic() - start > timeout:
                complete, reason = False, f"timeout after {timeout:g} s"
                break
    ex = Exploration(
        system,
        states,
        parent,
        via,
        found,
        transitions,
        complete,
        reason,
        succ_off=succ_off,
        succ=succ,
        fatal=fatal,
        stopped=stop_at_first and bool(found),
    )
    if complete and keep:
        _find_hang(ex)
    ex.seconds = time.monotonic() - start
    return ex


Position = Callable[[State], int]


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


def _find_hang(ex: Exploration) -> None:
    """A core hangs when it reaches a state from which its `await` can never be passed:
    every state reachable from there keeps it at the same await (a deadlock, or a set of
    states the machine never leaves while the await stays false).  Report the first such
    state in BFS order, which ends a shortest trace."""
    n = len(ex.states)
    best: Found | None = None
    for c, core in enumerate(ex.system.cores):
        for awaits, position in await_views(core):
            pos = [position(s) for s in ex.states]
            for p in sorted(awaits):
                doomed = _doomed(ex, pos, p, n)
                if doomed is not None and (best is None or doomed < best.state):
                    best = Found("hang", doomed, -1, -1, c, p)
    if best is not None:
        ex.found["hang"] = best


def _doomed(ex: Exploration, pos: list[int], p: int, n: int) -> int | None:
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


def hang_from(
    system: System, state: tuple[int, ...], *, max_states: int = 1_000_000
) -> tuple[int, int] | None:
    """(core, await pc) if some core can never pass its await from ``state`` on."""
    from dataclasses import replace

    ex = explore(replace(system, init=state), max_states=max_states)
    if not ex.complete:
        return None
    for c, core in enumerate(system.cores):
        for awaits, position in await_views(core):
            p = position(ex.states[0])
            if p in awaits:
                pos = [position(s) for s in ex.states]
                if _doomed(ex, pos, p, len(ex.states)) == 0:
                    return c, p
    return None
