"""What every kind of edit works from: the spec with each statement's place, the table
of kinds (`register`), and what statements are (flushes, waits, the gaps between them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from verifier.lang import ast
from verifier.lang.checked import CheckedSpec
from verifier.repair.edits import Edit, Place, line_of, places


@dataclass
class Context:
    """A spec as the generators see it: its checked form and every statement's place."""

    checked: CheckedSpec
    models: tuple[str, ...] = ()  # the models repair checks (Arm edits only under `arm`)
    places: list[Place] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.places = places(self.checked.spec)

    @property
    def spec(self) -> ast.Spec:
        return self.checked.spec

    def stores_word(self, s: ast.Stmt) -> bool:
        """A plain store to a shared word (`ack := 1`, `ptl := 0`, `seen[self] := 1`)."""
        if not isinstance(s, ast.Assign):
            return False
        if isinstance(s.target, ast.Index):
            return True
        ref = self.checked.refs.get(id(s.target))
        return ref is not None and ref.kind == "word"

    def loads_word(self, s: ast.Stmt) -> str | None:
        """The shared word a plain load `r := w` reads into a register, else None."""
        if not (isinstance(s, ast.Assign) and isinstance(s.value, ast.Name)):
            return None
        dest = self.checked.refs.get(id(s.target))
        src = self.checked.refs.get(id(s.value))
        if dest is None or dest.kind != "reg" or src is None or src.kind != "word":
            return None
        return s.value.name


@dataclass(frozen=True)
class EditKind:
    """``spread``: how many candidates the kind makes, which orders the search (after the
    barriers the trace points at): 0 a few per spec (moves, guards, widenings), 1 one or
    a few per place between statements (barriers, flushes), 2 several per place."""

    name: str
    what: str  # one sentence for `docs/repair.md` and `--json`
    generate: Callable[[Context], Iterator[Edit]]
    spread: int


EDIT_KINDS: list[EditKind] = []


def register(
    name: str, what: str, spread: int = 0
) -> Callable[[Callable[[Context], Iterator[Edit]]], None]:
    def add(gen: Callable[[Context], Iterator[Edit]]) -> None:
        EDIT_KINDS.append(EditKind(name, what, gen, spread))

    return add


INVALIDATIONS = (ast.Invlpg, ast.FlushAsid, ast.FlushAll, ast.Tlbi)


def is_flush(s: ast.Stmt) -> bool:
    return isinstance(s, (*INVALIDATIONS, ast.Ipi))


def is_wait_or_flush(s: ast.Stmt) -> bool:
    return isinstance(s, (ast.Await, *INVALIDATIONS, ast.Ipi))


def gaps(ctx: Context) -> Iterator[tuple[ast.Stmt, bool, Place]]:
    """Every place a statement can go: before each statement, and after the last of each
    block, as (anchor, after, place of the anchor)."""
    for p in ctx.places:
        yield p.stmt, False, p
        if p.index == len(p.block) - 1:
            yield p.stmt, True, p


def neighbours(p: Place, after: bool) -> tuple[ast.Stmt | None, ast.Stmt | None]:
    """The statements just before and just after a gap."""
    i = p.index + 1 if after else p.index
    prev = p.block[i - 1] if i > 0 else None
    nxt = p.block[i] if i < len(p.block) else None
    return prev, nxt


def where(anchor: ast.Stmt, after: bool) -> str:
    return f"{'after' if after else 'before'} {line_of(anchor)}"


def is_ack(s: ast.Stmt) -> bool:
    """An acknowledgement: `acks += 1`."""
    return isinstance(s, ast.Atomic) and s.op == "+="
