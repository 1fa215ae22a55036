"""The spec's declarations numbered for lowering: frames, pages, spaces and cores by name,
memory words (one per family member for `var x[fam]`), PTE values (each distinct value
once) and every space's initial page table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from verifier.ir import program as P
from verifier.ir.flat import decl_text
from verifier.lang import ast
from verifier.lang.checked import CheckedSpec
from verifier.lang.span import Span

PERM_BITS = {"r": 1, "w": 2, "x": 4}


def perm_bits(perms: str) -> int:
    return sum(PERM_BITS[c] for c in perms)


def mapping_perms(m: ast.Mapping) -> int:
    """The permission bits of a mapping: its letters, and USER for `user`."""
    return perm_bits(m.perms) | P.USER * m.user


@dataclass
class Tables:
    """Index tables shared by every core."""

    spec: CheckedSpec
    frames: dict[str, int]
    pages: dict[str, int]
    spaces: dict[str, int]
    cores: dict[str, int]
    families: dict[str, tuple[int, ...]]  # family -> core indices in index order
    words: list[P.Word] = field(default_factory=list)
    word_index: dict[tuple[str, int | None], int] = field(default_factory=dict)  # (var, core)
    pte_values: list[P.PteValue] = field(default_factory=list)
    pte_index: dict[tuple[object, ...], int] = field(default_factory=dict)
    pte_keys: list[tuple[object, ...]] = field(default_factory=list)  # PTE values by number
    whole: bool = (
        False  # whole PTE values are read, written in expressions or stored from registers
    )
    dirs: dict[str, int] = field(default_factory=dict)
    updates: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)  # fetch_set...
    lines: list[str] = field(default_factory=list)  # the source's lines, split once
    emitted: int = 0  # instructions over all cores, bounded by MAX_INSTRUCTIONS
    check: Callable[[], None] | None = None  # the run's time and memory budget

    def pte_value(self, value: ast.PteValue, text: str, span: Span | None) -> int:
        return self.add_pte(self.value_of(value, text, span))

    def value_of(self, value: ast.PteValue, text: str, span: Span | None) -> P.PteValue:
        if isinstance(value, ast.Invalid):
            kept, k = (-1, 0), value.kept
            if k is not None:
                kept = (self.frames[k.frame], mapping_perms(k))
            flags = {"af": not k.old, "dbm": k.dbm} if k is not None else {}
            return P.PteValue(-1, 0, False, text, span, kept, **flags)
        frame, perms = self.frames[value.frame], mapping_perms(value)
        return P.PteValue(frame, perms, value.global_, text, span, af=not value.old, dbm=value.dbm)

    def add_pte(self, v: P.PteValue) -> int:
        key = (*v.key, v.text, v.span)
        if key not in self.pte_index:
            self.pte_index[key] = len(self.pte_values)
            self.pte_values.append(v)
        if v.key not in self.pte_keys:
            self.pte_keys.append(v.key)
        return self.pte_index[key]

    def pte_number(self, value: ast.PteValue) -> int:
        """The number of a PTE value written in an expression (docs/arm64.md §1)."""
        key = self.value_of(value, "", None).key
        if key not in self.pte_keys:
            self.pte_keys.append(key)
        return self.pte_keys.index(key) + 1


def tables(spec: CheckedSpec, check: Callable[[], None] | None) -> Tables:
    """Every declared name of the spec numbered, and the core families by name."""
    cores = {c.name: i for i, c in enumerate(spec.cores)}
    families: dict[str, list[int]] = {}
    for i, c in enumerate(spec.cores):
        if c.family is not None:
            families.setdefault(c.family, []).append(i)
    return Tables(
        spec,
        {f: i for i, f in enumerate(spec.frames)},
        {p: i for i, p in enumerate(spec.pages)},
        {s.name: i for i, s in enumerate(spec.spaces)},
        cores,
        {f: tuple(v) for f, v in families.items()},
        lines=spec.source.splitlines(),
        check=check,
        dirs={d.name: i for i, d in enumerate(spec.dirs)},
    )


def lower_words(t: Tables) -> None:
    """One memory word per plain `var`, one per member of the family for `var x[fam]`."""
    spec = t.spec
    for var in spec.vars:
        owners: list[int | None] = [None] if var.family is None else list(t.families[var.family])
        for owner in owners:
            name = var.name if owner is None else f"{var.name}[{spec.cores[owner].index}]"
            t.word_index[(var.name, owner)] = len(t.words)
            who = None if owner is None else spec.cores[owner].name
            t.words.append(P.Word(name, var.lo, var.hi, var.init, who))


def lower_spaces(t: Tables) -> list[P.Space]:
    """Each address space's initial PTE per page (undeclared pages invalid)."""
    spec = t.spec
    spaces = []
    for s in spec.spaces:
        declared = dict(s.entries)
        entries = []
        for page in spec.pages:
            if page in declared:
                v = declared[page]
                entries.append(t.pte_value(v, decl_text(spec, page, v), v.span))
            else:
                entries.append(
                    t.pte_value(ast.Invalid(), f"page {page} invalid (undeclared)", None)
                )
        spaces.append(P.Space(s.name, s.asid, tuple(entries)))
    return spaces


def lower_tables(t: Tables) -> tuple[Any, ...]:
    """Two-level pages (docs/page-tables.md): the table frames, the dirs, slots per table,
    each page's (dir, slot) per space and each leaf's initial value; all empty for a
    one-level spec (so its PTE values keep their numbers)."""
    hardware_values(t)
    spec = t.spec
    if not spec.dirs:
        return (), (), 0, (), ()
    tables = tuple(t.frames[n] for n in spec.tables)
    spaces = [s.name for s in spec.spaces]
    dirs = tuple(
        P.Dir(d.name, spaces.index(d.space), -1 if d.table is None else spec.tables.index(d.table))
        for d in spec.dirs
    )
    slots = 1 + max([0, *(i for s in spec.spaces for _, _, i in s.slots)])
    walks = []
    given: dict[tuple[int, int], int] = {}
    for s in spec.spaces:
        at = {page: (t.dirs[d], i) for page, d, i in s.slots}
        walks.append(tuple(at.get(p) for p in spec.pages))
        declared = dict(s.entries)
        for page, (d, i) in at.items():
            if dirs[d].init >= 0:
                v = declared[page]
                given[(dirs[d].init, i)] = t.pte_value(v, decl_text(spec, page, v), v.span)
    zero = t.pte_value(ast.Invalid(), "an entry of a zeroed table page", None)
    leaves = tuple(tuple(given.get((k, i), zero) for i in range(slots)) for k in range(len(tables)))
    return tables, dirs, slots, tuple(walks), leaves


def pte_regs(t: Tables, cores: list[P.Core]) -> list[P.Core]:
    """Once every PTE value of the spec is numbered: each `pte V := r` gets one wid per
    PTE value r may hold, and registers range over those numbers (docs/arm64.md §1)."""
    if not t.whole:
        return cores
    out = []
    for core in cores:
        code = list(core.code)
        for pc, ins in enumerate(code):
            if isinstance(ins, P.IPte) and ins.fields:  # what it stores, per value held
                news = [_of_key(k, ins.text, ins.span).with_fields(ins.rmw, ins.fields)
                        for k in list(t.pte_keys)]  # fmt: skip
                wids = tuple(-1 if v is None else t.add_pte(v) for v in news)
                code[pc] = replace(ins, wids=wids)
            if isinstance(ins, P.IPte) and ins.src is not None:
                wids = tuple(t.add_pte(_of_key(k, ins.text, ins.span)) for k in list(t.pte_keys))
                code[pc] = replace(ins, wid=wids[0], wids=wids)
        hi = max(core.reg_range[1], len(t.pte_keys))
        out.append(replace(core, code=tuple(code), reg_range=(core.reg_range[0], hi)))
    return out


def _of_key(k: tuple[object, ...], text: str, span: Span | None) -> P.PteValue:
    return P.PteValue(*k[:3], text, span, *k[3:])  # type: ignore[arg-type]


def hardware_values(t: Tables) -> None:
    """The values an arm64 walker's update can make of the spec's `old` and `dbm` values
    (the access flag set; a `dbm` entry also made writable), and those `fetch_set` and
    `fetch_clear` make of every value (again and again, until no value is new), so that
    every value an entry can hold has a number (docs/arm64.md sections 1 and 7)."""
    while True:
        known = len(t.pte_keys)
        for k in list(t.pte_keys) if t.updates else ():  # literals' values are numbered too
            for op, names in sorted(t.updates):
                new = _of_key(k, "", None).with_fields(op, names)
                if new is not None and new.key not in t.pte_keys:
                    t.add_pte(replace(new, text=f"a value after {op}({', '.join(names)})"))
        for v in list(t.pte_values):
            if v.frame < 0 or (v.af and not v.dbm):
                continue
            if not v.af:
                t.add_pte(replace(v, af=True, text=f"{v.text}, access flag set by the walker"))
            if v.dbm and not v.perms & 2:
                text = f"{v.text}, made dirty (writable) by the walker"
                t.add_pte(replace(v, af=True, perms=v.perms | 2, text=text))
        if not t.updates or len(t.pte_keys) == known:
            return
