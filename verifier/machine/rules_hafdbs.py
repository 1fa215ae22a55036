"""arm64 hardware management of the access flag and dirty state (FEAT_HAFDBS) under `arm`
(docs/arm64.md section 7), as herd7's VMSA model has it.

A PTE value carries the access flag (``PteValue.af``; `old`: clear) and the dirty-bit
modifier (``dbm``); its `w` permission is the descriptor's writable state (herd7's
``db``).  Each core has HA (`access`), HA and HD (`hardware`) or neither
(``Program.ad_cores``).  A translation read that walks memory and finds a valid entry
the access would be allowed to use once updated does the update in the same atomic
step: HA sets the access flag, HD with a write also makes a `dbm` entry writable.  The
updated value is written to memory (keeping its race bits) and held; the TLB only ever
caches entries with the access flag set.  Without HA an `old` entry allows nothing (an
access-flag fault, never cached, like an invalid entry).  The update is a write: it
waits for earlier control dependencies and for the translation reads of earlier
accesses (herd7's ``dob``), and, when faults are fatal, until they cannot fault.
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import FALSE, TRUE, Expr, Field, Table, conj, disj, eq, ne, op
from verifier.machine.context import Ctx
from verifier.machine.layout import C, pte_wid
from verifier.machine.rules_arm import arm, performed, tr_ok

WRITE = 2


def mode(ctx: Ctx, c: int) -> str:
    """none | access | hardware: core ``c``'s flag management under `arm`."""
    if ctx.model != "arm" or not ctx.prog.ad_cores:
        return "none"
    return ctx.prog.ad_cores[c]


def updated_wid(prog: P.Program, w: int, dirty: bool) -> int:
    """The value the walker's update makes of value ``w``: the access flag set, and with
    ``dirty`` a `dbm` entry writable too (the value itself when nothing changes)."""
    v = prog.pte_values[w]
    if v.frame < 0:
        return w
    perms = v.perms | (WRITE if dirty and v.dbm else 0)
    want = (v.frame, perms, v.global_, v.kept, True, v.dbm)
    if want == v.key:
        return w
    return next(k for k, x in enumerate(prog.pte_values) if x.key == want)


def update(ctx: Ctx, c: int, wid: Expr, bit: int) -> tuple[Expr, Expr]:
    """(whether the access's walk must update the entry, the updated wid)."""
    m = mode(ctx, c)
    if m == "none":
        return FALSE, wid
    dirty = bit == WRITE and m == "hardware"
    table = tuple(updated_wid(ctx.prog, w, dirty) for w in range(len(ctx.prog.pte_values)))
    if all(t == w for w, t in enumerate(table)):
        return FALSE, wid
    new = Table(table, wid)
    return conj(ne(new, wid), ctx.lay.allows(new, bit)), new


def with_wid(entry: Expr, wid: Expr) -> Expr:
    """The memory value ``entry`` with its wid replaced (its race bits kept)."""
    return op("add", op("mul", wid, C(4)), op("mod", entry, C(4)))


def must_walk(ctx: Ctx, c: int, entry: Expr, bit: int) -> Expr:
    """A write with HD that finds a writable-clean (`r dbm`) TLB entry re-walks memory
    (the update is done on the descriptor in memory)."""
    if bit != WRITE or mode(ctx, c) != "hardware":
        return FALSE
    w = pte_wid(entry)
    clean = ctx.lay.table(lambda v: int(v.frame >= 0 and v.dbm and not v.perms & WRITE), w)
    return eq(clean, 1)


def update_ready(ctx: Ctx, c: int, i: int, start: int) -> list[Expr]:
    """The walker's update for access ``i`` waits for earlier control dependencies and the
    translation reads of earlier accesses (known not to fault when faults are fatal)."""
    code = ctx.prog.cores[c].code
    pc = Field(ctx.lay.cores[c].pc)
    out: list[Expr] = []
    for k in range(start, i):
        ins = code[k]
        if isinstance(ins, P.ICtrl):
            out.append(disj(op("gt", pc, C(k)), performed(ctx, c, k)))
        elif isinstance(ins, P.IAccess):
            held = tr_ok(ctx, c, k) if ctx.prog.fatal else ne(Field(arm(ctx, c).ts[k]), 0)
            out.append(disj(op("gt", pc, C(k)), performed(ctx, c, k), held))
    return out or [TRUE]
