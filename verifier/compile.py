"""Compile the guarded commands of a System to Python functions (the explicit engine's fast path).

Each command becomes ``step(s) -> tuple | None`` (None when the guard is false)
and, if it has checks, ``checks(s) -> tuple[int, ...]`` (indices of the checks
that hold).  The generated code means exactly what `system.evaluate` means;
tests compare the two on random states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from verifier.system import Command, Const, Expr, Field, Op, System, Table, tdiv, tmod

StepFn = Callable[[tuple[int, ...]], "tuple[int, ...] | None"]
CheckFn = Callable[[tuple[int, ...]], "tuple[int, ...]"]

_ARITH = {"add": "+", "sub": "-", "mul": "*"}
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_BOOL = {"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not"}


class _Gen:
    def __init__(self) -> None:
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
            return f"{self.table(e.values)}.get({self.value(e.index)}, 0)"
        a = e.args
        if e.op in _ARITH:
            return f"({self.value(a[0])} {_ARITH[e.op]} {self.value(a[1])})"
        if e.op == "div":
            return f"_div({self.value(a[0])}, {self.value(a[1])})"
        if e.op == "mod":
            return f"_mod({self.value(a[0])}, {self.value(a[1])})"
        if e.op == "neg":
            return f"(-{self.value(a[0])})"
        if e.op == "ite":
            return f"({self.value(a[1])} if {self.cond(a[0])} else {self.value(a[2])})"
        if e.op in _BOOL:
            return f"(1 if {self.cond(e)} else 0)"
        raise ValueError(e.op)


@dataclass(frozen=True)
class Compiled:
    step: tuple[StepFn, ...]  # by command id
    checks: tuple[CheckFn | None, ...]  # by command id


def _command_source(g: _Gen, cmd: Command) -> str:
    lines = [f"def _step{cmd.id}(s):", f"    if not {g.cond(cmd.guard)}:", "        return None",
             "    n = list(s)"]
    lines += [f"    n[{f}] = {g.value(e)}" for f, e in cmd.updates]
    lines.append("    return tuple(n)")
    if cmd.checks:
        lines += [f"def _check{cmd.id}(s):", "    out = []"]
        for i, chk in enumerate(cmd.checks):
            lines += [f"    if {g.cond(chk.cond)}:", f"        out.append({i})"]
        lines.append("    return out")
    return "\n".join(lines)


def compile_system(system: System) -> Compiled:
    g = _Gen()
    body = "\n".join(_command_source(g, cmd) for cmd in system.commands)
    namespace: dict[str, object] = {"_div": tdiv, "_mod": tmod}
    for values, name in g.tables.items():
        namespace[name] = dict(enumerate(values))
    exec(compile(body, "<tlbcheck-commands>", "exec"), namespace)  # noqa: S102 - generated code
    steps = tuple(namespace[f"_step{c.id}"] for c in system.commands)
    checks = tuple(namespace.get(f"_check{c.id}") if c.checks else None for c in system.commands)
    return Compiled(steps, checks)  # type: ignore[arg-type]
