"""Lowering of the statements and reads that name page-table pages and upper-level
entries directly (docs/page-tables.md §1-2): `pte T[i] := ...`, `pte(T[i]).f` and
`dir(D).present`."""

from __future__ import annotations

from typing import Any

from verifier.ir import program as P
from verifier.ir.flat import source_text
from verifier.lang import ast


def lower_table_read(lw: Any, e: ast.SlotRead | ast.DirRead) -> P.LExpr:
    """``lw`` is the core's lowerer (`lower._CoreLowerer`)."""
    if isinstance(e, ast.DirRead):
        return P.LDir(lw.t.dirs[e.dir], e.field)
    return P.LSlot(lw.t.spec.tables.index(e.table), lw.const(e.index), e.field)


def lower_slot_write(lw: Any, s: ast.SlotWrite) -> None:
    k, slot = lw.t.spec.tables.index(s.table), lw.const(s.index)
    wid = lw.t.pte_value(s.value, source_text(lw.t.lines, s.span), s.span)
    lw.emit(lambda a, b: P.ISlot(a, b, k, slot, wid), s.span)
