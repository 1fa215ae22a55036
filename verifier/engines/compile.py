"""Compile the guarded commands of a System to Python functions (the explicit engine's fast path).

Two forms are generated from the same expressions:
- per command, ``step(s) -> tuple | None`` (None when the guard is false) and,
  if it has checks, ``checks(s) -> list[int]`` (indices of the checks that hold);
  traces and replay use these;
- one ``successors(s, out, hit)`` for the search: it dispatches on each core's
  pc to the function of that instruction, then runs the core's machine steps
  (drains, deliveries, fills), appending ``(command id, next state)`` to ``out``
  for every enabled command (``None`` as the state when a fatal check holds: the
  path ends there) and the command id to ``hit`` when one of its checks holds
  (the search then asks ``checks`` which).  No call is made per disabled
  command.  The next state is built from slices of the pre-state and the
  updated runs.  When every field fits in a byte states are ``bytes`` (a
  quarter of a tuple's memory; indexing works the same).

Interval analysis over the field ranges lets table lookups and divisions by
positive constants compile to plain indexing and `//`.  The generated code
means exactly what `system.evaluate` means; tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from verifier.ir.system import (
    Command,
    Const,
    Expr,
    Field,
    FieldInfo,
    Op,
    System,
    Table,
    conj,
    eq,
    interval,
    tdiv,
    tmod,
)

State = tuple[int, ...] | bytes  # bytes when every field fits in 0..255 (see `compact`)
StepFn = Callable[[tuple[int, ...]], "tuple[int, ...] | None"]
CheckFn = Callable[[State], "list[int]"]
SuccFn = Callable[[State, "list[tuple[int, State | None]]", "list[int]"], None]

PAD = 4096  # a table is padded with zeros when its index can exceed it by less

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
            if lo >= 0 and hi < len(e.values) + PAD:
                # out of range gives 0: pad the table with zeros up to the highest index
                padded = e.values + (0,) * max(0, hi + 1 - len(e.values))
                return f"{self.table(padded)}[{self.value(e.index)}]"
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

    def updates(self, cmd: Command, indent: str) -> list[str]:
        return [f"{indent}n = list(s)"] + [
            f"{indent}n[{f}] = {self.value(e)}" for f, e in cmd.updates
        ]


@dataclass(frozen=True)
class Compiled:
    step: tuple[StepFn, ...]  # by command id
    checks: tuple[CheckFn | None, ...]  # by command id
    successors: SuccFn  # every enabled command of a state (see the module docstring)


def _command_source(g: _Gen, cmd: Command) -> list[str]:
    lines = [f"def _step{cmd.id}(s):", f"    if not {g.cond(cmd.guard)}:", "        return None"]
    lines += g.updates(cmd, "    ")
    lines.append("    return tuple(n)")
    if cmd.checks:
        lines += [f"def _check{cmd.id}(s):", "    out = []"]
        for i, chk in enumerate(cmd.checks):
            lines += [f"    if {g.cond(chk.cond)}:", f"        out.append({i})"]
        lines.append("    return out")
    return lines


def _conjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Op) and e.op == "and":
        return _conjuncts(e.args[0]) + _conjuncts(e.args[1])
    return [e]


def _without(guard: Expr, known: Expr | None) -> Expr:
    """``guard`` less the conjunct ``known`` (which the caller has already tested)."""
    if known is None:
        return guard
    return conj(*(c for c in _conjuncts(guard) if c != known))


def _build(g: _Gen, cmd: Command, packed: bool) -> str:
    """Python source of the successor state: unchanged runs of the pre-state are sliced,
    updated runs are built in one go (``bytes((...))`` or a tuple)."""
    ups = sorted(cmd.updates)
    pieces: list[str] = []
    pos = 0
    k = 0
    while k < len(ups):
        start = ups[k][0]
        run = [g.value(ups[k][1])]
        while k + 1 < len(ups) and ups[k + 1][0] == ups[k][0] + 1:
            k += 1
            run.append(g.value(ups[k][1]))
        if start > pos:
            pieces.append(f"s[{pos}:{start}]")
        body = ", ".join(run) + ("," if len(run) == 1 else "")
        pieces.append(f"bytes(({body}))" if packed else f"({body})")
        pos = ups[k][0] + 1
        k += 1
    if pos < len(g.fields):
        pieces.append(f"s[{pos}:]")
    if not pieces:
        return "s"
    return pieces[0] if len(pieces) == 1 else "(" + " + ".join(pieces) + ")"


def _succ_source(
    g: _Gen, name: str, cmds: list[Command], packed: bool, known: Expr | None = None
) -> list[str]:
    """``known``: a conjunct every guard here has that the dispatcher already tested
    (the pc of a site)."""
    lines = [f"def {name}(s, out, hit):"]
    for cmd in cmds:
        lines.append(f"    if {g.cond(_without(cmd.guard, known))}:")
        if cmd.checks:
            lines.append(f"        if {' or '.join(g.cond(c.cond) for c in cmd.checks)}:")
            lines.append(f"            hit.append({cmd.id})")
        fatal = [chk.cond for chk in cmd.checks if chk.fatal]
        indent = "        "
        if fatal:
            # a path that fails an assertion or range check ends: no next state is built
            lines.append(f"        if {' or '.join(g.cond(c) for c in fatal)}:")
            lines.append(f"            out.append(({cmd.id}, None))")
            lines.append("        else:")
            indent = "            "
        lines.append(f"{indent}out.append(({cmd.id}, {_build(g, cmd, packed)}))")
    if not cmds:
        lines.append("    pass")
    return lines


def compact(system: System) -> bool:
    """Can every state be stored as ``bytes`` (every field within 0..255)?"""
    return all(f.lo >= 0 and f.hi <= 255 for f in system.fields)


def compile_system(system: System, *, packed: bool = False) -> Compiled:
    """``packed``: the successor functions build ``bytes`` states (see `compact`); the
    per-command step functions always work on tuples."""
    g = _Gen(system.fields)
    lines: list[str] = []
    for cmd in system.commands:
        lines += _command_source(g, cmd)
    ncores = len(system.cores)
    sites: list[dict[int, list[Command]]] = [{} for _ in range(ncores)]
    machine: list[list[Command]] = [[] for _ in range(ncores)]
    for cmd in system.commands:
        if cmd.site is None:
            machine[cmd.core].append(cmd)
        else:
            sites[cmd.core].setdefault(cmd.site, []).append(cmd)
    namespace: dict[str, object] = {"_div": tdiv, "_mod": tmod}
    top = ["def _successors(s, out, hit):"]
    dispatch: dict[int, list[int | None]] = {}  # core -> pc -> site (None: no instruction)
    for c in range(ncores):
        at = system.cores[c].pc
        for pc, cmds in sorted(sites[c].items()):
            lines += _succ_source(g, f"_site{c}_{pc}", cmds, packed, eq(Field(at), pc))
        if sites[c]:
            dispatch[c] = [pc if pc in sites[c] else None for pc in range(system.fields[at].hi + 1)]
            top += [f"    f = _D{c}[s[{at}]]", "    if f is not None:", "        f(s, out, hit)"]
        if machine[c]:
            lines += _succ_source(g, f"_machine{c}", machine[c], packed)
            top.append(f"    _machine{c}(s, out, hit)")
    lines += top if len(top) > 1 else [*top, "    pass"]
    for values, name in g.tables.items():
        namespace[name] = values
        namespace[f"{name}_d"] = dict(enumerate(values))
    exec(compile("\n".join(lines), "<tlbcheck-commands>", "exec"), namespace)
    steps = tuple(namespace[f"_step{c.id}"] for c in system.commands)
    checks = tuple(namespace.get(f"_check{c.id}") if c.checks else None for c in system.commands)
    for c, pcs in dispatch.items():
        namespace[f"_D{c}"] = tuple(
            None if pc is None else namespace[f"_site{c}_{pc}"] for pc in pcs
        )
    return Compiled(steps, checks, namespace["_successors"])  # type: ignore[arg-type]
