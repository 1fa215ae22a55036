"""Descriptors of a litmus test as `.tlb` PTE values (docs/arm64.md §4)."""

from __future__ import annotations

from typing import Any

from verifier.lang import ast
from verifier.lang import litmus_ast as L


def pte_of(d: L.Desc, page: str, syms: Any) -> ast.PteValue:
    """A descriptor as a `.tlb` PTE value, field for field, so two descriptors are equal
    exactly when herd7's are (oa, valid, af, db, dbm): invalid unless valid, keeping its
    output address, permissions and flags (`invalid A rw old`); `old` when af is clear
    (without hardware management an access-flag fault, never cached, docs/arm64.md §7);
    writable when db is set; `dbm` as given; the output address defaults to the page's
    own frame."""

    def flag(key: str) -> int:
        v = d.get(key)
        return v.value if isinstance(v, L.Int) else 0 if key == "dbm" else 1  # el0: 1

    oa = d.get("oa")
    frame = syms.frame(oa.name) if isinstance(oa, L.Sym) else syms.frame(page)
    perms = "rw" if flag("db") else "r"
    user = syms.el0_bits and bool(flag("el0"))  # docs/arm64.md section 8
    mapping = ast.Mapping(
        frame, perms, old=not flag("af"), dbm=bool(flag("dbm")), user=user, span=d.span
    )
    return mapping if flag("valid") else ast.Invalid(mapping, span=d.span)


def check_desc(d: L.Desc, syms: Any, err: type[Exception]) -> None:
    """The fields of descriptor ``d`` are within the subset: ``oa`` a physical page,
    ``valid``, ``af``, ``db``, ``dbm``, ``el0`` 0 or 1."""
    for key, v in d.fields:
        if key == "oa":
            if not (isinstance(v, L.Sym) and v.kind == "pa"):
                raise err(v.span, "a descriptor's oa is a physical page (phy_x or PA(x))")
            syms.frame(v.name)
            syms.oas.add(v.name)
        elif key in ("valid", "af", "db", "dbm", "el0"):
            if not isinstance(v, L.Int) or v.value not in (0, 1):
                raise err(v.span, f"descriptor field {key} is 0 or 1")
        else:
            raise err(d.span, f"descriptor field '{key}' is outside the litmus subset")
