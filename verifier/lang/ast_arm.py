"""The Arm64 statements' nodes (docs/arm64.md), re-exported by ``ast.py``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.lang.ast_base import Node, PageRef


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
    leaf: bool = False  # `tlbi V leaf`: last level only (VALE1), walk caches kept
    via: tuple[Any, ...] = ()  # `tlbi is V via r` (ast.Name): registers the page comes from
