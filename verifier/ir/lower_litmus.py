"""What a `.litmus` test adds to its lowered Program (docs/arm64.md §4): faults are fatal
or retried once, each control dependency (a statement `if r != 0 {}` standing for a
`CBZ`/`CBNZ` to the next instruction) becomes an `ICtrl` on its registers, and the final
condition's names become places of the Program (`ir/final.py`)."""

from __future__ import annotations

from dataclasses import replace

from verifier.ir import final as F
from verifier.ir import program as P
from verifier.ir.flat import LowerError
from verifier.ir.lower_decls import mapping_perms
from verifier.lang import ast
from verifier.lang import final as L
from verifier.lang.checked import CheckedSpec


FTYPES = {"Translation": 1, "Permission": 2}


def attach_litmus(prog: P.Program, spec: CheckedSpec) -> P.Program:
    lit = spec.litmus
    if lit is None:
        return prog
    cores = [_with_ctrl(c, dict(lit.ctrl)) for c in prog.cores]
    # registers hold every number the test moves into one (`MOV X11,#42`), on any core:
    # loads pass it on
    moved = [x.value.value for c in cores for x in c.code
             if isinstance(x, P.IAssign) and isinstance(x.value, P.LConst)]  # fmt: skip
    cores = [replace(c, reg_range=(c.reg_range[0], max([c.reg_range[1], *moved]))) for c in cores]
    prog = replace(prog, cores=tuple(cores), fatal="retry" if lit.retry else "stop")
    final = F.PFinal(lit.final.quant, _prop(prog, lit.final.prop), lit.final.text, lit.final.span)
    return replace(prog, final=final)


def _with_ctrl(core: P.Core, ctrl: dict) -> P.Core:  # type: ignore[type-arg]
    code = list(core.code)
    for pc, ins in enumerate(code):
        if isinstance(ins, P.IBranch) and ins.span in ctrl and ins.target == pc + 1:
            regs = tuple(
                P.LReg(core.regs.index(r), False) for r in ctrl[ins.span] if r in core.regs
            )
            code[pc] = P.ICtrl(ins.span, ins.text, regs)
    return replace(core, code=tuple(code))


def _core(prog: P.Program, name: str) -> int:
    for i, c in enumerate(prog.cores):
        if c.name == name:
            return i
    raise LowerError(f"the final condition names core {name}, which the program lacks")


def _term(prog: P.Program, t: L.FReg | L.FData | L.FNum) -> F.PReg | F.PData | L.FNum:
    match t:
        case L.FReg(core=name, reg=r):
            c = _core(prog, name)
            regs = prog.cores[c].regs
            return F.PReg(c, regs.index(r) if r in regs else None)
        case L.FData(frame=f):
            return F.PData(prog.frames.index(f))
        case L.FPteMem(page=page):
            return F.PPte(prog.pages.index(page))
        case L.FPte(value=v):
            key = _pte_key(prog, v)
            return L.FNum(prog.pte_keys.index(key) + 1 if key in prog.pte_keys else -1)
    return t


def _pte_key(prog: P.Program, v: ast.Mapping | ast.Invalid) -> tuple[object, ...]:
    """The key (`PteValue.key`) of a PTE value written in the condition."""
    if isinstance(v, ast.Invalid):
        kept = _pte_key(prog, v.kept) if v.kept is not None else (-1, 0)
        flags = (not v.kept.old, v.kept.dbm) if v.kept is not None else (True, False)
        return (-1, 0, False, kept[:2], *flags)
    frame, perms = prog.frames.index(v.frame), mapping_perms(v)
    return (frame, perms, v.global_, (-1, 0), not v.old, v.dbm)  # PteValue.key


def _prop(prog: P.Program, p: L.FProp) -> F.PProp:
    match p:
        case L.FCmp(op=op, left=a, right=b):
            return L.FCmp(op, _term(prog, a), _term(prog, b))  # type: ignore[arg-type]
        case L.FFault(core=name, at=spans, ftype=ftype):
            c = _core(prog, name)
            code = prog.cores[c].code
            pcs = tuple(
                pc
                for pc, ins in enumerate(code)
                if isinstance(ins, P.IAccess) and (not spans or ins.span in spans)
            )
            return F.PFault(c, pcs, FTYPES.get(ftype, 0))
        case L.FNot(arg=a):
            return L.FNot(_prop(prog, a))  # type: ignore[arg-type]
        case L.FAnd(args=args):
            return L.FAnd(tuple(_prop(prog, a) for a in args))  # type: ignore[arg-type]
        case L.FOr(args=args):
            return L.FOr(tuple(_prop(prog, a) for a in args))  # type: ignore[arg-type]
    return p
