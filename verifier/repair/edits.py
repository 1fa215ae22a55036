"""Edits of a spec, each an AST transformation with the matching change of the source text.

An `Edit` is a small list of primitive operations on statements, named by the
statement objects of the parsed spec (identity, not equality: two `fence`
statements are different places).  Applied to the AST, the operations rebuild
only the blocks they touch (`apply_ast`), so edits compose: an untouched
statement is the same object before and after.  Applied to the text
(`apply_text`), each operation rewrites whole lines of the user's file, so
comments and layout stay as written; the result is parsed again and must equal
the edited AST, otherwise (a statement sharing its line with another, a brace
on the same line) the spec is printed in canonical form instead and the
candidate says so (``reprinted``).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from verifier.lang import ast
from verifier.lang.printer import expr, format_spec, simple_stmt
from verifier.lang.span import Span


class NotLocal(Exception):
    """A text change that cannot be made by rewriting whole lines."""


# ---------------------------------------------------------------- primitive operations


@dataclass(frozen=True)
class Insert:
    """New statements just before (or after) ``anchor``, in its block."""

    anchor: ast.Stmt
    stmts: tuple[ast.Stmt, ...]
    after: bool = False


@dataclass(frozen=True)
class Remove:
    """A statement taken out (a move is a `Remove` and an `Insert` of the same object)."""

    stmt: ast.Stmt


@dataclass(frozen=True)
class Replace:
    """A statement replaced by others: a wider invalidation, a new condition, or an `if`
    by its own body (``unguard``: the body keeps its lines, one level less indented)."""

    stmt: ast.Stmt
    by: tuple[ast.Stmt, ...]
    unguard: bool = False


@dataclass(frozen=True)
class AddDecl:
    """A new declaration (the handler and counter of an added shootdown), placed before
    the first `expect` line (or at the end)."""

    decl: ast.Decl


Op = Insert | Remove | Replace | AddDecl


@dataclass(frozen=True)
class Edit:
    """One change a kernel fix is made of.  ``kind`` names its entry in the edit space,
    ``text`` says what it does and where, ``at`` is where the trace guidance ranks it."""

    kind: str
    text: str
    ops: tuple[Op, ...]
    at: tuple[ast.Stmt, ...]  # the statements the edit is about (for ranking)
    after: ast.Stmt | None = None  # an insertion: the statement just before its place


# ---------------------------------------------------------------- the AST side


def apply_ast(spec: ast.Spec, ops: Sequence[Op]) -> ast.Spec:
    """``spec`` with ``ops`` applied; blocks nobody touches are kept as they are."""
    before: dict[int, list[ast.Stmt]] = {}
    after: dict[int, list[ast.Stmt]] = {}
    gone: set[int] = set()
    instead: dict[int, tuple[ast.Stmt, ...]] = {}
    new_decls: list[ast.Decl] = []
    for op in ops:
        match op:
            case AddDecl(decl=d):
                new_decls.append(d)
            case Insert(anchor=a, stmts=s, after=False):
                before.setdefault(id(a), []).extend(s)
            case Insert(anchor=a, stmts=s, after=True):
                after.setdefault(id(a), []).extend(s)
            case Remove(stmt=s):
                gone.add(id(s))
            case Replace(stmt=s, by=b):
                instead[id(s)] = b

    def block(stmts: tuple[ast.Stmt, ...]) -> tuple[ast.Stmt, ...]:
        out: list[ast.Stmt] = []
        for s in stmts:
            out += before.get(id(s), ())
            if id(s) in instead:
                out += [inner(x) for x in instead[id(s)]]
            elif id(s) not in gone:
                out.append(inner(s))
            out += after.get(id(s), ())
        return tuple(out)

    def inner(s: ast.Stmt) -> ast.Stmt:
        match s:
            case ast.If(then=t, orelse=o):
                return _same_or(s, then=block(t), orelse=None if o is None else block(o))
            case ast.While(body=b) | ast.Loop(body=b) | ast.Repeat(body=b) | ast.For(body=b):
                return _same_or(s, body=block(b))
        return s

    decls = [
        _same_or(d, body=block(d.body)) if isinstance(d, ast.CoreDecl | ast.HandlerDecl) else d
        for d in spec.decls
    ]
    at = next((i for i, d in enumerate(decls) if isinstance(d, ast.ExpectDecl)), len(decls))
    decls[at:at] = new_decls
    return dataclasses.replace(spec, decls=tuple(decls))


def _same_or(node: ast.Node, **fields: object) -> ast.Node:  # type: ignore[misc]
    """``node`` itself when no field changed (identity kept), else a copy with them."""
    if all(getattr(node, k) == v and _same_ids(getattr(node, k), v) for k, v in fields.items()):
        return node
    return dataclasses.replace(node, **fields)  # type: ignore[type-var]


def _same_ids(a: object, b: object) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))
    return a is b


# ---------------------------------------------------------------- the text side

LineOp = tuple[int, int, list[str]]  # replace lines [start, end) (0-based) by these


def apply_text(text: str, ops: Sequence[Op], expect_line: int | None = None) -> str:
    """The user's text with ``ops`` made by rewriting whole lines; `NotLocal` when an
    operation cannot be (then the caller prints the edited AST instead).  New
    declarations go before line ``expect_line`` (0-based: the first `expect`), or last."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    changes: list[LineOp] = []
    expect = expect_line if expect_line is not None else len(lines)
    for op in ops:
        changes += _line_ops(lines, op, expect)
    changes.sort(key=lambda c: (c[0], c[1]))
    for (s1, e1, _), (s2, _e2, _) in itertools.pairwise(changes):
        if s2 < e1 or (s2 == s1 and e1 > s1):
            raise NotLocal("two changes on one line")
    for start, end, new in reversed(changes):
        lines[start:end] = new
    return "".join(lines)


def expect_line(spec: ast.Spec) -> int | None:
    """The 0-based line of the first `expect` (new declarations go just before it)."""
    first = next((d for d in spec.decls if isinstance(d, ast.ExpectDecl)), None)
    return first.span.line - 1 if first is not None and first.span.line > 0 else None


def _own_lines(lines: list[str], span: Span) -> tuple[int, int]:
    """The lines [start, end) a statement has to itself: nothing before it on its first
    line, nothing but a comment after it on its last."""
    start, end = span.line - 1, span.end_line
    if span.line <= 0 or end > len(lines):
        raise NotLocal("no position")
    if lines[start][: span.col - 1].strip():
        raise NotLocal("shares its first line")
    rest = lines[end - 1][span.end_col - 1 :].strip()
    if rest and not rest.startswith("//"):
        raise NotLocal("shares its last line")
    return start, end


def _indent(lines: list[str], span: Span) -> str:
    line = lines[span.line - 1]
    return line[: len(line) - len(line.lstrip())]


def _text_of(lines: list[str], stmt: ast.Stmt, pad: str) -> list[str]:
    """Lines for a statement: its own original lines when it has a position (a moved
    statement keeps its comment), else its canonical text at indent ``pad``."""
    if stmt.span.line > 0:
        s, e = _own_lines(lines, stmt.span)
        return lines[s:e]
    if isinstance(stmt, ast.If | ast.While | ast.Loop | ast.Repeat | ast.For):
        raise NotLocal("a new compound statement")
    return [pad + simple_stmt(stmt) + "\n"]


def _line_ops(lines: list[str], op: Op, expect_line: int) -> list[LineOp]:
    match op:
        case AddDecl(decl=d):
            text = format_spec(ast.Spec((d,))).splitlines(keepends=True)
            return [(expect_line, expect_line, [*text, "\n"])]
        case Insert(anchor=a, stmts=stmts, after=after):
            s, e = _own_lines(lines, a.span)
            pad = _indent(lines, a.span)
            new = [line for x in stmts for line in _text_of(lines, x, pad)]
            at = e if after else s
            return [(at, at, new)]
        case Remove(stmt=x):
            s, e = _own_lines(lines, x.span)
            return [(s, e, [])]
        case Replace(stmt=x, by=by, unguard=True):
            return _unguard(lines, x)
        case Replace(stmt=x, by=(ast.If() as new,)) if isinstance(x, ast.If):
            return [_new_condition(lines, x, new)]
        case Replace(stmt=x, by=by):
            s, e = _own_lines(lines, x.span)
            if e - s != 1:
                raise NotLocal("replacing a statement of several lines")
            pad = _indent(lines, x.span)
            line = lines[s]
            tail = line[x.span.end_col - 1 :]
            if len(by) == 1:
                return [(s, e, [line[: x.span.col - 1] + simple_stmt(by[0]) + tail])]
            return [(s, e, [pad + simple_stmt(b) + "\n" for b in by])]
    raise AssertionError(op)  # pragma: no cover


def _unguard(lines: list[str], x: ast.Stmt) -> list[LineOp]:
    """`if c { body }` -> body: drop the header and closing lines, dedent the body."""
    assert isinstance(x, ast.If) and x.orelse is None and x.then
    s, e = _own_lines(lines, x.span)
    if not lines[s].rstrip().endswith("{") or lines[e - 1].strip() != "}":
        raise NotLocal("braces not on lines of their own")
    first, last = _own_lines(lines, x.then[0].span)[0], _own_lines(lines, x.then[-1].span)[1]
    if first != s + 1 or last != e - 1:
        raise NotLocal("text between the braces and the body")
    pad = _indent(lines, x.span)
    deeper = _indent(lines, x.then[0].span)
    if not deeper.startswith(pad) or len(deeper) <= len(pad):
        raise NotLocal("body not indented under its if")
    cut = len(deeper) - len(pad)
    body = [
        line[cut:] if line[:cut].strip() == "" and len(line) > cut else line.lstrip(" \t")
        for line in lines[s + 1 : e - 1]
    ]
    return [(s, e, body)]


def _new_condition(lines: list[str], x: ast.If, new: ast.If) -> LineOp:
    c = x.cond.span
    if c.line != c.end_line or c.line != x.span.line:
        raise NotLocal("a condition over several lines")
    line = lines[c.line - 1]
    return (c.line - 1, c.line, [line[: c.col - 1] + expr(new.cond) + line[c.end_col - 1 :]])


# ---------------------------------------------------------------- walking a spec


Owner = ast.CoreDecl | ast.HandlerDecl


@dataclass(frozen=True)
class Place:
    """A statement and where it stands: its block, its index there, the body it belongs
    to (a core or handler declaration) and whether an endless `loop` encloses it."""

    stmt: ast.Stmt
    block: tuple[ast.Stmt, ...]
    index: int
    owner: Owner
    in_loop: bool


def places(spec: ast.Spec) -> list[Place]:
    """Every statement of every core and handler body, in source order."""
    out: list[Place] = []

    def walk(block: tuple[ast.Stmt, ...], owner: Owner, loop: bool) -> None:
        for i, s in enumerate(block):
            out.append(Place(s, block, i, owner, loop))
            match s:
                case ast.If(then=t, orelse=o):
                    walk(t, owner, loop)
                    if o is not None:
                        walk(o, owner, loop)
                case ast.Loop(body=b):
                    walk(b, owner, True)
                case ast.While(body=b) | ast.Repeat(body=b) | ast.For(body=b):
                    walk(b, owner, loop)

    for d in spec.decls:
        if isinstance(d, ast.CoreDecl | ast.HandlerDecl):
            walk(d.body, d, False)
    return out


def contains(stmt: ast.Stmt, pred: Callable[[ast.Stmt], bool]) -> bool:
    """Does ``stmt`` or a statement nested in it satisfy ``pred``?"""
    if pred(stmt):
        return True
    match stmt:
        case ast.If(then=t, orelse=o):
            return any(contains(x, pred) for x in (*t, *(o or ())))
        case ast.While(body=b) | ast.Loop(body=b) | ast.Repeat(body=b) | ast.For(body=b):
            return any(contains(x, pred) for x in b)
    return False


def line_of(stmt: ast.Stmt) -> str:
    """`` `ipi cpu2 flush(V)` (line 22)``: how a statement is named in edit texts."""
    where = f" (line {stmt.span.line})" if stmt.span.line > 0 else ""
    return f"`{simple_stmt(stmt)}`{where}"
