"""Exhaustive breadth-first exploration of a System (hang analysis: `hang.py`).

The search owns the visited set, parent map, edge store, limits and progress;
what a step does comes from the compiled commands only.  Breadth-first order
makes the first transition reaching a problem kind the end of a shortest trace.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from dataclasses import replace

from verifier.ir.system import System
from verifier.run.budget import Budget, LimitReached
from verifier.run.compile import Compiled, State, compact, compile_system
from verifier.search.commute import Sleep, sleep_sets
from verifier.search.exploration import Exploration, Found
from verifier.search.hang import Hang, find_hang
from verifier.search.por import AmpleFn
from verifier.search.store import FlatStates, Links, ListStates, Store
from verifier.search.twins import TwinsFn, skipping

# (states, frontier, transitions[, depth]): a search that knows its breadth-first depth
# passes it too
ProgressFn = Callable[..., None]


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
    sleep: bool = False,
    hangs: bool = True,
    twins: TwinsFn | None = None,
) -> Exploration:
    """Explore every reachable state, or until a state, time or memory limit (those of
    ``budget`` when given, its state limit `Budget.states`; else ``max_states`` and
    ``timeout``).

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
    (`Exploration.compiled`), reused.  ``sleep``: sleep sets, skip commands whose step
    is known to lead to a stored state (`commute.py`: the same states, found problems
    and paths, fewer transitions; not with ``ample`` nor hang analysis).  ``hangs``: no
    hang analysis (nor the edges it walks) when False.  ``twins``: with ``canon``, skip
    the steps of a family's instance that has a twin earlier in the state (`twins.
    skipping`: the same states, found problems and paths, fewer transitions)."""
    start = time.monotonic()
    if budget is None:
        budget = Budget(max_states, timeout)
    limit = budget.states()
    budget.enter("compiling")
    search = _Search(system, budget, canon, edges or (hangs and has_awaits(system)), compiled)
    if twins is not None and canon is not None:
        search.state_succ = skipping(search.compiled.state_succ, twins, system)
    if sleep and ample is None and not search.keep:
        search.sleep = sleep_sets(system)
    budget.enter("search")
    complete, reason = search.run(limit, progress, ample, stop_at_first, stop_when)
    found = search.found
    ex = Exploration(
        system,
        search.store,
        search.parent,
        search.via,
        found,
        search.transitions,
        complete,
        reason,
        succ_off=search.succ_off,
        succ=search.succ,
        stopped=bool(found)
        and (stop_at_first or (stop_when is not None and stop_when <= found.keys())),
        expanded=search.expanded,
        compiled=search.compiled,
    )
    if complete and search.keep:
        _add_hang(ex, search.compiled, budget)
    ex.seconds = time.monotonic() - start
    return ex


class _Search:
    """The state of one breadth-first search: the store, parent links, edges kept for
    hang analysis, the problems found and the count of transitions."""

    def __init__(
        self,
        system: System,
        budget: Budget,
        canon: Callable[[bytes], bytes] | None,
        keep: bool,
        compiled: Compiled | None,
    ) -> None:
        packed = compact(system)
        if canon is not None and not packed:
            raise ValueError("symmetry reduction needs states that fit in bytes")
        self.budget, self.canon, self.keep = budget, canon, keep
        self.compiled = compiled or compile_system(system, packed=packed, budget=budget)
        self.state_succ = self.compiled.state_succ
        self.kinds_of = [tuple(ch.kind for ch in cmd.checks) for cmd in system.commands]
        init: State = bytes(system.init) if packed else system.init
        keyed = canon is not None
        self.store: Store = FlatStates(len(init), keyed=keyed) if packed else ListStates()
        self.store.add(init, canon(init) if canon is not None else None)  # type: ignore[arg-type]
        self.parent = array("i", [-1])
        self.via = array("i", [-1])
        self.succ_off = array("q", [0])
        self.succ = array("i")
        self.found: dict[str, Found] = {}
        self.transitions = 0
        self.expanded = 0  # states 0 .. expanded-1 had their successors added
        self.sleep: Sleep | None = None  # sleep sets (`commute.py`)
        self.sleeps: dict[int, frozenset[int]] = {}  # of states not expanded yet

    def run(
        self,
        max_states: int,
        progress: ProgressFn | None,
        ample: AmpleFn | None,
        stop_at_first: bool,
        stop_when: frozenset[str] | None,
    ) -> tuple[bool, str]:
        """Expand states in breadth-first order until none is left (complete) or a reason
        to stop; returns (complete, reason)."""
        store, parent, found, canon = self.store, self.parent, self.found, self.canon
        budget = self.budget
        state_succ, kinds_of = self.state_succ, self.kinds_of
        add_all = store.add_all
        links = Links(parent, self.via, self.succ if self.keep else None)
        sleep, sleeps = self.sleep, self.sleeps
        i = 0
        next_check = 1
        try:
            while i < len(parent):
                out: list[tuple[int, State | None]] = []
                hits: list[tuple[int, int]] = []
                s = store[i]
                try:
                    state_succ(s, out, hits)
                except ValueError as exc:  # a value outside 0..255 stored in a bytes state
                    raise RuntimeError(f"a state field left its declared range ({exc})") from exc
                if ample is not None and len(out) > 1:
                    out = self.proviso(i, out, ample(s, out))
                if sleep is not None:
                    skip = sleeps.pop(i, frozenset())
                    if skip:
                        out = [x for x in out if x[0] not in skip]
                    first = len(parent)
                self.transitions += len(out)
                for cid, h in hits:
                    kind = kinds_of[cid][h]
                    if kind not in found:
                        found[kind] = Found(kind, i, cid, h)
                add_all(i, out, canon, links)  # ``out``: every successor; `store.find`: visited?
                if sleep is not None:
                    kids = sleep.children(skip, self.via[first:])
                    sleeps.update(zip(range(first, len(parent)), kids, strict=True))
                if self.keep:
                    self.succ_off.append(len(self.succ))
                i += 1
                self.expanded = i
                if stop_at_first and found:
                    return False, "stopped at the first problem"
                if stop_when is not None and stop_when.issubset(found):
                    return False, "stopped: every kind asked for was found"
                if i >= next_check:  # about every `budget.EVERY` seconds of work
                    next_check = i + budget.stride(i)
                    if progress is not None:
                        progress(len(parent), len(parent) - i, self.transitions, self.depth(i - 1))
                if len(parent) > max_states:
                    return False, budget.states_reached()
        except LimitReached as limit:  # a budget stride, or compiling the code at a new pc
            return False, limit.reason
        return True, ""

    def depth(self, i: int) -> int:
        """The breadth-first depth of state ``i``: the steps from the initial state."""
        n, parent = 0, self.parent
        while i > 0:
            i, n = parent[i], n + 1
        return n

    def proviso(
        self,
        i: int,
        out: list[tuple[int, State | None]],
        sel: list[tuple[int, State | None]] | None,
    ) -> list[tuple[int, State | None]]:
        """The ample set ``sel`` of state ``i`` when every one of its successors is a state
        not expanded yet (the BFS cycle proviso), else every successor ``out``."""
        if sel is None:
            return out
        find, canon = self.store.find, self.canon
        for _, n in sel:  # a path's end (None) is no state
            if n is None or 0 <= find(n if canon is None else canon(n)) <= i:  # type: ignore[arg-type]
                return out
        return sel


def _add_hang(ex: Exploration, compiled: Compiled, budget: Budget) -> None:
    """Hang analysis on a complete graph: records `hang` in ``ex.found``, or makes ``ex``
    incomplete when a limit is reached meanwhile."""
    try:
        budget.enter("hang analysis")
        hang = find_hang(ex, compiled, budget)
    except LimitReached as limit:
        ex.complete, ex.reason = False, limit.reason
        return
    if hang is not None:
        ex.found["hang"] = Found("hang", hang.state, -1, -1, hang.core, hang.pc, hang.stuck)


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
