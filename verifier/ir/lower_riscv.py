"""Lowering of the RISC-V statements (docs/riscv.md): `fence PRED, SUCC`, `fence.tso`
(two fences: r,rw and w,w, so a store is not ordered before a later load) and
`sfence.vma` in its four forms."""

from __future__ import annotations

from typing import Any

from verifier.ir import program as P
from verifier.lang import ast


def lower_riscv(lw: Any, s: ast.RvFence | ast.Sfence) -> None:
    """``lw`` is the core's lowerer (`lower._CoreLowerer`)."""
    sp = s.span
    match s:
        case ast.RvFence(tso=True):
            lw.emit(lambda a, b: P.IRvFence(a, b, "r", "rw"), sp)
            lw.emit(lambda a, b: P.IRvFence(a, b, "w", "w"), sp)
        case ast.RvFence(pred=x, succ=y):
            lw.emit(lambda a, b: P.IRvFence(a, b, x, y), sp)
        case ast.Sfence(page=ref) if ref is not None:
            space, page = lw.page(ref)
            lw.emit(lambda a, b: P.ISfence(a, b, "page", space, page), sp)
        case ast.Sfence(space=name) if name is not None:
            asid = lw.t.spec.spaces[lw.t.spaces[name]].asid
            lw.emit(lambda a, b: P.ISfence(a, b, "asid", asid=asid), sp)
        case ast.Sfence():
            lw.emit(lambda a, b: P.ISfence(a, b, "all"), sp)


def buffered_kind(ins: P.IRvFence) -> str | None:
    """What a `fence PRED, SUCC` is under sc/tso/pso, whose loads are in order and whose
    stores wait in a buffer: a full fence when a store must precede a later load, a
    release fence when a store must precede a later store, else nothing."""
    if "w" in ins.pred and "r" in ins.succ:
        return "full"
    if "w" in ins.pred:
        return "release"
    return None
