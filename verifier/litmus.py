"""`tlbcheck check T.litmus`: a herd AArch64 litmus test through the same pipeline as a
`.tlb` spec (docs/arm64.md §4).

The test is read (`lang/litmus.py`), lowered to a Program (`ir/litmus_lower.py`),
built under `arm` by the machine rules and explored by the explicit search.  Its final
states (every core at its end) are the outcomes; the condition is judged on each, and
the answer is herd7's: `Never`/`Sometimes`/`Always` with `Allowed`/`Forbidden`, and a
trace of an outcome that satisfies the condition (for `forall`, of one that does not).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.ir.litmus_cond import LCond, Unsupported
from verifier.ir.litmus_lower import Lowered, lower_litmus
from verifier.ir.system import System
from verifier.lang.diagnostics import Diagnostic, SpecError
from verifier.lang.litmus import parse_litmus
from verifier.lang.span import Span
from verifier.machine.layout import Layout
from verifier.machine.semantics import build
from verifier.run.budget import Budget
from verifier.run.result import Problem, Trace
from verifier.search.explicit import explore
from verifier.trace.builder import TraceBuilder

MODEL = "arm"


@dataclass
class LitmusResult:
    name: str
    file: str
    quantifier: str
    observation: str  # Never | Sometimes | Always | inconclusive
    positive: int  # final outcomes satisfying the condition
    negative: int
    states: int
    complete: bool
    reason: str = ""
    traces: list[Trace] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """herd7's kind: Allowed / Forbidden for `exists` and `~exists` (the condition
        reachable or not), Required / Allowed / Forbidden for `forall`."""
        if not self.complete:
            return "inconclusive"
        if self.quantifier == "forall" and self.negative == 0:
            return "Required"
        return "Allowed" if self.positive else "Forbidden"

    def line(self) -> str:
        how = f"{self.observation} {self.positive} {self.negative}"
        tail = f"  ({self.reason})" if self.reason else ""
        return f"{self.file}  {self.name}  {self.verdict}  {how}  {self.states} states{tail}"


def load_litmus(path: str) -> Lowered:
    """Read and lower; unreadable or unstateable input raises `SpecError` (located)."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    t = parse_litmus(text, path)
    try:
        return lower_litmus(t)
    except Unsupported as u:
        span = u.span or Span(path, 1, 1, 1, 2)
        msg = f"tlbcheck cannot state this test: {u.reason}"
        raise SpecError([Diagnostic(span, msg)], {path: text}) from None


def check_litmus(path: str, budget: Budget | None = None) -> LitmusResult:
    low = load_litmus(path)
    prog = low.prog
    system = build(prog, MODEL)
    ex = explore(system, budget=budget or Budget(2_000_000, None), edges=False)
    lay: Layout = system.meta["layout"]
    finals = [i for i in range(len(ex.states)) if _final(system, lay, ex.state(i))]
    seen: dict[tuple[int, ...], tuple[bool, int]] = {}
    for i in finals:
        s = tuple(ex.state(i))
        key = _outcome(lay, s)
        if key not in seen:
            seen[key] = (judge(low.cond, lay, s), i)
    pos = sum(1 for ok, _ in seen.values() if ok)
    neg = len(seen) - pos
    if not ex.complete:
        obs = "inconclusive"
    else:
        obs = "Never" if pos == 0 else "Always" if neg == 0 else "Sometimes"
    r = LitmusResult(
        prog.title, path, low.quantifier, obs, pos, neg, len(ex.states), ex.complete, ex.reason
    )
    want = low.quantifier != "forall"  # show a witness of exists, a counterexample of forall
    for ok, i in seen.values():
        if ok == want:
            r.traces.append(_trace(system, ex, i, prog.title, want))
            break
    return r


def _final(system: System, lay: Layout, s: tuple[int, ...] | bytes) -> bool:
    prog = lay.prog
    return all(s[cf.pc] == prog.cores[c].program_end for c, cf in enumerate(lay.cores))


def _outcome(lay: Layout, s: tuple[int, ...]) -> tuple[int, ...]:
    """What herd would print of a final state: registers, data words, faults, PTEs."""
    fields = [f for cf in lay.cores for f in cf.regs] + lay.arm.data
    fields += [a.fault for a in lay.arm if a.fault is not None]
    fields += lay.mem[lay.nwords :]
    return tuple(s[f] // 4 if f in lay.mem else s[f] for f in fields)


def judge(c: LCond, lay: Layout, s: tuple[int, ...]) -> bool:
    """Does final state ``s`` satisfy condition ``c``?"""
    match c.op:
        case "const":
            return bool(c.value)
        case "not":
            return not judge(c.args[0], lay, s)
        case "and":
            return all(judge(a, lay, s) for a in c.args)
        case "or":
            return any(judge(a, lay, s) for a in c.args)
    o = c.obs
    assert o is not None
    if c.op == "fault":
        f = lay.arm[o.core].fault
        return f is not None and s[f] - 1 in o.pcs
    if c.op == "pte":
        f = (
            lay.cores[o.core].regs[o.index]
            if o.kind == "reg"
            else lay.mem[lay.pte_addr(0, o.index)]
        )
        pv = lay.prog.pte_values[s[f] // 4]
        have = {"frame": pv.frame, "perms": pv.perms}
        return all(have[k] == v for k, v in o.fields)
    field = lay.cores[o.core].regs[o.index] if o.kind == "reg" else lay.arm.data[o.index]
    return s[field] == c.value


def _trace(system: System, ex: object, i: int, title: str, holds: bool) -> Trace:
    tb = TraceBuilder(system, ex.compiled, system.meta["layout"].prog)  # type: ignore[attr-defined]
    path = ex.path(i)  # type: ignore[attr-defined]
    what = "the final condition holds" if holds else "the final condition fails"
    span = Span(tb.prog.file, 1, 1, 1, 2)
    problem = Problem("assertion", "final", f"final state: {what}", "final condition", span)
    return tb.trace("assertion", path, problem, title, MODEL)
