"""The Program's declarations: shared words, address spaces, PTE values, upper-level
entries and handlers (``program.py`` re-exports them: every class is ``P.X``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from verifier.lang.span import Span


@dataclass(frozen=True)
class Word:
    name: str
    lo: int
    hi: int
    init: int
    owner: str | None = None  # the core a family variable's word belongs to (`seen[cpu[1]]`)


@dataclass(frozen=True)
class Space:
    name: str
    asid: int
    entries: tuple[int, ...]  # per page: the wid of its initial PTE value


USER = 8  # the permission bit of a user-mode access (`user`: arm64 AP[1], herd's el0; x86 U/S)
FIELD_BITS = {"write": 2, "exec": 4, "user": USER}  # the permission bits of PTE fields


@dataclass(frozen=True)
class PteValue:
    """A PTE value a write or declaration stores (``frame`` -1: invalid)."""

    frame: int
    perms: int  # bit 1 r, 2 w, 4 x, 8 user (USER)
    global_: bool
    text: str
    span: Span | None
    kept: tuple[int, int] = (-1, 0)  # frame, perms an invalid entry keeps (`invalid A rw`)
    af: bool = True  # arm64 access flag (`old`: clear) and dirty-bit modifier (`dbm`)
    dbm: bool = False

    @property
    def key(self) -> tuple[object, ...]:  # whole-value comparisons
        return (self.frame, self.perms, self.global_, self.kept, self.af, self.dbm)

    def with_fields(self, op: str, names: tuple[str, ...]) -> PteValue | None:
        """This value with fields ``names`` set (``op`` fetch_set) or cleared (fetch_clear),
        as `fetch_set(pte(V), ...)` stores it and `pte_set(v, ...)` gives it
        (docs/arm64.md §1): an invalid value keeps its frame, permissions and flags and
        `present` makes it valid with them (None when it keeps no frame: no valid value);
        a valid one made invalid keeps them (not its global bit); a plain `invalid` keeps
        nothing and stays as it is."""
        on = op == "fetch_set"
        valid = self.frame >= 0
        if not valid and self.kept[0] < 0:
            return None if on and "present" in names else self
        frame, perms = (self.frame, self.perms) if valid else self.kept
        af, dbm = self.af, self.dbm
        for name in names:
            if name in FIELD_BITS:
                perms = perms | FIELD_BITS[name] if on else perms & ~FIELD_BITS[name]
            elif name == "young":
                af = on
            elif name == "dbm":
                dbm = on
            else:  # present
                valid = on
        kept = (-1, 0) if valid else (frame, perms)
        frame, perms = (frame, perms) if valid else (-1, 0)
        glob = self.global_ and valid
        return replace(self, frame=frame, perms=perms, global_=glob, kept=kept, af=af, dbm=dbm)


def fields_table(keys: tuple[tuple[object, ...], ...], op: str, names: tuple[str, ...]
                 ) -> tuple[int, ...]:  # fmt: skip
    """For each PTE value number 0..len(keys) (0: no value), the number of the value with
    ``names`` set or cleared (0: none; every such value is numbered, lower_decls)."""
    out = [0]
    for k in keys:
        v = PteValue(*k[:3], "", None, *k[3:]).with_fields(op, names)  # type: ignore[arg-type]
        out.append(0 if v is None else keys.index(v.key) + 1)
    return tuple(out)


@dataclass(frozen=True)
class LFields:
    """`pte_set(v, F...)` / `pte_clear` (an expression, ``program.LExpr``): the number of
    PTE value ``value`` with ``fields`` set or cleared (``op`` fetch_set | fetch_clear), 0
    where it has none (docs/arm64.md §1)."""

    value: Any  # program.LExpr
    op: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Dir:
    """An upper-level entry: its space and initial table (an index into Program.tables;
    -1: invalid)."""

    name: str
    space: int
    init: int


@dataclass(frozen=True)
class Handler:
    name: str
    params: tuple[str, ...]
    param_kinds: tuple[str, ...]
    span: Span
