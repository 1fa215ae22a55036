"""Parse tree -> AST, core sets (IPI targets) and expressions."""

from __future__ import annotations

from typing import Any

from lark import Token, v_args

from verifier.lang import ast
from verifier.lang.span import Span
from verifier.lang.to_ast import Spans, int_literal

BINARY_OPS = {
    "or_": "||", "and_": "&&", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">",
    "ge": ">=", "add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%",
}  # fmt: skip


def index_node(span: Span, c: list[Any]) -> ast.Index:
    """`name[sub]`, as an expression or an assignment target."""
    sub = c[1]
    # `seen[cpu[2]]`: an index inside an index names one core of a family.
    if isinstance(sub, ast.Index) and not isinstance(sub.index, ast.Target):
        sub = ast.TargetIndex(sub.name, sub.index, span=sub.span)
    return ast.Index(str(c[0]), sub, span=span)


@v_args(meta=True)
class ExprRules(Spans):
    """Core sets and expressions."""

    def target_name(self, meta: Any, c: list[Token]) -> ast.TargetName:
        return ast.TargetName(str(c[0]), span=self._span(meta))

    def target_index(self, meta: Any, c: list[Any]) -> ast.TargetIndex:
        return ast.TargetIndex(str(c[0]), c[1], span=self._span(meta))

    def target_family(self, meta: Any, c: list[Token]) -> ast.TargetFamily:
        return ast.TargetFamily(str(c[0]), span=self._span(meta))

    def target_others(self, meta: Any, c: list[Any]) -> ast.TargetOthers:
        return ast.TargetOthers(span=self._span(meta))

    def target_all(self, meta: Any, c: list[Any]) -> ast.TargetAll:
        return ast.TargetAll(span=self._span(meta))

    # ------------------------------------------------------------ expressions

    def num(self, meta: Any, c: list[Token]) -> ast.Num:
        return ast.Num(int_literal(str(c[0])), span=self._span(meta))

    def name(self, meta: Any, c: list[Token]) -> ast.Name:
        return ast.Name(str(c[0]), span=self._span(meta))

    def self_ref(self, meta: Any, c: list[Any]) -> ast.SelfRef:
        return ast.SelfRef(span=self._span(meta))

    def index(self, meta: Any, c: list[Any]) -> ast.Index:
        return index_node(self._span(meta), c)

    def pte_read(self, meta: Any, c: list[Any]) -> ast.PteRead:
        return ast.PteRead(c[0], str(c[1]), span=self._span(meta))

    def slot_read(self, meta: Any, c: list[Any]) -> ast.SlotRead:
        return ast.SlotRead(c[0][0], c[0][1], str(c[1]), span=self._span(meta))

    def dir_read(self, meta: Any, c: list[Any]) -> ast.DirRead:
        return ast.DirRead(str(c[0]), str(c[1]), span=self._span(meta))

    def pte_whole(self, meta: Any, c: list[Any]) -> ast.PteRead:
        return ast.PteRead(c[0], "", span=self._span(meta))

    def pte_set(self, meta: Any, c: list[Any]) -> ast.PteFields:
        return ast.PteFields(c[0], "fetch_set", tuple(map(str, c[1:])), span=self._span(meta))

    def pte_clear(self, meta: Any, c: list[Any]) -> ast.PteFields:
        return ast.PteFields(c[0], "fetch_clear", tuple(map(str, c[1:])), span=self._span(meta))

    def pte_lit(self, meta: Any, c: list[Any]) -> ast.PteLit:
        return ast.PteLit(c[0], span=self._span(meta))

    def neg(self, meta: Any, c: list[Any]) -> ast.Unary:
        return ast.Unary("-", c[0], span=self._span(meta))

    def not_(self, meta: Any, c: list[Any]) -> ast.Unary:
        return ast.Unary("!", c[0], span=self._span(meta))

    def __default__(self, data: Any, children: list[Any], meta: Any) -> Any:
        op = BINARY_OPS.get(str(data))
        if op is None:  # pragma: no cover - every rule has a method
            raise AssertionError(f"no transformer for rule {data}")
        return ast.Binary(op, children[0], children[1], span=self._span(meta))
