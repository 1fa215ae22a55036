"""The final condition of a `.litmus` test over a lowered Program's observables, and
what lowering shares: `Unsupported`, register names (docs/arm64.md §4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from verifier.ir import program as P
from verifier.lang.litmus import Atom, Cond, Desc
from verifier.lang.span import Span


class Unsupported(Exception):
    """The test uses something tlbcheck cannot state (``span``: where)."""

    def __init__(self, reason: str, span: Span | None) -> None:
        super().__init__(reason)
        self.reason, self.span = reason, span


@dataclass(frozen=True)
class Obs:
    """An observable of a final state: ``kind`` 'reg' (core, register index), 'data'
    (frame), 'fault' (core, pcs of the accesses that may have faulted), 'pte' (page, and
    the descriptor fields it must have), 'const' (a value known statically)."""

    kind: str
    core: int = -1
    index: int = -1
    pcs: tuple[int, ...] = ()
    fields: tuple[tuple[str, int], ...] = ()
    value: int = 0


@dataclass(frozen=True)
class LCond:
    op: str  # 'eq' (obs == value) | 'fault' | 'pte' | 'const' | 'not' | 'and' | 'or'
    args: tuple[LCond, ...] = ()
    obs: Obs | None = None
    value: int = 0


def canon_reg(r: str) -> str | None:
    m = re.fullmatch(r"[WX](\d+)", r)
    if m:
        return f"X{m.group(1)}"
    return "ZR" if r in ("WZR", "XZR") else None


@dataclass
class LitmusCore:
    core: P.Core
    env: dict[str, object]
    dyn: list[str]
    labels: dict[str, int]
    accesses: dict[int, str]
    ptes: set[str]


class CondLowerer:
    def __init__(self, lw: Any, cores: list[LitmusCore]) -> None:
        self.lw, self.cores = lw, cores

    def lower(self, c: Cond) -> LCond:
        if c.op in ("true", "false"):
            return LCond("const", value=int(c.op == "true"))
        if c.op in ("not", "and", "or"):
            return LCond(c.op, tuple(self.lower(a) for a in c.args))
        assert c.atom is not None
        return self.atom(c.atom)

    def atom(self, a: Atom) -> LCond:
        if a.what == "fault":
            return self.fault(a)
        if a.what == "reg":
            return self.reg(a)
        if a.name.startswith("pte_"):
            if not isinstance(a.value, Desc):
                raise Unsupported("a PTE compared with a number", a.span)
            page = self.lw.page(a.name[4:])
            want = self.lw.values[self.lw.wid(_full(a.value, a.name[4:]), a.name[4:])]
            return LCond("pte", obs=Obs("pte", index=page, fields=_fields(a.value, want)))
        if not isinstance(a.value, int):
            raise Unsupported(f"a location compared with `{a.value}`", a.span)
        v = a.name[4:] if a.name.startswith("phy_") else a.name
        return LCond("eq", obs=Obs("data", index=self.lw.frame(v)), value=a.value)

    def reg(self, a: Atom) -> LCond:
        assert a.thread is not None
        if a.thread >= len(self.cores):
            raise Unsupported(f"thread {a.thread} does not exist", a.span)
        core = self.cores[a.thread]
        r = canon_reg(a.name)
        if r is None:
            raise Unsupported(f"register `{a.name}`", a.span)
        if r in core.ptes and isinstance(a.value, Desc):
            want = self.lw.values[self.lw.wid(a.value, "")] if a.value.oa else None
            if want is None:
                raise Unsupported("a PTE value compared without its output address", a.span)
            fields = _fields(a.value, want)
            return LCond("pte", obs=Obs("reg", a.thread, core.dyn.index(r), fields=fields))
        if core.env.get(r) == "dyn":
            if not isinstance(a.value, int):
                raise Unsupported("a register compared with an address or descriptor", a.span)
            return LCond("eq", obs=Obs("reg", a.thread, core.dyn.index(r)), value=a.value)
        return LCond("const", value=int(core.env.get(r, 0) == a.value))

    def fault(self, a: Atom) -> LCond:
        assert a.thread is not None
        if a.thread >= len(self.cores):
            raise Unsupported(f"thread {a.thread} does not exist", a.span)
        core = self.cores[a.thread]
        if a.label is not None:
            if a.label not in core.labels:
                raise Unsupported(f"label {a.label} is not in P{a.thread}", a.span)
            pcs = (core.labels[a.label],)
        else:
            pcs = tuple(pc for pc, v in sorted(core.accesses.items()) if v == a.name)
        return LCond("fault", obs=Obs("fault", a.thread, pcs=pcs))


def _full(d: Desc, page: str) -> Desc:
    return d if d.oa is not None else Desc(page, d.fields, d.span)


def _fields(d: Desc, want: P.PteValue) -> tuple[tuple[str, int], ...]:
    """The parts of a PTE a condition names: its frame (when `oa` or `valid` is named),
    validity, permission."""
    out = []
    names = dict(d.fields)
    if d.oa is not None or "valid" in names or "af" in names:
        out.append(("frame", want.frame))
    if "db" in names:
        out.append(("perms", want.perms))
    return tuple(out)
