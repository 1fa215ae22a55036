"""The `arm` model's out-of-order window (docs/arm64.md §2): which instruction may be
performed before which, decided from the Program alone.

A core's ``pc`` is its oldest instruction not yet performed.  An instruction in the
same straight-line run as ``pc`` may be performed early unless an earlier, not yet
performed instruction *orders* it (`orders`).  The stops end a run; they, and the
in-order instructions, are performed only at ``pc``.  This module answers the static
questions; `rules_arm` turns them into guards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from verifier.ir import program as P
from verifier.ir.resume import block_of

STOPS = (P.IBranch, P.IJump, P.IAwait, P.IIpi, P.ISwitch, P.IIrq, P.IReturn, P.IEnd, P.IFail)
IN_ORDER = (P.IComplete, P.IFree, P.IAssert)
INVALIDATIONS = (P.ITlbi, P.IInvlpg, P.IFlushAsid, P.IFlushAll, P.ISfence)

Loc = tuple[str, int, int]  # ("w", addr, 0) | ("pte", space, page) | ("f", frame, 0)


@dataclass(frozen=True)
class Effects:
    """What an instruction touches: registers read and written, locations read and
    written, and whether it is an invalidation (`tlbi`, `invlpg`, `flush`)."""

    rregs: frozenset[P.LReg]
    wregs: frozenset[P.LReg]
    reads: frozenset[Loc]
    writes: frozenset[Loc]
    invalidates: bool = False

    @property
    def memory(self) -> bool:
        return bool(self.reads or self.writes)


def expr_regs(e: P.LExpr | None) -> set[P.LReg]:
    match e:
        case P.LReg():
            return {e}
        case P.LUn(arg=a) | P.LFields(value=a):
            return expr_regs(a)
        case P.LBin(left=a, right=b):
            return expr_regs(a) | expr_regs(b)
    return set()


def expr_ptes(e: P.LExpr | None) -> list[P.LPte | P.LSlot | P.LDir]:
    """The page-table reads of an expression: `pte(V)`, `pte(T[i])`, `dir(D)`."""
    match e:
        case P.LPte() | P.LSlot() | P.LDir():
            return [e]
        case P.LUn(arg=a) | P.LFields(value=a):
            return expr_ptes(a)
        case P.LBin(left=a, right=b):
            return expr_ptes(a) + expr_ptes(b)
    return []


def expr_addrs(e: P.LExpr | None) -> set[int]:
    match e:
        case P.LWord(addr=a):
            return {a}
        case P.LUn(arg=a) | P.LFields(value=a):
            return expr_addrs(a)
        case P.LBin(left=a, right=b):
            return expr_addrs(a) | expr_addrs(b)
    return set()


def address_regs(ins: P.IAccess) -> set[P.LReg]:
    """The registers access ``ins``'s address comes from: a register page operand and
    the registers after `via` (an address dependency)."""
    return {*(ins.page,) * isinstance(ins.page, P.LReg), *ins.via}  # type: ignore[arg-type]


def stored(ins: P.IPte) -> tuple[int, ...]:
    """Every value a `pte` store or an atomic on a PTE may store (its wids but -1, the
    `range` problem of `fetch_set(present)` of a plain `invalid`)."""
    return tuple(w for w in ins.wids if w >= 0)


def order_of(x: P.Instr) -> str:
    """The ordering of an access or atomic: an atomic written without one (and every
    word atomic under sc/tso/pso) is acquire and release (docs/arm64.md §1)."""
    match x:
        case P.IAccess(order=o):
            return o
        case P.IAtomic(order=o):
            return o or "acq_rel"
        case P.IPte(rmw=rmw, order=o) if rmw:
            return o or "acq_rel"
        case P.IPte(order=o):  # `pte release V := v`
            return o
    return ""


def acquires(x: P.Instr, pc_too: bool = True) -> bool:
    """An acquire read (`read acquire`, `read acquire_pc` when ``pc_too``, an atomic's
    acquiring read)."""
    return order_of(x) in (("acquire", "acq_rel", "acquire_pc") if pc_too else ("acquire", "acq_rel"))


def releases(x: P.Instr) -> bool:
    """A release write (`write release`, an atomic's releasing write)."""
    return order_of(x) in ("release", "acq_rel")


def acquire_release(k: P.Instr, ek: Effects, i: P.Instr, ei: Effects, located: bool) -> bool:
    """Ordering by acquire and release accesses (docs/arm64.md §2): an acquire read
    (either kind) before every later access and fault; a release write after every
    earlier access (a release write that faults is not held back: ``located`` False);
    a release write before a later `acquire` (not `acquire_pc`) read."""
    if acquires(k) and ei.memory:
        return True
    if not located:
        return False
    if releases(i) and ek.memory:
        return True
    return acquires(i, pc_too=False) and releases(k)


class Window:
    """The static ordering facts of one program."""

    def __init__(self, prog: P.Program) -> None:
        self.prog = prog

    # -- which frames a page may map (accesses through pages that may alias are ordered)
    @cached_property
    def page_frames(self) -> dict[int, frozenset[int]]:
        out: dict[int, set[int]] = {v: set() for v in range(len(self.prog.pages))}
        values = self.prog.pte_values
        stores = [ins for core in self.prog.cores for ins in core.code if isinstance(ins, P.IPte)]
        # `fetch_set(pte(V), present)` maps the frame an invalid value of V keeps; a
        # `fetch_set`/`fetch_clear` changes no frame otherwise (docs/arm64.md §1)
        revived = {v for ins in stores if ins.fields and ins.rmw == "fetch_set"
                   and "present" in ins.fields for v in self.pages(ins.page)}  # fmt: skip
        for space in self.prog.spaces:
            for v, wid in enumerate(space.entries):
                out[v] |= {values[wid].frame, values[wid].kept[0] if v in revived else -1}
        for ins in stores:
            for wid in () if ins.fields else stored(ins):
                for v in self.pages(ins.page):
                    out[v] |= {values[wid].frame, values[wid].kept[0] if v in revived else -1}
        return {v: frozenset(f for f in fs if f >= 0) for v, fs in out.items()}

    def words(self, e: P.LExpr | None) -> frozenset[Loc]:
        """The locations an expression loads: words, or PTEs (`pte(V)`, `pte(V).field`)."""
        out = {("w", a, 0) for a in expr_addrs(e)}
        for pte in expr_ptes(e):
            match pte:
                case P.LPte(space=sp, page=page):
                    out |= self.pte_locs(sp, page)
                case P.LSlot(slot=i):
                    out |= self.slot_locs(i)
                case P.LDir(dir=d):
                    out.add(("dir", d, 0))
        return frozenset(out)

    def slot_locs(self, slot: int) -> set[Loc]:
        """A table slot: the PTE of every page at that index (whichever dir leads there)."""
        sp, pages = range(len(self.prog.spaces)), range(len(self.prog.pages))
        return {("pte", s, v) for s in sp for v in pages if self._at(s, v, slot)}

    def pte_locs(self, s: int | None, page: P.PageOp) -> frozenset[Loc]:
        spaces = range(len(self.prog.spaces)) if s is None else (s,)
        return frozenset(("pte", sp, v) for sp in spaces for v in self.pages(page))

    def _at(self, s: int, v: int, slot: int) -> bool:
        at = self.prog.walk(s, v)
        return at is not None and at[1] == slot

    def pages(self, page: P.PageOp) -> range | tuple[int]:
        return (page,) if isinstance(page, int) else range(len(self.prog.pages))

    def effects(self, ins: P.Instr) -> Effects:
        match ins:
            case P.IStore(addr=a, value=v):
                return Effects(
                    frozenset(expr_regs(v)), frozenset(), self.words(v),
                    frozenset({("w", a, 0)}),
                )  # fmt: skip
            case P.IAssign(reg=r, value=v):
                return Effects(frozenset(expr_regs(v)), frozenset({r}), self.words(v), frozenset())
            case P.IAtomic(dest=d, addr=a, args=args):
                regs = set().union(*(expr_regs(x) for x in args))
                loc = frozenset({("w", a, 0)})
                return Effects(frozenset(regs), frozenset({d} if d else ()), loc, loc)
            case P.IPte(space=s, page=page, src=src, rmw=rmw, dest=d, expect=x):
                locs = self.pte_locs(s, page)
                regs = expr_regs(page) if isinstance(page, P.LReg) else set()
                regs |= ({src} if src is not None else set()) | expr_regs(x)
                wregs = frozenset({d} if d else ())
                writes = frozenset() if rmw == "load_exclusive" else locs  # a load only
                return Effects(frozenset(regs), wregs, locs if rmw else frozenset(), writes)
            case P.IAccess(kind=k, page=page, dest=d, value=v, rmw=rmw, args=args):
                frames = frozenset(
                    ("f", f, 0) for p in self.pages(page) for f in self.page_frames[p]
                )
                rregs = expr_regs(v) | address_regs(ins) | set().union(*map(expr_regs, args))
                wregs = frozenset({d} if d else ())
                if rmw:  # an atomic: reads and writes the frame
                    return Effects(frozenset(rregs), wregs, frames, frames)
                if k == "write":
                    return Effects(frozenset(rregs), wregs, frozenset(), frames)
                return Effects(frozenset(rregs), wregs, frames, frozenset())
            case P.ITlbi(page=page) | P.IInvlpg(page=page) | P.ISfence(page=page):
                regs = frozenset(expr_regs(page) if isinstance(page, P.LReg) else ())
                regs |= frozenset(getattr(ins, "via", ()))  # `tlbi V via r`
                return Effects(regs, frozenset(), frozenset(), frozenset(), True)
            case P.IFlushAsid() | P.IFlushAll():
                return Effects(frozenset(), frozenset(), frozenset(), frozenset(), True)
            case P.ICtrl(regs=regs):
                return Effects(frozenset(regs), frozenset(), frozenset(), frozenset())
            case P.IDir(dir=d):  # a store to an upper-level entry
                return Effects(frozenset(), frozenset(), frozenset(), frozenset({("dir", d, 0)}))
            case P.ISlot(slot=i):  # a store to a table slot
                return Effects(frozenset(), frozenset(), frozenset(), frozenset(self.slot_locs(i)))
            case P.IAssert(cond=e) | P.IAwait(cond=e) | P.IBranch(cond=e):
                return Effects(frozenset(expr_regs(e)), frozenset(), self.words(e),
                               frozenset())  # fmt: skip
        return Effects(frozenset(), frozenset(), frozenset(), frozenset())

    @cached_property
    def written(self) -> frozenset[Loc]:
        """The words and frames some instruction of the program may write (every frame if
        one is copied or zeroed)."""
        out = {x for core in self.prog.cores for ins in core.code for x in self.effects(ins).writes}
        if any(isinstance(x, P.ICopy | P.IZero) for core in self.prog.cores for x in core.code):
            out |= {("f", f, 0) for f in range(len(self.prog.frames))}
        return frozenset(out)

    def changes(self, loc: Loc) -> bool:
        """Must two loads of ``loc`` stay in order? Not for a word no instruction writes,
        nor for a frame no instruction writes when no translation changes either (no
        store to a PTE, dir or table slot, no hardware flag management): herd7's PosRR
        orders nothing, and coherence has nothing to order there. A PTE or dir: always."""
        if loc[0] == "f":
            return loc in self.written or self.remaps
        return loc[0] != "w" or loc in self.written

    @cached_property
    def remaps(self) -> bool:
        """May a translation change: a store to a PTE, dir or slot, or a core whose walker
        manages the access flag or dirty state (docs/arm64.md §7)?"""
        pt = any(x[0] in ("pte", "dir") for x in self.written)
        return pt or any(m != "none" for m in self.prog.ad_cores)

    # -- runs
    def run_start(self, c: int, i: int) -> int:
        """The first pc of the straight-line run that ends at ``i``: ``pc`` may be
        anywhere from there to ``i`` while ``i`` is performed."""
        core = self.prog.cores[c]
        p = i
        while p > 0 and not isinstance(core.code[p - 1], STOPS) and core.next[p - 1] == p:
            p -= 1
        return p

    def fatal(self, c: int) -> bool:
        """Does a fault stop core ``c`` (`.litmus` input, or an `on fault` block)?"""
        return self.prog.fatal or self.prog.cores[c].fault_entry >= 0

    def retries(self, c: int) -> bool:
        """Does core ``c`` retry its first fault instead of stopping (`Variant=Handled`,
        docs/arm64.md section 3)? Not a core with `on fault` code: that code runs."""
        core = self.prog.cores[c]
        return self.prog.fatal == "retry" and core.fault_entry < 0 and not core.fault_blocks

    def handled(self, c: int, i: int) -> bool:
        """Is ``i`` in core ``c``'s `on fault` code, straight-line from its start, so that
        it may be performed once a fault is taken but before ``pc`` gets there?"""
        core = self.prog.cores[c]
        entry = self.fault_start(c, i)
        if entry is None:
            return False
        run = core.code[entry : i + 1]
        return not any(isinstance(x, STOPS + IN_ORDER) for x in run)

    def fault_start(self, c: int, i: int) -> int | None:
        """Where the fault handler code holding ``i`` starts (None: ``i`` is not in it):
        the `on fault` code, or with `resume` the block of one access (`Core.fault_blocks`)."""
        core = self.prog.cores[c]
        if core.fault_blocks:
            b = block_of(core, i)
            return None if b is None else b[1]
        return core.fault_entry if core.fault_entry <= i < core.fault_end else None

    def fault_site(self, c: int, i: int) -> int | None:
        """The access whose fault the handler code holding ``i`` follows (None: any)."""
        b = block_of(self.prog.cores[c], i)
        return None if b is None else b[0]

    def tr_start(self, c: int, i: int) -> int:
        """The first pc from which access ``i``'s translation read may be performed: its
        run, extended back over branches and jumps (a walk may be speculative), within the
        `on fault resume` block holding it."""
        code = self.prog.cores[c].code
        p = i
        lo = self.fault_start(c, i) if self.prog.cores[c].fault_blocks else None
        while p > (lo or 0) and (
            not isinstance(code[p - 1], STOPS) or isinstance(code[p - 1], P.IBranch | P.IJump)
        ):
            p -= 1
        return p

    def early(self, c: int, i: int) -> bool:
        """May instruction ``i`` be performed before the one at ``pc``?"""
        ins = self.prog.cores[c].code[i]
        return not isinstance(ins, STOPS + IN_ORDER) and self.run_start(c, i) < i

    # -- ordering
    def orders(self, k: P.Instr, i: P.Instr, located: bool = True) -> bool:
        """Must ``i`` (later) wait until ``k`` (earlier) is performed? ``located`` False:
        accesses to one location do not count (``i`` is a fault: it touches no memory)."""
        ek, ei = self.effects(k), self.effects(i)
        rregs = ei.rregs
        if not located and isinstance(i, P.IAccess):  # a fault needs only the address
            rregs = frozenset(address_regs(i))
            fault = frozenset({("fault", 0, 0)})  # an access event, whatever the page maps
            ei = replace(ei, reads=fault if i.kind != "write" else frozenset(),
                         writes=fault if i.kind == "write" else frozenset())  # fmt: skip
        if ek.wregs & (rregs | ei.wregs) or ek.rregs & ei.wregs:
            return True
        same = ek.writes & (ei.reads | ei.writes) | ek.reads & ei.writes
        same |= {x for x in ek.reads & ei.reads if self.changes(x)}
        if located and ek.memory and ei.memory and same:
            return True
        if acquire_release(k, ek, i, ei, located):
            return True
        if not located and isinstance(k, P.ICtrl):
            return False  # a control dependency orders no fault (herd: ctrl; [Exp & W])
        if not located and _dmb(k):  # herd7 orders a fault after an earlier dmb of any kind
            return True
        return self._barrier_after(k, ek, i, ei) or self._barrier_before(k, ek, i, ei)

    @staticmethod
    def _barrier_after(k: P.Instr, ek: Effects, i: P.Instr, ei: Effects) -> bool:
        """``k`` is a barrier (or atomic, or control dependency) holding ``i`` back."""
        mem = ei.memory
        match k:
            case P.IBarrier(kind="dmb", which="st"):
                return bool(ei.writes)
            case P.IBarrier(kind="dmb"):
                return mem
            case P.IBarrier():  # dsb of any kind, isb: everything after
                return True
            case P.IRvFence(succ=succ):  # docs/riscv.md §2
                return bool((ei.reads and "r" in succ) or (ei.writes and "w" in succ))
            case P.ISfence():  # a later store (an acknowledgement) waits for the fence
                return bool(ei.writes)
            case P.IFence(kind="full") | P.IFence(kind="acquire"):
                return mem
            case P.IFence(kind="release"):
                return bool(ei.writes)
            case P.ICtrl():
                return bool(ei.writes) or ei.invalidates or isinstance(i, P.IBarrier)
        return False

    @staticmethod
    def _barrier_before(k: P.Instr, ek: Effects, i: P.Instr, ei: Effects) -> bool:
        """``i`` is a barrier (or atomic) waiting for ``k``."""
        match i:
            case P.IBarrier(kind="isb"):
                return isinstance(k, P.ICtrl) or (isinstance(k, P.IBarrier) and k.kind == "dsb")
            case P.IRvFence(pred=pred):
                return bool((ek.reads and "r" in pred) or (ek.writes and "w" in pred))
            case P.ISfence():  # this core's earlier stores before its later walks
                return bool(ek.writes)
            case P.IBarrier(which="ld") | P.IFence(kind="acquire"):
                return bool(ek.reads)
            case P.IBarrier(which="st"):
                return bool(ek.writes)
            case P.IBarrier(kind="dsb"):
                return ek.memory or ek.invalidates
            case P.IBarrier(kind="dmb") | P.IFence():
                return ek.memory
        return False

    def tr_orders(self, k: P.Instr, i: P.IAccess) -> bool:
        """Must access ``i``'s translation read wait until ``k`` is performed? Only an
        `isb`, an `sfence.vma` and the instruction setting a register page operand hold it
        back."""
        if (isinstance(k, P.IBarrier) and k.kind == "isb") or isinstance(k, P.ISfence):
            return True
        return bool(address_regs(i) & self.effects(k).wregs)


def _dmb(k: P.Instr) -> bool:
    """A `dmb` (any kind) or a `fence` that is one under `arm` (full, acquire)."""
    return (isinstance(k, P.IBarrier) and k.kind == "dmb") or (
        isinstance(k, P.IFence) and k.kind in ("full", "acquire")
    )
