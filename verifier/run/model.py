"""A spec instantiated for one memory model, and what a verdict must meet.

Below the pipeline functions of `verifier.api` and the engines that take a
`Model`, so that both can share it without importing each other.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from verifier.ir.lower import lower
from verifier.ir.program import Program
from verifier.ir.system import System
from verifier.lang import ast
from verifier.lang.checked import CheckedSpec
from verifier.machine.semantics import build
from verifier.run.budget import Budget


def expect_text(e: ast.ExpectDecl | None) -> str | None:
    if e is None:
        return None
    text = e.verdict
    if e.kinds:
        text += " " + ", ".join(e.kinds)
    return text


def meets(e: ast.ExpectDecl | None, kinds: Sequence[str]) -> bool:
    """Does a complete exploration that reached ``kinds`` meet the expectation?"""
    got = set(kinds)
    if e is None or e.verdict == "safe":
        return not got
    if e.verdict == "hang":
        return got == {"hang"}
    if not e.kinds:
        return bool(got)
    return got == set(e.kinds)


def meets_so_far(e: ast.ExpectDecl | None, kinds: Sequence[str]) -> bool:
    """Does a search that stopped at its first problems, having reached ``kinds``, agree
    with the expectation (every kind reached is one it expects)?"""
    if e is None or e.verdict == "safe" or not kinds:
        return False
    if e.verdict == "hang":
        return set(kinds) <= {"hang"}
    return not e.kinds or set(kinds) <= set(e.kinds)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Lowering and building make millions of small acyclic objects; Python's cycle
    collector would walk every live one again and again as they pile up (half the
    time of building a long program).  Afterwards they are frozen (`gc.freeze`), or
    the first collection would walk them all at once (a second, whatever limit was
    reached); `release_frozen` hands them back to the collector when a run is over."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


def release_frozen() -> None:
    """Let the cycle collector see the objects `Model.of` froze again (as the oldest
    generation: they are walked at the next full collection, not now)."""
    gc.unfreeze()


@dataclass
class Model:
    """A spec instantiated for one memory model: what engines and replay share."""

    checked: CheckedSpec
    program: Program
    system: System
    model: str

    @staticmethod
    def of(checked: CheckedSpec, model: str, budget: Budget | None = None) -> Model:
        """Lower and build; a limit of ``budget`` reached meanwhile raises `LimitReached`."""
        check = budget.check if budget is not None else None
        with _no_cycle_collection():
            if budget is not None:
                budget.enter("lowering")
            prog = lower(checked, check)
            if budget is not None:
                budget.enter("building the machine")
            return Model(checked, prog, build(prog, model, check), model)
