"""The typed syntax tree of a `.tlb` spec.

Every node is a frozen dataclass whose children are tuples; the ``span`` field
is keyword-only and does not take part in equality, so two parses of the same
text compare equal whatever their layout (the parse -> print -> parse test
relies on this).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.lang.ast_exprs import (  # the leaves, re-exported: ast.Name, ast.PageRef...
    Binary as Binary,
)
from verifier.lang.ast_exprs import (
    Expr as Expr,
)
from verifier.lang.ast_exprs import (
    Ident as Ident,
)
from verifier.lang.ast_exprs import (
    Index as Index,
)
from verifier.lang.ast_exprs import (
    Invalid as Invalid,
)
from verifier.lang.ast_exprs import (
    Mapping as Mapping,
)
from verifier.lang.ast_exprs import (
    Name as Name,
)
from verifier.lang.ast_exprs import (
    Node as Node,
)
from verifier.lang.ast_exprs import (
    Num as Num,
)
from verifier.lang.ast_exprs import (
    PageName as PageName,
)
from verifier.lang.ast_exprs import (
    PageRef as PageRef,
)
from verifier.lang.ast_exprs import (
    PteValue as PteValue,
)
from verifier.lang.ast_exprs import (
    SelfRef as SelfRef,
)
from verifier.lang.ast_exprs import (
    Target as Target,
)
from verifier.lang.ast_exprs import (
    TargetAll as TargetAll,
)
from verifier.lang.ast_exprs import (
    TargetFamily as TargetFamily,
)
from verifier.lang.ast_exprs import (
    TargetIndex as TargetIndex,
)
from verifier.lang.ast_exprs import (
    TargetName as TargetName,
)
from verifier.lang.ast_exprs import (
    TargetOthers as TargetOthers,
)
from verifier.lang.ast_exprs import (
    Unary as Unary,
)

# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class PteWrite(Node):
    page: PageRef
    value: PteValue


@dataclass(frozen=True)
class Assign(Node):
    """`x := e`: a store, a load, or register arithmetic (the checker decides)."""

    target: Name | Index
    value: Expr


@dataclass(frozen=True)
class Atomic(Node):
    """`r := fetch_add(x, e)`, `r := swap(x, e)`, `r := cas(x, old, new)`, `x += e`.

    ``op`` is 'fetch_add', 'swap', 'cas' or '+=' (no destination register).
    """

    dest: str | None
    op: str
    target: Name | Index
    args: tuple[Expr, ...]


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
    """`read V` · `write V` · `exec V`; `r := read V` (``dest``) and `write V := e`
    (``value``) carry data (docs/arm64.md)."""

    kind: str  # 'read' | 'write' | 'exec'
    page: PageRef
    dest: Name | None = None
    value: Expr | None = None


@dataclass(frozen=True)
class Barrier(Node):
    kind: str  # 'dmb' | 'dsb' | 'isb'
    which: str = "full"  # 'full' | 'ld' | 'st'


@dataclass(frozen=True)
class Tlbi(Node):
    scope: str  # 'page' | 'asid' | 'all'
    broadcast: bool
    page: PageRef | None = None
    space: str | None = None  # the space of `tlbi asid P`


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
    PteWrite
    | Assign
    | Atomic
    | Fence
    | Ipi
    | Invlpg
    | FlushAsid
    | FlushAll
    | Access
    | Barrier
    | Tlbi
    | Switch
    | Free
    | Complete
    | Await
    | If
    | While
    | Loop
    | Repeat
    | For
    | Irq
    | Assert
    | Skip
)


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


@dataclass(frozen=True)
class FrameDecl(Node):
    names: tuple[Ident, ...]
    data: tuple[Expr | None, ...] = ()  # per name: the initial data word (`frame A = 1`)


@dataclass(frozen=True)
class PageDecl(Node):
    name: str
    value: PteValue


@dataclass(frozen=True)
class SpaceDecl(Node):
    name: str
    asid: Expr
    pages: tuple[PageDecl, ...]


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
    SpecTitle
    | ModelDecl
    | ParamDecl
    | OptionDecl
    | FrameDecl
    | PageDecl
    | SpaceDecl
    | VarDecl
    | CoreDecl
    | HandlerDecl
    | ExpectDecl
)


@dataclass(frozen=True)
class Spec(Node):
    decls: tuple[Decl, ...]
    file: str = field(default="<input>", compare=False)
