"""What went wrong, in words: the `Problem` that ends a counterexample trace."""

from __future__ import annotations

from typing import Any

from verifier.ir.program import IAwait, Program
from verifier.ir.system import Command, evaluate
from verifier.machine.layout import Layout
from verifier.machine.rules_final import final_state
from verifier.run.result import Problem
from verifier.trace.effects import pte_desc, pte_source
from verifier.trace.values import Values

State = tuple[int, ...]


def check_problem(
    prog: Program, lay: Layout, kind: str, cmd: Command, check: int, pre: State
) -> Problem:
    """Check ``check`` of ``cmd`` fails in ``pre``."""
    chk = cmd.checks[check]
    info = dict(chk.info)
    who = prog.cores[cmd.core].name
    if kind in ("assertion", "range", "capacity", "bbm"):
        what = info.get("what", "assertion failed")
        return Problem(kind, who, f"{who}: {what} at `{cmd.text}`", cmd.text, cmd.span)
    if kind in ("positive", "negative"):
        how = "satisfying" if kind == "positive" else "not satisfying"
        prop = cmd.text.lstrip("~").partition(" ")[2] or cmd.text
        msg = f"a final state {how} {prop}: {final_state(prog, lay, pre)}"
        return Problem(kind, "final", msg, cmd.text, cmd.span)
    if kind == "freed-table":
        return _freed_table(prog, cmd, info, who)
    pv = prog.pte_values[evaluate(info["pte"], pre) // 4]
    page = prog.pages[cmd.get("page")]
    access = cmd.text
    src = f"entry {page} -> {pte_desc(pv, prog)} filled from {pte_source(pv)}"
    if kind == "use-after-free":
        frame = prog.frames[pv.frame]
        now = f"frame {frame} was freed"
        msg = f"{who}: `{access}` reached freed frame {frame} through the {src}"
    elif kind == "lost-write":
        frame = prog.frames[pv.frame]
        state = pre[lay.contents[pv.frame]]
        n = len(prog.frames)
        how = "zeroed" if state == 1 else f"copied to {prog.frames[(state - 2) % n]}"
        now = f"frame {frame} was {how}"
        verb = "wrote to" if "write" in access else "read"
        msg = f"{who}: `{access}` {verb} frame {frame} after it was {how}: the data is lost"
        if state >= 2 + n and "write" not in access:  # a read that misses a write
            dst = prog.frames[state - 2 - n]
            now = f"frame {frame} was copied to {dst}, and {dst} was written since"
            msg = (f"{who}: `{access}` read frame {frame} after its data moved to {dst} and "
                   f"{dst} was written: the read missed that write")  # fmt: skip
    elif kind == "asid-reuse":
        s = info["space"]
        owner = (evaluate(info["src"], pre) - 1) % len(prog.spaces)
        now = (
            f"the entry belongs to space {prog.spaces[owner].name}, the core runs "
            f"{prog.spaces[s].name} (both ASID {prog.spaces[s].asid})"
        )
        msg = f"{who}: `{access}` hit a TLB entry of another address space with the same ASID"
    else:
        if "rec" in info:  # a spec with two-level pages: the record of the entry's source
            rec = prog.pte_values[evaluate(info["rec"], pre) - 1]
        else:
            i = lay.pte_addr(_entry_space(cmd, pre), cmd.get("page")) - lay.nwords
            rec = prog.pte_values[pre[lay.rec[i]] - 1]
        now = f"PTE recorded at `complete`: {pte_desc(rec, prog)} from {pte_source(rec)}"
        what = "translation" if kind == "stale-translation" else "permission"
        msg = f"{who}: `{access}` used a stale {what}: the {src}"
    return Problem(kind, who, msg, access, cmd.span, pv.text, pv.span, now)


def _freed_table(prog: Program, cmd: Command, info: dict[str, Any], who: str) -> Problem:
    """A walk read a slot of a freed table page (docs/page-tables.md)."""
    table = prog.frames[info["table"]]
    if info["via"] == "software":  # `pte(T[i])`: a lockless read of the table page
        msg = f"{who}: `{cmd.text}` read slot {info['slot']} of freed table {table}"
        what = f"`{cmd.text}`"
        return Problem("freed-table", who, msg, what, cmd.span, None, None, f"table {table} was freed")
    d = prog.dirs[info["dir"]].name
    how = "the cached pointer" if info["via"] == "cached" else "the dir in memory"
    page = prog.pages[cmd.get("page")]
    what = f"`{cmd.text}`" if cmd.site is not None else "the speculative walker"
    if cmd.action == "translate":  # under `arm`: an access's translation read
        what = f"the translation read of `{cmd.text}`"
    msg = (
        f"{who}: a walk of {page} for {what} read slot {info['slot']} of freed table "
        f"{table} through {how} {d} -> {table}"
    )
    now = f"table {table} was freed"
    return Problem("freed-table", who, msg, what, cmd.span, None, None, now)


def _entry_space(cmd: Command, pre: State) -> int:
    if cmd.get("how") == "miss-fill":
        return int(cmd.get("space"))
    return int(pre[cmd.get("slot")]) - 1


def hang_problem(
    prog: Program, lay: Layout, core: int, pc: int, s: State | None = None, stuck: bool = False
) -> Problem:
    """Core ``core`` never passes the `await` at ``pc``. With the hang state ``s`` the message
    gives the values the await reads and the IPIs nobody takes; ``stuck``: in ``s`` the core
    is inside a handler that never returns (over that await), and the problem points there."""
    ins = prog.cores[core].code[pc]
    who = prog.cores[core].name
    pending = stuck_ipis(prog, lay, s) if s is not None else []
    tail = f"; pending: {', '.join(pending)}" if pending else ""
    if stuck and s is not None:
        handler_pc = s[lay.cores[core].pc]
        entries = prog.cores[core].handler_entry
        h = prog.handlers[max(i for i, entry in enumerate(entries) if entry <= handler_pc)]
        why = (
            f"{who} is stuck in handler {h.name} (line {h.span.line}), which never returns, "
            f"so it never passes the interrupted `{ins.text}` (line {ins.span.line})"
        )
        return Problem("hang", who, why + tail, f"handler {h.name}", h.span)
    why = ": no continuation of this execution lets it pass"
    if s is not None:
        reads = []
        if isinstance(ins, IAwait):
            reads = Values(prog, lay).operands(core, ins.cond, s, None, origin=False)
        why = (f" ({', '.join(reads)})" if reads else "") + why + tail
    return Problem("hang", who, f"{who} waits at `{ins.text}` forever{why}", ins.text, ins.span)


def stuck_ipis(prog: Program, lay: Layout, s: State) -> list[str]:
    """The IPIs still queued (or held in a sender's store buffer) in ``s``:
    ``IPI shoot at c1 (interrupts off)``."""
    out: list[str] = []
    for c, cf in enumerate(lay.cores):
        name = prog.cores[c].name
        irq = "interrupts off" if s[cf.irq] == 0 else "interrupts on"
        out += [f"IPI {prog.handlers[s[h] - 1].name} at {name} ({irq})" for h in cf.qh if s[h]]
        held = sum(1 for k in cf.sba if s[k] >= lay.ipi0)
        if held:
            out.append(f"{held} IPI(s) held in {name}'s store buffer")
    return out
