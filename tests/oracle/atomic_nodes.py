"""The reference's reading of atomics on a page or a PTE and of a failing store-exclusive
as nodes of their own (tests/oracle/atomics.py): built from the AST as the code is
flattened, so the machines see an access or a `pte` store."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from verifier.lang import ast


@dataclass(frozen=True)
class RmwAccess(ast.Access):
    """`r := swap(V, e)` ... with V a page: a write access that also reads."""

    op: str = ""
    args: tuple[ast.Expr, ...] = ()


@dataclass(frozen=True)
class XFail(ast.Access):
    """A store-exclusive failing whatever its reservation."""


@dataclass(frozen=True)
class PteRmw(ast.PteWrite):
    """`r := swap(pte(V), e)` / `cas(pte(V), old, e)`: ``value`` is what it stores;
    `fetch_set(pte(V), F...)` / `fetch_clear`: ``fields`` (what it stores comes from the
    entry's value when it runs)."""

    dest: str | None = None
    op: str = ""
    expect: ast.Expr | None = None
    order: str = ""
    fields: tuple[str, ...] = ()


def order_of(st: Any) -> str:
    """An access's ordering; an atomic without one is `acq_rel`."""
    if isinstance(st, RmwAccess | ast.Atomic | PteRmw):
        return st.order or "acq_rel"
    if isinstance(st, ast.Access | ast.PteWrite):  # `pte release V := v` too
        return st.order
    return ""


def lowered(checked: Any, s: ast.Stmt) -> ast.Stmt:
    """An atomic on a page or on `pte(V)` as the access or PTE store it is; anything
    else unchanged."""
    if not isinstance(s, ast.Atomic):
        return s
    t = s.target
    if isinstance(t, ast.PteRead) and s.op in ("load_exclusive", "store_exclusive"):
        value = s.args[0].value if s.args and isinstance(s.args[0], ast.PteLit) else (
            s.args[0] if s.args else ast.Invalid())  # fmt: skip
        return PteRmw(t.page, value, dest=s.dest, op=s.op, order=s.order or "relaxed",
                      span=s.span)  # fmt: skip
    if isinstance(t, ast.PteRead) and s.fields:
        return PteRmw(t.page, ast.Invalid(), dest=s.dest, op=s.op, order=s.order,
                      fields=s.fields, span=s.span)  # fmt: skip
    if isinstance(t, ast.PteRead):
        new = s.args[-1]
        value = new.value if isinstance(new, ast.PteLit) else new
        expect = s.args[0] if s.op == "cas" else None
        return PteRmw(t.page, value, dest=s.dest, op=s.op, expect=expect, order=s.order,
                      span=s.span)  # fmt: skip
    if isinstance(t, ast.Name) and t.name not in {v.name for v in checked.vars}:
        dest = ast.Name(s.dest, span=s.span) if s.dest is not None else None
        op = "fetch_add" if s.op == "+=" else s.op
        return RmwAccess("write", ast.PageRef(None, t.name, span=t.span), dest, None,
                         s.order, s.via, op=op, args=s.args, span=s.span)  # fmt: skip
    return s


def failing(st: ast.Access) -> XFail:
    return XFail(**{f.name: getattr(st, f.name) for f in fields(ast.Access)})




def rmw(st: Any) -> bool:
    """An atomic through a page (it moves data even without a destination)."""
    return isinstance(st, RmwAccess)
