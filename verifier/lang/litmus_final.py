"""A litmus test's final condition -> `lang/final.py`'s proposition over the lowered
spec's names (docs/arm64.md §4): ``1:X4=0`` is core P1's register X4, ``x=1`` /
``[x]=1`` the data word of x's frame ``phy_x``, ``fault(P1:L0,x)`` core P1 stopped at a
fault of the instruction labelled L0 (never, when that instruction does not access x),
``fault(P1,x)`` at a fault of any of its accesses to x."""

from __future__ import annotations

from verifier.lang import litmus_ast as L
from verifier.lang.final import (
    FAnd,
    FBool,
    FCmp,
    FData,
    FFault,
    FNot,
    FNum,
    FOr,
    FProp,
    FPte,
    FPteMem,
    FReg,
)
from verifier.lang.litmus_desc import check_desc, pte_of
from verifier.lang.litmus_eret import label_number
from verifier.lang.litmus_instr import Symbols, ThreadOut
from verifier.lang.span import Span


def lower_condition(
    cond: L.Condition, syms: Symbols, threads: dict[int, ThreadOut], err: type[Exception]
) -> FProp:
    def go(p: L.Prop) -> FProp:
        match p:
            case L.Bool(value=v):
                return FBool(v)
            case L.Not(arg=a):
                return FNot(go(a))
            case L.And(args=args):
                return FAnd(tuple(go(a) for a in args))
            case L.Or(args=args):
                return FOr(tuple(go(a) for a in args))
            case L.FaultAtom():
                return _fault(p, syms, threads, err)
            case L.Eq():
                return _eq(p, syms, threads, err)
        raise err(p.span, "unexpected proposition")

    return go(cond.prop)


def _eq(p: L.Eq, syms: Symbols, threads: dict[int, ThreadOut], err: type[Exception]) -> FProp:
    loc = p.loc
    if isinstance(loc, L.Mem) and loc.kind == "pte":
        if not isinstance(p.value, L.Desc):
            raise err(loc.span, "a page-table entry is compared with a descriptor (oa:...)")
        check_desc(p.value, syms, err)
        value = pte_of(p.value, syms.page(loc.name), syms)
        return FCmp("!=" if p.negated else "==", FPteMem(loc.name), FPte(value))
    if isinstance(loc, L.Reg) and isinstance(p.value, L.Desc):
        return _desc_eq(p, loc, p.value, syms, threads, err)
    if isinstance(loc, L.Reg) and loc.proc in threads:  # a label register (litmus_eret)
        held = threads[loc.proc].env.get(loc.reg)
        if isinstance(p.value, L.Sym) and p.value.kind == "label":
            proc, _, label = p.value.name.partition(":")
            n = label_number(int(proc.lstrip("P")), label, syms.labels)
            return FCmp("!=" if p.negated else "==", FReg(f"P{loc.proc}", loc.reg), FNum(n))
        if held.kind == "label" and isinstance(p.value, L.Int) and p.value.value != 0:
            return FBool(p.negated)  # a label is no number (0: the handler never ran)
    if not isinstance(p.value, L.Int):
        raise err(
            p.value.span, "a condition on an address or a descriptor is outside the litmus subset"
        )
    left: FReg | FData
    if isinstance(loc, L.Reg):
        if loc.proc not in threads:
            raise err(loc.span, f"the test has no thread P{loc.proc}")
        if threads[loc.proc].env.get(loc.reg).kind == "mask":  # no register of the spec
            raise err(loc.span, f"P{loc.proc}:{loc.reg} holds a mask wider than a register")
        left = FReg(f"P{loc.proc}", loc.reg)
    else:
        left = FData(syms.frame(syms.page(loc.name)))
    return FCmp("!=" if p.negated else "==", left, FNum(p.value.value))


def _desc_eq(
    p: L.Eq, loc: L.Reg, d: L.Desc, syms: Symbols, threads: dict[int, ThreadOut], err: type
) -> FProp:
    """``1:X5=(oa:phy_y,valid:0)``: a register compared with a descriptor. A register
    holding a loaded PTE value compares its number (docs/arm64.md §1); one still holding
    the descriptor it started with compares now; one holding a number never equals a
    descriptor."""
    th = threads.get(loc.proc)
    if th is None:
        raise err(loc.span, f"the test has no thread P{loc.proc}")
    if not isinstance(d.get("oa"), L.Sym):
        raise err(d.span, "a descriptor in the condition names its output address (oa:...)")
    check_desc(d, syms, err)
    value = pte_of(d, "", syms)
    held = th.env.get(loc.reg)
    if held.kind == "ptev":
        return FCmp("!=" if p.negated else "==", FReg(f"P{loc.proc}", loc.reg), FPte(value))
    if held.kind == "desc" and held.desc is not None and held.desc.get("oa") is None:
        raise err(p.span, f"P{loc.proc}:{loc.reg} starts with a descriptor without an oa")
    same = held.kind == "desc" and held.desc is not None and pte_of(held.desc, "", syms) == value
    return FBool(same != p.negated)


def _fault(
    p: L.FaultAtom, syms: Symbols, threads: dict[int, ThreadOut], err: type[Exception]
) -> FProp:
    th = threads.get(p.proc)
    if th is None:
        raise err(p.span, f"the test has no thread P{p.proc}")
    if th.resumes:  # its fault is not kept once the handler runs (docs/arm64.md §3)
        raise err(p.span, f"a fault of P{p.proc}, whose handler returns, is outside the subset")
    page = None
    if p.loc is not None:
        page = p.loc.name
        if p.loc.kind == "pte" and page in syms.kernel_pages:  # EL0 (docs/arm64.md section 8)
            page = syms.kernel_pages[page]
        elif p.loc.kind != "va":
            raise err(p.loc.span, "a fault on a page-table entry is outside the litmus subset")
    if p.label is not None:
        if p.label not in th.labels:
            raise err(p.span, f"P{p.proc} has no instruction labelled {p.label}")
        span, accessed, kind = th.labels[p.label]
        if accessed is None or (page is not None and accessed != page):
            return FBool(False)  # that instruction never faults on this page
        chosen = [(span, accessed, kind)]
    else:
        chosen = [a for a in th.accesses if page is None or a[1] == page]
    kind = p.ftype.split(":")[-1] if p.ftype else ""
    if kind in ("Translation", "Permission") and not syms.af0:  # the machine tells them apart
        spans = tuple(s for s, _, _ in chosen)
        return FFault(f"P{p.proc}", spans, kind) if chosen else FBool(False)
    if p.ftype is not None:
        chosen = _of_type(p, chosen, syms, err)
    return FFault(f"P{p.proc}", tuple(s for s, _, _ in chosen)) if chosen else FBool(False)


def _of_type(
    p: L.FaultAtom, chosen: list[tuple[Span, str, str]], syms: Symbols, err: type[Exception]
) -> list[tuple[Span, str, str]]:
    """The accesses whose faults can only be of type ``p.ftype``, where the machine does
    not tell the types apart (an access-flag fault is a translation fault to it); where
    both types are possible at one instruction, the test cannot be stated."""
    want = "MMU:" + p.ftype.split(":")[-1] if p.ftype else ""
    out = []
    for a in chosen:
        types = syms.fault_types(a[1], a[2], p.proc)
        if want not in types:
            continue
        if len(types) > 1:
            raise err(
                p.span,
                f"a fault of type {p.ftype} where {' and '.join(sorted(types))} are both possible",
            )
        out.append(a)
    return out
