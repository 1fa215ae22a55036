"""`on fault resume` (docs/arm64.md §3): the handler laid out once per access of the
program, each followed by the exception return and the code after that access, and
the questions the machine asks about that layout (`Core.fault_blocks`)."""

from __future__ import annotations

from typing import Any

from verifier.ir import program as P
from verifier.lang.checked import CoreInstance

Block = tuple[int, int, int, int]  # access pc, entry, return (`isb`), end

RUN_STOPS = (P.IBranch, P.IJump, P.IAwait, P.IIpi, P.ISwitch, P.IIrq, P.IReturn, P.IEnd, P.IFail)


def fault_code(lc: Any, inst: CoreInstance, end: int) -> tuple[int, tuple[Block, ...]]:
    """The `on fault` code after the program's end (``end``), ending in its own IEnd; with
    `resume`, the handler blocks instead (no IEnd: -1). The IEnd's pc and the blocks."""
    if inst.resume:
        return -1, resume_code(lc, inst, end)
    lc.block(inst.fault or ())
    at = lc.emit(lambda a, b: P.IEnd(a, b), inst.span)
    lc.code[at] = P.IEnd(inst.span, "end of the fault handler")
    return at, ()


def resume_code(lc: Any, inst: CoreInstance, end: int) -> tuple[Block, ...]:
    """`on fault resume` (docs/arm64.md §3): for each access of the program, a block of
    its own: the handler's code, the exception return (an `isb`), then a copy of the
    straight-line code after the access and a jump to where that code stops, so that
    what follows the return may run before instructions pending before the fault."""
    blocks = []
    for i in [pc for pc in range(end) if isinstance(lc.code[pc], P.IAccess)]:
        entry = len(lc.code)
        lc.block(inst.fault or ())
        span = inst.span
        text = f"return from the fault handler to after `{lc.code[i].text}`"
        ret = lc.emit(lambda a, b: P.IBarrier(a, b, "isb"), span)
        lc.code[ret] = P.IBarrier(span, text, "isb")
        stop = next(k for k in range(i + 1, end + 1) if isinstance(lc.code[k], RUN_STOPS))
        for k in range(i + 1, stop):  # counted against the size limit like the rest
            lc.emit(lambda a, b, x=lc.code[k]: x, span)
        lc.emit(lambda a, b: P.IJump(a, b, stop), span)
        blocks.append((i, entry, ret, len(lc.code)))
    return tuple(blocks)


def fault_block(core: P.Core, pc: int) -> Block | None:
    """The block a fault at ``pc`` enters (None: the core stops, or no block): the
    access's own, or for a copy after a return, its original's."""
    for b in core.fault_blocks:
        if b[0] == pc:
            return b
        if b[2] < pc < b[3] - 1:
            return fault_block(core, b[0] + pc - b[2])
    return None


def fault_target(core: P.Core, pc: int) -> int:
    """Where a fault at ``pc`` sends the core: its `on fault` code, the program's end
    (a fault of `on fault resume` code stops the core), or -1 (no handler: recorded)."""
    if core.fault_entry >= 0 and core.fault_end < 0:  # `resume`
        b = fault_block(core, pc)
        return core.program_end if b is None else b[1]
    return core.fault_entry if pc < core.program_end else -1


def block_of(core: P.Core, pc: int) -> Block | None:
    """The block holding ``pc``."""
    return next((b for b in core.fault_blocks if b[1] <= pc < b[3]), None)
