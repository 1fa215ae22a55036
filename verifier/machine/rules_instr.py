"""Instructions: one rule function per instruction kind, and the table that picks it.

Memory instructions (store, load/assign, read-modify-write, fences) and control
flow live here; page-table, TLB and IPI instructions in their own modules.
Every command an instruction yields starts at its pc (``Site.rule``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from verifier.ir import program as P
from verifier.ir.lower_riscv import buffered_kind
from verifier.ir.system import TRUE, Check, Field, disj, eq, ite, op
from verifier.lang.checked import WEAK_MODELS
from verifier.machine import (
    rules_arm,
    rules_frames,
    rules_ipi,
    rules_pte,
    rules_riscv,
    rules_tlb,
    rules_translate,
    rules_walk,
    speculate,
)
from verifier.machine.context import Ctx, Site
from verifier.machine.layout import C
from verifier.machine.rules_buffer import buffer_append
from verifier.machine.rules_data import rmw_value


def store(site: Site, ins: P.IStore) -> None:
    ctx, c = site.ctx, site.c
    r = site.rule(addr=ins.addr)
    val = ctx.expr(c, ins.value, r)
    w = ctx.prog.words[ins.addr]
    ctx.range_check(r, val, w.lo, w.hi, f"{w.name} := value outside {w.lo}..{w.hi}")
    if not ctx.lay.buffered(c):
        r.upd.set(ctx.lay.mem[ins.addr], val)
        site.emit(r, "store")
    else:
        ctx.room(c, r)
        buffer_append(ctx, c, r, ins.addr + 1, [val])
        site.emit(r, "store-buffered")


def assign(site: Site, ins: P.IAssign) -> None:
    ctx = site.ctx
    r = site.rule()
    val = ctx.expr(site.c, ins.value, r)
    f = ctx.reg_field(site.c, ins.reg)
    lo, hi = ctx.lay.fields[f].lo, ctx.lay.fields[f].hi
    ctx.range_check(r, val, lo, hi, f"register value outside {lo}..{hi}")
    r.upd.set(f, val)
    site.emit(r, "load" if _has_load(ins.value) else "assign")


def atomic(site: Site, ins: P.IAtomic) -> None:
    ctx, c = site.ctx, site.c
    r = site.rule(addr=ins.addr)
    r.guard.append(ctx.lay.buffer_empty(c))
    old = Field(ctx.lay.mem[ins.addr])
    xs = [ctx.expr(c, x, r) for x in ins.args]
    new = rmw_value(ctx, r, ins.op, old, xs)
    w = ctx.prog.words[ins.addr]
    ctx.range_check(r, new, w.lo, w.hi, f"{w.name} value outside {w.lo}..{w.hi}")
    r.upd.set(ctx.lay.mem[ins.addr], new)
    if ins.dest is not None:
        f = ctx.reg_field(c, ins.dest)
        lo, hi = ctx.lay.fields[f].lo, ctx.lay.fields[f].hi
        ctx.range_check(r, old, lo, hi, "register value out of range")
        r.upd.set(f, old)
    site.emit(r, "rmw")


def fence(site: Site, ins: P.IFence) -> None:
    ctx, c, lay = site.ctx, site.c, site.ctx.lay
    r = site.rule(kind=ins.kind)
    if ins.kind == "full":
        r.guard.append(lay.buffer_empty(c))
    elif ins.kind == "release" and lay.buffered(c):
        has_store = lay.buffer_any(c, lay.is_store)
        ctx.room(c, r, when=has_store)
        buffer_append(ctx, c, r, lay.barrier, [], when=has_store)
    site.emit(r, "fence")


def rv_fence(site: Site, ins: P.IRvFence) -> None:
    """`fence PRED, SUCC` (docs/riscv.md): under arm/riscv the window orders around it;
    under sc/tso/pso it is the fence it amounts to there (`buffered_kind`), or nothing."""
    kind = None if site.ctx.model in WEAK_MODELS else buffered_kind(ins)
    if kind is None:
        site.emit(site.rule(pred=ins.pred, succ=ins.succ), "fence")
    else:
        fence(site, P.IFence(ins.span, ins.text, kind))


def switch(site: Site, ins: P.ISwitch) -> None:
    r = site.rule(space=ins.space)
    rules_tlb.serialize(site, r)
    r.upd.set(site.ctx.lay.cores[site.c].space, ins.space)
    site.emit(r, "switch")


def free(site: Site, ins: P.IFree) -> None:
    r = site.rule(frame=ins.frame)
    r.upd.set(site.ctx.lay.freed[ins.frame], 1)
    site.emit(r, "free")


def await_(site: Site, ins: P.IAwait) -> None:
    """Blocks until the condition holds.  Evaluating it may fail a check (a read of a freed
    table's slot, a division by zero): a waiting core keeps evaluating it, so that fires
    too and reports the problem, but the core passes the await only if the condition holds."""
    r = site.rule()
    cond = site.ctx.expr(site.c, ins.cond, r)
    r.guard.append(disj(cond, *(ch.cond for ch in r.checks)))
    if r.checks:
        r.upd.set(site.ctx.lay.cores[site.c].pc, ite(cond, C(site.nxt), C(site.pc)))
    site.emit(r, "await")


def branch(site: Site, ins: P.IBranch) -> None:
    r = site.rule()
    cond = site.ctx.expr(site.c, ins.cond, r)
    r.upd.set(site.ctx.lay.cores[site.c].pc, ite(cond, C(site.nxt), C(ins.target)))
    rules_arm.skip_held(site.ctx, site.c, r, site.pc, ins.target, op("not", cond))
    succ = [(cond, site.nxt), (op("not", cond), ins.target)]
    speculate.drop_behind(site.ctx, site.c, r, site.pc, succ)
    site.emit(r, "branch")


def jump(site: Site, ins: P.IJump) -> None:
    r = site.rule()
    r.upd.set(site.ctx.lay.cores[site.c].pc, ins.target)
    rules_arm.skip_held(site.ctx, site.c, r, site.pc, ins.target, TRUE)
    speculate.drop_behind(site.ctx, site.c, r, site.pc, [(TRUE, ins.target)])
    site.emit(r, "branch")


def irq(site: Site, ins: P.IIrq) -> None:
    r = site.rule()
    r.upd.set(site.ctx.lay.cores[site.c].irq, int(ins.on))
    site.emit(r, "irq")


def assert_(site: Site, ins: P.IAssert) -> None:
    r = site.rule()
    cond = site.ctx.expr(site.c, ins.cond, r)
    r.checks.append(Check("assertion", op("not", cond), True))
    site.emit(r, "assert")


def skip(site: Site, ins: P.ISkip) -> None:
    site.emit(site.rule(), "skip")


def fail(site: Site, ins: P.IFail) -> None:
    r = site.rule()
    r.checks.append(Check("range", TRUE, True, (("what", ins.message),)))
    site.emit(r, "assert")


def return_(site: Site, ins: P.IReturn) -> None:
    """A handler returns: back to the interrupted pc, interrupts enabled again."""
    cf = site.ctx.lay.cores[site.c]
    r = site.rule()
    r.upd.set(cf.pc, Field(cf.spc))
    r.upd.set(cf.spc, 0)
    r.upd.set(cf.inh, 0)
    r.upd.set(cf.irq, 1)
    for f in cf.hregs:
        r.upd.set(f, 0)
    site.emit(r, "handler-returned")


def end(site: Site, ins: P.IEnd) -> None:
    """The end of a program: no step."""


RULES: dict[type, Callable[[Site, Any], None]] = {
    P.IPte: rules_pte.pte,
    P.IStore: store,
    P.IAssign: assign,
    P.IAtomic: atomic,
    P.IFence: fence,
    P.IIpi: rules_ipi.ipi_send,
    P.IInvlpg: rules_tlb.invlpg,
    P.IFlushAsid: rules_tlb.flush_asid,
    P.IFlushAll: rules_tlb.flush_all,
    P.IAccess: lambda site, ins: (
        rules_translate.access if site.ctx.model in WEAK_MODELS else rules_tlb.access
    )(site, ins),
    P.IBarrier: rules_arm.barrier,
    P.ITlbi: rules_arm.tlbi,
    P.ICtrl: rules_arm.ctrl,
    P.IRvFence: rv_fence,
    P.ISfence: rules_riscv.sfence,
    P.ISwitch: switch,
    P.IFree: free,
    P.IComplete: rules_pte.complete,
    P.IAwait: await_,
    P.IBranch: branch,
    P.IJump: jump,
    P.IIrq: irq,
    P.IAssert: assert_,
    P.ISkip: skip,
    P.IFail: fail,
    P.IReturn: return_,
    P.IEnd: end,
    P.IDir: rules_walk.dir_store,
    P.ISlot: rules_pte.slot_store,
    P.ICopy: rules_frames.copy,
    P.IZero: rules_frames.zero,
}


def instruction(ctx: Ctx, c: int, pc: int, ins: P.Instr, nxt: int) -> None:
    """The commands of instruction ``ins`` at ``pc`` of core ``c``."""
    rule = RULES.get(type(ins))
    if rule is None:
        raise TypeError(ins)
    for site in rules_arm.sites(ctx, c, pc, ins, nxt):
        rule(site, ins)


def _has_load(e: P.LExpr) -> bool:
    match e:
        case P.LWord():
            return True
        case P.LUn(arg=a) | P.LFields(value=a):
            return _has_load(a)
        case P.LBin(left=a, right=b):
            return _has_load(a) or _has_load(b)
        case P.LPte() | P.LSlot() | P.LDir():
            return True
    return False
