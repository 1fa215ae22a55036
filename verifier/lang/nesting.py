"""How deeply a spec may nest: a documented language limit, checked right after parsing.

The parser builds the syntax tree without recursion, so any depth parses; the
later passes (checking, lowering, the machine's expressions, printing) walk
trees recursively.  Rather than let Python's recursion limit show through
as an error at line 1, `check_nesting` finds the first construct past the limit
and reports it where it stands:

- statements nest at most `MAX_BLOCKS` blocks deep (`if`, `while`, `loop`,
  `repeat`, `for` inside one another);
- an expression nests at most `MAX_EXPR` operators deep (a chain
  `a + b + c + ...` counts one level per operator).
"""

from __future__ import annotations

from dataclasses import fields

from verifier.lang import ast
from verifier.lang.diagnostics import Diagnostic, SpecError

MAX_BLOCKS = 64
MAX_EXPR = 64

_BLOCKS = (ast.If, ast.While, ast.Loop, ast.Repeat, ast.For)
_OPERATORS = (ast.Unary, ast.Binary)


def _children(node: ast.Node) -> list[ast.Node]:
    out: list[ast.Node] = []
    for f in fields(node):
        value = getattr(node, f.name)
        items = value if isinstance(value, tuple) else (value,)
        out.extend(x for x in items if isinstance(x, ast.Node))
    return out


def check_nesting(spec: ast.Spec, source: str) -> None:
    """Raise a located `SpecError` at the first construct nested past the limits (for
    an expression: at the whole expression)."""
    todo: list[tuple[ast.Node, int, int, ast.Node]] = [(spec, 0, 0, spec)]
    while todo:  # node, blocks around it, operators above it, its expression's top
        node, blocks, ops, top = todo.pop()
        if isinstance(node, _BLOCKS):
            blocks += 1
            if blocks > MAX_BLOCKS:
                word = type(node).__name__.lower()
                _fail(node, source, f"`{word}` nested {blocks} blocks deep; "
                      f"statements may nest at most {MAX_BLOCKS} blocks deep")  # fmt: skip
        if isinstance(node, _OPERATORS):
            ops, top = ops + 1, (top if ops else node)
            if ops > MAX_EXPR:
                _fail(top, source, f"expression nested more than {MAX_EXPR} operators "
                      "deep (the limit; `a + b + ...` counts one level per operator)")  # fmt: skip
        else:
            ops = 0
        todo.extend((child, blocks, ops, top) for child in reversed(_children(node)))


def _fail(node: ast.Node, source: str, message: str) -> None:
    raise SpecError([Diagnostic(node.span, message)], {node.span.file: source})
