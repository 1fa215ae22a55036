"""Parse tree -> AST, declarations: spec, model, params, options, frames, pages, spaces,
variables, cores, handlers and expectations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token, v_args

from verifier.lang import ast
from verifier.lang.to_ast import Spans, int_literal

PERMS = "rwx"


def canonical_perms(letters: str) -> str:
    """`wr` -> `rw`; strings with unknown or repeated letters are kept for the checker."""
    if set(letters) <= set(PERMS) and len(set(letters)) == len(letters):
        return "".join(p for p in PERMS if p in letters)
    return letters


@dataclass(frozen=True)
class OnFault:
    body: tuple[ast.Stmt, ...]
    resume: bool = False


@v_args(meta=True)
class DeclRules(Spans):
    """Declarations (the top level of a spec)."""

    def start(self, meta: Any, c: list[Any]) -> ast.Spec:
        return ast.Spec(tuple(c), file=self.file, span=self._span(meta))

    def spec_title(self, meta: Any, c: list[Token]) -> ast.SpecTitle:
        title = re.sub(r"\\(.)", r"\1", str(c[0])[1:-1])  # `\"` -> `"`, `\\` -> `\`
        return ast.SpecTitle(title, span=self._span(meta))

    def model_decl(self, meta: Any, c: list[Token]) -> ast.ModelDecl:
        return ast.ModelDecl(str(c[0]), span=self._span(meta))

    def param_decl(self, meta: Any, c: list[Any]) -> ast.ParamDecl:
        return ast.ParamDecl(str(c[0]), c[1], span=self._span(meta))

    def option_decl(self, meta: Any, c: list[Any]) -> ast.OptionDecl:
        cores = tuple(str(t) for t in c[2:])
        return ast.OptionDecl(str(c[0]), c[1], cores, span=self._span(meta))

    def option_value(self, meta: Any, c: list[Token]) -> str | int:
        if c[0].type == "INT":
            return int_literal(str(c[0]))
        return "-".join(str(t) for t in c)

    def frame_decl(self, meta: Any, c: list[tuple[ast.Ident, Any]]) -> ast.FrameDecl:
        names = tuple(i for i, _ in c)
        data = tuple(d for _, d in c) if any(d is not None for _, d in c) else ()
        return ast.FrameDecl(names, data, span=self._span(meta))

    def frame_item(self, meta: Any, c: list[Any]) -> tuple[ast.Ident, Any]:
        return c[0], (c[1] if len(c) > 1 else None)

    def ident(self, meta: Any, c: list[Token]) -> ast.Ident:
        return ast.Ident(str(c[0]), span=self._span(meta))

    def page_decl(self, meta: Any, c: list[Any]) -> ast.PageDecl:
        at = c[1] if isinstance(c[1], tuple) else None
        return ast.PageDecl(str(c[0]), c[-1], at, span=self._span(meta))

    def table_decl(self, meta: Any, c: list[ast.Ident]) -> ast.TableDecl:
        return ast.TableDecl(tuple(c), span=self._span(meta))

    def dir_decl(self, meta: Any, c: list[Any]) -> ast.DirDecl:
        table = str(c[1]) if isinstance(c[1], Token) else None
        return ast.DirDecl(str(c[0]), table, span=self._span(meta))

    def slot(self, meta: Any, c: list[Any]) -> tuple[str, ast.Expr]:
        return (str(c[0]), c[1])

    def mapping(self, meta: Any, c: list[Token]) -> ast.Mapping:
        perms = canonical_perms(str(c[1]))
        words = {str(t) for t in c[2:]}
        glob, old, dbm = "global" in words, "old" in words, "dbm" in words
        user = "user" in words
        return ast.Mapping(str(c[0]), perms, glob, old, dbm, user, span=self._span(meta))

    def invalid(self, meta: Any, c: list[Any]) -> ast.Invalid:
        return ast.Invalid(span=self._span(meta))

    def kept(self, meta: Any, c: list[Any]) -> ast.Invalid:
        return ast.Invalid(c[0], span=self._span(meta))

    def space_decl(self, meta: Any, c: list[Any]) -> ast.SpaceDecl:
        pages = tuple(x for x in c[2:] if isinstance(x, ast.PageDecl))
        dirs = tuple(x for x in c[2:] if isinstance(x, ast.DirDecl))
        return ast.SpaceDecl(str(c[0]), c[1], pages, dirs, span=self._span(meta))

    def var_decl(self, meta: Any, c: list[Any]) -> ast.VarDecl:
        family = next((x[0] for x in c[1:] if isinstance(x, list) and len(x) == 1), None)
        rng = next((x for x in c[1:] if isinstance(x, tuple)), (None, None))
        return ast.VarDecl(str(c[0]), family, c[-1], rng[0], rng[1], span=self._span(meta))

    def var_family(self, meta: Any, c: list[Token]) -> list[str]:
        return [str(c[0])]

    def var_range(self, meta: Any, c: list[Any]) -> tuple[ast.Expr, ast.Expr]:
        return (c[0], c[1])

    def core_decl(self, meta: Any, c: list[Any]) -> ast.CoreDecl:
        lo = hi = space = fault = None
        resume = False
        if isinstance(c[-1], OnFault):
            handler = c.pop()
            fault, resume = handler.body, handler.resume
        for x in c[1:-1]:
            if isinstance(x, tuple):
                lo, hi = x
            else:
                space = x
        core = ast.CoreDecl(str(c[0]), lo, hi, space, c[-1], fault, resume, span=self._span(meta))
        return core

    def on_fault(self, meta: Any, c: list[Any]) -> OnFault:
        return OnFault(c[-1], len(c) == 2)  # `on fault resume { ... }`

    def core_range(self, meta: Any, c: list[Any]) -> tuple[ast.Expr, ast.Expr]:
        return (c[0], c[1])

    def core_space(self, meta: Any, c: list[Token]) -> str:
        return str(c[0])

    def handler_decl(self, meta: Any, c: list[Any]) -> ast.HandlerDecl:
        params = c[1] if len(c) == 3 else ()
        return ast.HandlerDecl(str(c[0]), params, c[-1], span=self._span(meta))

    def handler_params(self, meta: Any, c: list[ast.Ident]) -> tuple[ast.Ident, ...]:
        return tuple(c)

    def expect_decl(self, meta: Any, c: list[Any]) -> ast.ExpectDecl:
        kinds: tuple[str, ...] = ()
        models: tuple[str, ...] | None = None
        for x in c[1:]:
            if isinstance(x, list):
                models = tuple(x)
            else:
                kinds = x
        return ast.ExpectDecl(str(c[0]), kinds, models, span=self._span(meta))

    def expect_kinds(self, meta: Any, c: list[str]) -> tuple[str, ...]:
        return tuple(c)

    def expect_under(self, meta: Any, c: list[Token]) -> list[str]:
        return [str(t) for t in c]

    def dashed(self, meta: Any, c: list[Token]) -> str:
        return "-".join(str(t) for t in c)
