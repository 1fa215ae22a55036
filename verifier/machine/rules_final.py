"""The final condition of a litmus test (docs/arm64.md §4), judged by one command that
is enabled only in *final* states: every core has performed its whole program (under
`arm`; its store buffer drained too under tso/pso) or stopped at a fault.  Its two
fatal checks split the final states: ``positive`` where the condition's proposition
holds, ``negative`` where it does not (herd7's positive and negative witnesses).  A
search that reaches neither, or only one, decides `Never`/`Always` as herd7 does."""

from __future__ import annotations

from verifier.ir import final as F
from verifier.ir import program as P
from verifier.ir.system import FALSE, TRUE, Check, Expr, Field, conj, disj, eq, op
from verifier.lang import final as L
from verifier.machine.context import Ctx, Rule
from verifier.machine.layout import C, Layout, pte_wid

KINDS = ("positive", "negative")


def final_rule(ctx: Ctx) -> None:
    fin = ctx.prog.final
    if fin is None:
        return
    r = Rule([core_done(ctx, c) for c in range(len(ctx.prog.cores))])
    cond = prop(ctx, fin.prop)
    r.checks.append(Check("positive", cond, True, (("what", fin.text),)))
    r.checks.append(Check("negative", op("not", cond), True, (("what", fin.text),)))
    ctx.emit(0, None, r, "final", "final", fin.text, fin.span)


def core_done(ctx: Ctx, c: int) -> Expr:
    lay = ctx.lay
    end = eq(Field(lay.cores[c].pc), ctx.prog.cores[c].program_end)
    if lay.buffered(c):
        end = conj(end, lay.buffer_empty(c))
    fault = lay.arm[c].fault if lay.arm else None
    if lay.arm:  # every walker update reached memory (docs/arm64.md section 7)
        end = conj(end, *(eq(Field(v), 0) for v, _ in lay.arm[c].hu.values()))
    core = ctx.prog.cores[c]
    if fault is not None and core.fault_end >= 0:  # the fault handler ran to its end
        return disj(end, eq(Field(lay.cores[c].pc), core.fault_end))
    return end  # a fault that stops the core moves it to its end (early: once pc gets there)


def term(ctx: Ctx, t: F.PReg | F.PData | L.FNum) -> Expr:
    lay = ctx.lay
    match t:
        case F.PReg(core=c, reg=r):
            return C(0) if r is None else Field(lay.cores[c].regs[r])
        case F.PPte(page=v):  # the number of the value in memory (docs/arm64.md 7)
            keys = ctx.prog.pte_keys
            now = pte_wid(Field(lay.mem[lay.pte_addr(0, v)]))
            return lay.table(lambda x: keys.index(x.key) + 1 if x.key in keys else 0, now)
        case F.PData(frame=f):
            if f < len(lay.arm.data):
                return Field(lay.arm.data[f])
            return C(ctx.prog.frame_data[f] if f < len(ctx.prog.frame_data) else 0)
    return C(t.value)


def prop(ctx: Ctx, p: F.PProp) -> Expr:
    match p:
        case L.FCmp(op=o, left=a, right=b):
            return op("eq" if o == "==" else "ne", term(ctx, a), term(ctx, b))  # type: ignore[arg-type]
        case F.PFault(core=c, pcs=pcs):  # of type p.ftype when it is not 0
            fault = ctx.lay.arm[c].fault if ctx.lay.arm else None
            if fault is None:
                return FALSE
            at = disj(*(eq(Field(fault), pc + 1) for pc in pcs))
            ftype = ctx.lay.arm[c].ftype
            return at if p.ftype == 0 or ftype is None else conj(at, eq(Field(ftype), p.ftype))
        case L.FNot(arg=a):
            return op("not", prop(ctx, a))  # type: ignore[arg-type]
        case L.FAnd(args=args):
            return conj(*(prop(ctx, a) for a in args))  # type: ignore[arg-type]
        case L.FOr(args=args):
            return disj(*(prop(ctx, a) for a in args))  # type: ignore[arg-type]
    return TRUE if p.value else FALSE


def final_state(prog: P.Program, lay: Layout, s: tuple[int, ...]) -> str:
    """A final state in herd7's words: each core's registers (``P1:X4=0``), each
    frame's data word, and the cores a fault stopped (``fault(P1:L0)`` as the
    instruction's text)."""
    out = []
    for c, core in enumerate(prog.cores):
        cf = lay.cores[c]
        out += [f"{core.name}:{r}={s[cf.regs[i]]}" for i, r in enumerate(core.regs)]
        fault = lay.arm[c].fault if lay.arm else None
        if fault is not None and s[fault]:
            ins = core.code[s[fault] - 1]
            out.append(f"fault({core.name} at `{ins.text}`, line {ins.span.line})")
    out += [f"{prog.frames[f]}={s[x]}" for f, x in enumerate(lay.arm.data)]
    return "; ".join(out)
