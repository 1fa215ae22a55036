"""What the explored states say about the spec itself, as SPIN reports unreached code.

`coverage()` reads any engine's explored states (a sequence of state vectors) and
gives two things:

- **unreached statements**: a statement of a core's program is reached when that core's
  program counter is at it in some explored state; a handler's statement when any core's
  is (every core holds a copy of every handler; one that never takes an IPI of that
  handler would otherwise make noise). With symmetry reduction the stored states are
  one per orbit, so the cores of a reduced family count together.
- **vacuity**: a `safe` verdict that could not have been anything else for a kind. The
  stale kinds (`stale-translation`, `stale-permission`) are judged only on an access to a
  `complete`, `use-after-free` only on an access after a `free`: when no explored state
  has an access statement enabled after one, `safe` says nothing about that kind.
  Specs without user accesses (litmus tests of the memory model) are not told.

Both come from the states alone, so every engine that enumerates states (the explicit
search, `--prove` over the reachable set) gets them the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from verifier.ir import program as P
from verifier.ir.system import Command, System, evaluate

STALE = ("stale-translation", "stale-permission")
FREED = ("use-after-free",)
_SYNTHETIC = (P.IEnd, P.IReturn, P.IJump, P.IFail)


@dataclass(frozen=True)
class Unreached:
    """A statement no explored execution reached: ``who`` runs it (a core, a family
    ``cpu[1..2]``, or ``handler h``), ``where`` is ``file:line``."""

    who: str
    where: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"who": self.who, "where": self.where, "statement": self.text}


@dataclass(frozen=True)
class Coverage:
    unreached: tuple[Unreached, ...]
    vacuous: tuple[str, ...]  # one warning per group of kinds a safe verdict says nothing of


def coverage(
    prog: P.Program,
    system: System,
    states: Sequence[Sequence[int]],
    families: Iterable[Sequence[int]] = (),
    *,
    safe: bool = False,
) -> Coverage:
    """Unreached statements of ``prog`` in ``states`` (the explored states of ``system``);
    the vacuity warnings too when the verdict is ``safe``. ``families``: groups of core
    indices a symmetry reduction treated as one."""
    pcs = [_column(states, core.pc) for core in system.cores]
    for fam in families:
        union = set().union(*(pcs[c] for c in fam))
        for c in fam:
            pcs[c] = union
    return Coverage(_unreached(prog, pcs), _vacuity(prog, system, states, pcs) if safe else ())


def _column(states: Sequence[Sequence[int]], field: int) -> set[int]:
    """The values field ``field`` takes over ``states`` (a flat store is sliced at once)."""
    data, width = getattr(states, "data", None), getattr(states, "width", None)
    if isinstance(data, bytearray) and isinstance(width, int):
        return set(data[field : len(states) * width : width])
    return {s[field] for s in states}


def _unreached(prog: P.Program, pcs: list[set[int]]) -> tuple[Unreached, ...]:
    # program statements: per core, by span (a `for` unrolls one statement to many pcs)
    program: dict[tuple[str, str, str], list[str]] = {}
    handler_sites: dict[tuple[str, object], tuple[str, str, bool]] = {}
    for c, core in enumerate(prog.cores):
        starts = sorted((pc, h) for h, pc in enumerate(core.handler_entry))
        seen: dict[object, bool] = {}
        for pc, ins in enumerate(core.code):
            if isinstance(ins, _SYNTHETIC) or ins.span is None:
                continue
            seen[ins.span] = seen.get(ins.span, False) or pc in pcs[c]
            if pc >= core.fault_entry >= 0:
                continue  # `on fault` code (docs/arm64.md §3): reached only by a fault
            if pc > core.program_end:
                h = max((h for start, h in starts if start <= pc), default=0)
                name = prog.handlers[h].name
                was = handler_sites.get((name, ins.span), ("", "", False))[2]
                handler_sites[(name, ins.span)] = (_where(ins), ins.text, was or pc in pcs[c])
        for ins in core.code[: core.program_end]:
            if isinstance(ins, _SYNTHETIC) or ins.span is None or seen[ins.span]:
                continue
            seen[ins.span] = True  # once per statement
            program.setdefault((_where(ins), ins.text, str(ins.span)), []).append(core.name)
    out = [Unreached(_cores(names), where, text) for (where, text, _), names in program.items()]
    for (name, _), (where, text, reached) in handler_sites.items():
        if not reached:
            out.append(Unreached(f"handler {name}", where, text))
    return tuple(out)


def _where(ins: P.Instr) -> str:
    return f"{ins.span.file}:{ins.span.line}"


def _cores(names: list[str]) -> str:
    """``cpu[1..3]`` for a whole run of one family, else the names joined."""
    fam = {n.split("[")[0] for n in names}
    if len(fam) == 1 and all(n.endswith("]") and "[" in n for n in names) and len(names) > 1:
        idx = sorted(int(n.split("[")[1][:-1]) for n in names)
        if idx == list(range(idx[0], idx[-1] + 1)):
            return f"{fam.pop()}[{idx[0]}..{idx[-1]}]"
    return ", ".join(names)


def _vacuity(
    prog: P.Program, system: System, states: Sequence[Sequence[int]], pcs: list[set[int]]
) -> tuple[str, ...]:
    """The warnings of a safe verdict: which kinds no explored state could judge."""
    lay = system.meta["layout"]
    has = {
        k: any(isinstance(i, t) for core in prog.cores for i in core.code)
        for k, t in (("complete", P.IComplete), ("free", P.IFree), ("access", P.IAccess))
    }
    if not has["access"] or not (has["complete"] or has["free"]):
        return ()  # a litmus test, or a spec about ASIDs: it declares nothing done or freed
    # an access statement's commands (a hit, a fill, a fault: each judges the TLB it meets)
    access_at: dict[tuple[int, int], list[Command]] = defaultdict(list)
    for cmd in system.commands:
        at = cmd.site
        if at is not None and at in pcs[cmd.core]:
            access = isinstance(prog.cores[cmd.core].code[at], P.IAccess)
            if access:
                access_at[(cmd.core, at)].append(cmd)
    rec = lay.rec  # per page-table entry: what its latest `complete` recorded (0: none)
    pc_fields = [core.pc for core in system.cores]
    judged = {"complete": False, "free": False}
    # the deepest states first: that is where completes and frees have happened
    for i in range(len(states) - 1, -1, -1):
        s = states[i]
        completed = any(s[f] for f in rec)
        freed = any(s[f] for f in lay.freed)
        if not (completed and not judged["complete"]) and not (freed and not judged["free"]):
            continue
        for c, pcf in enumerate(pc_fields):
            for cmd in access_at.get((c, s[pcf]), ()):
                if not evaluate(cmd.guard, s):
                    continue
                judged["complete"] = judged["complete"] or completed
                judged["free"] = judged["free"] or freed
        if all(judged.values()):
            break
    out = []
    for what, kinds in (("complete", STALE), ("free", FREED)):
        if judged[what] or (what == "free" and not has["free"]):
            continue  # a spec that frees nothing does not claim anything of use-after-free
        why = f"no access was reached after a `{what}`"
        if not has[what]:
            why = f"the spec has no `{what}`"
        elif not any(isinstance(prog.cores[c].code[pc], _instr(what)) for c in range(len(pcs))
                     for pc in pcs[c] if pc < len(prog.cores[c].code)):  # fmt: skip
            why = f"no `{what}` was reached"
        out.append(f"{', '.join(kinds)}: {why}")
    return tuple(out)


def _instr(what: str) -> type:
    return P.IComplete if what == "complete" else P.IFree
