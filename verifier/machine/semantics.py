"""The rules of the machine, written once: Program + model -> System of guarded commands.

Every behaviour the memory model allows is one of these commands: executing an
instruction, a buffered store or held IPI leaving a store buffer, a pending
IPI entering its handler, or a speculative walker filling a TLB.  The explicit
engine and the z3 engine both run exactly this list.

The rules themselves are grouped by what the machine does:

| module | rules |
|---|---|
| ``rules_instr`` | instructions: stores, loads, read-modify-writes, fences, control flow |
| ``rules_pte`` | page-table writes and `complete` |
| ``rules_buffer`` | store buffers: appending, drains, release-fence retirement |
| ``rules_ipi`` | IPIs: sending, holding, queueing, handler entry |
| ``rules_tlb`` | TLB accesses, invalidations, walker fills |
| ``rules_walk`` | two-level pages: walks, paging-structure caches, `dir` stores |
| ``rules_race`` | the race checks of an access |
| ``rules_retry`` | retried faults: the exception entry after a core's first fault |
| ``rules_final`` | a litmus test's final condition, judged on final states |

They share ``context.Ctx`` (program, model, layout, commands) and ``context.Rule``.
Command ids follow the order below; stored counterexamples name commands by key.
"""

from __future__ import annotations

from collections.abc import Callable

from verifier.ir import program as P
from verifier.ir.system import CoreLayout, System
from verifier.machine import rules_hafdbs, rules_retry
from verifier.machine.context import Ctx
from verifier.machine.rules_buffer import drains
from verifier.machine.rules_final import final_rule
from verifier.machine.rules_instr import instruction
from verifier.machine.rules_ipi import deliveries, held_ipis_leave
from verifier.machine.rules_riscv import invalid_fills
from verifier.machine.rules_tlb import fills


def build(prog: P.Program, model: str, check: Callable[[], None] | None = None) -> System:
    """The transition system of ``prog`` under memory model ``model``; ``check`` is called
    before each instruction (it raises to stop the run: a time or memory limit)."""
    ctx = Ctx(prog, model)
    for c, core in enumerate(prog.cores):
        for pc, ins in enumerate(core.code):
            if check is not None:
                check()
            instruction(ctx, c, pc, ins, core.next[pc])
        deliveries(ctx, c)
        if ctx.lay.buffered(c):
            drains(ctx, c)
            held_ipis_leave(ctx, c)
        if prog.walker == "speculative":
            fills(ctx, c)
            invalid_fills(ctx, c)
        if model == "arm":
            rules_hafdbs.updates(ctx, c)
            rules_retry.entries(ctx, c)
    rules_hafdbs.spontaneous(ctx)
    final_rule(ctx)
    return _system(ctx)


def _system(ctx: Ctx) -> System:
    cores = []
    for c, core in enumerate(ctx.prog.cores):
        cf = ctx.lay.cores[c]
        awaits = [(pc, ins) for pc, ins in enumerate(core.code) if isinstance(ins, P.IAwait)]
        cores.append(
            CoreLayout(
                core.name,
                cf.pc,
                cf.spc,
                cf.inh,
                frozenset(pc for pc, _ in awaits if pc < core.program_end),
                frozenset(pc for pc, _ in awaits if pc > core.program_end),
                tuple((pc, ins.text, ins.span) for pc, ins in awaits),
            )
        )
    lay = ctx.lay
    return System(
        ctx.model,
        tuple(lay.fields),
        tuple(f.init for f in lay.fields),
        tuple(ctx.commands),
        tuple(cores),
        ctx.prog.pte_values,
        lay.groups(),
        {"layout": lay},
        lay.bound,
    )
