"""C source of one System's native search: its commands, checks, state packing,
canonical form (`symmetry.plan`) and ample conditions (`por.Reduction.conditions`).

The commands are translated from the same expression trees `run/compile.py` turns
into Python, operator by operator (`CGen.value`/`CGen.cond` mirror `compile._Gen`),
and emitted in the order the Python successor functions append them: core by core,
the commands at the core's pc, then its drains, deliveries and fills; each enabled
command's checks in order, a fatal one that holds ending the path.  So the C program
computes exactly the successors and check hits of `compile_system`'s functions, in
the same order, and its breadth-first search numbers states as the Python search does.

Expressions are evaluated in 64-bit integers; `fits` refuses a System any of whose
subexpressions could leave that range (interval analysis), which then runs in the
Python search.  A state is packed field by field into ``ceil(log2(hi - lo + 1))``
bits (`ir/system.FieldInfo` bounds), fields never straddling a 64-bit word.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verifier.ir.system import (
    Command,
    Const,
    Expr,
    Field,
    FieldInfo,
    Interval,
    Op,
    System,
    Table,
    interval,
)
from verifier.search.commute import masks
from verifier.search.native.canon_c import array as _array
from verifier.search.native.canon_c import canon_source, pack_canon_source
from verifier.search.native.collapse_c import (
    Packing,
    collapse_defines,
    collapse_source,
    packers,
    packing,
)
from verifier.search.native.twins_c import twins_source
from verifier.search.por import Reduction, condition_source
from verifier.search.symmetry import Block

_ARITH = {"add": "+", "sub": "-", "mul": "*"}
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_BOOL = {"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not"}
_LIMIT = 1 << 62  # every subexpression's bounds stay within this (64-bit arithmetic)


class CGen:
    """Expression -> C, as `compile._Gen` does for Python (same cases, same order)."""

    def __init__(self, fields: tuple[FieldInfo, ...]) -> None:
        self.fields = fields
        self.tables: dict[tuple[int, ...], str] = {}

    def table(self, values: tuple[int, ...]) -> str:
        if values not in self.tables:
            self.tables[values] = f"T{len(self.tables)}"
        return self.tables[values]

    def cond(self, e: Expr) -> str:
        """C source that is non-zero exactly when ``e`` is."""
        if isinstance(e, Op):
            a = e.args
            if e.op == "and":
                return f"({self.cond(a[0])} && {self.cond(a[1])})"
            if e.op == "or":
                return f"({self.cond(a[0])} || {self.cond(a[1])})"
            if e.op == "not":
                return f"(!{self.cond(a[0])})"
            if e.op in _CMP:
                return f"({self.value(a[0])} {_CMP[e.op]} {self.value(a[1])})"
        return self.value(e)

    def value(self, e: Expr) -> str:
        """C source computing the 64-bit integer value of ``e``."""
        if isinstance(e, Const):
            return f"INT64_C({e.value})"
        if isinstance(e, Field):
            return f"((int64_t)s[{e.index}])"
        if isinstance(e, Table):
            lo, hi = interval(e.index, self.fields)
            if lo >= 0 and hi < max(len(e.values), 256):  # padded with zeros up to ``hi``
                values = e.values + (0,) * (hi + 1 - len(e.values))
                return f"{self.table(values)}[{self.value(e.index)}]"
            t = self.table(e.values)
            return f"tab({t}, {len(e.values)}, {self.value(e.index)})"
        a = e.args
        if e.op in _ARITH:
            return f"({self.value(a[0])} {_ARITH[e.op]} {self.value(a[1])})"
        if e.op in ("div", "mod"):
            if isinstance(a[1], Const) and a[1].value > 0 and interval(a[0], self.fields)[0] >= 0:
                return f"({self.value(a[0])} {'/' if e.op == 'div' else '%'} {a[1].value})"
            return f"t{e.op}({self.value(a[0])}, {self.value(a[1])})"
        if e.op == "neg":
            return f"(-{self.value(a[0])})"
        if e.op == "ite":
            return f"({self.cond(a[0])} ? {self.value(a[1])} : {self.value(a[2])})"
        if e.op in _BOOL:
            return f"((int64_t)({self.cond(e)} != 0))"
        raise ValueError(e.op)

    def table_source(self) -> list[str]:
        return [_array("int64_t", name, values) for values, name in self.tables.items()]


def fits(system: System) -> str:
    """Why the System cannot run natively ("" when it can): a subexpression whose
    bounds leave 64-bit arithmetic, or a field outside 32 bits."""
    for f in system.fields:
        if not (-(1 << 31) <= f.lo <= f.hi < (1 << 31)):
            return f"field {f.name} does not fit in 32 bits"
    memo: dict[int, Interval] = {}
    for cmd in system.commands:
        exprs = [cmd.guard, *(e for _, e in cmd.updates), *(ch.cond for ch in cmd.checks)]
        for e in exprs:
            interval(e, system.fields, memo)
        for lo, hi in memo.values():
            if not (lo > -_LIMIT and hi < _LIMIT):
                return f"command {cmd.key} computes values beyond 64 bits"
        memo.clear()
    return ""


def _conjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Op) and e.op == "and":
        return _conjuncts(e.args[0]) + _conjuncts(e.args[1])
    return [e]


def _command(g: CGen, cmd: Command, known: Expr | None) -> list[str]:
    """One command's part of `successors`: its guard (less ``known``, the pc test of
    the switch case it is in), its checks, its successor."""
    guard = [c for c in _conjuncts(cmd.guard) if c != known]
    alt = "sym_on && " if dict(cmd.info).get("swap") else ""  # symmetry_loops.alternatives
    cond = " && ".join(g.cond(c) for c in guard) or "1"
    lines = [f"    if (!SKIPPED({cmd.id}) && {alt}{cond}) {{"]
    fatal = any(ch.fatal for ch in cmd.checks)
    if fatal:
        lines.append("        int d = 0;")
    for h, ch in enumerate(cmd.checks):
        end = " d = 1;" if ch.fatal else ""
        lines.append(f"        if ({g.cond(ch.cond)}) {{ HIT({cmd.id}, {h});{end} }}")
    body = "        "
    if fatal:
        lines.append(f"        if (d) END({cmd.id}); else {{")
        body += "    "
    lines.append(f"{body}int32_t *n = NEXT({cmd.id});")
    for f, e in cmd.updates:
        info = g.fields[f]
        lo, hi = interval(e, g.fields)
        if info.lo <= lo and hi <= info.hi:  # within the field's range: no check
            lines.append(f"{body}n[{f}] = (int32_t)({g.value(e)});")
        else:  # the range is checked here, so packing need not check it
            lines.append(f"{body}n[{f}] = ranged({g.value(e)}, {info.lo}, {info.hi}, {f});")
    if fatal:
        lines.append("        }")
    lines.append("    }")
    return lines


def _successors(system: System, g: CGen, members: set[int]) -> list[str]:
    """``successors(s, o)``; the steps of a core of ``members`` (the reduced families')
    only when ``o->skip`` does not name it (`twins_c.twins_source`)."""
    ncores = len(system.cores)
    sites: list[dict[int, list[Command]]] = [{} for _ in range(ncores)]
    machine: list[list[Command]] = [[] for _ in range(ncores)]
    for cmd in system.commands:
        if cmd.site is None:
            machine[cmd.core].append(cmd)
        else:
            sites[cmd.core].setdefault(cmd.site, []).append(cmd)
    lines = ["static void successors(const int32_t *s, Out *o) {"]
    for c, core in enumerate(system.cores):
        if c in members and (sites[c] or machine[c]):
            lines.append(f"    if (!o->skip || !o->skip[{c}]) {{")
        if sites[c]:
            lines.append(f"    switch (s[{core.pc}]) {{")
            for pc in sorted(sites[c]):
                known = Op("eq", (Field(core.pc), Const(pc)))
                lines.append(f"    case {pc}: {{")
                for cmd in sites[c][pc]:
                    lines += _command(g, cmd, known)
                lines.append("    } break;")
            lines.append("    default: break;")
            lines.append("    }")
        for cmd in machine[c]:
            lines += _command(g, cmd, None)
        if c in members and (sites[c] or machine[c]):
            lines.append("    }")
    lines.append("}")
    return lines


def _packing_source(fields: Sequence[FieldInfo], pk: Packing) -> list[str]:
    """pack/unpack; pack trusts the ranges (checked where a value is computed, `ranged`,
    and for the initial state by `in_range`)."""
    lines = ["static int in_range(const int32_t *s) {"]
    for i, f in enumerate(fields):
        lines.append(f"    if (s[{i}] < {f.lo} || s[{i}] > {f.hi}) return {i + 1};")
    lines += ["    return 0;", "}"]
    return lines + packers(("pack", "unpack"), fields, range(len(fields)), pk, "W")


def _por_source(system: System, red: Reduction | None) -> list[str]:
    lines = ["static int por_ok(int c, const int32_t *s) {", "    switch (c) {"]
    conds = red.conditions if red is not None else {}
    for c, core in enumerate(system.cores):
        mine = sorted((p, cond) for (cc, p), cond in conds.items() if cc == c)
        if not mine:
            continue
        lines.append(f"    case {c}: switch (s[{core.pc}]) {{")
        for p, cond in mine:
            src = condition_source(cond, "s[{}]", " && ", " || ", "1")
            lines.append(f"        case {p}: return {src};")
        lines.append("        default: return 0;")
        lines.append("    }")
    lines += ["    default: return 0;", "    }", "}"]
    return lines


def _views_source(system: System) -> tuple[list[str], int]:
    """Where each core's awaits can block (`hang.await_views`, in its order)."""
    views: list[tuple[int, str, list[int]]] = []
    for c, core in enumerate(system.cores):
        if core.program_awaits:
            views.append((c, "program", sorted(core.program_awaits)))
        if core.handler_awaits:
            views.append((c, "handler", sorted(core.handler_awaits)))
    n = len(views)
    lines = [f"#define NVIEWS {n}"]
    lines.append(_array("int", "VIEW_CORE", [v[0] for v in views]))
    lines.append(_array("int", "VIEW_NAWAITS", [len(v[2]) for v in views]))
    most = max((len(v[2]) for v in views), default=1)
    rows = ", ".join("{" + ", ".join(map(str, v[2])) + "}" for v in views) or "{0}"
    lines.append(f"static const int VIEW_AWAITS[{max(n, 1)}][{max(most, 1)}] = {{{rows}}};")
    lines.append("static int view_pos(int v, const int32_t *s) {")
    lines.append("    switch (v) {")
    for v, (c, kind, _) in enumerate(views):
        core = system.cores[c]
        if kind == "program":
            lines.append(
                f"    case {v}: return s[{core.in_handler}] ? s[{core.saved_pc}] : s[{core.pc}];"
            )
        else:
            lines.append(f"    case {v}: return s[{core.in_handler}] ? s[{core.pc}] : -1;")
    lines += ["    default: return -1;", "    }", "}"]
    lines.append("static int view_await(int v, int p) {")
    lines.append("    switch (v) {")
    for v, (_, _, awaits) in enumerate(views):
        cases = " ".join(f"case {p}:" for p in awaits)
        lines.append(f"    case {v}: switch (p) {{ {cases} return 1; default: return 0; }}")
    lines += ["    default: return 0;", "    }", "}"]
    return lines, n


def _uint(most: int) -> str:
    """The narrowest unsigned C type holding 0 .. ``most``."""
    return next(f"uint{b}_t" for b in (8, 16, 32) if most < 1 << b)


SLEEP_WORDS = 1 << 16  # read and write masks of at most this many 64-bit words in all


def _sleep_source(system: System) -> list[str]:
    """Each command's read and write fields as bit masks (`commute.masks`), for the
    search that skips commuting siblings' commands; none for a System too large."""
    fw = (len(system.fields) + 63) // 64
    ncmd = len(system.commands)
    if ncmd * fw > SLEEP_WORDS:
        none = "static const uint64_t CMD_R[1][1], CMD_W[1][1];"
        return ["#define HAS_SLEEP 0", "#define FW 1", none]
    rd, wr = masks(system)

    def rows(ms: list[int]) -> str:
        return ",".join(
            "{" + ",".join(f"{(m >> (64 * x)) & (2**64 - 1):#x}u" for x in range(fw)) + "}"
            for m in ms
        )

    return [
        "#define HAS_SLEEP 1",
        f"#define FW {fw}",
        f"static const uint64_t CMD_R[{ncmd}][FW] = {{{rows(rd)}}};",
        f"static const uint64_t CMD_W[{ncmd}][FW] = {{{rows(wr)}}};",
    ]


def kinds_of(system: System) -> list[str]:
    """The check kinds of the System, numbered as the C program reports them."""
    return system.check_kinds()


def source(
    system: System,
    plans: Sequence[Sequence[Block]],
    red: Reduction | None,
    runtime: str,
    loops: Sequence[Any] = (),
) -> str:
    """The whole C program: the System's constants, the runtime's declarations, the
    System's functions, the runtime's search (``runtime``: `runtime.c`, split at its
    ``@@ generated @@`` line)."""
    g = CGen(system.fields)
    kinds = kinds_of(system)
    kind_no = {k: i for i, k in enumerate(kinds)}
    body = _successors(system, g, {b.core for blocks in plans for b in blocks})
    pk = packing(system.fields)
    nf, ncmd = len(system.fields), len(system.commands)
    base, flat = [], []
    for cmd in system.commands:
        base.append(len(flat))
        flat += [kind_no[ch.kind] for ch in cmd.checks]
    views, _ = _views_source(system)
    awaits = [v for c in system.cores for v in (c.program_awaits, c.handler_awaits)]
    lines = [
        "/* generated by verifier/search/native/cgen.py: do not edit */",
        "#include <stdint.h>",
        "#include <string.h>",
        f"#define NF {nf}",
        f"#define NCMD {ncmd}",
        f"#define NCORES {len(system.cores)}",
        f"#define NKINDS {len(kinds)}",
        f"#define MAXHITS {max(len(flat), 1)}",
        f"#define W {pk.width}",
        *collapse_defines(plans, system.fields),
        f"#define HAS_SYMMETRY {int(bool(plans))}",
        f"#define HAS_POR {int(red is not None and bool(red.conditions))}",
        f"#define POS_T {_uint(max((len(v) for v in awaits), default=0))}",
        f"#define KIDS_T {_uint(ncmd + 1)}",
        f"#define VIA_T {'uint16_t' if ncmd < 0xFFFF else 'int32_t'}",
        *views,
        _array("int32_t", "INIT", system.init),
        _array("int", "CMD_CORE", [c.core for c in system.commands]),
        _array("int", "CMD_SITE", [-1 if c.site is None else c.site for c in system.commands]),
        _array("int", "CHECK_BASE", base),
        _array("int", "CHECK_KIND", flat),
        _array("int", "CORE_INH", [c.in_handler for c in system.cores]),
        *_sleep_source(system),
    ]
    tail = [
        *_packing_source(system.fields, pk),
        *canon_source(plans, system.fields, loops),
        *twins_source(plans, system.fields, loops),
        *pack_canon_source(plans, system.fields, pk.places, pk.words, loops),
        *collapse_source(
            plans, system.fields, loops, [[f for f, _ in c.updates] for c in system.commands]
        ),
        *_por_source(system, red),
    ]
    head, marker, rest = runtime.partition("/* @@ generated @@ */")
    assert marker, "runtime.c has no @@ generated @@ line"
    return "\n".join([*lines, head, *g.table_source(), *body, *tail, rest])
