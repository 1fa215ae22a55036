"""The base of every syntax-tree node and the nodes both ``ast.py`` and ``ast_memory.py``
use."""

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


@dataclass(frozen=True)
class PageRef(Node):
    """`V` (current space, or a handler parameter) or `P.V`."""

    space: str | None
    page: str
