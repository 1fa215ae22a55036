"""Register arithmetic of a litmus thread (docs/arm64.md §4): `EOR`, `ADD`, `SUB`,
`AND`, `ORR`, `CMP` with `CSEL`/`CSET`, lowered into assignments of the spec's
registers, so a value's dependencies are the registers its expression reads.  An
address with an offset register (``[X5,W6,SXTW]``) is an access `via` that register,
which must be zero whatever the loads read (``Static.zero``): a test whose offset may be
non-zero is one tlbcheck cannot state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifier.lang import ast
from verifier.lang import litmus_ast as L
from verifier.lang.span import NOSPAN, Span

ARITH_OPS = {"EOR", "ADD", "SUB", "AND", "ORR", "CMP", "CSEL", "CSET"}
CONDS = {"EQ": "==", "NE": "!="}
EXTENDS = {"SXTW", "UXTW", "SXTX", "UXTX"}


@dataclass
class Static:
    """What a register holds when the lowering knows it: ``kind`` is 'int' (data with a
    known initial value), 'va' (the address of page ``page``), 'pte' (the address of
    its entry), 'page' (its page number), 'desc' (a descriptor), 'data' (``zero``:
    zero whatever the loads read, as after `EOR W1,W0,W0`), or 'ptev' (data that is a
    PTE value loaded from a page-table entry)."""

    kind: str
    page: str = ""
    value: int = 0
    desc: L.Desc | None = None
    span: Span = NOSPAN
    zero: bool = False
    pick: bool = False  # its value is picked by a condition (`CSEL`, `CSET`), not computed


@dataclass
class Env:
    regs: dict[str, Static] = field(default_factory=dict)

    def get(self, reg: str) -> Static:
        if reg in ("XZR", "WZR"):
            return Static("int")
        return self.regs.get(reg, Static("int"))


def reg_name(op: L.Operand) -> str:
    return "X" + op.text[1:] if op.text[0] in "WX" and op.text[1:].isdigit() else op.text


def data_of(t: Any, r: L.Operand) -> ast.Expr:
    """The data register ``r`` as an expression: its name once the thread has set it, else
    its value (0: never set, or the zero register)."""
    s = t.env.get(reg_name(r))
    if s.kind in ("data", "ptev"):
        return ast.Name(reg_name(r), span=r.span)
    return ast.Num(s.value, span=r.span)


def lower_arith(t: Any, i: L.Instr) -> None:
    """One arithmetic instruction: an assignment of its destination register (`CMP`
    sets no register: the flags it sets are the comparison, kept for `CSEL`/`CSET`)."""
    sp = i.span
    if i.op == "CMP":
        a, b = t.args(i, "r" + _kind(i, 1))
        t.flags = _compare(t, i, a, b)
        _label(t, i)
        return
    pick = False
    if i.op in ("CSEL", "CSET"):
        expr, zero = _select(t, i)
        dst = i.args[0]
        picked = i.args[1:3] if i.op == "CSEL" else ()
        pick = not any(t.env.get(reg_name(o)).kind == "data" for o in picked if o.kind == "reg")
    else:
        dst, a, b = t.args(i, "rr" + _kind(i, 2))
        expr, zero = _binary(t, i, a, b)
    name = reg_name(dst)
    t.env.regs[name] = Static("data", zero=zero, pick=pick)
    t.emit(i, ast.Assign(ast.Name(name, span=dst.span), expr, span=sp))


def _kind(i: L.Instr, k: int) -> str:
    return "i" if len(i.args) > k and i.args[k].kind == "imm" else "r"


def _value(t: Any, o: L.Operand) -> ast.Expr:
    if o.kind == "imm":
        return ast.Num(int(o.text[1:], 0), span=o.span)
    s = t.env.get(reg_name(o))
    if s.kind not in ("int", "data", "ptev"):
        raise t.fail(o, f"{o.text} holds an address or a descriptor, not data")
    return data_of(t, o)


def _compare(t: Any, i: L.Instr, a: L.Operand, b: L.Operand) -> tuple[ast.Expr, ast.Expr, bool]:
    """The flags `CMP a,b` sets, as the two sides of the comparison (and whether both are
    zero whatever the loads read).  A PTE value (a loaded entry, or a descriptor the
    register starts with) compares whole with another (herd7's `sub` of two PteVals is
    their comparison); it is never equal to 0 (herd7: a PteVal minus 0 is 1); herd7 rejects
    its comparison with any other number."""
    kinds = [t.env.get(reg_name(o)).kind if o.kind == "reg" else "int" for o in (a, b)]
    if not {"ptev", "desc"} & set(kinds):
        return _value(t, a), _value(t, b), _zero(t, a) and _zero(t, b)
    sides = [_pte_side(t, i, o, k) for o, k in zip((a, b), kinds, strict=True)]
    if all(s is not None for s in sides):
        return sides[0], sides[1], False  # type: ignore[return-value]
    pte = next(s for s in sides if s is not None)
    num = b if sides[1] is None else a
    if not _zero(t, num):
        raise t.fail(num, f"a PTE value compared with a number that may not be 0 ({i.text})")
    # never equal, yet the comparison reads both registers (its dependencies)
    return ast.Binary("==", pte, pte, span=i.span), _value(t, num), False


def _pte_side(t: Any, i: L.Instr, o: L.Operand, kind: str) -> ast.Expr | None:
    """Operand ``o`` of a comparison as a PTE value (None: it holds a number)."""
    if kind == "ptev":
        return ast.Name(reg_name(o), span=o.span)
    if kind != "desc":
        if kind not in ("int", "data"):
            raise t.fail(o, f"{o.text} holds an address, compared with a PTE value ({i.text})")
        return None
    return ast.PteLit(t.descriptor(o), span=o.span)


def _zero(t: Any, o: L.Operand) -> bool:
    """Is ``o`` zero whatever the loads read?"""
    if o.kind == "imm":
        return int(o.text[1:], 0) == 0
    s = t.env.get(reg_name(o))
    return s.zero or (s.kind == "int" and s.value == 0)


def _bin(op: str, a: ast.Expr, b: ast.Expr, sp: Span) -> ast.Expr:
    return ast.Binary(op, a, b, span=sp)


def _binary(t: Any, i: L.Instr, a: L.Operand, b: L.Operand) -> tuple[ast.Expr, bool]:
    sp = i.span
    x, y = _value(t, a), _value(t, b)
    same = a.kind == b.kind == "reg" and reg_name(a) == reg_name(b)
    ptev = "ptev" in (t.env.get(reg_name(o)).kind for o in (a, b) if o.kind == "reg")
    if ptev and same and i.op in ("EOR", "SUB"):  # herd7: zero, read from the PTE register
        return _bin("!=", x, x, sp), True
    if ptev:
        raise t.fail(i, f"arithmetic on a PTE value is outside the litmus subset ({i.text})")
    za, zb = _zero(t, a), _zero(t, b)
    match i.op:
        case "EOR" if same:
            return _bin("-", x, x, sp), True
        case "SUB" if same:
            return _bin("-", x, x, sp), True
        case "ADD" | "EOR" | "ORR" if zb:
            return _bin("+", x, y, sp), za
        case "ADD":
            return _bin("+", x, y, sp), za and zb
        case "SUB":
            return _bin("-", x, y, sp), za and zb
        case "AND" if b.kind == "imm":
            return _and_imm(x, int(b.text[1:], 0), sp), za or zb
        case "AND" if za or zb:
            return _bin("*", _bin("-", x, x, sp), y, sp), True
    raise t.fail(i, f"this form of {i.op} is outside the litmus subset ({i.text})")


def _and_imm(x: ast.Expr, k: int, sp: Span) -> ast.Expr:
    """``x & k`` for a non-negative ``x``: the sum of ``k``'s bits that ``x`` has."""
    out: ast.Expr = _bin("-", x, x, sp)  # keeps the dependency when k is 0
    for b in range(max(k.bit_length(), 0)):
        if k >> b & 1:
            bit = _bin("%", _bin("/", x, ast.Num(1 << b, span=sp), sp), ast.Num(2, span=sp), sp)
            out = _bin("+", out, _bin("*", bit, ast.Num(1 << b, span=sp), sp), sp)
    return out


def _select(t: Any, i: L.Instr) -> tuple[ast.Expr, bool]:
    """`CSEL Wd,Wa,Wb,cond` / `CSET Wd,cond` after a `CMP`: ``cond`` EQ or NE."""
    sp = i.span
    if t.flags is None:
        raise t.fail(i, f"{i.op} without an earlier CMP ({i.text})")
    left, right, flags_zero = t.flags
    cond_op = i.args[-1].text.upper() if i.args and i.args[-1].kind == "name" else ""
    if cond_op not in CONDS:
        raise t.fail(i, f"only the EQ and NE conditions are read ({i.text})")
    c = _bin(CONDS[cond_op], left, right, sp)
    if i.op == "CSET":
        t.args(i, "rn")
        return c, False
    _, a, b, _ = t.args(i, "rrrn")
    x, y = _value(t, a), _value(t, b)
    if _zero(t, a) and _zero(t, b):  # WZR or WZR: zero, but it depends on the compare
        return _bin("*", c, ast.Num(0, span=sp), sp), True
    other = _bin("-", ast.Num(1, span=sp), c, sp)
    return _bin("+", _bin("*", c, x, sp), _bin("*", other, y, sp), sp), flags_zero


def offset(t: Any, i: L.Instr, m: L.Operand) -> tuple[ast.Name, ...]:
    """The offset register of ``[Xn,Wm{,SXTW}]`` as a `via` register (it must be zero
    whatever the loads read); () for ``[Xn]`` or ``[Xn,#0]``."""
    parts = m.parts
    if len(parts) == 3 and not (parts[2].kind == "name" and parts[2].text.upper() in EXTENDS):
        raise t.fail(m, f"an address with an offset ({m.text}) is outside the litmus subset")
    if len(parts) < 2 or parts[1].kind != "reg":
        return ()
    r = parts[1]
    s = t.env.get(reg_name(r))
    if s.kind == "int" and s.value == 0:
        return ()
    if s.kind != "data" or not s.zero:
        raise t.fail(r, f"an address offset {r.text} that may not be zero is outside the subset")
    name = ast.Name(reg_name(r), span=r.span)
    if s.pick:  # herd's pick-addr-dep: a control dependency right before the access
        t.emit(i, ast.If(ast.Binary("!=", name, ast.Num(0, span=r.span), span=i.span), (), None,
                         span=i.span))  # fmt: skip
        t.ctrl.append((i.span, (name.name,)))
        return ()
    return (name,)


def _label(t: Any, i: L.Instr) -> None:
    if i.labels:
        t.emit(i, ast.Skip(span=i.span))
