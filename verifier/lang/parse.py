"""Text -> AST. The only module that sees Lark objects.

The grammar (`grammar.lark`) is LALR(1) with the contextual lexer. A Lark
transformer turns the parse tree into `verifier.lang.ast` nodes with our own
`Span`s; syntax errors become one `SpecError` diagnostic in plain words.
"""

from __future__ import annotations

import contextvars
import functools
import re
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import PatternStr

from verifier.lang import ast
from verifier.lang.diagnostics import Diagnostic, Note, SpecError
from verifier.lang.parse_hints import closest, did_you_mean, first_word, unclosed_brace
from verifier.lang.span import Span
from verifier.lang.to_ast import Problem
from verifier.lang.to_ast_decls import DeclRules
from verifier.lang.to_ast_exprs import ExprRules
from verifier.lang.to_ast_stmts import StmtRules

_TEXT: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("_TEXT")  # (text, file)
_WORD = re.compile(r"[A-Za-z0-9_]*")


def _keyword_ends(tok: Token) -> Token:
    """A keyword must end where a word ends: `frameA`, `coreinit`, `frames A` are one word,
    not the keyword `frame` followed by a name (the contextual lexer would split them)."""
    text, file = _TEXT.get()
    end = tok.end_pos or 0
    rest = _WORD.match(text, end)
    if rest is not None and rest.end() > end:
        word = str(tok) + rest.group()
        line, col = tok.line or 0, tok.column or 0
        span = Span(file, line, col, line, col + len(word))
        raise Problem(span, f"unknown word '{word}' (the keyword '{tok}' needs a space after it)")
    return tok


@functools.cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text()
    # cache=True: Lark keeps the LALR analysis in a file of the temp directory, keyed
    # by the grammar, the options and Lark's version (about 0.5 s of every start)
    words = Lark(grammar, parser="lalr", lexer="contextual", cache=True).terminals
    callbacks = {
        t.name: _keyword_ends
        for t in words
        if isinstance(t.pattern, PatternStr) and str(t.pattern.value).isidentifier()
    }
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        lexer_callbacks=callbacks,
        cache=True,
    )


def keywords() -> frozenset[str]:
    """Every word the grammar uses as a keyword somewhere (each reserved only in context)."""
    return frozenset(
        str(t.pattern.value)
        for t in _parser().terminals
        if isinstance(t.pattern, PatternStr) and str(t.pattern.value).isidentifier()
    )


class _ToAst(DeclRules, StmtRules, ExprRules):
    """Parse tree -> AST: declarations, statements and expressions, each in its module."""


def parse_text(text: str, file: str) -> ast.Spec:
    """Parse a whole spec; raise SpecError with one diagnostic on a syntax error."""
    sources = {file: text}
    token = _TEXT.set((text, file))
    try:
        tree = _parser().parse(text)
        return _ToAst(file).transform(tree)
    except Problem as exc:  # raised by the lexer (`_keyword_ends`)
        raise SpecError([Diagnostic(exc.span, exc.message)], sources) from None
    except UnexpectedInput as exc:
        raise SpecError([_syntax_diagnostic(exc, text, file)], sources) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, Problem):
            raise SpecError(
                [Diagnostic(exc.orig_exc.span, exc.orig_exc.message)], sources
            ) from None
        if isinstance(exc.orig_exc, RecursionError):
            raise _too_deep(file, sources) from None
        raise
    except RecursionError:
        raise _too_deep(file, sources) from None
    finally:
        _TEXT.reset(token)


def _too_deep(file: str, sources: dict[str, str]) -> SpecError:
    return SpecError([Diagnostic(Span(file, 1, 1, 1, 1), "the spec is nested too deeply")], sources)


# ---------------------------------------------------------------- syntax errors

_STATEMENT_WORDS = {"pte", "fence", "ipi", "invlpg", "read", "await", "skip", "loop"}
_DECL_WORDS = {"core", "handler", "frame", "page", "var", "param"}
_DECL_KEYWORDS = ("spec", "model", "param", "option", "frame", "page", "space", "var", "core",
                  "handler", "expect")  # fmt: skip
_EXPR_WORDS = {"(", "!", "INT"}
_NAMED = {"NAME": "a name", "INT": "an integer", "STRING": "a string in double quotes",
          "_SEP": "a new line or ';'", "$END": "end of file",
          "FENCE_SET": "r, w or rw"}  # fmt: skip


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


@functools.cache
def _starting_words(prefix: str) -> frozenset[str]:
    """The keywords the grammar accepts after ``prefix``: at the start of a declaration
    (empty prefix) or of a statement (inside a core's body)."""
    token = _TEXT.set((prefix, "<grammar>"))  # the lexer's word-boundary check reads _TEXT
    try:
        ip = _parser().parse_interactive(prefix)
        for _ in ip.iter_parse():
            pass
    finally:
        _TEXT.reset(token)
    return frozenset(
        w for t in ip.accepts() if (w := _literal(t)) and w.replace(".", "_").isidentifier()
    )


def _statement_words() -> frozenset[str]:
    return _starting_words("core c {\n")


def _declaration_words() -> frozenset[str]:
    return _starting_words("")


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
    hint = _hint(text, file, tok, line, words)
    if hint is not None:
        return hint
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
        if tok.type == "NAME":
            message += did_you_mean(str(tok), (w for w in words if w and w.isidentifier()))
    return Diagnostic(span, message, notes)


def _hint(text: str, file: str, tok: Token, line: int, words: set[str | None]) -> Diagnostic | None:
    """A diagnostic for two common mistakes the parser only notices later: a `}` missing
    before the next declaration, and a misspelt statement keyword (taken for a name)."""
    lines = text.splitlines()
    first = first_word(lines[line - 1]) if tok.type != "$END" and line <= len(lines) else None
    if first is None:
        return None
    col, word = first
    at = Span(file, line, col, line, col + len(word))
    if col == 1 and word in _declaration_words() and word not in _statement_words():
        opened = unclosed_brace(text, file, before_line=line)
        if opened is not None:
            return Diagnostic(
                opened,
                f"this '{{' is not closed: a '}}' is missing before `{word}` at line {line}",
                (Note(at, "the next declaration starts here"),),
            )
    assignment = {"+=", ":=", "[", "(", "relaxed", "acquire", "release", "acq_rel"}  # or an atomic
    if col > 1 and word not in _statement_words() and words and words <= assignment:
        best = closest(word, _statement_words())
        if best is not None:
            return Diagnostic(at, f"unknown statement '{word}'; did you mean '{best}'?")
    return None


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
