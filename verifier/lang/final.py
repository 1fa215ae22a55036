"""The final condition of a litmus test, resolved to the names of the spec it was lowered
into (docs/arm64.md §4): registers of cores, data words of frames, and faults that
stopped a core at given statements.  `CheckedSpec.litmus` carries it with the control
dependencies; `ir/final.py` turns the names into state fields' places.

The condition is judged only on *final* states: every core has performed its whole
program or stopped at a fault.  ``quant`` is herd's: ``exists`` (some final state
satisfies ``prop``), ``~exists`` (none does), ``forall`` (every one does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifier.lang.span import NOSPAN, Span


@dataclass(frozen=True)
class FReg:
    core: str
    reg: str


@dataclass(frozen=True)
class FData:
    frame: str


@dataclass(frozen=True)
class FNum:
    value: int


@dataclass(frozen=True)
class FPte:
    """A PTE value written in the condition (`ast.Mapping` or `ast.Invalid`), compared
    with a register holding one (docs/arm64.md §1: the number of that value)."""

    value: Any


@dataclass(frozen=True)
class FPteMem:
    """Page ``page``'s PTE in memory (`[PTE(x)]=...`), compared with an `FPte` by the
    number of its value (docs/arm64.md section 7)."""

    page: str


@dataclass(frozen=True)
class FFault:
    """Core ``core`` stopped at a fault of one of the statements at ``at`` (their spans);
    ``at`` empty: at any statement."""

    core: str
    at: tuple[Span, ...]
    ftype: str = ""  # 'Translation' | 'Permission': of that type only (machine-told)


@dataclass(frozen=True)
class FCmp:
    op: str  # '==' | '!='
    left: FReg | FData | FNum | FPte | FPteMem
    right: FReg | FData | FNum | FPte | FPteMem


@dataclass(frozen=True)
class FNot:
    arg: FProp


@dataclass(frozen=True)
class FAnd:
    args: tuple[FProp, ...]


@dataclass(frozen=True)
class FOr:
    args: tuple[FProp, ...]


@dataclass(frozen=True)
class FBool:
    value: bool


FProp = FCmp | FFault | FNot | FAnd | FOr | FBool


@dataclass(frozen=True)
class Final:
    quant: str  # 'exists' | '~exists' | 'forall'
    prop: FProp
    text: str  # the condition as written
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Litmus:
    """What a `.litmus` test adds to the spec it was lowered into: its name, the final
    condition, and the control dependencies (a `CBZ`/`CBNZ` to the next instruction),
    each as the span of the statement that stands for it and the registers it tests.
    Faults are fatal (herd's `fatal` variant), or retried once (``retry``: herd's
    `handled`, named `imprecise` or `Handled`; docs/arm64.md section 3)."""

    name: str
    final: Final
    ctrl: tuple[tuple[Span, tuple[str, ...]], ...] = ()
    retry: bool = False
