"""What the parse-tree -> AST transformer's parts share: spans and syntax problems.

The transformer (``parse._ToAst``) is assembled from three parts, each with its own
reason to change: declarations (``to_ast_decls``), statements (``to_ast_stmts``) and
core sets and expressions (``to_ast_exprs``).  Each part is a Lark ``Transformer``
whose rule methods receive the rule's meta and children (``@v_args(meta=True)`` is
applied per part: Lark does not wrap inherited methods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lark import Token, Transformer_NonRecursive

from verifier.lang.span import Span


@dataclass
class Problem(Exception):
    """A syntax problem found while building the AST (raised inside the transformer)."""

    span: Span
    message: str


class Spans(Transformer_NonRecursive):
    """Turns Lark positions into our own ``Span`` of ``file``.  Non-recursive: any depth
    becomes a tree; `nesting.py` then bounds the depth, located."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 0, 0, 0, 0)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok(self, tok: Token) -> Span:
        return Span(self.file, tok.line or 0, tok.column or 0, tok.end_line or 0,
                    tok.end_column or 0)  # fmt: skip


def int_literal(text: str) -> int:
    """An integer literal: `0x` hex, else decimal (leading zeros allowed: `007` is 7)."""
    return int(text, 16) if text[:2] in ("0x", "0X") else int(text, 10)
