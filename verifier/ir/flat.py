"""Helpers of lowering that work on flat code and source text: the text of a
statement, constant folding, jump chains."""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import eval_op
from verifier.lang import ast
from verifier.lang.checked import CheckedSpec
from verifier.lang.span import Span

# the language's binary operators -> the IR's
BINOPS = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "%": "mod",
    "==": "eq",
    "!=": "ne",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
    "&&": "and",
    "||": "or",
}


class LowerError(Exception):
    """A construct the checker should have rejected (an internal error)."""


def source_text(source: str | list[str], span: Span) -> str:
    """The statement as written: its source text, or its first line for a block.
    ``source``: the text, or its lines (split once by callers that ask many times)."""
    lines = source.splitlines() if isinstance(source, str) else source
    if not 1 <= span.line <= len(lines):
        return ""
    line = lines[span.line - 1]
    if span.end_line == span.line and span.end_col > span.col:
        return line[span.col - 1 : span.end_col - 1].strip()
    return line[span.col - 1 :].split("//")[0].strip().rstrip("{").strip()


def fold(e: P.LExpr) -> int:
    match e:
        case P.LConst(value=v):
            return v
        case P.LUn(op=o, arg=a):
            return eval_op(o, [fold(a)])
        case P.LBin(op=o, left=a, right=b):
            return eval_op(o, [fold(a), fold(b)])
    raise LowerError(f"expected a constant, not {e}")


def resolve_next(code: list[P.Instr]) -> tuple[list[P.Instr], tuple[int, ...]]:
    """Follow jump chains so that no step is spent on an unconditional jump
    (a jump that leads back to itself stays: it is a real spin)."""

    def resolve(pc: int) -> int:
        seen = set()
        while pc < len(code) and isinstance(code[pc], P.IJump) and pc not in seen:
            seen.add(pc)
            pc = code[pc].target  # type: ignore[attr-defined]
        return pc

    nexts = tuple(resolve(pc + 1) for pc in range(len(code)))
    out: list[P.Instr] = []
    for ins in code:
        if isinstance(ins, P.IBranch):
            ins = P.IBranch(ins.span, ins.text, ins.cond, resolve(ins.target))
        out.append(ins)
    return out, nexts


def decl_text(spec: CheckedSpec, page: str, v: ast.PteValue) -> str:
    lines = spec.source.splitlines()
    if 1 <= v.span.line <= len(lines):
        return lines[v.span.line - 1].split("//")[0].strip()
    return f"page {page}"
