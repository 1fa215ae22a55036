"""Text -> AST. The only module that sees Lark objects.

The grammar (`grammar.lark`) is LALR(1) with the contextual lexer. A Lark
transformer turns the parse tree into `verifier.lang.ast` nodes with our own
`Span`s; syntax errors become one `SpecError` diagnostic in plain words.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import PatternStr

from verifier.lang import ast
from verifier.lang.diagnostics import Diagnostic, Note, SpecError
from verifier.lang.span import Span

PERMS = "rwx"
ATOMIC_ARITY = {"fetch_add": 1, "swap": 1, "cas": 2}
BINARY_OPS = {
    "or_": "||", "and_": "&&", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">",
    "ge": ">=", "add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%",
}  # fmt: skip


@functools.cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True)


def keywords() -> frozenset[str]:
    """Every word the grammar uses as a keyword somewhere (each reserved only in context)."""
    return frozenset(
        str(t.pattern.value)
        for t in _parser().terminals
        if isinstance(t.pattern, PatternStr) and str(t.pattern.value).isidentifier()
    )


@dataclass
class _Problem(Exception):
    """A syntax problem found while building the AST (raised inside the transformer)."""

    span: Span
    message: str


@dataclass
class _Chain:
    """An `if / else if / else` chain still open to an `else` on the next line."""

    arms: list[tuple[ast.Expr, tuple[ast.Stmt, ...], Span]]
    orelse: tuple[ast.Stmt, ...] | None = None

    def add_else(self, clause: _Else) -> None:
        if self.orelse is not None:
            raise _Problem(clause.span, "this 'if' already has an 'else'")
        if isinstance(clause.body, _Chain):
            self.arms += clause.body.arms
            self.orelse = clause.body.orelse
        else:
            self.orelse = clause.body

    def build(self) -> ast.If:
        orelse = self.orelse
        for cond, then, span in reversed(self.arms):
            node = ast.If(cond, then, orelse, span=span)
            orelse = (node,)
        return node


@dataclass(frozen=True)
class _Else:
    """An `else` clause not yet attached to its `if` (it may start a new line)."""

    body: tuple[ast.Stmt, ...] | _Chain
    span: Span


def canonical_perms(letters: str) -> str:
    """`wr` -> `rw`; strings with unknown or repeated letters are kept for the checker."""
    if set(letters) <= set(PERMS) and len(set(letters)) == len(letters):
        return "".join(p for p in PERMS if p in letters)
    return letters


def _statements(items: list[Any]) -> tuple[ast.Stmt, ...]:
    """Fold each `else` into the `if` chain just before it; build the `if` nodes."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, _Else):
            if not out or not isinstance(out[-1], _Chain):
                raise _Problem(item.span, "'else' without an 'if' before it")
            out[-1].add_else(item)
        else:
            out.append(item)
    return tuple(s.build() if isinstance(s, _Chain) else s for s in out)


@v_args(meta=True)
class _ToAst(Transformer[Token, ast.Spec]):
    """Parse tree -> AST. Each method receives the rule's Lark meta and its children."""

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

    # ------------------------------------------------------------ declarations

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
        return ast.OptionDecl(str(c[0]), c[1], span=self._span(meta))

    def option_value(self, meta: Any, c: list[Token]) -> str | int:
        if c[0].type == "INT":
            return int(str(c[0]), 0)
        return "-".join(str(t) for t in c)

    def frame_decl(self, meta: Any, c: list[ast.Ident]) -> ast.FrameDecl:
        return ast.FrameDecl(tuple(c), span=self._span(meta))

    def ident(self, meta: Any, c: list[Token]) -> ast.Ident:
        return ast.Ident(str(c[0]), span=self._span(meta))

    def page_decl(self, meta: Any, c: list[Any]) -> ast.PageDecl:
        return ast.PageDecl(str(c[0]), c[1], span=self._span(meta))

    def mapping(self, meta: Any, c: list[Token]) -> ast.Mapping:
        perms = canonical_perms(str(c[1]))
        return ast.Mapping(str(c[0]), perms, len(c) == 3, span=self._span(meta))

    def invalid(self, meta: Any, c: list[Any]) -> ast.Invalid:
        return ast.Invalid(span=self._span(meta))

    def space_decl(self, meta: Any, c: list[Any]) -> ast.SpaceDecl:
        return ast.SpaceDecl(str(c[0]), c[1], tuple(c[2:]), span=self._span(meta))

    def var_decl(self, meta: Any, c: list[Any]) -> ast.VarDecl:
        family = next((x[0] for x in c[1:] if isinstance(x, list) and len(x) == 1), None)
        rng = next((x for x in c[1:] if isinstance(x, tuple)), (None, None))
        return ast.VarDecl(str(c[0]), family, c[-1], rng[0], rng[1], span=self._span(meta))

    def var_family(self, meta: Any, c: list[Token]) -> list[str]:
        return [str(c[0])]

    def var_range(self, meta: Any, c: list[Any]) -> tuple[ast.Expr, ast.Expr]:
        return (c[0], c[1])

    def core_decl(self, meta: Any, c: list[Any]) -> ast.CoreDecl:
        lo = hi = space = None
        for x in c[1:-1]:
            if isinstance(x, tuple):
                lo, hi = x
            else:
                space = x
        return ast.CoreDecl(str(c[0]), lo, hi, space, c[-1], span=self._span(meta))

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

    # ------------------------------------------------------------ statements

    def block(self, meta: Any, c: list[Any]) -> tuple[ast.Stmt, ...]:
        return _statements(c)

    def pte_stmt(self, meta: Any, c: list[Any]) -> ast.PteWrite:
        return ast.PteWrite(c[0], c[1], span=self._span(meta))

    def page_ref(self, meta: Any, c: list[Token]) -> ast.PageRef:
        if len(c) == 2:
            return ast.PageRef(str(c[0]), str(c[1]), span=self._span(meta))
        return ast.PageRef(None, str(c[0]), span=self._span(meta))

    def page_name(self, meta: Any, c: list[Token]) -> ast.PageName:
        return ast.PageName(str(c[0]), str(c[1]), span=self._span(meta))

    def lvalue(self, meta: Any, c: list[Any]) -> ast.Name | ast.Index:
        if len(c) == 2:
            return self._index(meta, c)
        return ast.Name(str(c[0]), span=self._span(meta))

    def assign(self, meta: Any, c: list[Any]) -> ast.Assign:
        return ast.Assign(c[0], c[1], span=self._span(meta))

    def atomic_call(self, meta: Any, c: list[Any]) -> ast.Atomic:
        dest, fn, args = c[0], c[1], c[2:]
        span = self._span(meta)
        if str(fn) not in ATOMIC_ARITY:
            raise _Problem(
                self._tok(fn), f"unknown operation '{fn}' (expected fetch_add, swap or cas)"
            )
        if not isinstance(dest, ast.Name):
            raise _Problem(dest.span, f"the result of {fn} must go to a register")
        if not args or not isinstance(args[0], ast.Name | ast.Index):
            raise _Problem(span, f"{fn} needs a shared word as its first argument")
        return ast.Atomic(dest.name, str(fn), args[0], tuple(args[1:]), span=span)

    def atomic_add(self, meta: Any, c: list[Any]) -> ast.Atomic:
        return ast.Atomic(None, "+=", c[0], (c[1],), span=self._span(meta))

    def fence(self, meta: Any, c: list[Token]) -> ast.Fence:
        return ast.Fence(str(c[0]) if c else "full", span=self._span(meta))

    def ipi(self, meta: Any, c: list[Any]) -> ast.Ipi:
        has_args = isinstance(c[-1], list)
        args = tuple(c[-1]) if has_args else ()
        rest = c[:-1] if has_args else c
        targets, handler = tuple(rest[:-1]), str(rest[-1])
        return ast.Ipi(targets, handler, args, has_parens=has_args, span=self._span(meta))

    def ipi_args(self, meta: Any, c: list[Any]) -> list[Any]:
        return list(c)

    def invlpg(self, meta: Any, c: list[Any]) -> ast.Invlpg:
        return ast.Invlpg(c[0], span=self._span(meta))

    def flush_asid(self, meta: Any, c: list[Token]) -> ast.FlushAsid:
        return ast.FlushAsid(str(c[0]), span=self._span(meta))

    def flush_all(self, meta: Any, c: list[Any]) -> ast.FlushAll:
        return ast.FlushAll(span=self._span(meta))

    def access(self, meta: Any, c: list[Any]) -> ast.Access:
        return ast.Access(str(c[0]), c[1], span=self._span(meta))

    def switch(self, meta: Any, c: list[Token]) -> ast.Switch:
        return ast.Switch(str(c[0]), span=self._span(meta))

    def free(self, meta: Any, c: list[Token]) -> ast.Free:
        return ast.Free(str(c[0]), span=self._span(meta))

    def complete(self, meta: Any, c: list[Any]) -> ast.Complete:
        return ast.Complete(c[0], span=self._span(meta))

    def await_stmt(self, meta: Any, c: list[Any]) -> ast.Await:
        return ast.Await(c[0], span=self._span(meta))

    def if_stmt(self, meta: Any, c: list[Any]) -> _Chain:
        chain = _Chain([(c[0], c[1], self._span(meta))])
        if len(c) == 3:
            chain.add_else(c[2])
        return chain

    def else_clause(self, meta: Any, c: list[Any]) -> _Else:
        return _Else(c[0], self._span(meta))

    def while_stmt(self, meta: Any, c: list[Any]) -> ast.While:
        return ast.While(c[0], c[1], span=self._span(meta))

    def loop_stmt(self, meta: Any, c: list[Any]) -> ast.Loop:
        return ast.Loop(c[0], span=self._span(meta))

    def repeat_stmt(self, meta: Any, c: list[Any]) -> ast.Repeat:
        return ast.Repeat(c[0], c[1], span=self._span(meta))

    def for_stmt(self, meta: Any, c: list[Any]) -> ast.For:
        return ast.For(str(c[0]), c[1], c[2], span=self._span(meta))

    def irq(self, meta: Any, c: list[Token]) -> ast.Irq:
        return ast.Irq(str(c[0]) == "on", span=self._span(meta))

    def assert_stmt(self, meta: Any, c: list[Any]) -> ast.Assert:
        return ast.Assert(c[0], span=self._span(meta))

    def skip(self, meta: Any, c: list[Any]) -> ast.Skip:
        return ast.Skip(span=self._span(meta))

    # ------------------------------------------------------------ core sets

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
        return ast.Num(int(str(c[0]), 0), span=self._span(meta))

    def name(self, meta: Any, c: list[Token]) -> ast.Name:
        return ast.Name(str(c[0]), span=self._span(meta))

    def self_ref(self, meta: Any, c: list[Any]) -> ast.SelfRef:
        return ast.SelfRef(span=self._span(meta))

    def index(self, meta: Any, c: list[Any]) -> ast.Index:
        return self._index(meta, c)

    def _index(self, meta: Any, c: list[Any]) -> ast.Index:
        sub = c[1]
        # `seen[cpu[2]]`: an index inside an index names one core of a family.
        if isinstance(sub, ast.Index) and not isinstance(sub.index, ast.Target):
            sub = ast.TargetIndex(sub.name, sub.index, span=sub.span)
        return ast.Index(str(c[0]), sub, span=self._span(meta))

    def neg(self, meta: Any, c: list[Any]) -> ast.Unary:
        return ast.Unary("-", c[0], span=self._span(meta))

    def not_(self, meta: Any, c: list[Any]) -> ast.Unary:
        return ast.Unary("!", c[0], span=self._span(meta))

    def __default__(self, data: Any, children: list[Any], meta: Any) -> Any:
        op = BINARY_OPS.get(str(data))
        if op is None:  # pragma: no cover - every rule has a method
            raise AssertionError(f"no transformer for rule {data}")
        return ast.Binary(op, children[0], children[1], span=self._span(meta))


def parse_text(text: str, file: str) -> ast.Spec:
    """Parse a whole spec; raise SpecError with one diagnostic on a syntax error."""
    sources = {file: text}
    try:
        tree = _parser().parse(text)
        return _ToAst(file).transform(tree)
    except UnexpectedInput as exc:
        raise SpecError([_syntax_diagnostic(exc, text, file)], sources) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, _Problem):
            raise SpecError(
                [Diagnostic(exc.orig_exc.span, exc.orig_exc.message)], sources
            ) from None
        if isinstance(exc.orig_exc, RecursionError):
            raise _too_deep(file, sources) from None
        raise
    except RecursionError:
        raise _too_deep(file, sources) from None


def _too_deep(file: str, sources: dict[str, str]) -> SpecError:
    return SpecError([Diagnostic(Span(file, 1, 1, 1, 1), "the spec is nested too deeply")], sources)


# ---------------------------------------------------------------- syntax errors

_STATEMENT_WORDS = {"pte", "fence", "ipi", "invlpg", "read", "await", "skip", "loop"}
_DECL_WORDS = {"core", "handler", "frame", "page", "var", "param"}
_DECL_KEYWORDS = ("spec", "model", "param", "option", "frame", "page", "space", "var", "core",
                  "handler", "expect")  # fmt: skip
_EXPR_WORDS = {"(", "!", "INT"}
_NAMED = {"NAME": "a name", "INT": "an integer", "STRING": "a string in double quotes",
          "_SEP": "a new line or ';'", "$END": "end of file"}  # fmt: skip


def _literal(terminal: str) -> str | None:
    for t in _parser().terminals:
        if t.name == terminal and isinstance(t.pattern, PatternStr):
            return str(t.pattern.value)
    return None


def _describe_expected(expected: set[str]) -> str:
    words = {_literal(t) or t for t in expected}
    if words & _STATEMENT_WORDS >= {"pte", "fence"}:
        return "a statement or '}'" if "}" in words else "a statement"
    if words & _DECL_WORDS == _DECL_WORDS:
        return "a declaration (" + ", ".join(_DECL_KEYWORDS) + ")"
    if words >= _EXPR_WORDS:
        return "an expression"
    names = sorted(_NAMED.get(t) or f"'{_literal(t) or t}'" for t in expected)
    if len(names) > 6:
        names = [*names[:6], "..."]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type == "_SEP":
        return "end of line" if str(tok).startswith("\n") else "';'"
    return f"'{tok}'"


def _syntax_diagnostic(exc: UnexpectedInput, text: str, file: str) -> Diagnostic:
    line, col = exc.line, exc.column
    if line is None or line < 1:  # end of file: point just past the last character
        lines = text.splitlines() or [""]
        line, col = len(lines), len(lines[-1]) + 1
    span = Span(file, line, col, line, col + 1)
    if isinstance(exc, UnexpectedCharacters):
        if exc.char == '"':
            return Diagnostic(span, "unterminated string (it must end with '\"' on the same line)")
        return Diagnostic(span, f"unexpected character {exc.char!r}")
    assert isinstance(exc, UnexpectedToken)
    tok, expected = exc.token, set(_accepts(exc))
    if tok.type != "$END":
        span = Span(file, line, col, tok.end_line or line, tok.end_column or col + 1)
    words = {_literal(t) for t in expected}
    got = _describe_token(tok)
    notes: tuple[Note, ...] = ()
    if str(tok) == "=" and ":=" in words:
        message = "expected ':=' to assign ('=' is only for param, option and var declarations)"
    elif str(tok) == ":=" and "=" in words:
        message = "expected '=' in a declaration (':=' is the assignment statement)"
    elif "->" in words and "invalid" in words:
        message = f"unexpected {got}; expected '->' after the page name (page V -> FRAME PERMS)"
    elif tok.type == "$END" and "}" in words:
        message = "unexpected end of file: a '}' is missing"
        opened = _unclosed_brace(text, file)
        notes = (Note(opened, "this '{' is not closed"),) if opened else ()
    else:
        message = f"unexpected {got}; expected {_describe_expected(expected)}"
    return Diagnostic(span, message, notes)


def _accepts(exc: UnexpectedToken) -> set[str]:
    """The terminals the parser could take here (keywords included, unlike `expected`)."""
    try:
        return set(exc.accepts) or set(exc.expected)
    except Exception:  # pragma: no cover - accepts needs an interactive parser
        return set(exc.expected)


def _unclosed_brace(text: str, file: str) -> Span | None:
    stack: list[tuple[int, int]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        code = line.split("//", 1)[0]
        for col, ch in enumerate(code, 1):
            if ch == "{":
                stack.append((lineno, col))
            elif ch == "}" and stack:
                stack.pop()
    if not stack:
        return None
    lineno, col = stack[-1]
    return Span(file, lineno, col, lineno, col + 1)
