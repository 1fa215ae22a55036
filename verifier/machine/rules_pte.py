"""Page-table writes: `pte` (through the store buffer under tso/pso) and `complete`.

A PTE value carries ``latest`` (the most recently issued write to its entry) and
``stale`` (set on every older copy when a `complete` happens); both are kept on
every copy of the entry: memory, store buffers and TLBs (see ``layout.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain

from verifier.ir import program as P
from verifier.ir.system import FALSE, TRUE, Check, Expr, Field, conj, disj, eq, ite, op
from verifier.machine.context import Ctx, Rule, Site, Upd, apply_if, pte_number
from verifier.machine.layout import C, CoreFields, fresh_pte, pte_clear_latest, pte_mark_stale
from verifier.machine.rules_arm import bbm_store
from verifier.machine.rules_buffer import AfterBuffer, buffer_append
from verifier.machine.rules_data import disarm, entry_code, unreserve


def entry_copies(
    ctx: Ctx, a: int, in_tlb: Callable[[CoreFields], Iterator[tuple[int, Expr]]]
) -> Iterator[tuple[int, Expr]]:
    """Every field that may hold a value of the entry at address ``a``, with the condition
    that it does: memory, each core's buffered stores, then the TLB copies ``in_tlb``
    names for each core."""
    lay = ctx.lay
    yield lay.mem[a], TRUE
    for cf in lay.cores:
        for k, kind in enumerate(cf.sba):
            yield cf.sbv[k][0], eq(Field(kind), a + 1)
        yield from in_tlb(cf)


def pte_copies(ctx: Ctx, s: int, v: int) -> Iterator[tuple[int, Expr]]:
    """The copies of one-level PTE entry (s, v)."""
    lay = ctx.lay

    def in_tlb(cf: CoreFields) -> Iterator[tuple[int, Expr]]:
        for t in (lay.tag_of_space(s), lay.gtag):
            yield cf.tw[(v, t)], eq(Field(cf.te[(v, t)]), s + 1)

    return chain(entry_copies(ctx, lay.pte_addr(s, v), in_tlb), held_copies(ctx, s, v))


def held_copies(ctx: Ctx, s: int, v: int) -> Iterator[tuple[int, Expr]]:
    """Translation reads of entry (s, v) held by accesses not yet performed (`arm`)."""
    for a in ctx.lay.arm:
        for pc, tr in sorted(a.tr.items()):
            yield tr, conj(eq(Field(a.ts[pc]), s + 1), eq(Field(a.tv[pc]), v + 1))


def leaf_copies(ctx: Ctx, k: int, slot: int) -> Iterator[tuple[int, Expr]]:
    """The copies of leaf ``slot`` of table ``k``: in TLBs, the entries of every two-level
    page at that slot filled from table ``k`` (docs/page-tables.md)."""
    lay, prog = ctx.lay, ctx.prog
    pages = [
        (so, v)
        for so in range(len(prog.spaces))
        for v in range(len(prog.pages))
        if (at := prog.walk(so, v)) is not None and at[1] == slot
    ]

    def in_tlb(cf: CoreFields) -> Iterator[tuple[int, Expr]]:
        for so, v in pages:
            for t in (lay.tag_of_space(so), lay.gtag):
                yield cf.tw[(v, t)], eq(Field(cf.te[(v, t)]), lay.src(so, k))

    return entry_copies(ctx, lay.leaf_addr(k, slot), in_tlb)


def dir_invalid(ctx: Ctx, r: Rule, what: str, d: int) -> None:
    """A `pte` or `complete` of a page whose dir is invalid: a `range` problem."""
    name = ctx.prog.dirs[d].name
    r.checks.append(Check("range", TRUE, True, (("what", f"{what}: dir {name} is invalid"),)))


def on_copies(rule: Rule, copies: Iterator[tuple[int, Expr]], fn: Callable[[Expr], Expr]) -> None:
    for f, cond in copies:
        rule.upd.modify(f, apply_if(cond, fn))


def entry_choices(
    site: Site, page: P.PageOp, space: int | None, what: str
) -> Iterator[tuple[Rule, int, int, int, Iterator[tuple[int, Expr]], str]]:
    """The entry a `pte` or `complete` acts on, per page and space its operands name: a
    one-level page's PTE, or the leaf of a two-level page in the table its dir points to
    in this core's view (an invalid dir is a `range` problem, and the rule has no
    entry: its address is -1).  Yields (rule, page, space, address, copies, key)."""
    ctx = site.ctx
    lay = ctx.lay
    for v, s, guards in ctx.entries_of(site.c, page, space):
        at = ctx.prog.walk(s, v)
        if at is None:
            r = site.rule(page=v, space=s)
            r.guard += guards
            yield r, v, s, lay.pte_addr(s, v), pte_copies(ctx, s, v), f"{v}.{s}"
            continue
        for k, cond in ctx.lay.tables_seen(site.c, at[0]):
            r = site.rule(page=v, space=s, dir=at[0], table=k)
            r.guard += [*guards, cond]
            if k < 0:
                dir_invalid(ctx, r, f"{what} {ctx.prog.pages[v]}", at[0])
                yield r, v, s, -1, iter(()), f"{v}.{s}.nodir"
            else:
                a = lay.leaf_addr(k, at[1])
                r.info["leaf"] = a
                yield r, v, s, a, leaf_copies(ctx, k, at[1]), f"{v}.{s}.t{k}"


def pte(site: Site, ins: P.IPte) -> None:
    """`pte V := value`; `pte V := r` is one command per PTE value r may hold (``wids``),
    and a `range` problem when it holds none (docs/arm64.md §1)."""
    ctx = site.ctx
    action = "store-buffered" if ctx.lay.buffered(site.c) and not ins.rmw else "store"
    if ins.order == "release" and ctx.lay.buffered(site.c):
        site = AfterBuffer(ctx, site.c, site.pc, site.nxt, site.ins)
    held = Field(ctx.reg_field(site.c, ins.src)) if ins.src is not None else None
    for r0, v, s, a, copies, key in entry_choices(site, ins.page, ins.space, "pte"):
        copies = list(copies)
        stores, by = rmw_read(site, ins, r0, a) if ins.rmw and a >= 0 else (TRUE, held)
        if (ins.fields and a < 0) or ins.rmw == "load_exclusive":  # no entry, or no store
            site.emit(r0, "load-exclusive" if a >= 0 and not ins.fields else action, key)
            continue
        for k, wid in enumerate(ins.wids, start=1):
            r = Rule(list(r0.guard), Upd(dict(r0.upd.exprs)), list(r0.checks), dict(r0.info))
            if by is not None:
                r.guard.append(eq(by, k))
            if stores is not TRUE:
                r.guard.append(stores)
            if wid < 0:  # fetch_set(present) of an invalid value that keeps no frame
                what = f"{ins.rmw}(present) of an invalid entry that keeps no frame"
                r.checks.append(Check("range", TRUE, True, (("what", what),)))
                site.emit(r, "range", f"{key}.v{k}")
                continue
            r.info["wid"] = wid
            if a >= 0:
                write_entry(ctx, site.c, r, a, iter(copies), wid, direct=bool(ins.rmw))
                bbm_store(ctx, r, s, v, wid)
            site.emit(r, action, key if held is None else f"{key}.v{k}")
        if ins.rmw == "cas":  # a `cas` that finds another value: a read only
            r = Rule([*r0.guard, op("not", stores)], Upd(dict(r0.upd.exprs)), list(r0.checks),
                     dict(r0.info))  # fmt: skip
            site.emit(r, "cas-failed", f"{key}.casfail")
        if ins.rmw == "store_exclusive" and a >= 0:  # it may fail whatever the reservation
            r = Rule(list(r0.guard), Upd(dict(r0.upd.exprs)), list(r0.checks), dict(r0.info))
            assert ins.dest is not None
            r.upd.set(ctx.reg_field(site.c, ins.dest), 1)
            site.emit(r, "exclusive-failed", f"{key}.xfail")
        if held is not None and ins.rmw:  # only where the atomic stores
            no_value(site, ins, held, Rule([*r0.guard, stores]), f"{key}.nopte")
    if held is not None and not ins.rmw:
        no_value(site, ins, held, site.rule(), "nopte")


def no_value(site: Site, ins: P.IPte, held: Expr, r: Rule, key: str) -> None:
    """`pte V := r` with ``r`` holding no PTE value: a `range` problem (a fatal check: the
    path ends, nothing is stored)."""
    assert ins.src is not None
    r.guard.append(disj(op("lt", held, C(1)), op("gt", held, C(len(ins.wids)))))
    what = f"{site.ctx.prog.cores[site.c].regs[ins.src.index]} holds no PTE value"
    r.checks.append(Check("range", TRUE, True, (("what", what),)))
    site.emit(r, "range", key)


def slot_store(site: Site, ins: P.ISlot) -> None:
    """`pte T[i] := ...`: a store to the slot itself, whichever dir points at the table."""
    ctx = site.ctx
    action = "store-buffered" if ctx.lay.buffered(site.c) else "store"
    a = ctx.lay.leaf_addr(ins.table, ins.slot)
    r = site.rule(table=ins.table, leaf=a, wid=ins.wid)
    write_entry(ctx, site.c, r, a, leaf_copies(ctx, ins.table, ins.slot), ins.wid)
    site.emit(r, action)


def rmw_read(site: Site, ins: P.IPte, r0: Rule, a: int) -> tuple[Expr, Expr | None]:
    """An atomic on the PTE at ``a`` (docs/arm64.md §1): it waits for an empty store
    buffer and reads the entry's value into its register.  Returns the condition under
    which it stores (TRUE, or for `cas` that the value read is the one expected) and what
    selects the value stored: the register stored from, or for `fetch_set`/`fetch_clear`
    the number of the value read (``wids`` per number)."""
    ctx, c = site.ctx, site.c
    if ctx.lay.buffered(c):
        r0.guard.append(ctx.lay.buffer_empty(c))
    old = pte_number(ctx.lay, c, a)
    if ins.rmw in ("load_exclusive", "store_exclusive"):  # docs/arm64.md §1, exclusives
        res, code = ctx.lay.arm.res.get(c), entry_code(ctx, a)
        if ins.rmw == "load_exclusive":
            assert res is not None
            r0.upd.set(res, code)
        else:  # stores (status 0) only while reserved; the reservation goes either way
            assert ins.dest is not None
            r0.upd.set(ctx.reg_field(c, ins.dest), 0)
            disarm(ctx, c, r0)
            armed = FALSE if res is None else eq(Field(res), code)
            return armed, Field(ctx.reg_field(c, ins.src)) if ins.src is not None else None
    if ins.dest is not None:
        r0.upd.set(ctx.reg_field(c, ins.dest), old)
    by = old if ins.fields else Field(ctx.reg_field(c, ins.src)) if ins.src is not None else None
    if ins.rmw == "cas":
        assert ins.expect is not None
        return eq(old, ctx.expr(c, ins.expect, r0)), by
    return TRUE, by


def write_entry(
    ctx: Ctx, c: int, r: Rule, a: int, copies: Iterator[tuple[int, Expr]], wid: int,
    direct: bool = False,
) -> None:  # fmt: skip
    lay = ctx.lay
    on_copies(r, copies, pte_clear_latest)
    r.upd.set(lay.last[a - lay.nwords], wid)
    for core in lay.arm if ctx.model == "arm" else ():  # a store cancels pending walker
        for _, at in core.hu.values():  # updates of the entry (docs/arm64.md section 7)
            r.upd.set(at, ite(eq(Field(at), a - lay.nwords + 1), C(0), Field(at)))
    if direct or not lay.buffered(c):
        r.upd.set(lay.mem[a], fresh_pte(wid))
        unreserve(ctx, r, [(a, TRUE)], c)  # other cores' load-exclusives of the entry
        if a in lay.ad:  # a `pte` store clears the accessed and dirty bits
            r.upd.set(lay.ad[a], 0)
    else:
        ctx.room(c, r)
        buffer_append(ctx, c, r, a + 1, [C(fresh_pte(wid))])


def complete(site: Site, ins: P.IComplete) -> None:
    """Every copy of the entry older than the latest issued write becomes stale."""
    lay = site.ctx.lay
    for r, _, _, a, copies, key in entry_choices(site, ins.page, ins.space, "complete"):
        if a >= 0:
            i = a - lay.nwords
            r.upd.set(lay.rec[i], op("add", Field(lay.last[i]), C(1)))
            on_copies(r, copies, pte_mark_stale)
        site.emit(r, "complete", key)
