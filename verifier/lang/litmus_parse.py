"""Reading a herd7 AArch64 litmus test (docs/arm64.md §4): text -> `LitmusTest`.

A careful hand parser of herdtools7's format: the header line (``AArch64 NAME``), info
lines (``Variant=vmsa``), the initial state in braces, the program table (``P0 | P1 ;``
then one row per line), then ``locations``/``filter`` lines and the final condition.
``(* ... *)`` comments may appear anywhere.  Every node keeps its span; a syntax error
is a located diagnostic.  What the test *means* is decided by `litmus_lower`.
"""

from __future__ import annotations

import re

from verifier.lang import litmus_ast as L
from verifier.lang.litmus_code import parse_program
from verifier.lang.litmus_cond import no_condition, parse_tail
from verifier.lang.litmus_lex import COND_START, TYPES, Src, Tokens, loc, value


def parse_litmus(text: str, file: str) -> L.LitmusTest:
    """The litmus test in ``text``; a `SpecError` locates the first syntax error."""
    src = Src(text, file)
    s = src.text
    m = re.match(r"\s*(\S+)[ \t]+(\S[^\n]*?)[ \t]*(?:\n|$)", s)
    if m is None:
        raise src.error(0, 1, "a litmus test starts with its architecture and name (AArch64 NAME)")
    arch, name = m.group(1), m.group(2)
    if arch != "AArch64":
        raise src.error(m.start(1), m.end(1), f"only AArch64 litmus tests are read, not {arch}")
    brace = s.find("{", m.end())
    if brace < 0:
        raise src.error(m.end(), m.end() + 1, "no initial state ('{' ... '}') in the test")
    info = _info(src, m.end(), brace)
    close = s.find("}", brace)
    if close < 0:
        raise src.error(brace, brace + 1, "the initial state's '{' is never closed")
    init = _init(src, brace + 1, close)
    cm = COND_START.search(s, close + 1)
    threads = parse_program(src, close + 1, cm.start() if cm else len(s))
    extra, cond = parse_tail(src, cm.start()) if cm else ([], no_condition(src))
    return L.LitmusTest(
        arch,
        name,
        file,
        text,
        tuple(info),
        tuple(init),
        threads,
        cond,
        tuple(extra),
        span=src.span(m.start(2), m.end(2)),
    )


def _info(src: Src, start: int, end: int) -> list[tuple[str, str]]:
    out = []
    body = src.text[start:end]
    body = re.sub(r'"[^"]*"', lambda q: " " * len(q.group(0)), body)  # the doc string
    for lm in re.finditer(r"[^\n]+", body):
        line = lm.group(0).strip()
        if not line:
            continue
        km = re.match(r"([A-Za-z][\w-]*)\s*=\s*(.*)$", line)
        if km is None:
            a = start + lm.start() + (len(lm.group(0)) - len(lm.group(0).lstrip()))
            raise src.error(
                a, a + len(line), f"expected 'Key=value' before the initial state, found '{line}'"
            )
        out.append((km.group(1), km.group(2).strip()))
    return out


def _init(src: Src, start: int, end: int) -> list[L.Init]:
    out = []
    pos = start
    for chunk in src.text[start:end].split(";"):
        a, b = pos, pos + len(chunk)
        pos = b + 1
        if chunk.strip() == "":
            continue
        t = Tokens(src, a, b)
        ctype = ""
        if t.peek() in TYPES and t.peek(1) is not None and t.peek(1) not in {"=", ":"}:
            ctype = t.take()[0]
        where = loc(t)
        if t.peek() == "[":  # `int x[3]={0,0,0}`: words at offsets of one page
            _, ea, eb = t.take()
            raise src.error(ea, eb, "an array is outside the litmus subset (a frame holds one word)")
        if t.peek() is None:  # `int x;`: declared, 0
            out.append(L.Init(where, L.Int(0), ctype, span=src.span(t.toks[0][1], b)))
            continue
        t.expect("=")
        val = value(t)
        if t.peek() is not None:
            tok = t.take()
            raise src.error(
                tok[1], tok[2], f"unexpected '{tok[0]}' in the initial state (missing ';'?)"
            )
        out.append(L.Init(where, val, ctype, span=src.span(t.toks[0][1], t.prev_end())))
    return out
