"""Litmus atomics and exclusives -> `.tlb` statements (docs/arm64.md §1 and §4).

`SWP`, `CAS`, `LDADD` and `STADD` (each with `A`, `L`, `AL`) on data through a page
become `r := swap ORDER(x, e)` ...; `SWP` and `CAS` on a page-table entry become
`r := swap ORDER(pte(x), value)`; `LDXR`/`LDAXR` and `STXR`/`STLXR` become `r := read
[acquire] exclusive x` and `s := write [release] exclusive x := e`.  Atomics that set
or clear bits (`LDSET`, `LDCLR`, `LDEOR`, their `ST` forms) cannot be stated.
"""

from __future__ import annotations

import re
from typing import Any

from verifier.lang import ast
from verifier.lang import litmus_ast as L
from verifier.lang.litmus_arith import Static, data_of, offset, reg_name
from verifier.lang.litmus_desc import changed, mask_fields

_RMW = re.compile(r"^(SWP|CAS|LDADD|STADD|LDSET|LDCLR|LDEOR|STSET|STCLR|STEOR)(A|L|AL)?$")
_ORDER = {None: "relaxed", "A": "acquire", "L": "release", "AL": "acq_rel"}
_OP = {"SWP": "swap", "CAS": "cas", "LDADD": "fetch_add", "STADD": "fetch_add"}
_BIT_OPS = ("SET", "CLR", "EOR")
EXCLUSIVES = {"LDXR": "", "LDAXR": "acquire", "STXR": "", "STLXR": "release"}


def is_atomic(op: str) -> bool:
    """Is ``op`` an atomic read-modify-write or an exclusive this module lowers?"""
    m = _RMW.match(op)
    return op in EXCLUSIVES or (m is not None and not (m.group(1).startswith("ST") and m.group(2) in ("A", "AL")))


def _zero(r: L.Operand) -> bool:
    return r.text.upper() in ("XZR", "WZR")


def lower_atomic(t: Any, i: L.Instr) -> None:
    """One atomic or exclusive instruction; ``t`` is the thread being lowered
    (`litmus_instr.ThreadOut`)."""
    if i.op in EXCLUSIVES:
        _exclusive(t, i)
        return
    m = _RMW.match(i.op)
    assert m is not None
    base, order = m.group(1), _ORDER[m.group(2)]
    if base[2:] in _BIT_OPS:
        _bits(t, i, base, order)
        return
    if base == "STADD":
        src, mem = t.args(i, "rm")
        dst = None
    else:
        src, dst, mem = t.args(i, "rrm")
    s = t.address(i, mem)
    via = offset(t, i, mem)
    sp = i.span
    if base == "CAS":  # CAS Rs, Rt: compares with Rs, stores Rt, Rs gets the old value
        args, dest = [src, dst], src
    else:  # SWP/LDADD Rs, Rt: stores (adds) Rs, Rt gets the old value
        args, dest = [src], dst
    name = None if dest is None or _zero(dest) else reg_name(dest)
    if s.kind == "pte":
        if base not in ("SWP", "CAS") or via:
            raise t.fail(i, f"this atomic on a page-table entry is outside the litmus subset ({i.text})")
        target: ast.Expr = ast.PteRead(ast.PageRef(None, s.page, span=sp), "", span=sp)
        values = [_pte_value(t, i, a, s.page) for a in args]
        t.syms.pte_loads = True
        t.syms.reg_stores = True
        kind = "ptev"
    else:
        for a in args:
            if t.env.get(reg_name(a)).kind not in ("int", "data"):
                raise t.fail(i, f"{a.text} holds an address or a descriptor, stored as data ({i.text})")
        target = ast.Name(s.page, span=sp)
        values = [data_of(t, a) for a in args]
        kind = "data"
    if name is not None:
        t.env.regs[name] = Static(kind)
    stmt = ast.Atomic(name, _OP[base], target, tuple(values), order, via, span=sp)  # type: ignore[arg-type]
    t.emit(i, stmt, s.page if s.kind != "pte" else None)


def _bits(t: Any, i: L.Instr, base: str, order: str) -> None:
    """`LDSET Xs,Xt,[Xn]` / `LDCLR` / `STSET Xs,[Xn]` / `STCLR` (each with A, L, AL) on
    a page-table entry, with a mask no load can change: `r := fetch_set ORDER(pte(x),
    F...)` or `fetch_clear`, F the descriptor fields of the mask's bits (setting AP[2]
    clears `write`).  herd7 sets and clears the fields of a descriptor this way (and
    rejects an exclusive or of one); bits of a data word are outside the subset."""
    if base.startswith("ST"):
        src, mem = t.args(i, "rm")
        dst = None
    else:
        src, dst, mem = t.args(i, "rrm")
    s = t.address(i, mem)
    if s.kind != "pte":
        _data_bits(t, i, base, order, src, dst, mem)
        return
    if base.endswith("EOR"):
        raise t.fail(i, f"an exclusive or of a descriptor ({i.text}) is outside the subset "
                     "(herd7 rejects it)")  # fmt: skip
    if offset(t, i, mem):
        raise t.fail(i, f"this atomic on a page-table entry is outside the subset ({i.text})")
    op, changes = mask_fields(t, i, src, base.endswith("SET"))
    sp = i.span
    target = ast.PteRead(ast.PageRef(None, s.page, span=sp), "", span=sp)
    name = None if dst is None or _zero(dst) else reg_name(dst)
    if name is not None:
        t.env.regs[name] = Static("ptev")
    t.syms.descs.setdefault(s.page, [None]).extend(changed(t.syms.descs[s.page], changes))
    stmt = ast.Atomic(name, op, target, (), order, (), tuple(changes), span=sp)
    t.emit(i, stmt)


def _data_bits(t: Any, i: L.Instr, base: str, order: str, src: L.Operand,
               dst: L.Operand | None, mem: L.Operand) -> None:  # fmt: skip
    """`LDSET`, `LDCLR`, `LDEOR` (and `ST` forms) on data through a page: `r := fetch_set
    ORDER(x, e)`, `fetch_clear`, `fetch_xor`."""
    if t.env.get(reg_name(src)).kind not in ("int", "data"):
        raise t.fail(i, f"{src.text} holds an address or a descriptor, stored as data ({i.text})")
    s = t.address(i, mem)
    sp = i.span
    name = None if dst is None or _zero(dst) else reg_name(dst)
    if name is not None:
        t.env.regs[name] = Static("data")
    op = {"SET": "fetch_set", "CLR": "fetch_clear", "EOR": "fetch_xor"}[base[2:]]
    target = ast.Name(s.page, span=sp)
    via = offset(t, i, mem)
    t.emit(i, ast.Atomic(name, op, target, (data_of(t, src),), order, via, span=sp), s.page)


def _pte_exclusive(t: Any, i: L.Instr, order: str, page: str, dst: L.Operand,
                   src: L.Operand | None, mem: L.Operand) -> None:  # fmt: skip
    """`LDXR Xd,[Xn]` / `LDAXR` of a page-table entry: `Xd := load_exclusive
    [acquire](pte(x))` (a PTE value); `STXR Ws,Xt,[Xn]` / `STLXR`: `Ws := store_exclusive
    [release](pte(x), v)` of the descriptor or loaded value Xt holds (docs/arm64.md §1)."""
    if offset(t, i, mem):
        raise t.fail(i, f"this exclusive on a page-table entry is outside the subset ({i.text})")
    sp = i.span
    target = ast.PteRead(ast.PageRef(None, page, span=sp), "", span=sp)
    name = reg_name(dst)
    args = () if src is None else (_pte_value(t, i, src, page),)
    t.env.regs[name] = Static("ptev" if src is None else "data")
    op = "load_exclusive" if src is None else "store_exclusive"
    t.emit(i, ast.Atomic(name, op, target, args, order or "relaxed", span=sp))


def _pte_value(t: Any, i: L.Instr, r: L.Operand, page: str) -> ast.Expr:
    """A register an atomic stores to (or compares with) a page-table entry: a loaded PTE
    value, or a descriptor (its PTE value)."""
    v = t.env.get(reg_name(r))
    if v.kind == "ptev":
        return ast.Name(reg_name(r), span=r.span)
    if v.kind == "desc" and v.desc is not None:
        t.syms.descs.setdefault(page, [None]).append(v.desc)
        return ast.PteLit(t.pte_of(v.desc, page), span=r.span)
    raise t.fail(i, f"{r.text} holds no descriptor for the page-table atomic ({i.text})")


def _exclusive(t: Any, i: L.Instr) -> None:
    sp = i.span
    order = EXCLUSIVES[i.op]
    if i.op.startswith("LD"):
        dst, mem = t.args(i, "rm")
        status, src = None, None
    else:
        status, src, mem = t.args(i, "rrm")
    s = t.address(i, mem)
    if s.kind == "pte":
        _pte_exclusive(t, i, order, s.page, status if status is not None else dst, src, mem)
        return
    via = offset(t, i, mem)
    ref = ast.PageRef(None, s.page, span=sp)
    if status is None:
        name = reg_name(dst)
        t.env.regs[name] = Static("data")
        stmt = ast.Access("read", ref, ast.Name(name, span=dst.span), order=order, via=via,
                          exclusive=True, span=sp)  # fmt: skip
    else:
        if t.env.get(reg_name(src)).kind not in ("int", "data"):
            raise t.fail(i, f"{src.text} holds an address or a descriptor, stored as data ({i.text})")
        value = data_of(t, src)
        name = reg_name(status)
        t.env.regs[name] = Static("data")
        stmt = ast.Access("write", ref, ast.Name(name, span=status.span), value, order, via,
                          exclusive=True, span=sp)  # fmt: skip
    t.emit(i, stmt, s.page)
