"""The lowered Program: all an engine ever sees of a spec.

Names are resolved to indices, core families expanded, `for` and `repeat` unrolled, control
flow flat (resolved jump targets); every instruction carries its span and its statement."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.ir.final import PFinal
from verifier.ir.loops import ForLoop
from verifier.ir.program_decls import USER as USER
from verifier.ir.program_decls import Dir as Dir
from verifier.ir.program_decls import Handler as Handler
from verifier.ir.program_decls import LFields as LFields
from verifier.ir.program_decls import PteValue as PteValue
from verifier.ir.program_decls import Space as Space
from verifier.ir.program_decls import Word as Word
from verifier.lang.span import Span

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class LConst:
    value: int


@dataclass(frozen=True)
class LReg:
    """A register of the running core: ``handler`` selects the handler bank."""

    index: int
    handler: bool


@dataclass(frozen=True)
class LWord:
    """A load of shared word ``addr`` (at most one per statement)."""

    addr: int


@dataclass(frozen=True)
class LUn:
    op: str  # 'neg' | 'not'
    arg: LExpr


@dataclass(frozen=True)
class LBin:
    op: str  # add sub mul div mod eq ne lt le gt ge and or
    left: LExpr
    right: LExpr


# A page operand: a page index, or a handler register holding a page argument.
PageOp = int | LReg


@dataclass(frozen=True)
class LPte:
    """`pte(V).field`: page ``page``'s PTE in ``space`` (None: current), as the core sees it."""

    space: int | None
    page: PageOp
    field: str  # present | read | write | exec | global | young | dirty


@dataclass(frozen=True)
class LSlot:
    """`pte(T[i]).field`: a read of slot ``slot`` of table ``table`` (an index into
    Program.tables) as the running core sees it; a freed table is a `freed-table` race."""

    table: int
    slot: int
    field: str


@dataclass(frozen=True)
class LDir:
    """`dir(D).present`: 1 when upper-level entry ``dir`` is valid in the core's view."""

    dir: int
    field: str


LExpr = LConst | LReg | LWord | LUn | LBin | LPte | LSlot | LDir | LFields


def page_arg(page: int, space: int | None, npages: int) -> int:
    """An IPI's page argument: `V` is V's index (the target's space), `P.V` carries P too."""
    return page if space is None else (space + 1) * npages + page


def page_of_arg(value: int, npages: int) -> tuple[int, int | None]:
    """(page, space or None) of a page argument made by `page_arg`."""
    return value % npages, (None if value < npages else value // npages - 1)


# ---------------------------------------------------------------- instructions


@dataclass(frozen=True)
class Instr:
    span: Span
    text: str


@dataclass(frozen=True)
class IPte(Instr):
    """`pte V := value`; stores wids[k-1] if ``src`` (with ``fields``: the entry) holds k."""

    space: int | None  # None: the core's current space
    page: PageOp
    wid: int  # index into Program.pte_writes
    src: LReg | None = None
    wids: tuple[int, ...] = ()  # every value it may store (-1: none; layout.stored)
    rmw: str = ""  # an atomic on the PTE: swap | cas (``expect``) | fetch_set | fetch_clear
    dest: LReg | None = None  # the old value
    expect: LExpr | None = None
    order: str = ""  # as IAccess.order
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ISlot(Instr):
    """`pte T[i] := ...`: a store to slot ``slot`` of table ``table`` (in Program.tables)."""

    table: int
    slot: int
    wid: int  # index into Program.pte_writes


@dataclass(frozen=True)
class IDir(Instr):
    """`dir D := T`: a store to upper-level entry ``dir`` (``table`` -1: invalid)."""

    dir: int
    table: int  # an index into Program.tables


@dataclass(frozen=True)
class ICopy(Instr):
    """`copy A to B`: B now holds A's data; later writes reaching A are lost."""

    src: int
    dst: int


@dataclass(frozen=True)
class IZero(Instr):
    """`zero A`: A's data is discarded; later accesses reaching A are lost writes."""

    frame: int


@dataclass(frozen=True)
class IStore(Instr):
    addr: int
    value: LExpr


@dataclass(frozen=True)
class IAssign(Instr):
    """Register assignment: a load when ``value`` contains an LWord."""

    reg: LReg
    value: LExpr


@dataclass(frozen=True)
class IAtomic(Instr):
    dest: LReg | None
    op: str  # 'fetch_add' | 'swap' | 'cas' | '+='
    addr: int
    args: tuple[LExpr, ...]
    order: str = ""  # '' (acquire and release) | relaxed | acquire | release | acq_rel


@dataclass(frozen=True)
class IFence(Instr):
    kind: str  # full | release | acquire


@dataclass(frozen=True)
class IIpi(Instr):
    targets: tuple[int, ...]  # core indices, sorted
    handler: int
    args: tuple[LExpr, ...]
    pages: tuple[bool, ...] = ()  # which arguments name a page (see `page_arg`)


@dataclass(frozen=True)
class IInvlpg(Instr):
    space: int | None
    page: PageOp


@dataclass(frozen=True)
class IFlushAsid(Instr):
    asid: int


@dataclass(frozen=True)
class IFlushAll(Instr):
    pass


@dataclass(frozen=True)
class IAccess(Instr):
    """An access through translation; `r := read V` / `write V := e` (docs/arm64.md)."""

    kind: str  # read | write | exec
    page: PageOp
    dest: LReg | None = None
    value: LExpr | None = None
    order: str = ""  # '' | acquire | acquire_pc | release | acq_rel | relaxed (atomics)
    via: tuple[LReg, ...] = ()  # the registers of the address (a dependency)
    user: bool = False  # made by user-mode code: needs the `user` permission (arm64.md 8)
    rmw: str = ""  # an atomic (kind write): fetch_add | swap | cas of ``args`` (arm64.md §1)
    args: tuple[LExpr, ...] = ()
    exclusive: bool = False  # load-/store-exclusive (a write's ``dest``: 0 stored, 1 failed)

    @property
    def bit(self) -> int:
        """The permission bits the access needs (every one): its kind's, and USER."""
        return {"read": 1, "write": 2, "exec": 4}[self.kind] | USER * self.user


@dataclass(frozen=True)
class IBarrier(Instr):
    """`dmb`, `dsb` (``which``: full | ld | st) or `isb` (docs/arm64.md)."""

    kind: str  # dmb | dsb | isb
    which: str = "full"


@dataclass(frozen=True)
class ITlbi(Instr):
    """`tlbi [is] V [leaf] | asid P | all` (``leaf``: last level only; docs/arm64.md)."""

    scope: str
    broadcast: bool
    space: int | None = None
    page: PageOp = 0
    asid: int = 0
    leaf: bool = False
    via: tuple[LReg, ...] = ()  # the registers of the page (an address dependency)


@dataclass(frozen=True)
class IRvFence(Instr):
    """`fence PRED, SUCC` (docs/riscv.md): accesses ``pred`` before ``succ`` ('r', 'w', 'rw')."""

    pred: str
    succ: str


@dataclass(frozen=True)
class ISfence(Instr):
    """`sfence.vma` (docs/riscv.md): ``scope`` all | asid | page; a page's ``space`` None
    covers every ASID and global entries, else only that space's ASID, not global."""

    scope: str
    space: int | None = None
    page: PageOp = 0
    asid: int = 0


@dataclass(frozen=True)
class ICtrl(Instr):
    """A control dependency on ``regs`` branching nowhere (a litmus `CBNZ` to the next label)."""

    regs: tuple[LReg, ...]


@dataclass(frozen=True)
class ISwitch(Instr):
    space: int


@dataclass(frozen=True)
class IFree(Instr):
    frame: int


@dataclass(frozen=True)
class IComplete(Instr):
    space: int | None
    page: PageOp


@dataclass(frozen=True)
class IAwait(Instr):
    cond: LExpr


@dataclass(frozen=True)
class IBranch(Instr):
    """Go on to the next instruction if ``cond`` holds, else to ``target``."""

    cond: LExpr
    target: int


@dataclass(frozen=True)
class IJump(Instr):
    target: int


@dataclass(frozen=True)
class IIrq(Instr):
    on: bool


@dataclass(frozen=True)
class IAssert(Instr):
    cond: LExpr


@dataclass(frozen=True)
class ISkip(Instr):
    pass


@dataclass(frozen=True)
class IFail(Instr):
    """A statement this core cannot execute (`seen[self]` in a handler on a core outside
    `seen`'s family): reaching it is a `range` problem."""

    message: str


@dataclass(frozen=True)
class IReturn(Instr):
    """End of a handler: resume the interrupted program."""


@dataclass(frozen=True)
class IEnd(Instr):
    """End of a core's program: the core idles (it still takes IPIs)."""


# ---------------------------------------------------------------- program


@dataclass(frozen=True)
class Core:
    name: str
    space: int  # starting space
    code: tuple[Instr, ...]
    next: tuple[int, ...]  # fall-through successor of each pc (jumps resolved)
    handler_entry: tuple[int, ...]  # pc where each handler's code starts
    program_end: int  # pc of the IEnd of the program
    regs: tuple[str, ...]
    hregs: tuple[str, ...]
    reg_range: tuple[int, int]
    fault_entry: int = -1  # where the `on fault` code starts, after the handlers' (-1: none)
    fault_end: int = -1  # pc of its IEnd (-1 with `on fault resume`: blocks, ir/resume.py)
    fault_blocks: tuple[tuple[int, int, int, int], ...] = ()
    loops: tuple[ForLoop, ...] = ()  # its `for` loops over a whole family (symmetry reads them)


@dataclass(frozen=True)
class Program:
    title: str
    file: str
    source: str
    params: tuple[tuple[str, int], ...]
    walker: str
    ipi: str
    buffer: int  # `option buffer = N`; 0: sized from the program (see buffers.py)
    frames: tuple[str, ...]
    pages: tuple[str, ...]
    spaces: tuple[Space, ...]
    words: tuple[Word, ...]
    cores: tuple[Core, ...]
    handlers: tuple[Handler, ...]
    pte_values: tuple[PteValue, ...]
    flushes: str = "plain"  # 'serializing': invlpg, flush and switch drain the buffer first
    tables: tuple[int, ...] = ()  # table page frames (docs/page-tables.md; () if one-level)
    dirs: tuple[Dir, ...] = ()
    slots: int = 0  # leaf slots per table
    walks: tuple[tuple[tuple[int, int] | None, ...], ...] = ()  # [space][page]: (dir, slot)
    leaves: tuple[tuple[int, ...], ...] = ()  # [table][slot]: wid of the initial value
    frame_data: tuple[int, ...] = ()  # per frame: initial data word; () when no data access
    fatal: str = ""  # .litmus: a fault stops its core ("stop") or is retried once ("retry")
    ad: str = "none"  # 'hardware': the walker sets accessed/dirty bits
    ad_cores: tuple[str, ...] = ()  # under `arm`, per core: none | access | hardware
    final: PFinal | None = None  # a litmus test's final condition (ir/final.py)
    pte_keys: tuple[tuple[object, ...], ...] = ()  # PTE value k (1-based) has key [k - 1]

    def walk(self, space: int, page: int) -> tuple[int, int] | None:
        """(dir, slot) of a two-level page, None for a one-level one."""
        return self.walks[space][page] if self.walks else None

    @property
    def asids(self) -> tuple[int, ...]:
        return tuple(sorted({s.asid for s in self.spaces}))
