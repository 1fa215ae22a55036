"""What symmetry reduction needs to know about the `arm` model (docs/arm64.md §3): the
fields of an instance outside its core block, and the families it must not reduce."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from verifier.ir import program as P
from verifier.lang.checked import WEAK_MODELS
from verifier.machine.layout import Layout
from verifier.machine.layout_arm import broadcasters


def arm_fields(lay: Layout, c: int) -> tuple[int, ...]:
    """Under `arm`, core ``c``'s own fields outside its block (layout_arm.ArmCore: early
    instructions, held translation reads and their marks, the fatal fault), in layout
    order; the same shape for every instance, whose code is the same."""
    if lay.model not in WEAK_MODELS:
        return ()
    return tuple(f for g in lay.arm[c].groups() for f in g)


def weak_exclusions(model: str, prog: P.Program, fams: list[Any]) -> list[Any]:
    """The families (`symmetry.Family`) a weak model does not reduce. Under `arm`: one
    whose code has a broadcast `tlbi` (a mark names the core whose `tlbi` set it, so
    swapping issuers would rename marks on other cores), and one a loop names (a
    looping core's early-performed instructions are tied to positions of its unrolled
    loop). `riscv` is the same machinery (docs/riscv.md): its invalid TLB entries and
    local `sfence.vma` stay in the core's own fields, so the same two exclusions apply."""
    excl = {c for c, core in enumerate(prog.cores) if any(
        isinstance(x, P.IAccess) and x.exclusive for x in core.code)}  # fmt: skip
    why = "it uses exclusives (its reservation lies outside its block)"
    fams = [replace(f, reduced=False, why=f.why or why) if excl & set(f.cores) else f for f in fams]
    if model not in WEAK_MODELS:
        return fams
    issuers = set(broadcasters(prog))
    tlbi = f"its code has a broadcast tlbi (under {model} a mark names its issuer)"
    loop = f"a loop names its instances (under {model}, early steps are per position)"
    out = []
    for f in fams:
        if issuers & set(f.cores):
            f = replace(f, reduced=False, why=f.why or tlbi)
        elif f.loop is not None:
            f = replace(f, reduced=False, why=f.why or loop)
        out.append(f)
    return out
