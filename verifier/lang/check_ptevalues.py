"""Registers that hold whole PTE values (docs/arm64.md §1, PTE values): a register a body
assigns `pte(V)`, a PTE value `(B rw)` or another such register holds PTE values only.
It may be stored (`pte V := r`), copied, and compared with `==`/`!=` with another PTE
value; it may not also hold numbers, and a number is never compared with a PTE value.
So the number a register holds for a PTE value is never observable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields

from verifier.lang import ast

EXPRS = (
    ast.Num, ast.Name, ast.SelfRef, ast.Index, ast.PageName, ast.PteRead, ast.PteLit,
    ast.Unary, ast.Binary, ast.PteFields,
)  # fmt: skip


def pte_registers(stmts: list[ast.Stmt], is_register: Callable[[str], bool]) -> set[str]:
    """The registers of a body that hold PTE values."""
    out: set[str] = set()
    while True:
        more = {
            s.target.name
            for s in stmts
            if isinstance(s, ast.Assign)
            and isinstance(s.target, ast.Name)
            and is_register(s.target.name)
            and _typed(s.value, out)
        } | {s.dest for s in stmts if on_pte(s) and s.dest is not None
             and s.op != "store_exclusive"}  # fmt: skip
        if more <= out:
            return out
        out |= more


def on_pte(s: ast.Stmt) -> bool:
    """An atomic on a PTE, `r := swap(pte(V), e)` / `cas(pte(V), old, new)`."""
    return isinstance(s, ast.Atomic) and isinstance(s.target, ast.PteRead)


def _typed(e: object, regs: set[str]) -> bool:
    return (
        isinstance(e, ast.PteLit | ast.PteFields)
        or (isinstance(e, ast.PteRead) and e.field == "")
        or (isinstance(e, ast.Name) and e.name in regs)
    )


def check_pte_values(
    stmts: list[ast.Stmt], regs: set[str], err: Callable[[ast.Node, str], None]
) -> None:
    """Report every use of a PTE value other than storing, copying and comparing it."""
    for s in stmts:
        if isinstance(s, ast.PteWrite) and isinstance(s.value, ast.Name):
            if s.value.name not in regs:
                err(s.value, f"'{s.value.name}' holds no PTE value: `pte V := r` stores a "
                    "register set from pte(V), a PTE value or another such register")  # fmt: skip
            continue
        if on_pte(s):
            assert isinstance(s, ast.Atomic)
            for e in s.args:
                if not _typed(e, regs):
                    err(e, f"{s.op}(pte(V), ...) takes PTE values: a register set from "
                        "pte(V), a PTE value or another such register")  # fmt: skip
            continue
        target = _target(s)
        if target in regs and not (isinstance(s, ast.Assign) and _typed(s.value, regs)):
            err(s, f"register '{target}' holds PTE values: it cannot also hold a number")
        top = s.value if isinstance(s, ast.Assign) and target in regs else None
        for e in _exprs(s):
            if e is not top:
                _visit(e, regs, err)
            elif isinstance(e, ast.PteFields):
                _fields_of(e, regs, err)


def _target(s: ast.Stmt) -> str | None:
    if isinstance(s, ast.Assign) and isinstance(s.target, ast.Name):
        return s.target.name
    if isinstance(s, ast.Atomic):
        return s.dest
    if isinstance(s, ast.Access) and s.dest is not None:
        return s.dest.name
    return None


def _exprs(s: ast.Stmt) -> Iterator[ast.Expr]:
    """The expressions of statement ``s`` (not its assigned target, not nested bodies)."""
    for f in fields(s):
        if f.name in ("target", "dest"):
            continue
        v = getattr(s, f.name)
        for x in v if isinstance(v, tuple) else (v,):
            if isinstance(x, EXPRS):
                yield x


def _fields_of(e: ast.PteFields, regs: set[str], err: Callable[[ast.Node, str], None]) -> None:
    """`pte_set(v, ...)`: ``v`` is a PTE value."""
    if isinstance(e.value, ast.PteFields):
        _fields_of(e.value, regs, err)
    elif not _typed(e.value, regs):
        err(e.value, f"pte_{e.op[6:]}(v, ...) changes fields of a PTE value: v is a register "
            "set from pte(V), a PTE value or another such register")  # fmt: skip


def _visit(e: ast.Expr, regs: set[str], err: Callable[[ast.Node, str], None]) -> None:
    if isinstance(e, ast.PteFields):
        _fields_of(e, regs, err)
    if _typed(e, regs):
        err(e, "a PTE value is only stored, copied or compared (==, !=) with another")
        return
    if isinstance(e, ast.Binary) and e.op in ("==", "!=") and (
        _typed(e.left, regs) or _typed(e.right, regs)
    ):
        if not (_typed(e.left, regs) and _typed(e.right, regs)):
            err(e, "a PTE value is compared with a number")
        return
    if isinstance(e, ast.Unary):
        _visit(e.operand, regs, err)
    elif isinstance(e, ast.Binary):
        _visit(e.left, regs, err)
        _visit(e.right, regs, err)
    elif isinstance(e, ast.Index) and isinstance(e.index, EXPRS):
        _visit(e.index, regs, err)
