"""Exhaustive breadth-first exploration of a System (hang analysis: `hang.py`).

The search owns the visited set, parent map, edge store, limits and progress;
what a step does comes from the compiled commands only.  Breadth-first order
makes the first transition reaching a problem kind the end of a shortest trace.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from verifier.ir.system import System
from verifier.run.budget import Budget, LimitReached
from verifier.run.compile import Compiled, State, compact, compile_system
from verifier.search.hang import Hang, find_hang
from verifier.search.por import AmpleFn
from verifier.search.store import FlatStates, Links, ListStates, Store

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
    stuck: bool = False  # hang: the core is in a handler that never returns


@dataclass
class Exploration:
    """The explored graph.  ``states`` (`store.py`: bytes states in one flat buffer)
    holds one concrete state per stored state (with symmetry reduction: the first state
    met of each orbit), so ``path`` is a real execution.  Edges (``succ_off``/``succ``)
    are kept only when asked or when a core has an `await` (hang analysis walks them;
    it tells a path's end from the commands themselves, `hang.passes`)."""

    system: System
    states: Store  # a sequence of states: ``len``, ``[i]``, iteration
    parent: array  # type: ignore[type-arg]
    via: array  # type: ignore[type-arg]
    found: dict[str, Found]
    transitions: int
    complete: bool
    reason: str = ""
    seconds: float = 0.0
    succ_off: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]
    succ: array = field(default_factory=lambda: array("i"))  # type: ignore[type-arg]
    compiled: Compiled | None = None  # its commands, compiled as far as it needed them
    stopped: bool = False  # ended at what it was asked to find (``stop_at_first``, ``stop_when``)
    expanded: int = 0  # states 0 .. expanded-1 had their successors added (BFS order)

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


def explore(
    system: System,
    *,
    max_states: int = 1_000_000,
    timeout: float | None = None,
    progress: ProgressFn | None = None,
    budget: Budget | None = None,
    canon: Callable[[bytes], bytes] | None = None,
    edges: bool = False,
    stop_at_first: bool = False,
    ample: AmpleFn | None = None,
    stop_when: frozenset[str] | None = None,
    compiled: Compiled | None = None,
) -> Exploration:
    """Explore every reachable state, or until a state, time or memory limit (those of
    ``budget`` when given, else ``max_states`` and ``timeout``).

    ``canon``: states are looked up by ``canon(state)`` (symmetry reduction; see
    `symmetry.py`); it needs bytes states.  ``edges``: keep the successor lists even
    when no core has an `await` (with one they are always kept: hang analysis walks
    them).  ``stop_at_first``: end at the first problem found.  ``ample``: partial-order
    reduction (`por.py`): a state's successors are those of its ample set when every
    one of them is a state not expanded yet (new, or queued after it), else all of
    them.  That is the cycle proviso: an ample step always leads to a state numbered
    higher, so no cycle is made of ample steps alone.  ``stop_when``: end once every
    one of these kinds is found (`hang` is never among them: it needs the complete
    graph).  ``compiled``: the commands of ``system`` compiled by an earlier search
    (`Exploration.compiled`), reused."""
    start = time.monotonic()
    if budget is None:
        budget = Budget(max_states, timeout)
    max_states = budget.max_states if budget.max_states is not None else max_states
    budget.enter("compiling")
    packed = compact(system)
    if canon is not None and not packed:
        raise ValueError("symmetry reduction needs states that fit in bytes")
    keep = edges or has_awaits(system)
    if compiled is None:
        compiled = compile_system(system, packed=packed, budget=budget)
    state_succ = compiled.state_succ
    kinds_of = [tuple(ch.kind for ch in cmd.checks) for cmd in system.commands]

    init: State = bytes(system.init) if packed else system.init
    store: Store = FlatStates(len(init), keyed=canon is not None) if packed else ListStates()
    store.add(init, canon(init) if canon is not None else None)  # type: ignore[arg-type]
    parent = array("i", [-1])
    via = array("i", [-1])
    succ_off = array("q", [0])
    succ = array("i")
    add_all, links = store.add_all, Links(parent, via, succ if keep else None)
    found: dict[str, Found] = {}
    transitions = 0
    complete = True
    reason = ""
    i = 0
    budget.enter("search")
    next_check = 1
    while i < len(parent):
        s = store[i]
        out: list[tuple[int, State | None]] = []
        hits: list[tuple[int, int]] = []
        try:
            state_succ(s, out, hits)
        except ValueError as exc:  # a value outside 0..255 stored in a bytes state
            raise RuntimeError(f"a state field left its declared range ({exc})") from exc
        except LimitReached as limit:  # while compiling the code at a new pc
            complete, reason = False, limit.reason
            break
        if ample is not None and len(out) > 1:
            sel = ample(s, out)
            if sel is not None:
                find = store.find
                for _, n in sel:  # a path's end (None) is no state
                    if n is None or 0 <= find(n if canon is None else canon(n)) <= i:  # type: ignore[arg-type]
                        break
                else:
                    out = sel
        transitions += len(out)
        if hits:
            for cid, h in hits:
                kind = kinds_of[cid][h]
                if kind not in found:
                    found[kind] = Found(kind, i, cid, h)
        add_all(i, out, canon, links)  # ``out``: every successor; `store.find`: visited?
        if keep:
            succ_off.append(len(succ))
        i += 1
        if stop_at_first and found:
            complete, reason = False, "stopped at the first problem"
            break
        if stop_when is not None and stop_when.issubset(found):
            complete, reason = False, "stopped: every kind asked for was found"
            break
        if i >= next_check:  # about every `budget.EVERY` seconds of work
            try:
                next_check = i + budget.stride(i)
            except LimitReached as limit:
                complete, reason = False, limit.reason
                break
            if progress is not None:
                progress(len(parent), len(parent) - i, transitions)
        if len(parent) > max_states:
            complete, reason = False, f"state limit of {max_states} reached"
            break
    ex = Exploration(
        system,
        store,
        parent,
        via,
        found,
        transitions,
        complete,
        reason,
        succ_off=succ_off,
        succ=succ,
        stopped=bool(found)
        and (stop_at_first or (stop_when is not None and stop_when <= found.keys())),
        expanded=i,
        compiled=compiled,
    )
    if complete and keep:
        hang = None
        try:
            budget.enter("hang analysis")
            hang = find_hang(ex, compiled, budget)
        except LimitReached as limit:
            ex.complete, ex.reason = False, limit.reason
        if hang is not None:
            found["hang"] = Found("hang", hang.state, -1, -1, hang.core, hang.pc, hang.stuck)
    ex.seconds = time.monotonic() - start
    return ex


def hang_from(
    system: System, state: tuple[int, ...], *, max_states: int = 1_000_000
) -> Hang | None:
    """The hang reached in ``state`` itself, if some core can never pass its await from
    there on."""
    ex = explore(replace(system, init=state), max_states=max_states)
    f = ex.found.get("hang")
    if not ex.complete or f is None or f.state != 0:
        return None
    return Hang(0, f.core, f.await_pc, f.stuck)
