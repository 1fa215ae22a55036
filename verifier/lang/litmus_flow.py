"""Branches of a litmus thread (docs/arm64.md §4): `CBZ`/`CBNZ` and `B.EQ`/`B.NE` (after
a `CMP`) to a later label become an `if` around the instructions they skip; to an
earlier label, a loop (the instructions since the label, then `while` the branch is
taken, again); a `CBZ`/`CBNZ` to the next instruction stays a control dependency that
branches nowhere (`ICtrl`).  An unconditional `B` to a later label skips dead code.
Other branches are located errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from verifier.lang import ast
from verifier.lang import litmus_ast as L
from verifier.lang.litmus_arith import CONDS, reg_name

BRANCHES = {"CBZ", "CBNZ", "B.EQ", "B.NE", "B"}
LOOP_ROUNDS = 4  # lowerings of a loop body before its growing registers become unknown

Lower = Callable[[Any, L.Instr, tuple[str, ...]], None]


def lower_code(t: Any, code: tuple[L.Instr, ...], end: tuple[str, ...], one: Lower) -> None:
    """Lower ``code`` into ``t.out``: ``one`` lowers an instruction that is no branch."""
    starts: dict[str, int] = {}  # label -> index in t.out where its instruction begins
    marks: dict[str, tuple[int, int, int, Any, int]] = {}  # label -> where to lower again
    k = 0
    while k < len(code):
        i = code[k]
        for label in i.labels:
            starts[label] = len(t.out)
            rounds = marks[label][-1] + 1 if label in marks else 0
            marks[label] = (k, len(t.accesses), len(t.ctrl), t.env.copy(), rounds)
        nxt = code[k + 1].labels if k + 1 < len(code) else end
        if i.op not in BRANCHES:
            one(t, i, nxt)
            k += 1
            continue
        target = _target(t, i)
        if target in starts:  # backward: a loop, once its registers' values are stable
            back, accesses, ctrl, before, rounds = marks[target]
            after = before.joined(t.env, widen=rounds >= LOOP_ROUNDS)
            if after != before:  # a register holds more values on the next turn: again
                del t.out[starts[target] :], t.accesses[accesses:], t.ctrl[ctrl:]
                t.env.regs, k = after.regs, back
                continue
            _loop(t, i, starts[target])
            k += 1
            continue
        stop = next((j for j in range(k + 1, len(code)) if target in code[j].labels), len(code))
        if stop == len(code) and target not in end:
            raise t.fail(i, f"{i.op} to {target}, a label this thread does not have ({i.text})")
        _forward(t, i, code[k + 1 : stop], code[stop].labels if stop < len(code) else end, one)
        k = stop


def _target(t: Any, i: L.Instr) -> str:
    target = i.args[-1] if i.args else None
    if target is None or target.kind != "name":
        raise t.fail(i, f"expected a label as the branch target ({i.text})")
    return target.text


def _taken(t: Any, i: L.Instr) -> tuple[ast.Expr | None, tuple[str, ...]]:
    """When branch ``i`` is taken (None: always) and the registers the test reads."""
    sp = i.span
    if i.op == "B":
        return None, ()
    if i.op in ("B.EQ", "B.NE"):
        if t.flags is None:
            raise t.fail(i, f"{i.op} without an earlier CMP ({i.text})")
        left, right = t.flags
        op = CONDS[i.op[2:]]
        regs = tuple(sorted(_names(left) | _names(right)))
        return ast.Binary(op, left, right, span=sp), regs
    reg, _ = t.args(i, "rn")
    s = t.env.get(reg_name(reg))
    if s.kind not in ("int", "data"):
        raise t.fail(reg, f"{reg.text} holds no data to test ({i.text})")
    if s.kind == "int":  # a register no instruction set: a known outcome
        return ast.Num(int((s.value == 0) == (i.op == "CBZ")), span=sp), ()
    name = ast.Name(reg_name(reg), span=reg.span)
    return ast.Binary("==" if i.op == "CBZ" else "!=", name, ast.Num(0, span=sp), span=sp), (
        name.name,
    )


def _names(e: ast.Expr) -> set[str]:
    match e:
        case ast.Name(name=n):
            return {n}
        case ast.Binary(left=a, right=b):
            return _names(a) | _names(b)
        case ast.Unary(operand=a):
            return _names(a)
    return set()


def _not(e: ast.Expr) -> ast.Expr:
    return ast.Unary("!", e, span=e.span)


def _forward(
    t: Any, i: L.Instr, body: tuple[L.Instr, ...], end: tuple[str, ...], one: Lower
) -> None:
    taken, regs = _taken(t, i)
    if taken is None:  # `B` over dead code: its labels name nothing that runs
        if i.labels:
            t.emit(i, ast.Skip(span=i.span))
        return
    saved, t.out = t.out, []
    env, flags = t.env.copy(), t.flags
    lower_code(t, body, end, one)
    inner, t.out = tuple(t.out), saved
    t.env.regs = env.joined(t.env).regs  # what a register holds on either path
    t.flags = flags if t.flags == flags else None
    t.emit(i, ast.If(_not(taken), inner, None, span=i.span))
    if not inner and regs:  # a branch to the next instruction: a control dependency
        t.ctrl.append((i.span, regs))


def _loop(t: Any, i: L.Instr, start: int) -> None:
    """``L: body; B.cond L``: the body, then again while the branch is taken."""
    taken, _ = _taken(t, i)
    body = tuple(t.out[start:])
    if taken is None:
        raise t.fail(i, f"an endless loop is outside the litmus subset ({i.text})")
    t.emit(i, ast.While(taken, body, span=i.span))
