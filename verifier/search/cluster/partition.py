"""One partition of a distributed search: the states whose canonical key hashes to it.

A `Partition` lives in one Ray actor (`runtime.py` wraps it; nothing here imports
Ray, so it is plain Python the driver, `search.py`, calls method by method).  It
owns its states (a `FlatStates` store keyed by canonical form), each state's global
number, parent number and command, and the frontier: its states of the layer being
expanded, in global order.

A layer, as the driver runs it:

1. `expand`: every frontier state's successors (the compiled step functions of
   `run/compile.py`) and the problem checks that hit; with partial-order reduction,
   the keys of each ample set's states are asked of their owners (`ask`);
2. `answer` (at the owners): is that key a state numbered at most the asking state's
   number (the cycle proviso, `por.py`)?
3. `send`: each state's chosen successors (the ample set when the proviso holds,
   else all of them), as one bytes batch per owner;
4. `insert` (at the owners): the new states, each kept with its first discovery in
   breadth-first order, (parent's number, position among its successors), and their
   sort keys returned to the driver, which numbers the layer (`number`).

So the states, their numbers and parents are those of the one-process search
(`explicit.py`), whichever partition holds them.
"""

from __future__ import annotations

import os
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable

from verifier.lang.checked import CheckedSpec
from verifier.lang.frontend import load_text
from verifier.run.budget import Budget, LimitReached, rss_mb
from verifier.run.compile import Compiled, State, compact, compile_system
from verifier.run.model import Model, release_frozen
from verifier.search.hang import await_views, passes
from verifier.search.por import reduction
from verifier.search.store import FlatStates
from verifier.search.symmetry import canon
from verifier.search.twins import skipping

POS_BITS = 20  # a successor's position in its parent's list: below 2**20
Batch = tuple[bytes, bytes, bytes, bytes, bytes]  # keys, states, parents, positions, commands+srcs
Asks = tuple[bytes, bytes]  # keys, asking states' numbers
Spec = tuple[str, str, tuple[str, ...]]  # text, file name, -D NAME=VALUE of every parameter


def spec_of(checked: CheckedSpec) -> Spec:
    """What a partition needs to build the same model in its own process."""
    return checked.source, checked.file, tuple(f"{k}={v}" for k, v in checked.params)


def owner_of(key: bytes, workers: int) -> int:
    """The partition that owns ``key``: the same in every process (crc32, not `hash`,
    which Python salts per process)."""
    return zlib.crc32(key) % workers


class Partition:
    """The states of one partition of ``workers``, for one spec under one model."""

    def __init__(self, index: int, workers: int) -> None:
        self.index, self.workers = index, workers

    def load(self, spec: Spec, model: str, symmetry: bool, por: bool) -> None:
        """Build and compile the model to search (a worker serves one model at a time)."""
        text, file, defines = spec  # read again here: a checked spec's names resolve by identity
        m = Model.of(load_text(text, file, list(defines)), model)
        release_frozen()
        sym = canon(m.system, m.program) if symmetry else None
        # with a loop over a family: the loop's alternative commands too (symmetry_loops)
        self.system = system = sym.system if sym is not None and sym.system else m.system
        if not compact(system):
            raise ValueError("the distributed search needs states that fit in bytes")
        self.canon = sym.fn if sym is not None else None
        red = reduction(system) if por else None
        self.ample_fn = red.ample if red is not None and red.sites else None
        self.compiled: Compiled = compile_system(system, packed=True)
        self.succ = self.compiled.state_succ  # without twins' steps (`twins.skipping`)
        if sym is not None and sym.twins is not None:
            self.succ = skipping(self.succ, sym.twins, system)
        self.kinds_of = [tuple(ch.kind for ch in cmd.checks) for cmd in system.commands]
        self.width = len(system.init)
        self.awaits = any(await_views(core) for core in system.cores)
        self.reset(False, None, None)

    # ------------------------------------------------------------ setup

    def where(self) -> tuple[int, str, str, int]:
        """(partition, node address, node id, process id): what a lost worker is named by."""
        import ray  # the actor runs inside Ray

        ctx = ray.get_runtime_context()
        return self.index, ray.util.get_node_ip_address(), ctx.get_node_id(), os.getpid()

    def reset(self, ample: bool, timeout: float | None, max_memory: float | None) -> None:
        """Forget every state: a new search (with the ample sets or without)."""
        self.ample = self.ample_fn if ample else None
        self.budget = Budget(None, timeout, max_memory)
        self.store = FlatStates(self.width, keyed=self.canon is not None)
        self.gid = array("q")  # per local state: its global (breadth-first) number
        self.parent = array("q")  # per local state: its parent's global number
        self.via = array("i")  # per local state: the command from its parent
        self.by_gid = array("i")  # local states in global order (layers are appended)
        self.frontier = array("i")  # the layer to expand, in global order
        self.layer_start = 0  # the first local number of the layer being inserted
        self.best = array("q")  # per state of that layer: its discovery (sort key)
        self.pending: list[tuple[int, list[tuple[int, State | None]], list[tuple[int, int]]]] = []
        # reverse edges (kept when a core has an await: hang analysis walks them)
        self.keep = self.awaits
        self.rev_dst, self.rev_src_w, self.rev_src_l = array("i"), array("h"), array("i")
        self.rev_off: array | None = None  # type: ignore[type-arg]
        self.found: dict[str, tuple[int, int, int]] = {}

    def seed(self, state: bytes) -> int:
        """Store the initial state as number 0 (its owner only); return its local number."""
        key = self.canon(state) if self.canon is not None else state
        j = self.store.add(state, key)
        self.gid.append(0)
        self.parent.append(-1)
        self.via.append(-1)
        self.by_gid.append(j)
        self.frontier = array("i", [j])
        self.layer_start = self.store.n
        return j

    def key(self, state: bytes) -> bytes:
        return self.canon(state) if self.canon is not None else state

    # ------------------------------------------------------------ one layer

    def expand(self) -> tuple[Asks | str, ...]:
        """Successors of every frontier state, kept for `send`; the proviso questions
        for the owners (one `Asks` per partition), then a limit reached ('' if none)."""
        store, succ, ample, key = self.store, self.succ, self.ample, self.key
        asks_k = [bytearray() for _ in range(self.workers)]
        asks_g = [array("q") for _ in range(self.workers)]
        self.pending = []
        self.found = found = {}
        kinds_of = self.kinds_of
        next_check = 0
        try:
            for n, local in enumerate(self.frontier):
                if n >= next_check:
                    next_check = n + self.budget.stride(n)
                s = store[local]
                out: list[tuple[int, State | None]] = []
                hits: list[tuple[int, int]] = []
                try:
                    succ(s, out, hits)
                except ValueError as exc:  # a value outside 0..255 in a bytes state
                    raise RuntimeError(f"a state field left its declared range ({exc})") from exc
                for cid, h in hits:  # the frontier is in global order: first = smallest
                    kind = kinds_of[cid][h]
                    if kind not in found:
                        found[kind] = (self.gid[local], cid, h)
                sel = ample(s, out) if ample is not None and len(out) > 1 else None
                if sel is not None and any(x is None for _, x in sel):
                    sel = None  # a path's end is no state: expand fully (as `explicit.py`)
                if sel is not None:
                    g = self.gid[local]
                    for _, x in sel:
                        k = key(x)  # type: ignore[arg-type]
                        w = owner_of(k, self.workers)
                        asks_k[w] += k
                        asks_g[w].append(g)
                self.pending.append((local, out if sel is None else [], sel or []))
        except LimitReached as limit:
            return (*[(b"", b"")] * self.workers, limit.reason)
        return (*[(bytes(k), g.tobytes()) for k, g in zip(asks_k, asks_g, strict=True)], "")

    def answer(self, *asks: Asks) -> tuple[bytes, ...]:
        """For each asking partition: one byte per key asked, 1 when the key is a state
        numbered at most the asking state's number (expanded already, or the asking
        state itself: an ample step there could close a cycle)."""
        w, find, gid = self.width, self.store.find, self.gid
        out = []
        for keys, gs in asks:
            g = array("q")
            g.frombytes(gs)
            flags = bytearray(len(g))
            for n in range(len(g)):
                j = find(keys[n * w : n * w + w])
                if j >= 0 and gid[j] <= g[n]:
                    flags[n] = 1
            out.append(bytes(flags))
        return _values(out)

    def send(self, *answers: bytes) -> tuple[Batch | dict[str, tuple[int, int, int]] | int, ...]:
        """Each frontier state's chosen successors, batched per owner (one `Batch` per
        partition); then the first hit of each problem kind in this partition's part of
        the layer (global number, command, check); then the transitions taken."""
        at = [0] * len(answers)
        workers, key, keyed = self.workers, self.key, self.canon is not None
        keys = [bytearray() for _ in range(workers)]
        states = [bytearray() for _ in range(workers)]
        parents = [array("q") for _ in range(workers)]
        poss = [array("i") for _ in range(workers)]
        meta = [array("i") for _ in range(workers)]  # command, source local number
        transitions = 0
        succ = self.succ
        store = self.store
        for local, out, sel in self.pending:
            g = self.gid[local]
            if sel:
                ok = True
                for _, x in sel:
                    w = owner_of(key(x), workers)  # type: ignore[arg-type]
                    ok = ok and not answers[w][at[w]]
                    at[w] += 1
                if ok:
                    out = sel
                else:
                    out = []
                    succ(store[local], out, [])
            transitions += len(out)
            for pos, (cid, x) in enumerate(out):
                if x is None:
                    continue
                k = key(x)  # type: ignore[arg-type]
                w = owner_of(k, workers)
                keys[w] += k
                if keyed:  # with symmetry: the concrete state too (else it is the key)
                    states[w] += x  # type: ignore[arg-type]
                parents[w].append(g)
                poss[w].append(pos)
                meta[w].append(cid)
                meta[w].append(local)
        found, self.found = self.found, {}
        self.pending = []
        batches = [
            (bytes(keys[w]), bytes(states[w]), parents[w].tobytes(), poss[w].tobytes(),
             meta[w].tobytes())
            for w in range(workers)
        ]  # fmt: skip
        return (*batches, found, transitions)

    def insert(self, *batches: Batch) -> tuple[bytes, str]:
        """Store the new states of the batches (one per sending partition); return their
        sort keys (parent's number << POS_BITS | position), sorted, and a memory limit
        reached ('' if none)."""
        store, w = self.store, self.width
        start = self.layer_start
        best, gid, parent, via = self.best, self.gid, self.parent, self.via
        keep = self.keep
        for src, (keys, states, parents_b, poss_b, meta_b) in enumerate(batches):
            states = states or keys  # no symmetry: each state is its own key
            parents, poss, meta = array("q"), array("i"), array("i")
            parents.frombytes(parents_b)
            poss.frombytes(poss_b)
            meta.frombytes(meta_b)
            for n in range(len(parents)):
                k = keys[n * w : n * w + w]
                sort = parents[n] << POS_BITS | poss[n]
                j = store.find(k)
                if j < 0:
                    j = store.add(states[n * w : n * w + w], k)
                    best.append(sort)
                    gid.append(-1)
                    parent.append(parents[n])
                    via.append(meta[2 * n])
                elif j >= start and sort < best[j - start]:  # found earlier in BFS order
                    best[j - start] = sort
                    parent[j] = parents[n]
                    via[j] = meta[2 * n]
                    store.data[j * w : j * w + w] = states[n * w : n * w + w]
                if keep:
                    self.rev_dst.append(j)
                    self.rev_src_w.append(src)
                    self.rev_src_l.append(meta[2 * n + 1])
        order = sorted(range(len(best)), key=best.__getitem__)
        self.order = array("i", (start + i for i in order))
        limit = ""
        try:
            self.budget.check()
        except LimitReached as exc:
            limit = exc.reason
        return array("q", (best[i] for i in order)).tobytes(), limit

    def number(self, numbers: bytes) -> int:
        """Take the global numbers of the new states (in the order `insert` returned
        their keys): they become the frontier.  Returns how many."""
        nums = array("q")
        nums.frombytes(numbers)
        gid = self.gid
        for j, g in zip(self.order, nums, strict=True):
            gid[j] = g
        self.frontier = self.order
        self.by_gid.extend(self.order)
        store = self.store  # keep only this layer's keys in the dict looked up first
        store.recent = {k: j for k, j in store.recent.items() if j >= self.layer_start}
        self.layer_start = store.n
        self.best = array("q")
        return len(nums)

    # ------------------------------------------------------------ lookups

    def local(self, g: int) -> int:
        """The local number of the state numbered ``g`` here, or -1."""
        gid = self.gid
        i = bisect_left(self.by_gid, g, key=gid.__getitem__)
        return self.by_gid[i] if i < len(self.by_gid) and gid[self.by_gid[i]] == g else -1

    def link(self, g: int) -> tuple[int, int, bytes] | None:
        """(parent's number, command, state) of the state numbered ``g``, if held here."""
        j = self.local(g)
        if j < 0:
            return None
        return self.parent[j], self.via[j], self.store[j]

    def size(self) -> tuple[int, int, float]:
        """States held, bytes of the store, this process's resident MB."""
        return self.store.n, self.store.nbytes(), rss_mb()

    # ------------------------------------------------------------ hang analysis

    def mark_start(self, what: tuple[str, int, int, int]) -> tuple[bytes, ...]:
        """Start a backward marking over the explored graph (`hang.py`'s `doomed`,
        spread over the partitions).  ``what``: ("await", core, view, pc): inside are
        the states where the core waits at ``pc``, marked those from which it can leave
        (the await fires, or the core's own failure ends the path); ("handler", core,
        0, 0): inside are the states where the core runs a handler, none marked.  A
        state outside is marked.  Returns the first messages (see `mark_round`)."""
        store, n = self.store, self.store.n
        kind, c, view, p = what
        core = self.system.cores[c]
        if kind == "await":
            position = await_views(core)[view][1]
            fires: Callable[[State], bool] = passes(self.system, self.compiled, c, p)
            self.inside = bytearray(position(store[j]) == p for j in range(n))
            self.marked = bytearray(not self.inside[j] or fires(store[j]) for j in range(n))
        else:
            flag = core.in_handler
            self.inside = bytearray(store[j][flag] != 0 for j in range(n))
            self.marked = bytearray(not b for b in self.inside)
        if self.rev_off is None:
            self._index_edges()
        return self._messages(j for j in range(n) if self.marked[j])

    def _index_edges(self) -> None:
        """The reverse edges grouped by their target (counting sort)."""
        n, dst = self.store.n, self.rev_dst
        off = array("q", [0]) * (n + 1)
        for d in dst:
            off[d + 1] += 1
        for j in range(n):
            off[j + 1] += off[j]
        fill = array("q", off)
        idx = array("i", [0]) * len(dst)
        for e, d in enumerate(dst):
            idx[fill[d]] = e
            fill[d] += 1
        self.rev_off, self.rev_idx = off, idx

    def _messages(self, marked: object) -> tuple[bytes, ...]:
        """To each partition: the local numbers of its states with an edge into one of
        ``marked`` (they can reach a marked state)."""
        out = [array("i") for _ in range(self.workers)]
        off, idx, sw, sl = self.rev_off, self.rev_idx, self.rev_src_w, self.rev_src_l
        for j in marked:  # type: ignore[attr-defined]
            for e in range(off[j], off[j + 1]):
                k = idx[e]
                out[sw[k]].append(sl[k])
        return _values([a.tobytes() for a in out])

    def mark_round(self, *incoming: bytes) -> tuple[bytes | int, ...]:
        """Mark the inside states named by ``incoming`` (a successor of theirs is
        marked); return the messages for the newly marked ones and how many there were."""
        new = []
        inside, marked = self.inside, self.marked
        for b in incoming:
            a = array("i")
            a.frombytes(b)
            for j in a:
                if inside[j] and not marked[j]:
                    marked[j] = 1
                    new.append(j)
        return (*_tuple(self._messages(new)), len(new))

    def unmarked(self) -> int:
        """The smallest global number of an inside state left unmarked, or -1."""
        gid, inside, marked = self.gid, self.inside, self.marked
        return min((gid[j] for j in range(self.store.n) if inside[j] and not marked[j]),
                   default=-1)  # fmt: skip

    def is_marked(self, g: int) -> bool | None:
        j = self.local(g)
        return None if j < 0 else bool(self.marked[j])


def _values(out: list[bytes]) -> tuple[bytes, ...]:
    """A method's ``num_returns = len(out)`` values: Ray takes one value as it is."""
    return out[0] if len(out) == 1 else tuple(out)  # type: ignore[return-value]


def _tuple(values: tuple[bytes, ...] | bytes) -> tuple[bytes, ...]:
    return (values,) if isinstance(values, bytes) else values
