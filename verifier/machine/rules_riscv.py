"""RISC-V statements in every model, and what the `riscv` model adds to the window of
`arm` (docs/riscv.md).

- `sfence.vma`: drops this core's TLB entries (all; every page of an ASID but not
  global ones; one page in every ASID, global ones too; one page of one ASID, not
  global).  Under sc/tso/pso it first waits for an empty store buffer (it orders this
  core's earlier stores before its later walks); under `arm`/`riscv` the window makes it
  wait for earlier stores and holds later translation reads back (`window.Window`).
  The forms naming an address drop no paging-structure entry (RISC-V: they order only
  the leaf entries); the others drop them all (of the ASID).
- Under `riscv` the walker may also cache an invalid entry (`invalid_fills`): a later
  access that uses it faults, until an invalidation drops it.
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import TRUE, Field, eq, op
from verifier.lang.checked import WEAK_MODELS
from verifier.machine import rules_walk
from verifier.machine.context import Ctx, Rule, Site
from verifier.machine.layout import pte_wid
from verifier.machine.rules_tlb import accessed_pages, tlb_clear
from verifier.machine.window import stored


def sfence(site: Site, ins: P.ISfence) -> None:
    ctx, c = site.ctx, site.c
    lay, prog = ctx.lay, ctx.prog
    if ins.scope == "page":
        tags = lay.tags if ins.space is None else (lay.tag_of_space(ins.space),)
        for n, (v, _, gv) in enumerate(ctx.pages_of(c, ins.page)):
            r = _rule(site, page=v, sfence=True)
            r.guard.append(gv)
            for t in tags:
                tlb_clear(ctx, r, c, v, t)
            site.emit(r, "invlpg", f"{n}")
        return
    r = _rule(site, sfence=True, asid=ins.asid if ins.scope == "asid" else None)
    if ins.scope == "asid":
        tag = lay.tag_of_asid(ins.asid)
        for v in range(len(prog.pages)):
            tlb_clear(ctx, r, c, v, tag)
        dirs = (d for d, dr in enumerate(prog.dirs) if prog.spaces[dr.space].asid == ins.asid)
        rules_walk.drop_psc(ctx, r, c, dirs)
    else:
        for v in range(len(prog.pages)):
            for t in lay.tags:
                tlb_clear(ctx, r, c, v, t)
        rules_walk.drop_psc(ctx, r, c, range(len(prog.dirs)))
    site.emit(r, "flush")


def _rule(site: Site, **info: object) -> Rule:
    r = site.rule(**info)
    if site.ctx.model not in WEAK_MODELS:
        r.guard.append(site.ctx.lay.buffer_empty(site.c))
    return r


def invalid_fills(ctx: Ctx, c: int) -> None:
    """Under `riscv`: the walker caches an invalid entry of a page the core accesses, in
    an empty slot of the space's ASID (an invalid entry is never global)."""
    if ctx.model != "riscv":
        return
    lay = ctx.lay
    cf = lay.cores[c]
    name = ctx.prog.cores[c].name
    used = accessed_pages(ctx, c)
    for s in range(len(ctx.prog.spaces)):
        for v in sorted(used):
            if ctx.prog.walk(s, v) is not None or not _may_be_invalid(ctx, s, v):
                continue
            t, g = lay.tag_of_space(s), lay.gtag
            mem = Field(lay.mem[lay.pte_addr(s, v)])
            r = Rule(
                [
                    eq(Field(cf.space), s) if len(ctx.prog.spaces) > 1 else TRUE,
                    eq(Field(cf.te[(v, g)]), 0),
                    eq(Field(cf.te[(v, t)]), 0),
                    op("not", lay.valid(pte_wid(mem))),
                ]
            )
            r.upd.set(cf.te[(v, t)], s + 1)
            r.upd.set(cf.tw[(v, t)], mem)
            r.info.update(page=v, space=s, slot=cf.te[(v, t)], invalid=True)
            ctx.emit(c, None, r, "fill", f"{name}:fill-invalid:{v}.{s}", "walker fill")


def _may_be_invalid(ctx: Ctx, s: int, v: int) -> bool:
    """False when no value that can reach PTE (s, v) is invalid: no rule needed."""
    wids = {ctx.prog.spaces[s].entries[v]}
    for c, core in enumerate(ctx.prog.cores):
        for ins in core.code:
            if isinstance(ins, P.IPte) and (s, v) in ctx.pte_entries(c, ins):
                wids.update(stored(ins))
    return any(ctx.prog.pte_values[w].frame < 0 for w in wids)
