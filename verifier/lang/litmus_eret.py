"""Fault handlers that return (docs/arm64.md §4): ``ADR Xd,L`` puts label L in Xd (a
register of the spec holding the label's number), ``MSR ELR_EL1,Xd`` makes L the return
address, and ``ERET``, the handler's last instruction, returns there.  The handler is
`on fault resume` when L is right after every access of the thread that may fault
(herd7 then runs the instructions from L after the handler), else the test cannot be
stated.  A condition ``1:X9=label:"P1:L0"`` compares X9 with L's number."""

from __future__ import annotations

from typing import Any

from verifier.lang import ast
from verifier.lang import litmus_ast as L
from verifier.lang.litmus_arith import Static, reg_name

ERET_OPS = {"ADR", "MSR", "ERET"}


def label_number(proc: int, label: str, labels: list[str]) -> int:
    """The number a register holding label ``P<proc>:<label>`` holds (never 0)."""
    key = f"P{proc}:{label}"
    if key not in labels:
        labels.append(key)
    return labels.index(key) + 1


def lower_eret(t: Any, i: L.Instr) -> None:
    sp = i.span
    if i.op == "ADR":
        d, target = t.args(i, "rn")
        n = label_number(t.th.proc, target.text, t.syms.labels)
        t.env.regs[reg_name(d)] = Static("label", target.text, value=n)
        t.emit(i, ast.Assign(ast.Name(reg_name(d), span=d.span), ast.Num(n, span=sp), span=sp))
        return
    if i.op == "MSR":
        sysreg, src = t.args(i, "nr")
        held = t.env.get(reg_name(src))
        if sysreg.text.upper() != "ELR_EL1" or held.kind != "label":
            raise t.fail(i, f"only MSR ELR_EL1 of a label set by ADR is read ({i.text})")
        t.elr = held.page
    else:
        t.args(i, "")
        if not t.th.handler or i is not t.th.code[-1] or t.elr is None:
            what = "an ERET that is not the last instruction of a handler setting ELR_EL1"
            raise t.fail(i, f"{what} is outside the litmus subset ({i.text})")
        t.eret = t.elr
    if i.labels:
        t.emit(i, ast.Skip(span=sp))


def check_return(main: Any, handler: Any, err: type[Exception]) -> None:
    """The handler of thread ``main`` returns (``ERET``) to a label right after every
    access of the thread that may fault, and its own accesses cannot fault: else the
    test is outside what `on fault resume` states (a located error)."""
    label = handler.eret
    syms, proc = main.syms, main.th.proc
    for _, page, kind in handler.accesses:
        if syms.fault_types(page, kind or "read", proc):
            raise err(handler.th.span, f"P{proc}.F may fault itself (a fault inside a handler)")
    code = main.th.code
    for k, ins in enumerate(code):
        if not any(span == ins.span for span, _, _ in main.accesses):
            continue
        page, kind = next((p, kd) for span, p, kd in main.accesses if span == ins.span)
        after = code[k + 1].labels if k + 1 < len(code) else main.th.end_labels
        faults = syms.reg_stores or syms.fault_types(page, kind or "read", proc)
        if faults and label not in after:
            what = f"P{proc}.F returns to {label}, which is not right after `{ins.text}`"
            raise err(ins.span, f"{what}, an access that may fault: outside the litmus subset")
    main.resumes = True
