"""Register arithmetic of a litmus thread (docs/arm64.md §4): `EOR`, `ADD`, `SUB`,
`AND`, `ORR`, `CMP` with `CSEL`/`CSET`, lowered into assignments of the spec's
registers, so a value's dependencies are the registers its expression reads.  An
address with an offset register (``[X5,W6,SXTW]``) is an access `via` that register,
which must be zero whatever the loads read (``Static.zero``, from the values
`litmus_vals` finds): a test whose offset may be non-zero is one tlbcheck cannot state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from verifier.lang import ast
from verifier.lang import litmus_ast as L
from verifier.lang.checked import DEFAULT_RANGE
from verifier.lang.litmus_desc import mask_fields
from verifier.lang.litmus_vals import Vals, capped, union, value_set
from verifier.lang.span import NOSPAN, Span

ARITH_OPS = {"EOR", "ADD", "SUB", "AND", "ORR", "CMP", "CSEL", "CSET", "LSL", "BIC"}
BITWISE: dict[str, Callable[[int, int], int]] = {
    "EOR": lambda x, y: x ^ y,
    "AND": lambda x, y: x & y,
    "ORR": lambda x, y: x | y,
    "ADD": lambda x, y: x + y,
    "SUB": lambda x, y: x - y,
}
CONDS = {"EQ": "==", "NE": "!="}
EXTENDS = {"SXTW", "UXTW", "SXTX", "UXTX"}


@dataclass
class Static:
    """What a register holds when the lowering knows it: ``kind`` is 'int' (data with a
    known initial value), 'va' (the address of page ``page``), 'pte' (the address of
    its entry), 'page' (its page number), 'desc' (a descriptor), 'data' (a register of
    the spec, holding one of ``vals``: `litmus_vals`), or 'ptev' (data that is a PTE
    value loaded from a page-table entry)."""

    kind: str
    page: str = ""
    value: int = 0
    desc: L.Desc | None = None
    span: Span = NOSPAN
    vals: Vals = None  # the values it may hold (kind 'int': its value; None: unknown)
    pick: bool = False  # its value is picked by a condition (`CSEL`, `CSET`), not computed
    deps: tuple[str, ...] = ()  # an address plus data that is 0: the data registers added
    fixed: bool = False  # data set from immediates only (`MOV`, `LSL`): depends on no load

    def via(self) -> tuple[ast.Name, ...]:
        """The registers an access through this address depends on (herd's addr)."""
        return tuple(ast.Name(r, span=self.span) for r in self.deps)

    def __post_init__(self) -> None:
        if self.kind == "int":
            self.vals = frozenset({self.value})

    def known(self) -> int | None:
        """Its value when no load can change it: a number it starts with, a `MOV` of an
        immediate (shifted by `LSL`), a mask too wide for a register ('mask')."""
        if self.kind in ("int", "mask"):
            return self.value
        if self.kind == "data" and self.fixed and self.vals is not None and len(self.vals) == 1:
            return next(iter(self.vals))
        return None

    @property
    def zero(self) -> bool:
        """Zero whatever the loads read (as after `EOR W1,W0,W0`)."""
        return self.vals == frozenset({0})


def join(a: Static, b: Static) -> Static:
    """What a register holds after a branch: ``a`` on one path, ``b`` on the other."""
    if a == b:
        return a
    if {a.kind, b.kind} <= {"int", "data"}:
        fixed = a.fixed and b.fixed
        return Static("data", vals=union(a.vals, b.vals), pick=a.pick or b.pick, fixed=fixed)
    return Static("mixed")  # an address on one path, something else on the other


@dataclass
class Env:
    regs: dict[str, Static] = field(default_factory=dict)

    def get(self, reg: str) -> Static:
        if reg in ("XZR", "WZR"):
            return Static("int")
        return self.regs.get(reg, Static("int"))

    def vals(self, reg: str) -> Vals:
        s = self.get(reg)
        return s.vals if s.kind in ("int", "data") else None

    def copy(self) -> Env:
        return Env(dict(self.regs))

    def joined(self, other: Env, widen: bool = False) -> Env:
        """What a register holds on either path (``widen``: a data register whose values
        differ holds unknown values, so a loop's registers stop growing)."""
        out = {}
        for r in sorted(self.regs.keys() | other.regs.keys()):
            a, b = self.get(r), other.get(r)
            j = join(a, b)
            out[r] = replace(j, vals=None) if widen and j != a and j.kind == "data" else j
        return Env(out)


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
    if i.op == "LSL":
        lower_lsl(t, i)
        return
    if i.op == "ADD" and _address_add(t, i):
        return
    if i.op == "CMP":
        a, b = t.args(i, "r" + _kind(i, 1))
        t.flags = _compare(t, i, a, b)
        _label(t, i)
        return
    pick = False
    if i.op in ("CSEL", "CSET"):
        expr = _select(t, i)
        dst = i.args[0]
        picked = i.args[1:3] if i.op == "CSEL" else ()
        pick = not any(t.env.get(reg_name(o)).kind == "data" for o in picked if o.kind == "reg")
        vals = union(*(_vals(t, o) for o in picked)) if picked else value_set(expr, t.env.vals)
    else:
        dst, a, b = t.args(i, "rr" + _kind(i, 2))
        if i.op in ("ORR", "BIC") and t.env.get(reg_name(a)).kind == "ptev" and b.kind == "reg":
            _pte_bits(t, i, dst, a, b)
            return
        expr = _binary(t, i, a, b)
        vals = _results(i.op, a, b, _vals(t, a), _vals(t, b))
    t.assign(i, dst, expr, pick=pick, vals=vals or value_set(expr, t.env.vals))


def _pte_bits(t: Any, i: L.Instr, dst: L.Operand, a: L.Operand, b: L.Operand) -> None:
    """`ORR Xd,Xn,Xm` / `BIC` of a loaded PTE value and a mask of descriptor bits (herd7
    sets or clears the fields, lib/AArch64PteVal.ml): ``Xd := pte_set(Xn, F...)``."""
    op, changes = mask_fields(t, i, b, i.op == "ORR")
    value = ast.PteFields(ast.Name(reg_name(a), span=a.span), op, tuple(changes), span=i.span)
    t.assign(i, dst, value, "ptev")


def _results(op: str, a: L.Operand, b: L.Operand, va: Vals, vb: Vals) -> Vals:
    """The values of ``a op b`` (pairwise: the expression the lowering writes for a
    bitwise operation loses the link between its bits)."""
    fn = BITWISE.get(op)
    if fn is None or va is None or vb is None:
        return None
    if a.kind == b.kind == "reg" and reg_name(a) == reg_name(b):
        return capped(fn(x, x) for x in va)
    return capped(fn(x, y) for x in va for y in vb)


def _address_add(t: Any, i: L.Instr) -> bool:
    """`ADD Xd,Xa,Wm{,SXTW}` of an address and data that is 0 whatever the loads read:
    the same address, now depending on Wm (herd's addr through the sum)."""
    regs = [o for o in i.args[1:3] if o.kind == "reg"]
    holds = [t.env.get(reg_name(o)) for o in regs]
    addr = [s for s in holds if s.kind in ("va", "pte", "page", "nopage")]
    if not addr:
        return False
    if len(i.args) == 4 and not (i.args[3].kind == "name" and i.args[3].text.upper() in EXTENDS):
        raise t.fail(i, f"this form of ADD is outside the litmus subset ({i.text})")
    other = i.args[2] if holds[0] is addr[0] else i.args[1]
    if len(addr) > 1 or _vals(t, other) != frozenset({0}):
        raise t.fail(i, f"arithmetic on an address other than adding 0 ({i.text})")
    deps = (reg_name(other),) if other.kind == "reg" and t.env.get(reg_name(other)).kind == "data" else ()
    t.env.regs[reg_name(i.args[0])] = replace(addr[0], deps=addr[0].deps + deps)
    _label(t, i)
    return True


def lower_lsl(t: Any, i: L.Instr) -> None:
    """`LSL Xd,Xn,#k` of data: ``Xd := Xn * 2^k``.  Of a value no load can change (a
    `MOV` of an immediate) whose result is wider than a register holds, as in the masks of
    descriptor bits (`LSL X1,X1,#51`): a 'mask', known when the test is read and no
    register of the spec, for an atomic on a page-table entry (litmus_atomic)."""
    d, n, imm = t.args(i, "rri")
    k = int(imm.text[1:], 0)
    s = t.env.get(reg_name(n))
    if s.kind not in ("int", "data", "mask") or not 0 <= k < 64:
        raise t.fail(i, f"{i.op} of {n.text}, which holds no data ({i.text})")
    known = s.known()
    if known is not None and known << k > DEFAULT_RANGE[1]:  # wider than a register holds
        t.env.regs[reg_name(d)] = Static("mask", value=known << k)
        _label(t, i)
        return
    if s.kind == "mask":
        raise t.fail(i, f"{i.op} of a mask wider than a register ({i.text})")
    shift = ast.Num(1 << k, span=imm.span)
    vals = None if s.vals is None else frozenset(v << k for v in s.vals)
    t.assign(i, d, ast.Binary("*", data_of(t, n), shift, span=i.span), vals=vals,
             fixed=s.fixed or s.kind == "int")  # fmt: skip


def _kind(i: L.Instr, k: int) -> str:
    return "i" if len(i.args) > k and i.args[k].kind == "imm" else "r"


def _value(t: Any, o: L.Operand) -> ast.Expr:
    if o.kind == "imm":
        return ast.Num(_imm(o), span=o.span)
    s = t.env.get(reg_name(o))
    if s.kind == "mask":
        raise t.fail(o, f"{o.text} holds a mask wider than a register, read as data")
    if s.kind not in ("int", "data", "ptev"):
        raise t.fail(o, f"{o.text} holds an address or a descriptor, not data")
    return data_of(t, o)


def _imm(o: L.Operand) -> int:
    return int(o.text[1:], 0)


def _vals(t: Any, o: L.Operand) -> Vals:
    return frozenset({_imm(o)}) if o.kind == "imm" else t.env.vals(reg_name(o))


def _compare(t: Any, i: L.Instr, a: L.Operand, b: L.Operand) -> tuple[ast.Expr, ast.Expr]:
    """The flags `CMP a,b` sets, as the two sides of the comparison.  A PTE value (a
    loaded entry, or a descriptor the register starts with) compares whole with another
    (herd7's `sub` of two PteVals is their comparison); it is never equal to 0 (herd7: a
    PteVal minus 0 is 1); herd7 rejects its comparison with any other number."""
    kinds = [t.env.get(reg_name(o)).kind if o.kind == "reg" else "int" for o in (a, b)]
    if not {"ptev", "desc"} & set(kinds):
        return _value(t, a), _value(t, b)
    sides = [_pte_side(t, i, o, k) for o, k in zip((a, b), kinds, strict=True)]
    if sides[0] is not None and sides[1] is not None:
        return sides[0], sides[1]
    pte = sides[0] if sides[0] is not None else sides[1]
    num = b if sides[1] is None else a
    if _vals(t, num) != frozenset({0}):
        raise t.fail(num, f"a PTE value compared with a number that may not be 0 ({i.text})")
    # never equal, yet the comparison reads both registers (its dependencies)
    return ast.Binary("==", pte, pte, span=i.span), _value(t, num)


def _pte_side(t: Any, i: L.Instr, o: L.Operand, kind: str) -> ast.Expr | None:
    """Operand ``o`` of a comparison as a PTE value (None: it holds a number)."""
    if kind == "ptev":
        return ast.Name(reg_name(o), span=o.span)
    if kind != "desc":
        if kind not in ("int", "data"):
            raise t.fail(o, f"{o.text} holds an address, compared with a PTE value ({i.text})")
        return None
    return ast.PteLit(t.descriptor(o), span=o.span)


def _bin(op: str, a: ast.Expr, b: ast.Expr, sp: Span) -> ast.Expr:
    return ast.Binary(op, a, b, span=sp)


def _binary(t: Any, i: L.Instr, a: L.Operand, b: L.Operand) -> ast.Expr:
    sp = i.span
    x, y = _value(t, a), _value(t, b)
    same = a.kind == b.kind == "reg" and reg_name(a) == reg_name(b)
    ptev = "ptev" in (t.env.get(reg_name(o)).kind for o in (a, b) if o.kind == "reg")
    if ptev and same and i.op in ("EOR", "SUB"):  # herd7: zero, read from the PTE register
        return _bin("!=", x, x, sp)
    if ptev:
        raise t.fail(i, f"arithmetic on a PTE value is outside the litmus subset ({i.text})")
    va, vb = _vals(t, a), _vals(t, b)
    match i.op:
        case "EOR" | "SUB" if same:
            return _bin("-", x, x, sp)
        case "AND" | "ORR" if same:
            return x
        case "ADD":
            return _bin("+", x, y, sp)
        case "EOR" | "ORR" if frozenset({0}) in (va, vb):
            return _bin("+", x, y, sp)
        case "SUB":
            return _bin("-", x, y, sp)
        case "AND" | "ORR" | "EOR" if va is not None and vb is not None:
            if min(va | vb) < 0:
                raise t.fail(i, f"{i.op} of a value that may be negative ({i.text})")
            return _bitwise(i.op, x, y, max(v.bit_length() for v in va | vb), sp)
    raise t.fail(i, f"{i.op} of values tlbcheck cannot bound ({i.text})")


def _bit(x: ast.Expr, b: int, sp: Span) -> ast.Expr:
    return _bin("%", _bin("/", x, ast.Num(1 << b, span=sp), sp), ast.Num(2, span=sp), sp)


def _bitwise(op: str, x: ast.Expr, y: ast.Expr, width: int, sp: Span) -> ast.Expr:
    """``x & y``, ``x | y`` or ``x ^ y`` of non-negative values below ``2**width``: the
    sum of the result's bits, each computed from the operands' bits."""
    out: ast.Expr = _bin("+", _bin("-", x, x, sp), _bin("-", y, y, sp), sp)  # the dependencies
    for b in range(width):
        xb, yb = _bit(x, b, sp), _bit(y, b, sp)
        if isinstance(y, ast.Num):  # an immediate
            yb = ast.Num(y.value >> b & 1, span=sp)
            if op == "AND" and not yb.value:
                continue
        both = _bin("*", xb, yb, sp)
        bit = {
            "AND": both,
            "ORR": _bin("-", _bin("+", xb, yb, sp), both, sp),
            "EOR": _bin("%", _bin("+", xb, yb, sp), ast.Num(2, span=sp), sp),
        }[op]
        out = _bin("+", out, _bin("*", bit, ast.Num(1 << b, span=sp), sp), sp)
    return out


def _select(t: Any, i: L.Instr) -> ast.Expr:
    """`CSEL Wd,Wa,Wb,cond` / `CSET Wd,cond` after a `CMP`: ``cond`` EQ or NE."""
    sp = i.span
    if t.flags is None:
        raise t.fail(i, f"{i.op} without an earlier CMP ({i.text})")
    left, right = t.flags
    cond_op = i.args[-1].text.upper() if i.args and i.args[-1].kind == "name" else ""
    if cond_op not in CONDS:
        raise t.fail(i, f"only the EQ and NE conditions are read ({i.text})")
    c = _bin(CONDS[cond_op], left, right, sp)
    if i.op == "CSET":
        t.args(i, "rn")
        return c
    _, a, b, _ = t.args(i, "rrrn")
    x, y = _value(t, a), _value(t, b)
    if _vals(t, a) == _vals(t, b) == frozenset({0}):  # zero, but it depends on the compare
        return _bin("*", c, ast.Num(0, span=sp), sp)
    other = _bin("-", ast.Num(1, span=sp), c, sp)
    return _bin("+", _bin("*", c, x, sp), _bin("*", other, y, sp), sp)


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
        may = "may not be zero"
        if s.vals and max(s.vals):
            may = f"may be {max(s.vals)} (another word of the page)"
        raise t.fail(r, f"an address offset {r.text} that {may} is outside the subset")
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
