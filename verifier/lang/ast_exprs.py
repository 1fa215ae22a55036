"""The syntax tree's leaves: the node base, expressions, core sets, pages and PTE values
(re-exported by `ast`, which holds statements and declarations)."""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.lang.span import NOSPAN, Span


@dataclass(frozen=True)
class Node:
    span: Span = field(default=NOSPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Ident(Node):
    """A declared name, kept with its own span for diagnostics."""

    name: str


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Num(Node):
    value: int


@dataclass(frozen=True)
class Name(Node):
    """A register, param, shared word, page (as IPI argument) or core variable."""

    name: str


@dataclass(frozen=True)
class SelfRef(Node):
    """`self`: the running core (its index inside its family)."""


@dataclass(frozen=True)
class Index(Node):
    """`seen[c]`, `seen[self]`, `seen[cpu[2]]`: one word of a per-core variable."""

    name: str
    index: Expr | Target


@dataclass(frozen=True)
class PageName(Node):
    """`P.V` used as a value (an IPI argument naming a page of space P)."""

    space: str
    page: str


@dataclass(frozen=True)
class Unary(Node):
    op: str  # '-' | '!'
    operand: Expr


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / % == != < <= > >= && ||
    left: Expr
    right: Expr


Expr = Num | Name | SelfRef | Index | PageName | Unary | Binary


# ---------------------------------------------------------------- core sets


@dataclass(frozen=True)
class TargetName(Node):
    """A core name (`init`) or a `for` variable (`c`)."""

    name: str


@dataclass(frozen=True)
class TargetIndex(Node):
    """`cpu[2]`: one core of a family."""

    family: str
    index: Expr


@dataclass(frozen=True)
class TargetFamily(Node):
    """`cpu[*]`: every core of a family."""

    family: str


@dataclass(frozen=True)
class TargetOthers(Node):
    """`others`: every core but the one executing."""


@dataclass(frozen=True)
class TargetAll(Node):
    """`all`: every core."""


Target = TargetName | TargetIndex | TargetFamily | TargetOthers | TargetAll


# ---------------------------------------------------------------- pages and PTE values


@dataclass(frozen=True)
class PageRef(Node):
    """`V` (current space, or a handler parameter) or `P.V`."""

    space: str | None
    page: str


@dataclass(frozen=True)
class Mapping(Node):
    """`B rw` or `C rx global`."""

    frame: str
    perms: str  # canonical order: subset of "rwx" in that order
    global_: bool = False


@dataclass(frozen=True)
class Invalid(Node):
    """`invalid`: no valid mapping."""


PteValue = Mapping | Invalid
