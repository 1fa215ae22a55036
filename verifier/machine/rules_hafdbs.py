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
waits for earlier control dependencies and branches and for the translation reads of
earlier accesses (herd7's ``dob``), and, when faults are fatal, until they cannot fault.
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import FALSE, TRUE, Expr, Field, Table, conj, disj, eq, ne, op
from verifier.machine.context import Ctx, Rule
from verifier.machine.layout import C, pte_wid
from verifier.machine.rules_arm import arm, performed, tr_ok, window
from verifier.machine.rules_data import unreserve

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
    dirty = bool(bit & WRITE) and m == "hardware"
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
    if not bit & WRITE or mode(ctx, c) != "hardware":
        return FALSE
    w = pte_wid(entry)
    clean = ctx.lay.table(lambda v: int(v.frame >= 0 and v.dbm and not v.perms & WRITE), w)
    return eq(clean, 1)


def pending(ctx: Ctx, r: Rule, pend: tuple[int, int], leaf: Expr, addr: int) -> None:
    """The translation read holds the updated value; the update itself is left pending
    (``ArmCore.hu``: the value read + 1, the entry's index + 1), performed by `updates`."""
    r.upd.set(pend[0], op("add", leaf, C(1)))
    r.upd.set(pend[1], addr - ctx.lay.nwords + 1)


def updates(ctx: Ctx, c: int) -> None:
    """The pending updates of core ``c``'s accesses reach memory: each at any moment once
    earlier control dependencies and translation reads are resolved, and only while the
    entry still holds the value read (an atomic read-modify-write: herd7's ``atomic``)."""
    lay = ctx.lay
    a = arm(ctx, c)
    core = ctx.prog.cores[c]
    win = window(ctx.prog)
    for i, (val, at) in sorted(a.hu.items()):
        ins = core.code[i]
        assert isinstance(ins, P.IAccess)
        read = op("sub", Field(val), C(1))
        _, new = update(ctx, c, pte_wid(read), ins.bit)
        for addr in entry_addrs(ctx, ins):
            now = Field(lay.mem[addr])
            r = Rule([ne(Field(val), 0), eq(Field(at), addr - lay.nwords + 1)])
            same = eq(
                desc_key(ctx, pte_wid(now)), desc_key(ctx, pte_wid(read))
            )  # still the value read
            r.guard += [same, *update_ready(ctx, c, i, win.run_start(c, i))]
            r.guard += branches_resolved(ctx, c, i)
            r.upd.set(lay.mem[addr], with_wid(now, new))
            unreserve(ctx, r, [(addr, TRUE)], None)  # no explicit store: every reservation
            r.upd.set(val, 0)
            r.upd.set(at, 0)
            r.info.update(at=i, addr=addr, how="hw-update")
            key = f"{core.name}@{i}:hu.{addr}"
            ctx.emit(c, None, r, "hw-update", key, ins.text, ins.span)


def desc_key(ctx: Ctx, wid: Expr) -> Expr:
    """The descriptor a value stands for (values written by different statements alike)."""
    keys = [v.key for v in ctx.prog.pte_values]
    return ctx.lay.table(lambda v: keys.index(v.key), wid)


def entry_addrs(ctx: Ctx, ins: P.IAccess) -> list[int]:
    """The PTE entries (one-level PTEs, leaf slots) access ``ins`` may translate through."""
    lay, prog = ctx.lay, ctx.prog
    out = []
    for v in window(prog).pages(ins.page):
        for s in range(len(prog.spaces)):
            at = prog.walk(s, v)
            if at is None:
                out.append(lay.pte_addr(s, v))
            else:
                out += [lay.leaf_addr(k, at[1]) for k in range(len(prog.tables))]
    return sorted(set(out))


def spontaneous(ctx: Ctx) -> None:
    """herd7's spurious updates: while some core manages the access flag, an entry holding
    a valid value with the access flag clear may have it set at any moment."""
    lay, prog = ctx.lay, ctx.prog
    if ctx.model != "arm" or not prog.ad_cores or all(v.af for v in prog.pte_values):
        return
    table = tuple(updated_wid(prog, w, False) for w in range(len(prog.pte_values)))
    for addr in range(lay.nwords, lay.nwords + len(lay.last)):
        now = Field(lay.mem[addr])
        old = lay.table(lambda v: int(v.frame >= 0 and not v.af), pte_wid(now))
        r = Rule([eq(old, 1)])
        r.upd.set(lay.mem[addr], with_wid(now, Table(table, pte_wid(now))))
        unreserve(ctx, r, [(addr, TRUE)], None)
        r.info.update(addr=addr, how="spontaneous")
        ctx.emit(0, None, r, "hw-update", f"af:{addr}", "hardware update", None)


def branches_resolved(ctx: Ctx, c: int, i: int) -> list[Expr]:
    """The branches a translation read for access ``i`` may be speculated past (its run
    and the runs before it, docs/arm64.md section 3) are performed: ``pc`` is beyond each.
    The update waits for them (a branch is a control dependency, herd7's ``ctrl; [HU]``),
    and a walk holds an updated value in the TLB only then (a branch that skips the
    access drops its pending update, `rules_arm.skip_held`)."""
    code = ctx.prog.cores[c].code
    pc = Field(ctx.lay.cores[c].pc)
    start = window(ctx.prog).tr_start(c, i)
    return [op("gt", pc, C(k)) for k in range(start, i) if isinstance(code[k], P.IBranch)]


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
