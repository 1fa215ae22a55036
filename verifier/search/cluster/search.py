"""The driver of a distributed breadth-first search over Ray partitions (`partition.py`).

The state table is split by the crc32 of each state's canonical key over ``W``
partition actors.  The search is layer-synchronous: every partition expands its
part of layer ``k``, sends each successor to its owner as bytes, the owners keep
the new ones, and the driver numbers layer ``k + 1`` before anything of it is
expanded.  The numbering is that of the one-process search (`explicit.py`):
states of a layer are ordered by their first discovery, (parent's number, position
among the parent's successors), so a layer's numbers follow from the sorted keys
each owner returns.  The driver merges those (8 bytes a state) and sends each owner
its numbers.  Hence the same states, numbers, parents, first problems and shortest
traces as `explicit.py`, on any number of partitions.

Termination is the barrier: a layer ends when every partition has answered
`insert`; the search ends when a layer brings no new state anywhere (or at a
limit, a problem asked for, or a lost partition).

Partial-order reduction keeps the one-process search's cycle proviso, which is
layer-based here: an ample set of the state numbered ``g`` is used only if none of
its states is numbered ``<= g``, i.e. none lies in an earlier layer or earlier in
this layer; the owners answer that before any successor is sent, and every state
numbered ``<= g`` is known at that point (layers are numbered whole before being
expanded).  So an ample step always leads to a state numbered higher and no cycle
is made of ample steps alone (C3 of `por.py`).

A partition that dies takes its states with it: the search ends `inconclusive`,
naming the partition and its node, never with a verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from verifier.ir.system import System
from verifier.run.budget import Budget, LimitReached
from verifier.search.cluster.partition import owner_of
from verifier.search.exploration import Found
from verifier.search.hang import await_views

ProgressFn = Callable[..., None]  # (states, frontier, transitions, depth)


class PartitionLost(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Held:
    """One partition: where it ran and the states it held at the end."""

    index: int
    node: str
    pid: int
    states: int = 0
    store_bytes: int = 0
    rss_mb: float = 0.0


@dataclass
class ClusterExploration:
    """What the distributed search found; read like `explicit.Exploration` by `api.py`
    (``states`` has the length of the state count; ``path``/``state`` ask the owners)."""

    parts: list[Any]
    ray: Any
    found: dict[str, Found]
    transitions: int
    complete: bool
    reason: str
    states: range
    expanded: int
    held: list[Held] = field(default_factory=list)
    stopped: bool = False
    seconds: float = 0.0
    layers: int = 0
    compiled: None = None
    lost: bool = False  # a partition died: its states, and paths through them, are gone
    generation: int = 0  # the partitions' search this one is (they are reset by the next)
    current: list[int] = field(default_factory=lambda: [0])  # the partitions' generation
    system: System | None = None

    def _link(self, g: int) -> tuple[int, int, bytes]:
        """(parent, command, state) of state ``g``, from its owner; a limit (so no trace,
        and no verdict from it) when the partitions no longer hold this search."""
        if self.lost:
            raise LimitReached(self.reason)
        if self.current[0] != self.generation:
            raise LimitReached("the partitions were reused by a later search: no trace")
        try:
            got = self.ray.get([p.link.remote(g) for p in self.parts])
        except self.ray.exceptions.RayError:
            raise LimitReached("a worker was lost while the traces were rebuilt") from None
        return next(x for x in got if x is not None)

    def path(self, state: int) -> list[int]:
        """Command ids from the initial state to ``state``: the parent links, held by
        each state's owner."""
        cmds = []
        while state > 0:
            state, via, _ = self._link(state)
            cmds.append(via)
        return cmds[::-1]

    def state(self, i: int) -> tuple[int, ...]:
        return tuple(self._link(i)[2])

    def summary(self) -> str:
        """How many workers and the states each held."""
        each = ", ".join(f"{h.states:,}" for h in self.held)
        store = ", ".join(f"{h.store_bytes / 2**20:.1f}" for h in self.held)
        rss = ", ".join(f"{h.rss_mb:.0f}" for h in self.held)
        return (
            f"cluster: {len(self.held)} workers holding {each} states "
            f"(stores {store} MB; processes {rss} MB)"
        )


def explore_cluster(
    ray: Any,
    parts: list[Any],
    where: list[Held],
    system: System,
    key: Callable[[bytes], bytes],
    *,
    ample: bool,
    budget: Budget,
    stop_at_first: bool = False,
    stop_when: frozenset[str] | None = None,
    progress: ProgressFn | None = None,
) -> ClusterExploration:
    """Explore every reachable state of ``system`` over the partitions ``parts``
    (made for it by `runtime.remote_partitions`); ``key``: the canonical form (the
    identity without symmetry reduction).  Limits, ``stop_at_first`` and ``stop_when``
    as `explicit.explore`'s, checked at the end of each layer."""
    start = time.monotonic()
    held = [replace(h) for h in where]
    ex = ClusterExploration(parts, ray, {}, 0, True, "", range(1), 0, held)
    ex.system = system  # what its paths are paths of (traces rename a loop's back)
    try:
        _search(ex, system, key, ample, budget, stop_at_first, stop_when, progress)
        if ex.complete and any(await_views(c) for c in system.cores):
            budget.enter("hang analysis")
            _hang(ex, system, budget)
        _sizes(ex)
    except LimitReached as limit:
        ex.complete, ex.reason = False, limit.reason
    except PartitionLost as lost:
        ex.complete, ex.stopped, ex.reason = False, False, lost.reason
        ex.lost, ex.expanded = True, 0  # no depth is claimed
    ex.seconds = time.monotonic() - start
    return ex


def _call(ex: ClusterExploration, refs: Any, layer: int) -> Any:
    """``ray.get``; a partition lost meanwhile becomes `PartitionLost` naming it, and
    an error raised inside a partition is raised here as itself."""
    ray = ex.ray
    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as err:
        if isinstance(err, ray.exceptions.RayActorError):
            raise PartitionLost(_lost(ex, layer)) from None
        cause = getattr(err, "cause", None)
        raise (cause if isinstance(cause, Exception) else RuntimeError(str(err))) from None
    except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError,
            ray.exceptions.WorkerCrashedError, ray.exceptions.OwnerDiedError):  # fmt: skip
        raise PartitionLost(_lost(ex, layer)) from None


def _lost(ex: ClusterExploration, layer: int) -> str:
    """Which partitions no longer answer, in the user's words."""
    ray, dead = ex.ray, []
    for p, h in zip(ex.parts, ex.held, strict=True):
        try:
            ray.get(p.size.remote(), timeout=10)
        except Exception:
            dead.append(h)
    names = ", ".join(f"partition {h.index} (node {h.node}, pid {h.pid})" for h in dead)
    what = names or "a partition"
    return (
        f"worker lost at layer {layer}: {what} of {len(ex.parts)} stopped answering; "
        "the states it held are gone, so no verdict"
    )


def _search(
    ex: ClusterExploration,
    system: System,
    key: Callable[[bytes], bytes],
    ample: bool,
    budget: Budget,
    stop_at_first: bool,
    stop_when: frozenset[str] | None,
    progress: ProgressFn | None,
) -> None:
    import numpy as np  # a dependency of Ray

    parts, w = ex.parts, len(ex.parts)
    budget.enter("search")
    _call(ex, [p.reset.remote(ample, budget.remaining(), budget.max_memory) for p in parts], 0)
    init = bytes(system.init)
    _call(ex, parts[owner_of(key(init), w)].seed.remote(init), 0)
    total, size, layer = 1, 1, 0
    found = ex.found
    numbered: list[Any] = []
    while size:
        budget.check()
        ex.layers = layer
        news, transitions, keys, limits = _layer(ex, ample, layer)
        ex.transitions += transitions
        for kind in sorted({k for n in news for k in n}):
            if kind not in found:
                g, cid, h = min(n[kind] for n in news if kind in n)
                found[kind] = Found(kind, g, cid, h)
        ex.expanded = total
        if any(limits):
            raise LimitReached(next(x for x in limits if x))
        if found and (stop_at_first or (stop_when is not None and stop_when <= found.keys())):
            ex.complete, ex.stopped = False, True
            ex.reason = (
                "stopped at the first problem"
                if stop_at_first
                else "stopped: every kind asked for was found"
            )
            return
        allk = np.concatenate(keys)
        size = len(allk)
        numbers = np.empty(size, dtype=np.int64)
        numbers[np.argsort(allk, kind="stable")] = np.arange(total, total + size, dtype=np.int64)
        cut = np.cumsum([0] + [len(k) for k in keys])
        # not waited for: each worker numbers its states before it expands them (a
        # worker runs the calls of one caller in order); a failure shows at the next get
        numbered = [p.number.remote(numbers[cut[o] : cut[o + 1]].tobytes())
                    for o, p in enumerate(parts)]  # fmt: skip
        total += size
        ex.states = range(total)
        layer += 1
        if progress is not None:
            progress(total, size, ex.transitions, layer)  # layer: the depth searched
        if total > budget.states():
            ex.complete, ex.reason = False, budget.states_reached()
            return
    _call(ex, numbered, layer)
    ex.expanded = total
    ex.layers = layer


def _layer(ex: ClusterExploration, ample: bool, layer: int) -> tuple[Any, int, Any, list[str]]:
    """One layer, with one wait: expand, ask and answer the proviso, send the
    successors to their owners, insert them.  Returns each worker's first hits, the
    transitions, each owner's sorted keys of its new states, and the limits reached."""
    import numpy as np

    parts, w = ex.parts, len(ex.parts)
    exp = [_multi(p.expand, w + 1) for p in parts]
    if ample:
        answers = [_multi(parts[o].answer, w, *[exp[k][o] for k in range(w)]) for o in range(w)]
        sent = [_multi(parts[k].send, w + 2, *[answers[o][k] for o in range(w)])
                for k in range(w)]  # fmt: skip
    else:
        sent = [_multi(p.send, w + 2) for p in parts]
    ins = [_multi(parts[o].insert, 2, *[sent[k][o] for k in range(w)]) for o in range(w)]
    got = _call(
        ex,
        [e[w] for e in exp] + [s[w] for s in sent] + [s[w + 1] for s in sent]
        + [i[0] for i in ins] + [i[1] for i in ins],
        layer,
    )  # fmt: skip
    limits, news, trans = got[:w], got[w : 2 * w], got[2 * w : 3 * w]
    keys = [np.frombuffer(b, dtype=np.int64) for b in got[3 * w : 4 * w]]
    return news, sum(trans), keys, limits + got[4 * w :]


def _multi(method: Any, n: int, *args: Any) -> list[Any]:
    """Call an actor method returning ``n`` values, each its own object (so each goes
    to the partition that needs it, not through the driver); their refs, as a list."""
    refs = method.options(num_returns=n).remote(*args)
    return refs if n > 1 else [refs]


def _mark(ex: ClusterExploration, what: tuple[str, int, int, int], budget: Budget) -> None:
    """Run a backward marking (`Partition.mark_start`) over the partitions to its end:
    rounds until no partition marks a new state."""
    parts, w = ex.parts, len(ex.parts)
    msgs = [_multi(p.mark_start, w, what) for p in parts]
    while True:
        budget.check()
        got = [_multi(parts[o].mark_round, w + 1, *[msgs[k][o] for k in range(w)])
               for o in range(w)]  # fmt: skip
        counts = _call(ex, [g[w] for g in got], ex.layers)
        msgs = [g[:w] for g in got]
        if not any(counts):
            return


def _hang(ex: ClusterExploration, system: System, budget: Budget) -> None:
    """`hang.find_hang` over the partitions: the first state (by number) from which a
    core can never pass one of its awaits, and whether it is stuck in a handler."""
    best: tuple[int, int, int] | None = None
    for c, core in enumerate(system.cores):
        for v, (awaits, _) in enumerate(await_views(core)):
            for p in sorted(awaits):
                _mark(ex, ("await", c, v, p), budget)
                got = _call(ex, [q.unmarked.remote() for q in ex.parts], ex.layers)
                firsts = [g for g in got if g >= 0]
                if firsts and (best is None or min(firsts) < best[0]):
                    best = (min(firsts), c, p)
    if best is None:
        return
    g, c, p = best
    _mark(ex, ("handler", c, 0, 0), budget)
    marks = _call(ex, [q.is_marked.remote(g) for q in ex.parts], 0)
    stuck = not next(m for m in marks if m is not None)
    ex.found["hang"] = Found("hang", g, -1, -1, c, p, stuck)


def _sizes(ex: ClusterExploration) -> None:
    for h, (n, nbytes, rss) in zip(ex.held, _call(ex, [p.size.remote() for p in ex.parts], 0),
                                   strict=True):  # fmt: skip
        h.states, h.store_bytes, h.rss_mb = n, nbytes, rss
