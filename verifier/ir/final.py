"""A litmus test's final condition over the Program's places (docs/arm64.md §4): a
register of a core, a frame's data word, the instructions at which a core stopped at a
fault.  Built by `ir/lower_litmus.py` from `lang/final.py`, whose connectives and
comparisons it shares (their terms here are `PReg`, `PData` and `FNum`); the machine
judges it on the final states (`machine/rules_final.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.lang.final import FAnd, FBool, FCmp, FNot, FOr
from verifier.lang.span import NOSPAN, Span


@dataclass(frozen=True)
class PReg:
    """Register ``reg`` (an index into the core's ``regs``) of core ``core``; None: a
    register the program never writes (it stays 0)."""

    core: int
    reg: int | None


@dataclass(frozen=True)
class PData:
    frame: int


@dataclass(frozen=True)
class PPte:
    """The PTE of page ``page`` (default space) in memory, as its value's number."""

    page: int


@dataclass(frozen=True)
class PFault:
    """Core ``core`` stopped at a fault of the instruction at one of ``pcs``; of type
    ``ftype`` (1 translation, 2 permission; 0 any)."""

    core: int
    pcs: tuple[int, ...]
    ftype: int = 0


PProp = FCmp | PFault | FNot | FAnd | FOr | FBool  # over PReg, PData and FNum terms


@dataclass(frozen=True)
class PFinal:
    quant: str  # 'exists' | '~exists' | 'forall'
    prop: PProp
    text: str
    span: Span = field(default=NOSPAN, compare=False)

    @property
    def typed(self) -> bool:
        """Does the condition ask for a fault's type?"""
        return _typed(self.prop)


def _typed(p: PProp) -> bool:
    if isinstance(p, PFault):
        return p.ftype != 0
    if isinstance(p, FNot):
        return _typed(p.arg)
    return isinstance(p, FAnd | FOr) and any(_typed(a) for a in p.args)
