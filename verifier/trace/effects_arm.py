"""What the Arm64 statements and the `arm` model's steps did, in words (docs/arm64.md):
barriers, `tlbi` (on one core or every core), translation reads, accesses using a
held translation, faults, and data moved through a page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from verifier.ir import program as P
from verifier.ir.system import Command
from verifier.lang.checked import WEAK_MODELS
from verifier.machine.layout_arm import ArmCore

if TYPE_CHECKING:
    from verifier.trace.effects import Effects, State

RV_SET = {"r": "loads", "w": "stores", "rw": "loads and stores"}
BARRIER = {
    ("dmb", "full"): "earlier loads and stores ordered before later ones",
    ("dmb", "ld"): "earlier loads ordered before later loads and stores",
    ("dmb", "st"): "earlier stores ordered before later stores",
    ("dsb", "full"): "waited for earlier accesses, tlbis and their in-flight users",
    ("dsb", "ld"): "waited for earlier loads",
    ("dsb", "st"): "waited for earlier stores",
    ("isb", "full"): "context synchronized: later translation reads come after",
}


def describe(fx: Effects, cmd: Command, pre: State, post: State) -> str | None:
    """The effect text of an Arm64 step, or None for the describers of effects.py."""
    a = cmd.action
    early = " (early)" if cmd.site is None and cmd.get("at") is not None else ""
    if cmd.get("speculative"):
        early = " (speculated past a branch not yet taken: gone if the branch skips it)"
    if a == "fence" and cmd.get("kind") in ("dmb", "dsb", "isb"):
        text = BARRIER[(cmd.get("kind"), cmd.get("which"))]
        if fx.lay.model not in WEAK_MODELS and cmd.get("kind") != "isb":
            text = "store buffer is empty"
        return text + early
    if a == "fill" and cmd.get("invalid"):  # riscv: an invalid entry may be cached
        return fx._fill(cmd, pre, post) + " (an invalid entry: RISC-V may cache it)"
    if a == "fence" and cmd.get("pred") is not None:  # RISC-V (docs/riscv.md)
        if fx.lay.model not in WEAK_MODELS:
            return "no effect on this model"
        pred, succ = (RV_SET[cmd.get(k)] for k in ("pred", "succ"))
        return f"earlier {pred} ordered before later {succ}{early}"
    if a in ("invlpg", "flush") and cmd.get("sfence"):
        what = fx.prog.pages[cmd.get("page")] if a == "invlpg" else "all pages"
        if a == "flush" and cmd.get("asid") is not None:
            what = f"ASID {cmd.get('asid')} (not global)"
        return f"sfence.vma: TLB entries for {what} dropped on this core{early}"
    if a in ("invlpg", "flush") and cmd.get("broadcast") is not None:
        what = fx.prog.pages[cmd.get("page")] if a == "invlpg" else "all"
        where = "on every core" if cmd.get("broadcast") else "on this core"
        return f"tlbi: TLB entries for {what} dropped {where}{early}"
    if a == "translate":
        return _translate(fx, cmd, post)
    if a == "hw-update":  # docs/arm64.md section 7
        from verifier.trace.effects import pte_desc

        addr = cmd.get("addr")
        value = pte_desc(fx.wid_of(post[fx.lay.mem[addr]]), fx.prog)
        who = "spontaneous update" if cmd.get("how") == "spontaneous" else "walker's update"
        return f"{who}: PTE {fx.lay.addr_name(addr)} := {value} (in memory)"
    if fx.lay.model in WEAK_MODELS and a in ("access", "fault", "stop"):
        return _use(fx, cmd, pre, post) + early
    if a == "exception":  # retried faults (docs/arm64.md section 3)
        return "exception entry (context synchronizing): the access that faulted runs again"
    if a == "skip" and isinstance(fx._instr(cmd), P.ICtrl):
        return "control dependency resolved" + early
    return None


def _arm(fx: Effects, c: int) -> ArmCore:
    a: ArmCore = fx.lay.arm[c]
    return a


def _translate(fx: Effects, cmd: Command, post: State) -> str:
    i = cmd.get("at")
    value = post[_arm(fx, cmd.core).tr[i]]
    pv = fx.wid_of(value)
    from verifier.trace.effects import pte_desc, pte_source

    page = fx.prog.pages[cmd.get("page")]
    how = {
        "hit-global": "TLB hit (global entry)",
        "hit": "TLB hit",
        "walk-fill": "walk of memory, entry cached",
        "walk": "walk of memory, entry not cached",
        "walk-invalid": "walk of memory, invalid entry (never cached)",
        "walk-freed": "walk of memory, a freed table (nothing cached)",
        "walk-update": "walk of memory, hardware flag update pending",
        "walk-update-fill": "walk of memory, hardware flag update pending, entry cached",
    }[cmd.get("how")]
    path = _path(fx, cmd)
    return f"translation read of {page}: {how}{path}: {pte_desc(pv, fx.prog)} from {pte_source(pv)}"


def _path(fx: Effects, cmd: Command) -> str:
    """For a two-level page: which level the walk read, and through which pointer."""
    if "dir" not in cmd.info:
        return ""
    d = fx.prog.dirs[cmd.get("dir")].name
    if cmd.get("level") == "dir":
        return f" (dir {d} in memory is invalid)"
    table = fx.prog.frames[fx.prog.tables[cmd.get("table")]]
    via = "cached pointer" if cmd.get("via") == "cached" else "dir in memory"
    at = fx.prog.walk(cmd.get("space"), cmd.get("page"))
    return f" ({d} -> {table} ({via}), slot {table}[{at[1] if at else 0}])"


def _use(fx: Effects, cmd: Command, pre: State, post: State) -> str:
    from verifier.trace.effects import pte_desc

    i = cmd.get("at") if cmd.site is None else cmd.site
    tr = pre[_arm(fx, cmd.core).tr[i]]
    handler = fx.prog.cores[cmd.core].fault_entry >= 0
    then = "goes to its fault handler" if handler else "stops"
    if cmd.action == "stop":
        return f"the core {then} at its earlier fault"
    pv = fx.wid_of(tr)
    page = fx.prog.pages[cmd.get("page")]
    if cmd.action == "fault":
        kind = "translation" if pv.frame < 0 else "access-flag" if not pv.af else "permission"
        stops = f", the core {then}" if fx.lay.arm[cmd.core].fault is not None else ""
        if cmd.get("speculative"):  # when pc gets there
            stops = f", the core will {'go to its fault handler' if handler else 'stop'} there"
        if cmd.get("how") == "retry":  # docs/arm64.md section 3, retried faults
            stops = ", taken: the exception entry comes next"
        return f"{kind} fault on {page} (translation read: {pte_desc(pv, fx.prog)}){stops}"
    frame = fx.prog.frames[pv.frame]
    return f"{page} -> {frame}: access reaches frame {frame}" + data_text(fx, cmd, pre, post)


def data_text(fx: Effects, cmd: Command, pre: State, post: State) -> str:
    """`; r = 1` for a load through a page, `; A's word = 1` for a store."""
    i = cmd.get("at") if cmd.site is None else cmd.site
    ins = fx.prog.cores[cmd.core].code[i]
    if not isinstance(ins, P.IAccess) or not fx.lay.arm.data:
        return ""
    if ins.dest is not None:
        reg = fx.values.reg_name(cmd.core, ins.dest)
        return f"; {reg} = {post[fx.values_reg(cmd.core, ins.dest)]}"
    if ins.value is not None:
        changed = [f for f, fld in enumerate(fx.lay.arm.data) if pre[fld] != post[fld]]
        return "".join(
            f"; {fx.prog.frames[f]}'s word = {post[fx.lay.arm.data[f]]}" for f in changed
        )
    return ""
