"""The Program's declarations: shared words, address spaces, PTE values, upper-level
entries and handlers (``program.py`` re-exports them: every class is ``P.X``)."""

from __future__ import annotations

from dataclasses import dataclass

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
