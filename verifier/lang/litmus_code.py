"""The program table of a litmus test: ``P0 | P1 ;`` then rows of instructions, one
cell per thread, each row ending with ``;``.  A cell holds an optional label
(``L0:``) and at most one instruction; its operands are kept as written
(`litmus_ast.Operand`), their meaning is `litmus_lower`'s business."""

from __future__ import annotations

import re

from verifier.lang import litmus_ast as L
from verifier.lang.litmus_lex import REG, Src

_HEAD = re.compile(r"P(\d+)(\.F)?$")
_LABEL = re.compile(r"\s*([A-Za-z_][\w]*)\s*:(?!=)")
_MNEMONIC = re.compile(r"\s*([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)?)")


def parse_program(src: Src, start: int, end: int) -> tuple[L.Thread, ...]:
    rows = _cells(src, start, end)
    if not rows:
        raise src.error(start, start + 1, "no program: expected a row 'P0 | P1 ;'")
    heads = []
    for text, a, b in rows[0]:
        m = _HEAD.match(text.strip())
        if m is None:
            off = a + len(text) - len(text.lstrip())
            raise src.error(
                off, b, f"expected a thread name (P0, P1, P1.F), found '{text.strip()}'"
            )
        heads.append((int(m.group(1)), m.group(2) is not None, src.span(off_of(text, a), b)))
    code: list[list[L.Instr]] = [[] for _ in heads]
    pending: list[tuple[str, ...]] = [()] * len(heads)
    for row in rows[1:]:
        if len(row) > len(heads):
            text, a, b = row[len(heads)]
            raise src.error(
                off_of(text, a),
                b,
                f"this row has {len(row)} cells but the test has {len(heads)} threads",
            )
        for col, (text, a, _) in enumerate(row):
            instr, left = _cell(src, heads[col][0], text, a, pending[col])
            pending[col] = left
            if instr is not None:
                code[col].append(instr)
    return tuple(
        L.Thread(p, h, tuple(c), end, span=sp)
        for (p, h, sp), c, end in zip(heads, code, pending, strict=True)
    )


def off_of(text: str, a: int) -> int:
    return a + len(text) - len(text.lstrip())


def _cells(src: Src, start: int, end: int) -> list[list[tuple[str, int, int]]]:
    """Rows (split at ``;``) of cells (split at ``|``), each with its offsets."""
    rows = []
    pos = start
    body = src.text[start:end]
    for chunk in body.split(";"):
        a = pos
        pos += len(chunk) + 1
        if chunk.strip() == "":
            continue
        cells = []
        for part in chunk.split("|"):
            cells.append((part, a, a + len(part)))
            a += len(part) + 1
        rows.append(cells)
    return rows


def _cell(
    src: Src, proc: int, text: str, a: int, labels: tuple[str, ...]
) -> tuple[L.Instr | None, tuple[str, ...]]:
    """The instruction in one cell (None for an empty cell) and the labels still waiting
    for an instruction."""
    i = 0
    while m := _LABEL.match(text, i):
        labels += (m.group(1),)
        i = m.end()
    rest = text[i:]
    if rest.strip() == "":
        return None, labels
    m = _MNEMONIC.match(rest)
    start = a + i + len(rest) - len(rest.lstrip())
    if m is None:
        raise src.error(start, start + 1, f"expected an instruction, found '{rest.strip()}'")
    op = m.group(1).upper()
    args = _operands(src, rest[m.end() :], a + i + m.end())
    stop = a + len(text.rstrip())
    instr = L.Instr(proc, labels, op, args, src.text[start:stop], span=src.span(start, stop))
    return instr, ()


def _operands(src: Src, text: str, a: int) -> tuple[L.Operand, ...]:
    out: list[L.Operand] = []
    depth, piece, pa = 0, "", a
    for k, ch in enumerate(text + ","):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            if piece.strip():
                out.append(_operand(src, piece, pa))
            elif k < len(text):
                raise src.error(a + k, a + k + 1, "empty operand")
            piece, pa = "", a + k + 1
            continue
        piece += ch
    if depth != 0:
        raise src.error(a, a + len(text), "unbalanced '[' in the operands")
    return tuple(out)


def _operand(src: Src, text: str, a: int) -> L.Operand:
    s = text.strip()
    start = off_of(text, a)
    span = src.span(start, start + len(s))
    if s.startswith("[") and s.endswith("]"):
        inner = s[1:-1]
        parts = _operands(src, inner, start + 1)
        return L.Operand("mem", s, parts, span=span)
    if s.startswith("#") or s[:1].isdigit():  # herd7 also takes `LSR X9,X5,12`
        try:
            int(s.lstrip("#").strip(), 0)
        except ValueError:
            raise src.error(
                start, start + len(s), f"expected a number after '#', found '{s}'"
            ) from None
        return L.Operand("imm", "#" + s.lstrip("#").strip(), span=span)
    if REG.match(s):
        return L.Operand("reg", s.upper(), span=span)
    return L.Operand("name", s, span=span)
