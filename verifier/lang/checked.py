"""The checked spec: the AST plus resolved symbol tables.

`check.check()` builds it; `lower.lower()` consumes it. Everything here is
already validated, so lowering never reports user errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from verifier.lang import ast
from verifier.lang.final import Litmus
from verifier.lang.span import Span

MODELS = ("sc", "tso", "pso")  # what `expect` without `under` and --all-models cover
ALL_MODELS = (*MODELS, "arm", "riscv")  # every model a spec may name (docs/arm64.md, riscv.md)
WEAK_MODELS = ("arm", "riscv")  # models with the out-of-order window (machine/window.py)
DEFAULT_SPACE = "default"  # the implicit space when no `space` is declared
DEFAULT_RANGE = (0, 15)


@dataclass(frozen=True)
class Ref:
    """What one name in a body denotes, decided once by the checker.

    ``kind``: 'reg' (a register of the body, handler parameters included), 'word' (a
    scalar shared word), 'param' (``value``), 'loopvar' (a `for` variable), 'core' (a
    core name), 'page' (a page, with ``space`` when written `P.V`).
    """

    kind: str
    name: str
    space: str | None = None
    value: int = 0


@dataclass(frozen=True)
class SpaceInfo:
    name: str
    asid: int
    entries: tuple[tuple[str, ast.PteValue], ...]  # (page, value) for declared pages
    span: Span
    slots: tuple[tuple[str, str, int], ...] = ()  # (page, dir, slot) of two-level pages


@dataclass(frozen=True)
class DirInfo:
    """An upper-level entry (docs/page-tables.md): its space and initial table (None:
    invalid)."""

    name: str
    space: str
    table: str | None
    span: Span


@dataclass(frozen=True)
class VarInfo:
    name: str
    family: str | None  # per-core variable of this family
    init: int
    lo: int
    hi: int
    span: Span


@dataclass(frozen=True)
class CoreInstance:
    """One concrete core; families are expanded (`cpu[1]`, `cpu[2]`, ...)."""

    name: str  # 'init' or 'cpu[1]'
    family: str | None  # 'cpu' for a family member
    index: int | None  # 1 for cpu[1]
    space: str  # the space it starts in
    body: tuple[ast.Stmt, ...]
    span: Span
    fault: tuple[ast.Stmt, ...] | None = None  # `on fault { ... }`
    resume: bool = False  # `on fault resume`: back after the faulting access


@dataclass(frozen=True)
class HandlerInfo:
    name: str
    params: tuple[str, ...]
    param_kinds: tuple[str, ...]  # 'page' | 'int' | 'any' (unused) for each parameter
    body: tuple[ast.Stmt, ...]
    span: Span


@dataclass(frozen=True)
class CheckedSpec:
    spec: ast.Spec
    file: str
    source: str
    title: str
    model: str  # the spec's declared model (default pso)
    params: tuple[tuple[str, int], ...]  # after -D overrides, declaration order
    walker: str  # 'speculative' | 'on-miss'
    ipi: str  # 'unordered' | 'ordered'
    buffer: int  # `option buffer = N` (an extension); 0: sized from the program
    frames: tuple[str, ...]
    pages: tuple[str, ...]
    spaces: tuple[SpaceInfo, ...]
    vars: tuple[VarInfo, ...]
    families: tuple[tuple[str, int, int], ...]  # (family, lo, hi)
    cores: tuple[CoreInstance, ...]
    handlers: tuple[HandlerInfo, ...]
    expects: tuple[ast.ExpectDecl, ...]
    flushes: str = "plain"  # 'plain' | 'serializing' (docs/page-tables.md)
    ad: str = "none"  # 'hardware': accessed/dirty bits (docs/page-tables.md)
    ad_cores: tuple[tuple[str, str], ...] = ()  # `option ad = V for CORE` (docs/arm64.md 7)
    mode: str = "kernel"  # `option mode = user`: every core runs user-mode code (arm64.md 8)
    mode_cores: tuple[tuple[str, str], ...] = ()  # `option mode = user for CORE`

    def user_mode(self, core: CoreInstance) -> bool:
        """Does ``core``'s program run in user mode (its handlers never do)?"""
        return dict(self.mode_cores).get(core.family or core.name, self.mode) == "user"

    tables: tuple[str, ...] = ()  # the frames that are page-table pages
    dirs: tuple[DirInfo, ...] = ()
    # id(node) -> what it names, for every Name, PageRef, PageName and TargetName in a body
    refs: Mapping[int, Ref] = field(default_factory=dict, compare=False, repr=False)
    frame_data: tuple[int, ...] = ()  # per frame: initial data word; () when none is used
    litmus: Litmus | None = None  # a spec lowered from a `.litmus` test (lang/final.py)

    def param(self, name: str) -> int:
        return dict(self.params)[name]

    def expect_for(self, model: str) -> ast.ExpectDecl | None:
        for e in self.expects:
            if e.models is None or model in e.models:
                return e
        return None
