"""The typed syntax tree of a `.tlb` spec.

Every node is a frozen dataclass whose children are tuples; the ``span`` field is
keyword-only and does not take part in equality, so two parses of the same text
compare equal whatever their layout (the parse -> print -> parse test relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# re-exported: every node is ast.X
from verifier.lang.ast_arm import Barrier as Barrier
from verifier.lang.ast_arm import Tlbi as Tlbi
from verifier.lang.ast_base import Ident as Ident
from verifier.lang.ast_base import Node as Node
from verifier.lang.ast_base import PageRef as PageRef
from verifier.lang.ast_memory import CopyFrame as CopyFrame
from verifier.lang.ast_memory import DirDecl as DirDecl
from verifier.lang.ast_memory import DirRead as DirRead
from verifier.lang.ast_memory import DirWrite as DirWrite
from verifier.lang.ast_memory import PteFields as PteFields
from verifier.lang.ast_memory import PteLit as PteLit
from verifier.lang.ast_memory import PteRead as PteRead
from verifier.lang.ast_memory import SlotRead as SlotRead
from verifier.lang.ast_memory import SlotWrite as SlotWrite
from verifier.lang.ast_memory import TableDecl as TableDecl
from verifier.lang.ast_memory import ZeroFrame as ZeroFrame
from verifier.lang.ast_riscv import RvFence as RvFence
from verifier.lang.ast_riscv import Sfence as Sfence

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Num(Node):
    value: int


@dataclass(frozen=True)
class Name(Node):
    """A register, param, shared word, page (as IPI argument) or core variable."""

    name: str


@dataclass(frozen=True)
class SelfRef(Node):
    """`self`: the running core (its index inside its family)."""


@dataclass(frozen=True)
class Index(Node):
    """`seen[c]`, `seen[self]`, `seen[cpu[2]]`: one word of a per-core variable."""

    name: str
    index: Expr | Target


@dataclass(frozen=True)
class PageName(Node):
    """`P.V` used as a value (an IPI argument naming a page of space P)."""

    space: str
    page: str


@dataclass(frozen=True)
class Unary(Node):
    op: str  # '-' | '!'
    operand: Expr


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / % == != < <= > >= && ||
    left: Expr
    right: Expr


Expr = (
    Num | Name | SelfRef | Index | PageName | PteRead | PteLit | SlotRead | DirRead | Unary
    | Binary | PteFields
)  # fmt: skip


# ---------------------------------------------------------------- core sets


@dataclass(frozen=True)
class TargetName(Node):
    """A core name (`init`) or a `for` variable (`c`)."""

    name: str


@dataclass(frozen=True)
class TargetIndex(Node):
    """`cpu[2]`: one core of a family."""

    family: str
    index: Expr


@dataclass(frozen=True)
class TargetFamily(Node):
    """`cpu[*]`: every core of a family."""

    family: str


@dataclass(frozen=True)
class TargetOthers(Node):
    """`others`: every core but the one executing."""


@dataclass(frozen=True)
class TargetAll(Node):
    """`all`: every core."""


Target = TargetName | TargetIndex | TargetFamily | TargetOthers | TargetAll


# ---------------------------------------------------------------- pages and PTE values


@dataclass(frozen=True)
class Mapping(Node):
    """`B rw` or `C rx global`."""

    frame: str
    perms: str  # canonical order: subset of "rwx" in that order
    global_: bool = False
    old: bool = False  # arm64: the access flag is clear (docs/arm64.md section 7)
    dbm: bool = False  # arm64: dirty-bit modifier set (writable-clean when not `w`)
    user: bool = False  # user-mode code may access it (arm64 AP[1]/`el0`, x86 U/S)


@dataclass(frozen=True)
class Invalid(Node):
    """`invalid`: no valid mapping; `invalid A rw` keeps frame and permissions (bits the
    hardware ignores in an invalid entry, seen only by whole-value comparisons)."""

    kept: Mapping | None = None


PteValue = Mapping | Invalid


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class PteWrite(Node):
    """`pte V := B rw` / `pte V := invalid` / `pte V := r` (``value`` a `Name`: the PTE
    value register r holds)."""

    page: PageRef
    value: PteValue | Name
    order: str = ""  # 'release': `pte release V := ...`, a release store (Arm `STLR`)


@dataclass(frozen=True)
class Assign(Node):
    """`x := e`: a store, a load, or register arithmetic (the checker decides)."""

    target: Name | Index
    value: Expr


@dataclass(frozen=True)
class Atomic(Node):
    """`r := fetch_add(x, e)`, `swap`, `cas(x, old, new)`, `x += e`, `fetch_set(pte(V),
    F...)`...: ``op`` names it ('+=': no destination).  The target is a shared word, a page
    (the data word of the frame it maps) or `pte(V)`; ``order`` is '' (acquire and
    release), 'relaxed', 'acquire', 'release' or 'acq_rel'; ``via`` as for `read V via
    r`; ``fields``: the PTE fields `fetch_set`/`fetch_clear` set or clear (docs/arm64.md §1)."""

    dest: str | None
    op: str
    target: Name | Index | PteRead
    args: tuple[Expr, ...]
    order: str = ""
    via: tuple[Name, ...] = ()
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fence(Node):
    kind: str  # 'full' | 'release' | 'acquire'


@dataclass(frozen=True)
class Ipi(Node):
    targets: tuple[Target, ...]
    handler: str
    args: tuple[Expr, ...]
    has_parens: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Invlpg(Node):
    page: PageRef


@dataclass(frozen=True)
class FlushAsid(Node):
    space: str


@dataclass(frozen=True)
class FlushAll(Node):
    pass


@dataclass(frozen=True)
class Access(Node):
    kind: str  # 'read' | 'write' | 'exec'
    page: PageRef
    dest: Name | None = None  # `r := read V` (docs/arm64.md)
    value: Expr | None = None  # `write V := e`
    order: str = ""  # '' | 'acquire' | 'acquire_pc' (`read`) | 'release' (`write`)
    via: tuple[Name, ...] = ()  # `via r, s`: registers the address is computed from
    # `r := read exclusive V` (load-exclusive) / `s := write exclusive V := e` (store-
    # exclusive: ``dest`` gets the status, 0 stored, 1 failed)
    exclusive: bool = False


@dataclass(frozen=True)
class Switch(Node):
    space: str


@dataclass(frozen=True)
class Free(Node):
    frame: str


@dataclass(frozen=True)
class Complete(Node):
    page: PageRef


@dataclass(frozen=True)
class Await(Node):
    cond: Expr


@dataclass(frozen=True)
class If(Node):
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] | None


@dataclass(frozen=True)
class While(Node):
    cond: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Loop(Node):
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Repeat(Node):
    count: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class For(Node):
    var: str
    over: Target
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Irq(Node):
    on: bool


@dataclass(frozen=True)
class Assert(Node):
    cond: Expr


@dataclass(frozen=True)
class Skip(Node):
    pass


Stmt = (
    PteWrite | Assign | Atomic | Fence | Ipi | Invlpg | FlushAsid | FlushAll | Access | Switch
    | Free | Complete | Await | If | While | Loop | Repeat | For | Irq | Assert | Skip | DirWrite
    | CopyFrame | ZeroFrame | Barrier | Tlbi | RvFence | Sfence | SlotWrite
)  # fmt: skip


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True)
class SpecTitle(Node):
    title: str


@dataclass(frozen=True)
class ModelDecl(Node):
    model: str  # validated by the checker: sc | tso | pso


@dataclass(frozen=True)
class ParamDecl(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class OptionDecl(Node):
    name: str
    value: str | int
    cores: tuple[str, ...] = ()  # `option ad = access for p0, p1`


@dataclass(frozen=True)
class FrameDecl(Node):
    names: tuple[Ident, ...]
    data: tuple[Expr | None, ...] = ()  # per name: the initial data word (`frame A = 1`)


@dataclass(frozen=True)
class PageDecl(Node):
    name: str
    value: PteValue
    at: tuple[str, Expr] | None = None  # `at D[i]`: (dir, slot) of a two-level page


@dataclass(frozen=True)
class SpaceDecl(Node):
    name: str
    asid: Expr
    pages: tuple[PageDecl, ...]
    dirs: tuple[DirDecl, ...] = ()


@dataclass(frozen=True)
class VarDecl(Node):
    name: str
    family: str | None  # `var seen[cpu]`
    init: Expr
    lo: Expr | None = None
    hi: Expr | None = None


@dataclass(frozen=True)
class CoreDecl(Node):
    name: str
    lo: Expr | None  # `core cpu[1..N]`; None for a single core
    hi: Expr | None
    space: str | None
    body: tuple[Stmt, ...]
    fault: tuple[Stmt, ...] | None = None  # `on fault [resume] { ... }` (docs/arm64.md §3)
    resume: bool = False


@dataclass(frozen=True)
class HandlerDecl(Node):
    name: str
    params: tuple[Ident, ...]
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class ExpectDecl(Node):
    """`expect safe`, `expect race K1, K2 under tso`, `expect hang`.

    ``verdict`` is 'safe', 'race' or 'hang'; ``kinds`` is empty for a bare
    `expect race`; ``models`` is None when the line covers every model.
    """

    verdict: str
    kinds: tuple[str, ...]
    models: tuple[str, ...] | None


Decl = (
    SpecTitle | ModelDecl | ParamDecl | OptionDecl | FrameDecl | TableDecl | DirDecl | PageDecl
    | SpaceDecl | VarDecl | CoreDecl | HandlerDecl | ExpectDecl
)  # fmt: skip


@dataclass(frozen=True)
class Spec(Node):
    decls: tuple[Decl, ...]
    file: str = field(default="<input>", compare=False)
