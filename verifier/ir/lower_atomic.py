"""Lowering of accesses through translation with data, atomics through a page or on a
PTE, and exclusives (docs/arm64.md §1, "Atomics and exclusives")."""

from __future__ import annotations

from typing import Any

from verifier.ir import program as P
from verifier.ir.flat import source_text
from verifier.lang import ast

DEFAULT_ORDER = "acq_rel"  # an atomic written without an order: acquire and release


def lower_access(lw: Any, s: ast.Access) -> None:
    """`read V`, `r := read V`, `write V := e`, the exclusives; ``lw`` is the core's
    lowerer (`lower._CoreLowerer`)."""
    _, page = lw.page(s.page)
    dest = lw.reg(s.dest.name) if s.dest is not None else None
    val = lw.expr(s.value) if s.value is not None else None
    deps = tuple(lw.reg(n.name) for n in s.via)
    u, x = lw.user, s.exclusive
    lw.emit(lambda a, b: P.IAccess(a, b, s.kind, page, dest, val, s.order, deps, u, exclusive=x),
            s.span)  # fmt: skip


def _op(s: ast.Atomic) -> str:
    return "fetch_add" if s.op == "+=" else s.op


def lower_page_atomic(lw: Any, s: ast.Atomic) -> None:
    """An atomic through translation: a write access that reads the frame's data word
    and writes the new value in one step."""
    _, page = lw.page(s.target)
    dest = lw.reg(s.dest) if s.dest is not None else None
    args = tuple(lw.expr(a) for a in s.args)
    deps = tuple(lw.reg(n.name) for n in s.via)
    order, op = s.order or DEFAULT_ORDER, _op(s)
    u = lw.user
    lw.emit(
        lambda a, b: P.IAccess(a, b, "write", page, dest, None, order, deps, u, op, args),
        s.span,
    )


def lower_pte_atomic(lw: Any, s: ast.Atomic) -> None:
    """`r := swap(pte(V), e)` / `r := cas(pte(V), old, e)`: a `pte` store of ``e`` (a
    PTE register or value) that also reads the entry's old value into ``r``;
    `r := fetch_set(pte(V), F...)` / `fetch_clear`: a store of the old value with
    fields F set or cleared."""
    assert isinstance(s.target, ast.PteRead)
    space, page = lw.page(s.target.page)
    dest = lw.reg(s.dest) if s.dest is not None else None
    expect = lw.expr(s.args[0]) if s.op == "cas" else None
    exclusive = s.op in ("load_exclusive", "store_exclusive")  # relaxed unless written
    order = s.order or ("relaxed" if exclusive else DEFAULT_ORDER)
    lw.t.whole = True
    extra = {"rmw": s.op, "dest": dest, "expect": expect, "order": order}
    if s.fields or not s.args:  # fetch_set: its wids come once every PTE value is known
        lw.t.updates |= {(s.op, s.fields)} if s.fields else set()  # (lower_decls.pte_regs)
        lw.emit(lambda a, b: P.IPte(a, b, space, page, -1, fields=s.fields, **extra), s.span)
        return
    new = s.args[-1]
    if isinstance(new, ast.Name):  # its wids come once every PTE value is known
        src = lw.reg(new.name)
        lw.emit(lambda a, b: P.IPte(a, b, space, page, -1, src, **extra), s.span)
        return
    assert isinstance(new, ast.PteLit)
    wid = lw.t.pte_value(new.value, source_text(lw.t.lines, s.span), s.span)
    lw.emit(lambda a, b: P.IPte(a, b, space, page, wid, None, (wid,), **extra), s.span)
