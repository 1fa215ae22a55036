"""The RISC-V statements' nodes (docs/riscv.md), re-exported by ``ast.py``."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.lang.ast_base import Node, PageRef


@dataclass(frozen=True)
class RvFence(Node):
    """`fence PRED, SUCC` (each 'r', 'w' or 'rw'); `fence.tso` is ``tso`` True (its sets
    are r,rw and w,w together: ``pred``/``succ`` are then 'rw')."""

    pred: str
    succ: str
    tso: bool = False


@dataclass(frozen=True)
class Sfence(Node):
    """`sfence.vma` (all), `sfence.vma V` (page V, every address space), `sfence.vma P.V`
    (page V in P's ASID) or `sfence.vma asid P` (every page of P's ASID)."""

    page: PageRef | None = None
    space: str | None = None  # the space of `sfence.vma asid P`
