"""Shared pieces of the litmus reader (docs/arm64.md §4): the source with comments
blanked out and offsets turned into spans, a small tokenizer, and the locations and
values that the initial state and the final condition share."""

from __future__ import annotations

import re

from verifier.lang import litmus_ast as L
from verifier.lang.diagnostics import Diagnostic, SpecError
from verifier.lang.span import Span

_COMMENT = re.compile(r"\(\*.*?\*\)", re.S)
_TOKEN = re.compile(
    r"\s*(?:(?P<op>/\\|\\/|~|!=|<>|==|=|\(|\)|\[|\]|,|:|;|\{|\}|\||\+|-(?!\d))"
    r"|(?P<num>-?(?:0[xX][0-9a-fA-F]+|\d+))|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<str>\"[^\"\n]*\"))"
)
COND_START = re.compile(r"^\s*(~\s*exists|exists|forall|locations|filter)\b", re.M)
REG = re.compile(r"^(?:[XW](?:[0-9]|[12][0-9]|30)|XZR|WZR|SP)$", re.I)
TYPES = {"int", "uint64_t", "int64_t", "uint32_t", "int32_t", "pteval_t", "intN_t", "uint"}


class Src:
    """The test text with comments blanked out, and offset -> line/column."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.raw = text
        self.text = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def pos(self, off: int) -> tuple[int, int]:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= off:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, off - self.starts[lo] + 1

    def span(self, start: int, end: int) -> Span:
        line, col = self.pos(start)
        eline, ecol = self.pos(max(end, start + 1))
        return Span(self.file, line, col, eline, ecol)

    def error(self, start: int, end: int, message: str) -> SpecError:
        return SpecError([Diagnostic(self.span(start, end), message)], {self.file: self.raw})


class Tokens:
    """Tokens of ``src.text[start:end]``, each with its absolute offsets."""

    def __init__(self, src: Src, start: int, end: int) -> None:
        self.src = src
        self.toks: list[tuple[str, int, int]] = []
        i = start
        while i < end:
            m = _TOKEN.match(src.text, i, end)
            if m is None or m.end() == i:
                if src.text[i:end].strip() == "":
                    break
                j = i + len(src.text[i:end]) - len(src.text[i:end].lstrip())
                raise src.error(j, j + 1, f"unexpected character '{src.text[j]}'")
            kind = m.lastgroup or ""
            if kind:
                self.toks.append((m.group(kind), m.start(kind), m.end(kind)))
            i = m.end()
        self.i = 0
        self.end = end

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.toks[j][0] if j < len(self.toks) else None

    def take(self) -> tuple[str, int, int]:
        if self.i >= len(self.toks):
            raise self.src.error(self.end, self.end + 1, "unexpected end of the condition")
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, text: str) -> tuple[str, int, int]:
        t = self.take()
        if t[0] != text:
            raise self.src.error(t[1], t[2], f"expected '{text}', found '{t[0]}'")
        return t

    def here(self) -> int:
        return self.toks[self.i][1] if self.i < len(self.toks) else self.end

    def prev_end(self) -> int:
        return self.toks[self.i - 1][2] if self.i else self.end


def loc(t: Tokens) -> L.Loc:
    """``0:X1``, ``P0:X1``, ``x``, ``[x]``, ``pte_x``, ``PTE(x)``, ``[PTE(x)]``."""
    word, a, b = t.take()
    src = t.src
    if word == "[":
        inner = loc(t)
        t.expect("]")
        if not isinstance(inner, L.Mem):
            raise src.error(a, t.prev_end(), "a register cannot be in brackets")
        return L.Mem(inner.kind, inner.name, span=src.span(a, t.prev_end()))
    p = proc(word)
    if p is not None and t.peek() == ":":
        t.take()
        reg, ra, rb = t.take()
        if not REG.match(reg):
            raise src.error(ra, rb, f"expected a register (X0..X30, W0..W30), found '{reg}'")
        return L.Reg(p, "X" + reg[1:].upper(), span=src.span(a, rb))
    if word in ("PTE", "TTD") and t.peek() == "(":
        t.take()
        name = t.take()[0]
        t.expect(")")
        return L.Mem("pte", name, span=src.span(a, t.prev_end()))
    if not re.match(r"[A-Za-z_]\w*$", word):
        raise src.error(a, b, f"expected a location (register, variable or PTE), found '{word}'")
    if word.startswith("pte_"):
        return L.Mem("pte", word[4:], span=src.span(a, b))
    return L.Mem("va", word, span=src.span(a, b))


def proc(word: str) -> int | None:
    m = re.fullmatch(r"P?(\d+)", word)
    return int(m.group(1)) if m else None


def value(t: Tokens) -> L.Value:
    word, a, b = t.take()
    src = t.src
    if re.fullmatch(r"-?(0[xX][0-9a-fA-F]+|\d+)", word):
        return L.Int(int(word, 0), span=src.span(a, b))
    if word == "(":
        return desc(t, a)
    if word in {"PTE", "TTD", "PA"} and t.peek() == "(":
        t.take()
        name = t.take()[0]
        t.expect(")")
        return L.Sym("pa" if word == "PA" else "pte", name, span=src.span(a, t.prev_end()))
    if word == "label" and t.peek() == ":":
        t.take()
        text, la, lb = t.take()
        if not text.startswith('"'):
            raise src.error(la, lb, f'expected a quoted label ("P1:L0"), found {text}')
        return L.Sym("label", text.strip('"'), span=src.span(a, lb))
    if not re.fullmatch(r"[A-Za-z_]\w*", word):
        raise src.error(a, b, f"expected a value, found '{word}'")
    for prefix, kind in (("pte_", "pte"), ("phy_", "pa")):
        if word.startswith(prefix):
            return L.Sym(kind, word[len(prefix) :], span=src.span(a, b))
    return L.Sym("va", word, span=src.span(a, b))


def desc(t: Tokens, a: int) -> L.Desc:
    fields: list[tuple[str, L.Int | L.Sym]] = []
    while True:
        key, ka, kb = t.take()
        if not re.fullmatch(r"[a-z]\w*", key):
            raise t.src.error(
                ka, kb, f"expected a descriptor field (oa, valid, af, db, dbm...), found '{key}'"
            )
        t.expect(":")
        v = value(t)
        if isinstance(v, L.Desc) or (isinstance(v, L.Sym) and v.kind == "pte"):
            raise t.src.error(
                ka, t.prev_end(), f"descriptor field '{key}' takes a number or a page"
            )
        fields.append((key, v))
        sep = t.take()
        if sep[0] == ")":
            return L.Desc(tuple(fields), span=t.src.span(a, sep[2]))
        if sep[0] != ",":
            raise t.src.error(
                sep[1], sep[2], f"expected ',' or ')' in a descriptor, found '{sep[0]}'"
            )
