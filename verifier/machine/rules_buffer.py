"""Store buffers: appending to one, and what leaves it on its own (drains, fence retirement).

Under ``sc`` there are no buffers.  Under ``tso`` stores reach memory in order and
only IPIs held behind a release fence may be overtaken; under ``pso`` a store may
overtake older entries except a barrier or an older store to the same address.
Held IPIs leaving the buffer are in ``rules_ipi``.
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import FALSE, TRUE, Expr, Field, conj, eq, ite, ne
from verifier.machine.context import Ctx, Rule, Site, replace_if
from verifier.machine.layout import C
from verifier.machine.rules_data import unreserve


class AfterBuffer(Site):
    """A release store (`write release V := e`, `pte release V := ...`) under tso/pso:
    earlier stores leave the buffer first."""

    def rule(self, **info: object) -> Rule:
        r = super().rule(**info)
        r.guard.append(self.ctx.lay.buffer_empty(self.c))
        return r


def append_pos(slots: list[int], k: int) -> Expr:
    """Slot ``k`` is the first free one of a buffer or queue."""
    free = eq(Field(slots[k]), 0)
    return free if k == 0 else conj(free, ne(Field(slots[k - 1]), 0))


def buffer_append(
    ctx: Ctx, c: int, rule: Rule, kind: int, values: list[Expr], when: Expr = TRUE
) -> None:
    cf = ctx.lay.cores[c]
    for k in range(len(cf.sba)):
        at = conj(when, append_pos(cf.sba, k))
        rule.upd.modify(cf.sba[k], replace_if(at, C(kind)))
        for j, f in enumerate(cf.sbv[k]):
            v = values[j] if j < len(values) else C(0)
            rule.upd.modify(f, replace_if(at, v))


def shift_out(rule: Rule, heads: list[int], vals: list[list[int]], i: int) -> None:
    """Remove slot ``i`` of a buffer or queue; later slots move up."""
    for k in range(i, len(heads)):
        nxt = k + 1 < len(heads)
        rule.upd.set(heads[k], Field(heads[k + 1]) if nxt else C(0))
        for j, f in enumerate(vals[k]):
            rule.upd.set(f, Field(vals[k + 1][j]) if nxt else C(0))


def drains(ctx: Ctx, c: int) -> None:
    """A buffered store reaches memory; a release fence at the head retires."""
    lay = ctx.lay
    cf = lay.cores[c]
    core = ctx.prog.cores[c]
    kinds = [Field(k) for k in cf.sba]
    targets = sorted(store_targets(ctx, c))
    for i in range(len(cf.sba)):
        me = kinds[i]
        if ctx.model == "tso":
            # FIFO: only IPIs held behind a release fence may be overtaken
            older_ok = conj(*(held_unordered(ctx, kinds[j]) for j in range(i)))
        else:
            older_ok = conj(*(conj(ne(kinds[j], lay.barrier), ne(kinds[j], me)) for j in range(i)))
        if older_ok == FALSE or not targets:
            continue
        r = Rule([lay.is_store(me), older_ok])
        for a in targets:
            r.upd.set(lay.mem[a], ite(eq(me, a + 1), Field(cf.sbv[i][0]), Field(lay.mem[a])))
            if a in lay.ad:  # a `pte` store clears the accessed and dirty bits
                r.upd.set(lay.ad[a], ite(eq(me, a + 1), C(0), Field(lay.ad[a])))
        hits = [(a, eq(me, a + 1)) for a in targets if lay.nwords <= a]  # PTE entries
        unreserve(ctx, r, hits, c)  # other cores' load-exclusives of the entry
        shift_out(r, cf.sba, cf.sbv, i)
        r.info["slot"] = i
        ctx.emit(c, None, r, "drain", f"{core.name}:drain:{i}", "store reaches memory")
    if cf.sba:
        r = Rule([eq(kinds[0], lay.barrier)])
        shift_out(r, cf.sba, cf.sbv, 0)
        ctx.emit(c, None, r, "barrier", f"{core.name}:barrier", "release fence retires")


def held_unordered(ctx: Ctx, kind: Expr) -> Expr:
    """A held IPI a younger store may overtake under ``tso`` (unordered IPIs only)."""
    if ctx.prog.ipi == "ordered":
        return FALSE
    return ctx.lay.is_ipi(kind)


def store_targets(ctx: Ctx, c: int) -> set[int]:
    """Addresses this core's buffered stores can name."""
    out: set[int] = set()
    for ins in ctx.prog.cores[c].code:
        if isinstance(ins, P.IStore):
            out.add(ins.addr)
        elif isinstance(ins, P.IPte):
            for s, v in ctx.pte_entries(c, ins):
                at = ctx.prog.walk(s, v)
                if at is None:
                    out.add(ctx.lay.pte_addr(s, v))
                else:  # the leaf of whichever table its dir points to
                    out.update(ctx.lay.leaf_addr(k, at[1]) for k in range(len(ctx.prog.tables)))
        elif isinstance(ins, P.IDir):
            out.add(ctx.lay.dir_addr(ins.dir))
        elif isinstance(ins, P.ISlot):
            out.add(ctx.lay.leaf_addr(ins.table, ins.slot))
    return out
