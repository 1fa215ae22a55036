"""Control flow of the oracle's flat code (code.py), for faults taken past branches not
yet taken (reading A6 of arm.py, docs/arm64.md §3): which statements may run from one
statement before another is reached, and which are reachable at all."""

from __future__ import annotations

from .code import Instr


def succs(code: list[Instr], k: int) -> list[int]:
    ins = code[k]
    if ins.op == "jmp":
        return [ins.target]
    if ins.op == "br":
        return [k + 1, ins.target]
    if ins.op == "end":
        return []
    return [k + 1]


def reachable(code: list[Instr], start: int, until: int = -1) -> set[int]:
    """Statements reachable from ``start`` (itself included), not going on from
    ``until``."""
    seen, todo = {start}, [start]
    while todo:
        k = todo.pop()
        if k == until or k >= len(code):
            continue
        for n in succs(code, k):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return {k for k in seen if k < len(code)}


def between(code: list[Instr], pc: int, k: int) -> set[int] | None:
    """The statements on some path from ``pc`` to ``k`` (``k`` excluded), or None when
    ``k`` cannot be reached from ``pc``."""
    fwd = reachable(code, pc, until=k)
    if k not in fwd:
        return None
    return {j for j in fwd if j != k and k in reachable(code, j, until=k)}


def on_cycle(code: list[Instr], j: int, within: set[int]) -> bool:
    """Can statement ``j`` run again before leaving ``within``?"""
    seen: set[int] = set()
    todo = [n for n in succs(code, j) if n in within]
    while todo:
        n = todo.pop()
        if n == j:
            return True
        if n not in seen:
            seen.add(n)
            todo += [m for m in succs(code, n) if m in within]
    return False
