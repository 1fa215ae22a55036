"""Two-level pages (docs/page-tables.md): walks that read one entry per level, the
paging-structure cache (PSC), stores to upper-level entries (`dir D := T`) and the
`freed-table` race.

A page ``v`` of space ``s`` with ``prog.walk(s, v) == (d, slot)`` has its leaf entry in
slot ``slot`` of the table that dir ``d`` points to.  Each core caches one pointer per
dir (``CoreFields.psc``: table+1, 0 empty).  A walk takes the cached pointer if there
is one, else reads the dir in memory and caches it; then it reads the leaf in memory.
A walk that reads a slot of a freed table is a `freed-table` race and fills nothing.
A TLB entry filled by such a walk records its table in its source (``Layout.src``), so
the race checks judge it against that leaf's `complete` record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from verifier.ir import program as P
from verifier.ir.system import TRUE, Check, Expr, Field, conj, eq, ne, op
from verifier.lang.checked import WEAK_MODELS
from verifier.machine import rules_ad
from verifier.machine.context import Ctx, Rule, Site, cacheable
from verifier.machine.layout import C, pte_wid
from verifier.machine.rules_buffer import buffer_append
from verifier.machine.rules_race import races

VIA = ("cached", "memory")


def dir_store(site: Site, ins: P.IDir) -> None:
    """`dir D := T`: an ordinary store (through the store buffer under tso and pso)."""
    ctx, c, lay = site.ctx, site.c, site.ctx.lay
    a = lay.dir_addr(ins.dir)
    r = site.rule(dir=ins.dir, table=ins.table, addr=a)
    if ctx.model in ("sc", *WEAK_MODELS):  # `arm` and `riscv` have no store buffers
        r.upd.set(lay.mem[a], ins.table + 1)
        site.emit(r, "store")
    else:
        ctx.room(c, r)
        buffer_append(ctx, c, r, a + 1, [C(ins.table + 1)])
        site.emit(r, "store-buffered")


def drop_psc(ctx: Ctx, r: Rule, c: int, dirs: Iterator[int] | range) -> None:
    cf = ctx.lay.cores[c]
    for d in dirs:
        r.upd.set(cf.psc[d], 0)


def _freed_table(r: Rule, k: int, frame: int, d: int, slot: int, via: str) -> None:
    info = (("table", frame), ("dir", d), ("slot", slot), ("via", via), ("tindex", k))
    r.checks.append(Check("freed-table", TRUE, False, info))


def walk_miss(
    site: Site, bit: int, v: int, s: int, miss: list[Expr],
    moves: Callable[[Rule, Expr], None] | None = None,
) -> None:  # fmt: skip
    """An access to two-level page ``v`` that missed in the TLB: the walk's variants, by
    where the table pointer came from (the PSC or the dir in memory) and which table;
    ``moves`` adds the access's data move (`r := read V`) to a walk that fills."""
    ctx, c = site.ctx, site.c
    lay, prog = ctx.lay, ctx.prog
    cf = lay.cores[c]
    at = prog.walk(s, v)
    assert at is not None
    d, slot = at
    psc, dmem = Field(cf.psc[d]), Field(lay.mem[lay.dir_addr(d)])
    t, g = lay.tag_of_space(s), lay.gtag
    r = site.rule(page=v, space=s, how="miss-invalid", bit=bit, level="dir", dir=d)
    r.guard += [*miss, eq(psc, 0), eq(dmem, 0)]
    site.emit(r, "fault", f"{v}.{s}.di")
    for k, frame in enumerate(prog.tables):
        for via in VIA:
            base = [*miss, eq(psc, k + 1) if via == "cached" else conj(eq(psc, 0), eq(dmem, k + 1))]
            fill = {cf.psc[d]: k + 1} if via == "memory" else {}
            freed = Field(lay.freed[frame])
            info = dict(page=v, space=s, bit=bit, dir=d, table=k, via=via)
            r = site.rule(how="walk-freed", **info)
            r.guard += [*base, eq(freed, 1)]
            _set(r, fill)
            _freed_table(r, k, frame, d, slot, via)
            site.emit(r, "fault", f"{v}.{s}.{via[0]}{k}.f")
            leaf = Field(lay.mem[lay.leaf_addr(k, slot)])
            live = [*base, eq(freed, 0)]
            r = site.rule(how="miss-invalid", level="leaf", **info)
            r.guard += [*live, op("not", lay.valid(pte_wid(leaf)))]
            _set(r, fill)
            site.emit(r, "fault", f"{v}.{s}.{via[0]}{k}.i")
            for glob, tag in ((1, g), (0, t)):
                r = site.rule(slot=cf.te[(v, tag)], how="miss-fill", **info)
                r.guard += [*live, lay.valid(pte_wid(leaf)), eq(lay.is_global(pte_wid(leaf)), glob)]
                _set(r, {**fill, cf.te[(v, tag)]: lay.src(s, k)})
                r.upd.set(cf.tw[(v, tag)], leaf)
                rules_ad.on_fill(ctx, r, c, (v, tag), lay.leaf_addr(k, slot), leaf, bit)
                races(ctx, r, v, bit, leaf, C(lay.src(s, k)), cf.tw[(v, tag)])
                if moves is not None:
                    moves(r, leaf)
                site.emit(r, "access", f"{v}.{s}.{via[0]}{k}.m{glob}")


def translation_walks(
    ctx: Ctx, c: int, v: int, s: int
) -> Iterator[tuple[Rule, Expr | None, int, Expr, str]]:
    """Under `arm`, where a translation read of two-level page ``v`` finds its leaf (docs/arm64.md
    section 3, docs/page-tables.md section 1): (rule, leaf value or None, its address, its
    source, key). The upper level comes from the PSC or the dir in memory (a valid dir
    read in memory is cached); an invalid dir or a freed table (a `freed-table` race)
    gives no leaf: an invalid entry is held and nothing else is filled."""
    lay, prog = ctx.lay, ctx.prog
    cf = lay.cores[c]
    d, slot = prog.walk(s, v) or (0, 0)
    psc, dmem = Field(cf.psc[d]), Field(lay.mem[lay.dir_addr(d)])
    r = Rule([eq(psc, 0), eq(dmem, 0)])
    r.info.update(page=v, space=s, how="walk-invalid", level="dir", dir=d)
    yield r, None, -1, C(lay.src(s)), "di"
    for k, frame in enumerate(prog.tables):
        for via in VIA:
            base = [eq(psc, k + 1) if via == "cached" else conj(eq(psc, 0), eq(dmem, k + 1))]
            fill = {cf.psc[d]: k + 1} if via == "memory" else {}
            freed = Field(lay.freed[frame])
            info = dict(page=v, space=s, dir=d, table=k, via=via)
            r = Rule([*base, eq(freed, 1)])
            r.info.update(how="walk-freed", **info)
            _set(r, fill)
            _freed_table(r, k, frame, d, slot, via)
            yield r, None, -1, C(lay.src(s, k)), f"{via[0]}{k}.f"
            r = Rule([*base, eq(freed, 0)])
            r.info.update(level="leaf", **info)
            _set(r, fill)
            a = lay.leaf_addr(k, slot)
            yield r, Field(lay.mem[a]), a, C(lay.src(s, k)), f"{via[0]}{k}"


def _set(r: Rule, values: dict[int, int]) -> None:
    for f, x in values.items():
        r.upd.set(f, x)


def walker_fills(ctx: Ctx, c: int, used: set[int]) -> None:
    """The speculative walker of core ``c`` on two-level pages it accesses: it caches a
    valid dir of its current space in the PSC, and fills an empty TLB entry by a walk
    through a cached pointer (a walk through a pointer to a freed table is a race)."""
    lay, prog = ctx.lay, ctx.prog
    cf = lay.cores[c]
    name = prog.cores[c].name
    for s in range(len(prog.spaces)):
        here = eq(Field(cf.space), s) if len(prog.spaces) > 1 else TRUE
        walked = [(v, at) for v in sorted(used) if (at := prog.walk(s, v)) is not None]
        for d in sorted({at[0] for _, at in walked}):
            dmem = Field(lay.mem[lay.dir_addr(d)])
            r = Rule([here, eq(Field(cf.psc[d]), 0), ne(dmem, 0)])
            r.upd.set(cf.psc[d], dmem)
            r.info.update(dir=d, space=s, how="psc-fill")
            ctx.emit(c, None, r, "fill", f"{name}:psc:{d}", "walker fill")
        for v, (d, slot) in walked:
            t, g = lay.tag_of_space(s), lay.gtag
            empty = [eq(Field(cf.te[(v, g)]), 0), eq(Field(cf.te[(v, t)]), 0)]
            for k, frame in enumerate(prog.tables):
                base = [here, eq(Field(cf.psc[d]), k + 1), *empty]
                freed = Field(lay.freed[frame])
                r = Rule([*base, eq(freed, 1)])
                r.info.update(page=v, space=s, dir=d, table=k, via="cached", how="walk-freed")
                _freed_table(r, k, frame, d, slot, "cached")
                ctx.emit(c, None, r, "fill", f"{name}:walk:{v}.{s}.{k}.f", "walker fill")
                leaf = Field(lay.mem[lay.leaf_addr(k, slot)])
                for glob, tag in ((1, g), (0, t)):
                    r = Rule(
                        [
                            *base,
                            eq(freed, 0),
                            cacheable(ctx, pte_wid(leaf)),
                            eq(lay.is_global(pte_wid(leaf)), glob),
                        ]
                    )
                    r.upd.set(cf.te[(v, tag)], lay.src(s, k))
                    r.upd.set(cf.tw[(v, tag)], leaf)
                    rules_ad.on_fill(ctx, r, c, (v, tag), lay.leaf_addr(k, slot), leaf, None)
                    r.info.update(page=v, space=s, slot=cf.te[(v, tag)], dir=d, table=k)
                    key = f"{name}:fill:{v}.{s}.{k}.{glob}"
                    ctx.emit(c, None, r, "fill", key, "walker fill")
