"""Retried faults under `arm` (`.litmus` with `Variant=imprecise` or `Variant=Handled`,
docs/arm64.md section 3): a core's first fault is taken like a fatal one
(`rules_translate.retried`: recorded, the access not performed), then the exception
entry, context synchronizing, undoes what the core performed after the access and lets
it run again."""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import Field, disj, eq, op
from verifier.machine.context import Ctx, Rule
from verifier.machine.layout import C
from verifier.machine.rules_arm import arm, entry_relief, performed, tr_ok, window
from verifier.machine.rules_translate import undo_after


def entries(ctx: Ctx, c: int) -> None:
    """The exception entry after core ``c``'s fault at each access ``i``: it waits for
    pending earlier `dsb`s and control dependencies and for a held translation read
    that allows each pending earlier access; every instruction from ``i`` on performed
    early is undone (registers back at 0), their translation reads, marks and walker
    updates go."""
    a = arm(ctx, c)
    if a.entry is None:
        return
    core = ctx.prog.cores[c]
    pc = Field(ctx.lay.cores[c].pc)
    for i, ins in enumerate(core.code[: core.program_end]):
        if not isinstance(ins, P.IAccess):
            continue
        r = Rule([eq(Field(a.entry), 1), eq(Field(a.fault), i + 1)])  # type: ignore[arg-type]
        for k in range(window(ctx.prog).run_start(c, i), i):
            kins = core.code[k]
            free = tr_ok(ctx, c, k) if isinstance(kins, P.IAccess) else entry_relief(ctx, c, k)
            r.guard.append(disj(op("gt", pc, C(k)), performed(ctx, c, k), free))
        r.upd.set(a.entry, 0)
        undo_after(ctx, c, r, i, i, core.program_end)
        for f in (f for j, fs in a.hu.items() if i < j < core.program_end for f in fs):
            r.upd.set(f, 0)  # the walker's pending updates of later accesses
        r.info.update(at=i, how="entry")
        ctx.emit(c, None, r, "exception", f"{core.name}@{i}:entry", ins.text, ins.span)
