"""The syntax tree of a herd7 AArch64 litmus test (docs/arm64.md §4), as read by
`litmus_parse`: every node keeps the span of its text in the `.litmus` file, so the
lowering (`litmus_lower`) can name the construct it cannot state, and traces point at
the test's own lines."""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.lang.span import NOSPAN, Span


@dataclass(frozen=True)
class LNode:
    span: Span = field(default=NOSPAN, compare=False, repr=False, kw_only=True)


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Int(LNode):
    value: int


@dataclass(frozen=True)
class Sym(LNode):
    """A symbolic value: ``x`` (the virtual address of x), ``pte_x`` / ``PTE(x)`` (the
    address of x's page-table entry), ``phy_x`` / ``PA(x)`` (x's physical page)."""

    kind: str  # 'va' | 'pte' | 'pa' | 'label' (``label:"P1:L0"``)
    name: str


@dataclass(frozen=True)
class Desc(LNode):
    """A page-table descriptor ``(oa:phy_y, valid:0, af:1, db:1, dbm:0)``; ``fields``
    holds what the text gives, in order (``oa`` as a `Sym`)."""

    fields: tuple[tuple[str, Int | Sym], ...]

    def get(self, key: str) -> Int | Sym | None:
        return next((v for k, v in self.fields if k == key), None)


Value = Int | Sym | Desc


# ---------------------------------------------------------------- locations


@dataclass(frozen=True)
class Reg(LNode):
    """``0:X1`` or ``P0:W1``; ``reg`` is the 64-bit name (``X1``)."""

    proc: int
    reg: str


@dataclass(frozen=True)
class Mem(LNode):
    """A memory location: ``x`` / ``[x]`` (x's data), ``pte_x`` / ``PTE(x)`` (its entry)."""

    kind: str  # 'va' | 'pte'
    name: str


Loc = Reg | Mem


@dataclass(frozen=True)
class Init(LNode):
    loc: Loc
    value: Value
    ctype: str = ""  # `int`, `uint64_t`, `pteval_t`... as written


# ---------------------------------------------------------------- code


@dataclass(frozen=True)
class Operand(LNode):
    """One operand as written: ``kind`` is 'reg' (``X1``, ``W1``, ``XZR``), 'imm'
    (``#12``), 'mem' (``[X1]``, ``[X1,X2]``, ``[X1,#8]``: ``parts``), or 'name' (a label,
    a barrier option, a TLBI operation)."""

    kind: str
    text: str
    parts: tuple[Operand, ...] = ()


@dataclass(frozen=True)
class Instr(LNode):
    proc: int
    labels: tuple[str, ...]  # `L0:` before it (a label alone in a cell names the next one)
    op: str  # upper case mnemonic: LDR, STR, DSB, B.EQ...
    args: tuple[Operand, ...]
    text: str  # the instruction as written (without its label)


@dataclass(frozen=True)
class Thread(LNode):
    """One column: ``P0`` (``handler`` False) or a fault handler column ``P0.F``."""

    proc: int
    handler: bool
    code: tuple[Instr, ...]
    end_labels: tuple[str, ...] = ()  # labels after the last instruction


# ---------------------------------------------------------------- condition


@dataclass(frozen=True)
class Eq(LNode):
    loc: Loc
    value: Value
    negated: bool = False  # `!=`


@dataclass(frozen=True)
class FaultAtom(LNode):
    """``fault(P0:L0,x)``, ``fault(P0,x)``, ``fault(P0:L0)``, ``fault(P0)``, optionally
    with a fault type (``MMU:Permission``)."""

    proc: int
    label: str | None
    loc: Mem | None
    ftype: str | None = None


@dataclass(frozen=True)
class Bool(LNode):
    value: bool


@dataclass(frozen=True)
class Not(LNode):
    arg: Prop


@dataclass(frozen=True)
class And(LNode):
    args: tuple[Prop, ...]


@dataclass(frozen=True)
class Or(LNode):
    args: tuple[Prop, ...]


Prop = Eq | FaultAtom | Bool | Not | And | Or


@dataclass(frozen=True)
class Condition(LNode):
    quant: str  # 'exists' | '~exists' | 'forall'
    prop: Prop


@dataclass(frozen=True)
class LitmusTest(LNode):
    arch: str
    name: str
    file: str
    source: str = field(compare=False, repr=False)
    info: tuple[tuple[str, str], ...]  # `Variant=vmsa` lines, in order
    init: tuple[Init, ...]
    threads: tuple[Thread, ...]
    condition: Condition
    extra: tuple[tuple[str, Span], ...] = ()  # `locations [...]`, `filter ...` as written

    def variants(self) -> tuple[str, ...]:
        out: list[str] = []
        for key, value in self.info:
            if key.lower() == "variant":
                out += [v.strip() for v in value.split(",") if v.strip()]
        return tuple(out)
