"""Compile the guarded commands of a System to Python functions (the explicit engine's fast path).

Two forms are generated from the same expressions:
- per command, ``step(s) -> tuple | None`` (None when the guard is false) and,
  if it has checks, ``checks(s) -> list[int]`` (indices of the checks that hold);
  traces and replay use these;
- per core, one ``successors(s, out, hits)`` function for each pc and one for
  the machine steps (drains, deliveries, fills), which append ``(command id,
  next state)`` to ``out`` for every enabled command (``None`` as the state when
  a fatal check holds: the path ends there) and ``(command id, check index)`` to
  ``hits`` for each of its checks that holds; and one for a whole state calling
  those of every core.  The search uses these, avoiding a call per disabled
  command or per check.  When every field fits in a byte they build ``bytes``
  states (a quarter of a tuple's memory; indexing works the same) by updating a
  ``bytearray`` copy of the state.

Interval analysis over the field ranges lets table lookups (into tables padded
with zeros up to the index's bound) and divisions by positive constants compile
to plain indexing and `//`.  The generated code
means exactly what `system.evaluate` means; tests compare the two.

Every function is generated and compiled when it is first looked up, one at a
time: compiling a long program's commands at once cost seconds and gigabytes
(Python's compiler holds the whole module's syntax tree) before the search
could even check its clock.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType

from verifier.ir.system import (
    Command,
    Const,
    Expr,
    Field,
    FieldInfo,
    Op,
    System,
    Table,
    interval,
    tdiv,
    tmod,
)
from verifier.run.budget import Budget

State = tuple[int, ...] | bytes  # bytes when every field fits in 0..255 (see `compact`)
StepFn = Callable[[tuple[int, ...]], "tuple[int, ...] | None"]
CheckFn = Callable[[State], "list[int]"]
SuccFn = Callable[[State, "list[tuple[int, State | None]]", "list[tuple[int, int]]"], None]

_ARITH = {"add": "+", "sub": "-", "mul": "*"}
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_BOOL = {"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not"}


class _Gen:
    def __init__(self, fields: tuple[FieldInfo, ...]) -> None:
        self.fields = fields
        self.tables: dict[tuple[int, ...], str] = {}

    def table(self, values: tuple[int, ...]) -> str:
        if values not in self.tables:
            self.tables[values] = f"_T{len(self.tables)}"
        return self.tables[values]

    def cond(self, e: Expr) -> str:
        """Python source that is truthy exactly when ``e`` is non-zero."""
        if isinstance(e, Op):
            a = e.args
            if e.op == "and":
                return f"({self.cond(a[0])} and {self.cond(a[1])})"
            if e.op == "or":
                return f"({self.cond(a[0])} or {self.cond(a[1])})"
            if e.op == "not":
                return f"(not {self.cond(a[0])})"
            if e.op in _CMP:
                return f"({self.value(a[0])} {_CMP[e.op]} {self.value(a[1])})"
        return self.value(e)

    def value(self, e: Expr) -> str:
        """Python source computing the integer value of ``e``."""
        if isinstance(e, Const):
            return repr(e.value)
        if isinstance(e, Field):
            return f"s[{e.index}]"
        if isinstance(e, Table):
            lo, hi = interval(e.index, self.fields)
            if lo >= 0 and hi < max(len(e.values), 256):  # padded with zeros up to ``hi``
                values = e.values + (0,) * (hi + 1 - len(e.values))
                return f"{self.table(values)}[{self.value(e.index)}]"
            return f"{self.table(e.values)}_d.get({self.value(e.index)}, 0)"
        a = e.args
        if e.op in _ARITH:
            return f"({self.value(a[0])} {_ARITH[e.op]} {self.value(a[1])})"
        if e.op in ("div", "mod"):
            if isinstance(a[1], Const) and a[1].value > 0 and interval(a[0], self.fields)[0] >= 0:
                return f"({self.value(a[0])} {'//' if e.op == 'div' else '%'} {a[1].value})"
            return f"_{e.op}({self.value(a[0])}, {self.value(a[1])})"
        if e.op == "neg":
            return f"(-{self.value(a[0])})"
        if e.op == "ite":
            return f"({self.value(a[1])} if {self.cond(a[0])} else {self.value(a[2])})"
        if e.op in _BOOL:
            return f"(1 if {self.cond(e)} else 0)"
        raise ValueError(e.op)

    def updates(self, cmd: Command, indent: str, copy: str = "list") -> list[str]:
        """``n = copy(s)`` and one assignment per updated field (a ``bytearray`` copy of
        a bytes state is a memcpy; ``list`` of it builds one int reference per field)."""
        return [f"{indent}n = {copy}(s)"] + [
            f"{indent}n[{f}] = {self.value(e)}" for f, e in cmd.updates
        ]


class _Lazy(dict):  # type: ignore[type-arg]
    """key -> compiled function (or None), generated and compiled on first lookup: a
    long program only pays for the code the search or a trace actually reaches."""

    def __init__(self, make: Callable[[int], object]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: int) -> object:
        fn = self[key] = self.make(key)
        return fn


@dataclass(frozen=True)
class Compiled:
    """The compiled commands; each mapping compiles an entry when it is first looked up
    (``[key]``, not ``.get``), checking the budget given to `compile_system` first, so
    that a limit holds while a long program is being compiled."""

    step: Mapping[int, StepFn]  # by command id
    checks: Mapping[int, CheckFn | None]  # by command id
    site_succ: tuple[Mapping[int, SuccFn | None], ...]  # per core: pc -> successors at pc
    machine_succ: Mapping[int, SuccFn]  # per core: successors of drains, deliveries, fills
    make_state_succ: Callable[[], SuccFn]
    fatal: tuple[tuple[bool, ...], ...]  # by command id, then check: does it end a path?

    def ends(self, cid: int, s: tuple[int, ...]) -> bool:
        """Does a fatal check of command ``cid`` hold in ``s``?  A path through that
        step ends there (the successor functions build no next state), whatever
        ``step`` gives."""
        checks = self.checks[cid]
        return checks is not None and any(self.fatal[cid][h] for h in checks(s))

    @functools.cached_property
    def state_succ(self) -> SuccFn:
        """Every core's successors: the site's then the machine's, core by core
        (compiled on first use: the z3 engine's traces never need it)."""
        return self.make_state_succ()


def _step_source(g: _Gen, cmd: Command) -> list[str]:
    lines = [f"def _step{cmd.id}(s):", f"    if not {g.cond(cmd.guard)}:", "        return None"]
    lines += g.updates(cmd, "    ")
    lines.append("    return tuple(n)")
    return lines


def _check_source(g: _Gen, cmd: Command) -> list[str]:
    lines = [f"def _check{cmd.id}(s):", "    out = []"]
    for i, chk in enumerate(cmd.checks):
        lines += [f"    if {g.cond(chk.cond)}:", f"        out.append({i})"]
    lines.append("    return out")
    return lines


def _conjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Op) and e.op == "and":
        return _conjuncts(e.args[0]) + _conjuncts(e.args[1])
    return [e]


def _succ_source(
    g: _Gen, name: str, cmds: list[Command], packed: bool, known: Expr | None = None
) -> list[str]:
    return [f"def {name}(s, out, hits):", *_succ_lines(g, cmds, packed, known)] + (
        [] if cmds else ["    pass"]
    )


def _succ_lines(g: _Gen, cmds: list[Command], packed: bool, known: Expr | None = None) -> list[str]:
    """The body of a successors function.  ``known``: a conjunct that holds wherever the
    function is called (the pc test of a site's commands), left out of the guards.
    Consecutive commands whose guards begin with the same conjuncts test them once
    (``if a:`` around ``if b:``, ``if c:``); the commands still append to ``out`` in
    their order.  An enabled command's checks that hold append ``(command id, check
    index)`` to ``hits``."""
    copy, pack = ("bytearray", "bytes") if packed else ("list", "tuple")
    lines: list[str] = []

    def body(cmd: Command, indent: str) -> None:
        fatal = any(chk.fatal for chk in cmd.checks)
        if fatal:
            lines.append(f"{indent}d = 0")
        for h, chk in enumerate(cmd.checks):  # as `_check_source`, in the same order
            lines.append(f"{indent}if {g.cond(chk.cond)}:")
            lines.append(f"{indent}    hits.append(({cmd.id}, {h}))")
            if chk.fatal:
                lines.append(f"{indent}    d = 1")
        if fatal:
            # a path that fails an assertion or range check ends: no next state is built
            lines.append(f"{indent}if d:")
            lines.append(f"{indent}    out.append(({cmd.id}, None))")
            lines.append(f"{indent}else:")
            indent += "    "
        lines.extend(g.updates(cmd, indent, copy))
        lines.append(f"{indent}out.append(({cmd.id}, {pack}(n)))")

    def emit(items: list[tuple[Command, list[Expr]]], indent: str) -> None:
        k = 0
        while k < len(items):
            cmd, conj = items[k]
            m = k + 1
            while m < len(items) and conj and items[m][1][:1] == conj[:1]:
                m += 1
            if not conj:
                body(cmd, indent)
            elif m == k + 1:
                lines.append(f"{indent}if {' and '.join(g.cond(c) for c in conj)}:")
                body(cmd, indent + "    ")
            else:
                lines.append(f"{indent}if {g.cond(conj[0])}:")
                emit([(c, cj[1:]) for c, cj in items[k:m]], indent + "    ")
            k = m

    emit([(cmd, [c for c in _conjuncts(cmd.guard) if c != known]) for cmd in cmds], "    ")
    return lines


INLINE_LINES = 20_000  # machine steps inlined into `_all` up to this many lines of source


def _all_source(system: System, bodies: list[list[str]] | None) -> list[str]:
    """One function for a whole state: each core's site successors (``_S{c}``: its
    lazily compiled pc -> function mapping) then its machine steps, inline (``bodies``,
    per core) or by calling ``_M{c}``; the same ``out`` as calling `Compiled.site_succ`
    and `Compiled.machine_succ` core by core."""
    lines = ["def _all(s, out, hits):"]
    for c, core in enumerate(system.cores):
        lines += [
            f"    f = _S{c}[s[{core.pc}]]",
            "    if f is not None:",
            "        f(s, out, hits)",
        ]
        lines += bodies[c] if bodies is not None else [f"    _M{c}(s, out, hits)"]
    return lines


INLINE_LINES = 20_000  # lines of machine steps `_all` inlines at most (else it calls them)


def compact(system: System) -> bool:
    """Can every state be stored as ``bytes`` (every field within 0..255)?"""
    return all(f.lo >= 0 and f.hi <= 255 for f in system.fields)


@functools.lru_cache(maxsize=8192)
def _code(source: str) -> CodeType:
    """Compiled source, kept: a pure function of the text (names are looked up in the
    namespace it runs in), and specs checked one after another (`tlbcheck repair`'s
    candidates, a suite) share most of their commands' source."""
    return compile(source, "<tlbcheck-commands>", "exec")


class _Compiler:
    """Generates and compiles the source of one function at a time, sharing the
    constant tables of every function compiled so far."""

    def __init__(self, system: System, packed: bool, budget: Budget | None) -> None:
        self.g = _Gen(system.fields)
        self.packed = packed
        self.namespace: dict[str, object] = {"_div": tdiv, "_mod": tmod}
        self.budget = budget

    def define(self, lines: list[str], name: str) -> Callable[..., object]:
        if self.budget is not None:
            self.budget.check()
        exec(_code("\n".join(lines)), self.namespace)
        for values, tname in self.g.tables.items():
            if tname not in self.namespace:
                self.namespace[tname] = values
                self.namespace[f"{tname}_d"] = dict(enumerate(values))
        return self.namespace.pop(name)  # type: ignore[return-value]

    def succ(self, name: str, cmds: list[Command], known: Expr | None = None) -> SuccFn:
        source = _succ_source(self.g, name, cmds, self.packed, known)
        return self.define(source, name)  # type: ignore[return-value]


def compile_system(
    system: System, *, packed: bool = False, budget: Budget | None = None
) -> Compiled:
    """``packed``: the successor functions build ``bytes`` states (see `compact`); the
    per-command step functions always work on tuples.  Functions are compiled when
    first looked up; ``budget`` is checked before each."""
    cc = _Compiler(system, packed, budget)
    cmds = system.commands

    def step(cid: int) -> object:
        return cc.define(_step_source(cc.g, cmds[cid]), f"_step{cid}")

    def check(cid: int) -> object:
        cmd = cmds[cid]
        return cc.define(_check_source(cc.g, cmd), f"_check{cid}") if cmd.checks else None

    ncores = len(system.cores)
    sites: list[dict[int, list[Command]]] = [{} for _ in range(ncores)]
    machine: list[list[Command]] = [[] for _ in range(ncores)]
    for cmd in cmds:
        if cmd.site is None:
            machine[cmd.core].append(cmd)
        else:
            sites[cmd.core].setdefault(cmd.site, []).append(cmd)

    checks = _Lazy(check)

    def successors(name: str, at: list[Command], known: Expr | None = None) -> SuccFn:
        return cc.succ(name, at, known)

    def site_of(c: int) -> _Lazy:
        def make(pc: int) -> object:
            at = sites[c].get(pc)
            pc_is = Op("eq", (Field(system.cores[c].pc), Const(pc)))  # sites[c][pc] at pc
            return successors(f"_site{c}_{pc}", at, pc_is) if at else None

        return _Lazy(make)

    machine_succ = _Lazy(lambda c: successors(f"_machine{c}", machine[c]))
    site_succ = tuple(site_of(c) for c in range(ncores))
    cc.namespace.update({f"_S{c}": site_succ[c] for c in range(ncores)})

    def state_succ() -> SuccFn:
        # machine steps inline, unless so long that one compile would hold them all
        bodies: list[list[str]] | None = [_succ_lines(cc.g, m, packed) for m in machine]
        if sum(map(len, bodies or ())) > INLINE_LINES:
            bodies = None
            cc.namespace.update({f"_M{c}": machine_succ[c] for c in range(ncores)})
        return cc.define(_all_source(system, bodies), "_all")  # type: ignore[return-value]

    return Compiled(
        _Lazy(step),  # type: ignore[arg-type]
        checks,  # type: ignore[arg-type]
        site_succ,
        machine_succ,  # type: ignore[arg-type]
        state_succ,
        tuple(tuple(ch.fatal for ch in cmd.checks) for cmd in cmds),
    )
