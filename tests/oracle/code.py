"""Bodies as flat instruction lists, built straight from the AST.

`for c in ...` is unrolled with `c` bound to a core name in the instruction's
environment; `repeat K` is unrolled K times; `if`, `while` and `loop` become a
conditional branch and jumps.  Nothing is resolved here except the `for`
bindings: names are looked up at run time by the interpreter (`machine.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.lang import ast
from verifier.lang.checked import CheckedSpec

from .atomic_nodes import lowered


@dataclass(frozen=True)
class Instr:
    op: str  # 'stmt' | 'br' (jump to target when cond is false) | 'jmp'
    node: ast.Stmt | ast.Expr | None
    env: tuple[tuple[str, str], ...]  # for-variable -> core name
    target: int = -1


def const(checked: CheckedSpec, e: ast.Expr) -> int:
    """A constant expression (numbers and params), as `repeat` and `cpu[K]` take."""
    params = dict(checked.params)
    match e:
        case ast.Num(value=v):
            return v
        case ast.Name(name=n):
            return params[n]
        case ast.Unary(op=op, operand=a):
            x = const(checked, a)
            return -x if op == "-" else int(not x)
        case ast.Binary(op=op, left=a, right=b):
            return arith(op, const(checked, a), const(checked, b))
    raise ValueError(f"not a constant: {e}")


def arith(op: str, x: int, y: int) -> int:
    """`/` and `%` truncate toward zero; comparisons give 0 or 1 (y == 0 is the caller's)."""
    if op == "/":
        q = abs(x) // abs(y)
        return q if (x >= 0) == (y >= 0) else -q
    if op == "%":
        return x - y * arith("/", x, y)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "==":
        return int(x == y)
    if op == "!=":
        return int(x != y)
    if op == "<":
        return int(x < y)
    if op == "<=":
        return int(x <= y)
    if op == ">":
        return int(x > y)
    if op == ">=":
        return int(x >= y)
    if op == "&&":
        return int(x != 0 and y != 0)
    if op == "||":
        return int(x != 0 or y != 0)
    raise ValueError(op)


def core_names(checked: CheckedSpec, t: ast.Target, me: str, env: dict[str, str]) -> list[str]:
    """The cores a target denotes, in declaration order, for core `me` running."""
    order = [c.name for c in checked.cores]
    match t:
        case ast.TargetName(name=n):
            names = [env[n]] if n in env else [n]
        case ast.TargetIndex(family=f, index=e):
            names = [f"{f}[{const(checked, e)}]"]
        case ast.TargetFamily(family=f):
            names = [c.name for c in checked.cores if c.family == f]
        case ast.TargetOthers():
            names = [n for n in order if n != me]
        case ast.TargetAll():
            names = list(order)
        case _:
            raise ValueError(t)
    return names


def flatten(checked: CheckedSpec, body: tuple[ast.Stmt, ...], me: str) -> list[Instr]:
    """The instructions of one body as core `me` runs it (`others` in `for` needs `me`)."""
    out: list[Instr] = []
    _emit(checked, body, {}, me, out)
    return out


def _emit(
    checked: CheckedSpec, body: tuple[ast.Stmt, ...], env: dict[str, str], me: str, out: list[Instr]
) -> None:
    frozen_env = tuple(sorted(env.items()))
    for s in body:
        match s:
            case ast.If(cond=c, then=then, orelse=orelse):
                br = len(out)
                out.append(Instr("br", c, frozen_env))
                _emit(checked, then, env, me, out)
                if orelse:
                    jmp = len(out)
                    out.append(Instr("jmp", None, frozen_env))
                    out[br] = Instr("br", c, frozen_env, len(out))
                    _emit(checked, orelse, env, me, out)
                    out[jmp] = Instr("jmp", None, frozen_env, len(out))
                else:
                    out[br] = Instr("br", c, frozen_env, len(out))
            case ast.While(cond=c, body=inner):
                top = len(out)
                out.append(Instr("br", c, frozen_env))
                _emit(checked, inner, env, me, out)
                out.append(Instr("jmp", None, frozen_env, top))
                out[top] = Instr("br", c, frozen_env, len(out))
            case ast.Loop(body=inner):
                top = len(out)
                _emit(checked, inner, env, me, out)
                out.append(Instr("jmp", None, frozen_env, top))
            case ast.Repeat(count=k, body=inner):
                for _ in range(const(checked, k)):
                    _emit(checked, inner, env, me, out)
            case ast.For(var=v, over=t, body=inner):
                for name in core_names(checked, t, me, env):
                    _emit(checked, inner, {**env, v: name}, me, out)
            case _:
                out.append(Instr("stmt", lowered(checked, s), frozen_env))


def resume_code(
    checked: CheckedSpec, core: Any, main: list[Instr]
) -> tuple[list[Instr], dict[int, tuple[int, int, int]]]:
    """`on fault resume` (docs/arm64.md §3, the oracle's R19): the main code, its end,
    then per access statement of the main code a block: the handler (its jumps moved),
    an `isb` (the return), the main statements after the access up to the first branch,
    jump or statement that ends a straight run, and a jump back to that one."""
    out = [*main, Instr("end", None, ())]
    blocks = {}
    for k, ins in enumerate(main):
        if not (ins.op == "stmt" and isinstance(ins.node, ast.Access)):
            continue
        entry = len(out)
        for h in flatten(checked, core.fault, core.name):
            out.append(Instr(h.op, h.node, h.env, h.target + entry if h.op != "stmt" else -1))
        ret = len(out)
        out.append(Instr("stmt", ast.Barrier("isb"), ()))
        stop = k + 1
        while stop < len(main) and main[stop].op == "stmt" and not isinstance(
            main[stop].node, ast.Await | ast.Ipi | ast.Switch | ast.Irq
        ):
            stop += 1
        out += main[k + 1 : stop]
        out.append(Instr("jmp", None, (), stop))
        blocks[k] = (entry, ret, len(out))
    return out, blocks
