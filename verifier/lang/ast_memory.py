"""Syntax-tree nodes of page tables as memory (docs/page-tables.md): table pages, upper-level
entries, PTE reads and frame contents.  ``ast.py`` re-exports them (every node is ``ast.X``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.lang.ast_base import Ident, Node, PageRef


@dataclass(frozen=True)
class TableDecl(Node):
    """`table T, U`: frames that are page-table pages."""

    names: tuple[Ident, ...]


@dataclass(frozen=True)
class DirDecl(Node):
    """`dir D -> T` / `dir D invalid` (``table`` None): an upper-level entry."""

    name: str
    table: str | None


@dataclass(frozen=True)
class DirWrite(Node):
    """`dir D := T` / `dir D := invalid` (``table`` None)."""

    dir: str
    table: str | None


@dataclass(frozen=True)
class PteRead(Node):
    """`pte(V).present`: one field of V's PTE as the running core sees it (a shared read);
    ``field`` empty: `pte(V)`, the whole PTE value (docs/arm64.md §1, PTE values)."""

    page: PageRef
    field: str


@dataclass(frozen=True)
class PteFields(Node):
    """`pte_set(r, young)` / `pte_clear(r, present, write)`: the PTE value ``value`` (a PTE
    register, `pte(V)` or a literal) with ``fields`` set or cleared (``op`` fetch_set or
    fetch_clear, as the atomics of the same name do it; docs/arm64.md §1)."""

    value: Any  # ast.Expr
    op: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class SlotWrite(Node):
    """`pte T[i] := A rw` / `pte T[i] := invalid`: a store to slot ``index`` of table
    ``table`` itself, linked or not (filling a table, moving entries)."""

    table: str
    index: Any  # ast.Expr, a constant
    value: Any  # ast.PteValue


@dataclass(frozen=True)
class SlotRead(Node):
    """`pte(T[i]).present`: one field of slot ``index`` of table ``table`` as the running
    core sees it (a lockless read of a table page: GUP-fast)."""

    table: str
    index: Any  # ast.Expr, a constant
    field: str


@dataclass(frozen=True)
class DirRead(Node):
    """`dir(D).present`: whether upper-level entry D is valid as the running core sees it."""

    dir: str
    field: str


@dataclass(frozen=True)
class PteLit(Node):
    """`(A rw)`, `(invalid)`, `(invalid A rw)`: a PTE value in an expression, compared
    with a register holding one (docs/arm64.md §1)."""

    value: Any  # ast.Mapping | ast.Invalid


@dataclass(frozen=True)
class CopyFrame(Node):
    """`copy A to B`: B now holds A's data (COW, migration)."""

    src: str
    dst: str


@dataclass(frozen=True)
class ZeroFrame(Node):
    """`zero A`: A's data is discarded (MADV_DONTNEED)."""

    frame: str
