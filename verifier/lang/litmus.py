"""herdtools7 AArch64 `.litmus` tests: text -> `Litmus` (docs/arm64.md §4).

The reader keeps the test's structure (initial state, one column of instructions per
thread, the final condition) with a span for each part; `ir/litmus_lower.py` gives it
meaning.  Anything it cannot read is a located error; the subset of instructions and
conditions the lowering accepts is decided there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from verifier.lang.diagnostics import Diagnostic, SpecError
from verifier.lang.span import Span


@dataclass(frozen=True)
class Desc:
    """A translation table descriptor `(oa:phy_y, valid:0, db:1 ...)`: ``oa`` names a
    virtual address whose physical page is meant (`phy_y`, `PA(y)`), None when absent."""

    oa: str | None
    fields: tuple[tuple[str, int], ...]
    span: Span

    def get(self, name: str, default: int) -> int:
        return dict(self.fields).get(name, default)


# an initial or compared value: an int, an address `x`, a PTE address `pte_x`/`PTE(x)`,
# a physical address `phy_x`/`PA(x)`, or a descriptor
Value = int | tuple[str, str] | Desc


@dataclass(frozen=True)
class Init:
    thread: int | None  # None: a memory location
    name: str  # a register (`X1`) or a location (`x`, `pte_x`)
    value: Value
    span: Span


@dataclass(frozen=True)
class Instr:
    thread: int
    label: str | None
    op: str  # upper case mnemonic
    args: tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class Atom:
    """`0:X1=1`, `x=1`, `pte_x=(...)`, `fault(P1:L0,x)` (``what`` 'reg'|'mem'|'fault')."""

    what: str
    thread: int | None
    name: str  # register, location, or for a fault the location
    value: Value | None
    label: str | None
    span: Span


@dataclass(frozen=True)
class Cond:
    op: str  # 'atom' | 'not' | 'and' | 'or' | 'true' | 'false'
    args: tuple[Cond, ...] = ()
    atom: Atom | None = None


@dataclass
class Litmus:
    arch: str
    name: str
    file: str
    source: str
    meta: dict[str, str] = field(default_factory=dict)  # `Variant=...`, `TTHM=...`
    inits: list[Init] = field(default_factory=list)
    threads: list[list[Instr]] = field(default_factory=list)
    quantifier: str = "exists"  # exists | ~exists | forall
    cond: Cond = field(default_factory=lambda: Cond("true"))
    cond_span: Span | None = None
    thread_names: list[str] = field(default_factory=list)  # P0, P1, ... (P1.F: a handler)


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.text, self.file = text, file
        self.lines = text.splitlines()

    def span(self, line: int, col: int, length: int = 1) -> Span:
        return Span(self.file, line + 1, col + 1, line + 1, col + 1 + max(length, 1))

    def fail(self, line: int, col: int, msg: str, length: int = 1) -> SpecError:
        d = Diagnostic(self.span(line, col, length), msg)
        return SpecError([d], {self.file: self.text})

    def at(self, flat: int) -> tuple[int, int]:
        """(line, col) of offset ``flat`` in the text."""
        line = self.text.count("\n", 0, flat)
        return line, flat - (self.text.rfind("\n", 0, flat) + 1)

    def fail_at(self, flat: int, msg: str, length: int = 1) -> SpecError:
        return self.fail(*self.at(flat), msg, length)

    def span_at(self, flat: int, length: int) -> Span:
        return self.span(*self.at(flat), length)


def parse_litmus(text: str, file: str) -> Litmus:
    """Read a litmus test; a malformed one raises `SpecError` with located diagnostics."""
    rd = _Reader(_strip_comments(text), file)
    src = rd.text
    m = re.match(r"\s*(\S+)\s+(\S+)[^\n]*\n", src)
    if not m:
        raise rd.fail(0, 0, "a litmus test starts with its architecture and name")
    t = Litmus(m.group(1), m.group(2), file, text)
    if t.arch != "AArch64":
        raise rd.fail_at(m.start(1), f"architecture '{t.arch}': only AArch64 tests are read")
    brace = src.find("{", m.end())
    if brace < 0:
        raise rd.fail_at(m.end(), "expected `{` and the initial state")
    for mm in re.finditer(r"^\s*(\w+)\s*=\s*(.*?)\s*$", src[m.end() : brace], re.M):
        t.meta[mm.group(1)] = mm.group(2)
    close = src.find("}", brace)
    if close < 0:
        raise rd.fail_at(brace, "this `{` is never closed")
    _inits(rd, t, brace + 1, close)
    body_end = _threads(rd, t, close + 1)
    _final(rd, t, body_end)
    return t


def _strip_comments(text: str) -> str:
    """OCaml-style `(* ... *)` comments become spaces (offsets are kept)."""
    return re.sub(r"\(\*.*?\*\)", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


_LOC = r"(?:\[?\s*(?:(?:PTE|TTD)\(\s*\w+\s*\)|\w+)\s*\]?)"


def _inits(rd: _Reader, t: Litmus, start: int, end: int) -> None:
    pos = start
    for item in rd.text[start:end].split(";"):
        here = pos + len(item) - len(item.lstrip())
        pos += len(item) + 1
        s = item.strip()
        if not s:
            continue
        typed = re.match(r"(?:int|int64_t|int32_t|uint64_t|pteval_t|intptr_t)\s+", s)
        if typed:
            s, here = s[typed.end() :], here + typed.end()
        if re.fullmatch(r"(\d+\s*:\s*)?\w+", s):  # a declaration without a value: 0
            continue
        m = re.fullmatch(r"(?:(\d+)\s*:\s*)?(" + _LOC + r")\s*=\s*(.+)", s, re.S)
        if not m:
            raise rd.fail_at(here, f"cannot read the initial value `{s}`", len(s))
        thread = int(m.group(1)) if m.group(1) else None
        name = _loc_name(m.group(2))
        vstart = here + m.start(3)
        t.inits.append(
            Init(thread, name, _value(rd, m.group(3).strip(), vstart), rd.span_at(here, len(s)))
        )


def _loc_name(s: str) -> str:
    """`[x]` -> `x`; `PTE(x)` and `[PTE(x)]` -> `pte_x`."""
    s = s.strip().strip("[]").strip()
    m = re.fullmatch(r"(?:PTE|TTD)\(\s*(\w+)\s*\)", s)
    return f"pte_{m.group(1)}" if m else s


def _value(rd: _Reader, s: str, at: int) -> Value:
    if re.fullmatch(r"-?(0x[0-9a-fA-F]+|\d+)", s):
        return int(s, 0)
    if s.startswith("("):
        return _desc(rd, s, at)
    m = re.fullmatch(r"(PTE|PA|TTD)\(\s*(\w+)\s*\)", s)
    if m:
        return ("phy" if m.group(1) == "PA" else "pte", m.group(2))
    m = re.fullmatch(r"(pte|phy)_(\w+)", s)
    if m:
        return (m.group(1), m.group(2))
    if re.fullmatch(r"[A-Za-z_]\w*", s):
        return ("addr", s)
    raise rd.fail_at(at, f"cannot read the value `{s}`", len(s))


def _desc(rd: _Reader, s: str, at: int) -> Desc:
    if not s.endswith(")"):
        raise rd.fail_at(at, "a descriptor `(...)` is not closed", len(s))
    oa, fields = None, []
    for part in s[1:-1].split(","):
        part = part.strip()
        m = re.fullmatch(r"(\w+)\s*:\s*(.+)", part)
        if not m:
            raise rd.fail_at(at, f"cannot read the descriptor field `{part}`", len(s))
        key, val = m.group(1), m.group(2).strip()
        if key == "oa":
            mm = re.fullmatch(r"(?:phy_(\w+)|PA\(\s*(\w+)\s*\))", val)
            if not mm:
                raise rd.fail_at(at, f"cannot read the output address `{val}`", len(s))
            oa = mm.group(1) or mm.group(2)
        elif re.fullmatch(r"\d+", val):
            fields.append((key, int(val)))
        else:
            raise rd.fail_at(at, f"cannot read the descriptor field `{part}`", len(s))
    return Desc(oa, tuple(fields), rd.span_at(at, len(s)))


def _threads(rd: _Reader, t: Litmus, start: int) -> int:
    """The thread table; returns the offset where the final part starts."""
    src = rd.text
    rows: list[tuple[int, str]] = []
    pos = start
    while True:
        semi = src.find(";", pos)
        nl_line = src[pos : semi if semi >= 0 else len(src)]
        if semi < 0 or re.match(r"\s*(exists|~\s*exists|forall|locations|filter)\b", nl_line):
            break
        rows.append((pos, src[pos:semi]))
        pos = semi + 1
    if not rows:
        raise rd.fail_at(start, "expected the thread header `P0 | P1 ...;`")
    head_at, head = rows[0]
    names = [c.strip() for c in head.split("|")]
    for k, n in enumerate(names):
        if not re.fullmatch(r"P\d+(\.F)?", n):
            where = head_at + head.find(n) if n else head_at
            raise rd.fail_at(where, f"expected a thread name like P{k}, got `{n}`")
    t.thread_names = names
    t.threads = [[] for _ in names]
    for at, row in rows[1:]:
        col = at
        for k, cell in enumerate(row.split("|")):
            if k >= len(names):
                raise rd.fail_at(col, f"more columns than the {len(names)} threads")
            _cell(rd, t, k, cell, col)
            col += len(cell) + 1
    _labels_on_instructions(t)
    return pos


def _cell(rd: _Reader, t: Litmus, k: int, cell: str, at: int) -> None:
    s = cell.strip()
    if not s:
        return
    here = at + cell.find(s)
    label = None
    m = re.match(r"(\w+)\s*:\s*", s)
    if m:
        label = m.group(1)
        s, here = s[m.end() :], here + m.end()
    if not s:
        t.threads[k].append(Instr(k, label, "", (), rd.span_at(here, 1)))
        return
    m = re.fullmatch(r"([A-Za-z][\w.]*)\s*(.*)", s, re.S)
    if not m:
        raise rd.fail_at(here, f"cannot read the instruction `{s}`", len(s))
    args = _operands(m.group(2))
    t.threads[k].append(Instr(k, label, m.group(1).upper(), args, rd.span_at(here, len(s))))


def _operands(s: str) -> tuple[str, ...]:
    """`X1,[X2, X3]` -> ('X1', '[X2,X3]')."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return tuple(re.sub(r"\s+", "", a) for a in out)


def _labels_on_instructions(t: Litmus) -> None:
    """A label alone in a cell names the next instruction of its thread."""
    for k, code in enumerate(t.threads):
        out: list[Instr] = []
        pending: str | None = None
        for ins in code:
            if not ins.op:
                pending = ins.label
                continue
            if pending is not None and ins.label is None:
                ins = Instr(ins.thread, pending, ins.op, ins.args, ins.span)
            pending = None
            out.append(ins)
        t.threads[k] = out


def _final(rd: _Reader, t: Litmus, start: int) -> None:
    src = rd.text
    m = re.compile(r"\s*(?:locations\s*\[[^\]]*\]\s*;?\s*)?(?:filter\s*\([^;]*?\)\s*)?").match(
        src, start
    )
    pos = m.end() if m else start
    q = re.compile(r"(exists|~\s*exists|forall)\s*").match(src, pos)
    if not q:
        raise rd.fail_at(pos, "expected the final condition: exists, ~exists or forall")
    t.quantifier = re.sub(r"\s+", "", q.group(1))
    t.cond_span = rd.span_at(q.start(), len(src[q.start() :].rstrip()))
    p = _CondParser(rd, q.end())
    t.cond = p.disj()
    p.skip()
    if p.pos < len(src.rstrip()):
        raise rd.fail_at(p.pos, "unexpected text after the final condition")


def _closing(src: str, at: int) -> int:
    """The offset of the `)` matching the `(` at ``at`` (or the end of the text)."""
    depth = 0
    for i in range(at, len(src)):
        depth += {"(": 1, ")": -1}.get(src[i], 0)
        if depth == 0:
            return i
    return len(src) - 1


class _CondParser:
    def __init__(self, rd: _Reader, pos: int) -> None:
        self.rd, self.pos, self.src = rd, pos, rd.text

    def skip(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos] in " \t\r\n;":
            self.pos += 1

    def eat(self, tok: str) -> bool:
        self.skip()
        if self.src.startswith(tok, self.pos):
            self.pos += len(tok)
            return True
        return False

    def disj(self) -> Cond:
        parts = [self.conj()]
        while self.eat("\\/"):
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else Cond("or", tuple(parts))

    def conj(self) -> Cond:
        parts = [self.unary()]
        while self.eat("/\\"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Cond("and", tuple(parts))

    def unary(self) -> Cond:
        if self.eat("~") or self.eat("not "):
            return Cond("not", (self.unary(),))
        if self.eat("("):
            c = self.disj()
            if not self.eat(")"):
                raise self.rd.fail_at(self.pos, "expected `)`")
            return c
        self.skip()
        for word in ("true", "false"):
            if re.match(word + r"\b", self.src[self.pos :]):
                self.pos += len(word)
                return Cond(word)
        return Cond("atom", atom=self.atom())

    def atom(self) -> Atom:
        src, at = self.src, self.pos
        fault = r"fault\s*\(\s*P(\d+)\s*(?::\s*(\w+))?\s*,\s*(\w+)\s*(?:,[^)]*)?\)"
        m = re.compile(fault, re.I).match(src, at)
        if m:
            self.pos = m.end()
            span = self.rd.span_at(at, m.end() - at)
            return Atom("fault", int(m.group(1)), m.group(3), None, m.group(2), span)
        m = re.compile(r"(?:P?(\d+)\s*:\s*)?(" + _LOC + r")\s*=\s*").match(src, at)
        if not m:
            raise self.rd.fail_at(at, "cannot read this part of the condition")
        vstart = m.end()
        if src.startswith("(", vstart):
            vend = _closing(src, vstart) + 1
        else:
            vm = re.compile(r"-?\w+(?:\(\s*\w+\s*\))?").match(src, vstart)
            if not vm:
                raise self.rd.fail_at(vstart, "expected a value")
            vend = vm.end()
        value = _value(self.rd, src[vstart:vend], vstart)
        self.pos = vend
        thread = int(m.group(1)) if m.group(1) else None
        what = "reg" if thread is not None else "mem"
        return Atom(
            what, thread, _loc_name(m.group(2)), value, None, self.rd.span_at(at, vend - at)
        )
