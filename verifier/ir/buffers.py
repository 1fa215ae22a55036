"""How many entries a core's store buffer can ever hold, read off the Program.

The reference puts no bound on store buffers and lets an implementation bound
them only where that cannot change a verdict. A buffer holds what its core
issued since it last waited for the buffer to empty (`fence`, an atomic): one
entry per store or `pte`, a `fence release` barrier, or an IPI held behind
stores. So the capacity that never stalls a core is the longest run of such
instructions along any path of its program, plus what the handlers it can run
meanwhile add. That is finite unless such an instruction sits in a loop with no
draining point (or the core can take unboundedly many IPIs whose handlers
buffer something): then `bound` is None, and the machine uses a capacity that
may be reached, which the engine reports as `inconclusive`.
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from verifier.ir import program as P
from verifier.ir.lower_riscv import buffered_kind

FALLBACK = 4  # the capacity where no bound exists (reaching it is reported)
MAX_DELIVERIES = 64  # more IPIs than this at one core counts as unbounded

BUFFERED = (P.IStore, P.IPte, P.IIpi, P.IDir, P.ISlot)


def weight(ins: P.Instr) -> int | None:
    """Entries the instruction may add to its core's buffer; None: it waits until the
    buffer is empty."""
    if isinstance(ins, P.IAtomic) or (isinstance(ins, P.IFence) and ins.kind == "full"):
        return None
    if isinstance(ins, P.IAccess | P.IPte) and ins.rmw:  # an atomic: waits for the buffer
        return None
    if (isinstance(ins, P.IBarrier) and ins.kind != "isb") or isinstance(ins, P.ISfence):
        return None
    rv = buffered_kind(ins) if isinstance(ins, P.IRvFence) else None
    if rv == "full":
        return None
    if isinstance(ins, BUFFERED) or (isinstance(ins, P.IFence) and ins.kind == "release"):
        return 1
    if rv == "release":
        return 1
    return 0


def successors(core: P.Core, pc: int) -> Iterator[int]:
    ins = core.code[pc]
    if isinstance(ins, P.IEnd | P.IReturn):
        return
    if isinstance(ins, P.IJump):
        yield ins.target
        return
    yield core.next[pc]
    if isinstance(ins, P.IBranch):
        yield ins.target


def longest_run(core: P.Core, start: int) -> int | None:
    """The most entries the code reached from ``start`` (with an empty buffer) can have
    buffered at once, counting from the last draining point; None if unbounded."""
    total = sum(1 for ins in core.code if weight(ins) == 1)
    best: dict[int, int] = {start: 0}  # pc -> most entries buffered on arriving there
    work = [start]
    peak = 0
    while work:
        pc = work.pop()
        w = weight(core.code[pc])
        after = 0 if w is None else best[pc] + w
        peak = max(peak, after)
        if after > total:
            return None  # a cycle that buffers without draining
        for nxt in successors(core, pc):
            if nxt < len(core.code) and best.get(nxt, -1) < after:
                best[nxt] = after
                work.append(nxt)
    return peak


def on_cycle(core: P.Core, start: int) -> set[int]:
    """The pcs reachable from ``start`` that can execute more than once."""
    g = nx.DiGraph()
    g.add_node(start)
    stack, seen = [start], {start}
    while stack:
        pc = stack.pop()
        for nxt in successors(core, pc):
            if nxt < len(core.code):
                g.add_edge(pc, nxt)
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    out: set[int] = set()
    for scc in nx.strongly_connected_components(g):
        if len(scc) > 1 or any(g.has_edge(pc, pc) for pc in scc):
            out |= scc
    return out


def deliveries(prog: P.Program) -> list[int | None]:
    """Per core: how many IPIs can ever reach it in one execution (None: unbounded)."""
    n = len(prog.cores)
    loops = [on_cycle(core, 0) for core in prog.cores]
    hloops = [[on_cycle(core, entry) for entry in core.handler_entry] for core in prog.cores]
    count: list[int | None] = [0] * n
    for _ in range(n * len(prog.handlers) + 2):  # a forwarding chain is at most this long
        new: list[int | None] = [0] * n
        for c, core in enumerate(prog.cores):
            for pc, ins in enumerate(core.code):
                if not isinstance(ins, P.IIpi):
                    continue
                times = _executions(core, c, pc, loops, hloops, count)
                for t in ins.targets:
                    have = new[t]
                    new[t] = None if have is None or times is None else have + times
        new = [None if x is not None and x > MAX_DELIVERIES else x for x in new]
        if new == count:
            return count
        count = new
    return [None] * n


def _executions(
    core: P.Core,
    c: int,
    pc: int,
    loops: list[set[int]],
    hloops: list[list[set[int]]],
    count: list[int | None],
) -> int | None:
    """How many times the instruction at ``pc`` of core ``c`` can run."""
    if pc < core.program_end:
        return None if pc in loops[c] else 1
    h = max(i for i, entry in enumerate(core.handler_entry) if entry <= pc)
    if pc in hloops[c][h] or count[c] is None:
        return None
    return count[c]


def bound(prog: P.Program, model: str) -> int | None:
    """The buffer capacity that can never stall a core, or None where none exists."""
    if model == "sc":
        return 0
    got = deliveries(prog)
    out = 0
    for c, core in enumerate(prog.cores):
        main = longest_run(core, 0)
        runs = [longest_run(core, entry) for entry in core.handler_entry]
        if main is None or any(r is None for r in runs):
            return None
        per_handler = max([0, *(r for r in runs if r is not None)])
        if per_handler and got[c] is None:
            return None
        out = max(out, main + per_handler * (got[c] or 0))
    return out
