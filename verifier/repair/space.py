"""The edit space: what kernel TLB fixes are made of, one generator per kind of edit.

`EDIT_KINDS` is the table the search walks, in the order candidates of equal
rank are tried.  Each entry generates every `Edit` of its kind a spec allows;
whether one is any good is for the engines to say.  A new kind of edit (the
Arm barriers `dmb`/`dsb`/`isb`/`tlbi` once the language has them) is one more
entry: a name, a sentence for the docs and a generator (`register`).  Barriers
that are plain statements only need a line in `BARRIERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from verifier.lang import ast
from verifier.lang.checked import CheckedSpec
from verifier.lang.printer import simple_stmt, target
from verifier.repair.edits import Edit, Insert, Place, Remove, Replace, contains, line_of, places


@dataclass
class Context:
    """A spec as the generators see it: its checked form and every statement's place."""

    checked: CheckedSpec
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


def candidates(ctx: Context, kinds: set[str] | None = None) -> list[Edit]:
    """Every single edit of the spec, kind by kind in table order."""
    return [e for k in EDIT_KINDS if kinds is None or k.name in kinds for e in k.generate(ctx)]


# ---------------------------------------------------------------- what statements are

INVALIDATIONS = (ast.Invlpg, ast.FlushAsid, ast.FlushAll)


def _is_flush(s: ast.Stmt) -> bool:
    return isinstance(s, (*INVALIDATIONS, ast.Ipi))


def _is_wait_or_flush(s: ast.Stmt) -> bool:
    return isinstance(s, (ast.Await, *INVALIDATIONS, ast.Ipi))


def _gaps(ctx: Context) -> Iterator[tuple[ast.Stmt, bool, Place]]:
    """Every place a statement can go: before each statement, and after the last of each
    block, as (anchor, after, place of the anchor)."""
    for p in ctx.places:
        yield p.stmt, False, p
        if p.index == len(p.block) - 1:
            yield p.stmt, True, p


def _neighbours(p: Place, after: bool) -> tuple[ast.Stmt | None, ast.Stmt | None]:
    """The statements just before and just after a gap."""
    i = p.index + 1 if after else p.index
    prev = p.block[i - 1] if i > 0 else None
    nxt = p.block[i] if i < len(p.block) else None
    return prev, nxt


def _where(anchor: ast.Stmt, after: bool) -> str:
    return f"{'after' if after else 'before'} {line_of(anchor)}"


# ---------------------------------------------------------------- barriers

# (statement, the kinds of barrier already there that make it pointless beside them)
BARRIERS: list[tuple[ast.Stmt, tuple[str, ...]]] = [
    (ast.Fence("full"), ("full",)),
    (ast.Fence("release"), ("full", "release")),
    (ast.Fence("acquire"), ("full", "acquire")),
]


def _barrier_there(s: ast.Stmt | None, covers: tuple[str, ...]) -> bool:
    if isinstance(s, ast.Fence):
        return s.kind in covers
    return isinstance(s, ast.Atomic) and "full" in covers  # an atomic is a full fence


@register("fence", "insert `fence`, `fence release` or `fence acquire` between two statements", 1)
def _fences(ctx: Context) -> Iterator[Edit]:
    for barrier, covers in BARRIERS:
        for anchor, after, p in _gaps(ctx):
            prev, nxt = _neighbours(p, after)
            if _barrier_there(prev, covers) or _barrier_there(nxt, covers):
                continue
            yield Edit(
                "fence",
                f"insert `{simple_stmt(barrier)}` {_where(anchor, after)}",
                (Insert(anchor, (barrier,), after),),
                (anchor,),
                prev,
            )


# ---------------------------------------------------------------- moves


def _release_pair(p: Place) -> tuple[ast.Stmt, ...]:
    """A store with the `fence release` just before it (an unlock) moves as one."""
    if p.index > 0:
        prev = p.block[p.index - 1]
        if isinstance(prev, ast.Fence) and prev.kind == "release":
            return (prev, p.stmt)
    return (p.stmt,)


@register(
    "move-later",
    "move a `complete`, a `free`, an acknowledgement or an unlock (a store, with its "
    "`fence release`) later, after an `await`, an invalidation or an IPI of its block",
)
def _move_later(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        s = p.stmt
        if not (isinstance(s, ast.Complete | ast.Free) or ctx.stores_word(s) or _is_ack(s)):
            continue
        moved = _release_pair(p)
        for j in range(p.index + 1, len(p.block)):
            t = p.block[j]
            if isinstance(t, ast.Loop):  # nothing after an endless loop runs
                break
            if not contains(t, _is_wait_or_flush):
                continue
            name = " with its `fence release`" if len(moved) == 2 else ""
            yield _move("move-later", moved, f"{line_of(s)}{name}", t, after=True)


def _move(kind: str, moved: tuple[ast.Stmt, ...], what: str, to: ast.Stmt, after: bool) -> Edit:
    """Take ``moved`` (consecutive statements) out and put them just after (before) ``to``."""
    where = "after" if after else "before"
    return Edit(
        kind,
        f"move {what} {where} {line_of(to)}",
        (*(Remove(m) for m in moved), Insert(to, moved, after=after)),
        (moved[-1] if kind == "move-later" else moved[0],),
    )


def _is_ack(s: ast.Stmt) -> bool:
    return isinstance(s, ast.Atomic) and s.op == "+="


@register(
    "move-earlier",
    "move a PTE write before an invalidation or IPI of its block, or a flush (with the "
    "`fence` before it and the `await` after it) earlier, not above the PTE write it follows",
)
def _move_earlier(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        s = p.stmt
        if isinstance(s, ast.PteWrite):
            for k in range(p.index - 1, -1, -1):
                t = p.block[k]
                if isinstance(t, ast.PteWrite):
                    break
                if contains(t, _is_flush):
                    yield _move("move-earlier", (s,), line_of(s), t, after=False)
        elif _is_flush(s):
            lo, group = _flush_group(p)
            for k in range(lo - 1, -1, -1):
                t = p.block[k]
                if isinstance(t, ast.PteWrite):
                    break
                yield _move("move-earlier", group, _names(group), t, after=False)


def _flush_group(p: Place) -> tuple[int, tuple[ast.Stmt, ...]]:
    """A flush with the full `fence` just before it and the `await` just after it (and
    where it starts in the block)."""
    lo, hi = p.index, p.index + 1
    if lo > 0 and isinstance(p.block[lo - 1], ast.Fence) and p.block[lo - 1].kind == "full":
        lo -= 1
    if hi < len(p.block) and isinstance(p.block[hi], ast.Await):
        hi += 1
    return lo, p.block[lo:hi]


def _names(group: tuple[ast.Stmt, ...]) -> str:
    if len(group) == 1:
        return line_of(group[0])
    first, last = group[0].span.line, group[-1].span.line
    text = "; ".join(simple_stmt(g) for g in group)
    return f"`{text}` (lines {first}-{last})"


# ---------------------------------------------------------------- invalidations


@register("widen", "widen an invalidation: `invlpg` -> `flush asid` -> `flush all`")
def _widen(ctx: Context) -> Iterator[Edit]:
    spaces = [
        s.name for s in ctx.checked.spaces if any(d.name == s.name for d in _space_decls(ctx))
    ]
    for p in ctx.places:
        s = p.stmt
        wider: list[ast.Stmt] = []
        if isinstance(s, ast.Invlpg):
            wider = [*(ast.FlushAsid(sp) for sp in spaces), ast.FlushAll()]
        elif isinstance(s, ast.FlushAsid):
            wider = [ast.FlushAll()]
        for w in wider:
            yield Edit(
                "widen", f"widen {line_of(s)} to `{simple_stmt(w)}`", (Replace(s, (w,)),), (s,)
            )


def _space_decls(ctx: Context) -> list[ast.SpaceDecl]:
    return [d for d in ctx.spec.decls if isinstance(d, ast.SpaceDecl)]


def _pages(ctx: Context) -> list[str]:
    names = [d.name for d in ctx.spec.decls if isinstance(d, ast.PageDecl)]
    for sp in _space_decls(ctx):
        names += [pg.name for pg in sp.pages if pg.name not in names]
    return names


@register(
    "add-flush",
    "add an `invlpg` of a page, or a `flush all`, between two statements (not inside an "
    "endless `loop`: flushing at every turn of the workload defeats the TLB, it fixes nothing)",
    1,
)
def _add_flush(ctx: Context) -> Iterator[Edit]:
    flushes: list[ast.Stmt] = [ast.Invlpg(ast.PageRef(None, pg)) for pg in _pages(ctx)]
    flushes.append(ast.FlushAll())
    for f in flushes:
        for anchor, after, p in _gaps(ctx):
            if p.in_loop:
                continue
            prev, nxt = _neighbours(p, after)
            if any(isinstance(n, ast.FlushAll) or n == f for n in (prev, nxt) if n is not None):
                continue
            yield Edit(
                "add-flush",
                f"add `{simple_stmt(f)}` {_where(anchor, after)}",
                (Insert(anchor, (f,), after),),
                (anchor,),
                prev,
            )


@register(
    "unguard",
    "make a conditional flush or IPI unconditional (`if c { flush }` -> `flush`): flush "
    "when in doubt",
)
def _unguard(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        s = p.stmt
        if isinstance(s, ast.If) and s.orelse is None and s.then and contains(s, _is_flush):
            yield Edit(
                "unguard",
                f"run the body of {line_of(s)} always",
                (Replace(s, s.then, unguard=True),),
                (s,),
            )


@register(
    "widen-guard",
    "widen the guard of a flush or IPI: `x == a` -> `x != b` for another value b the "
    "spec gives words",
)
def _widen_guard(ctx: Context) -> Iterator[Edit]:
    values = _constants(ctx)
    for p in ctx.places:
        s = p.stmt
        if not (isinstance(s, ast.If) and any(contains(t, _is_flush) for t in s.then)):
            continue
        c = s.cond
        if not (isinstance(c, ast.Binary) and c.op == "==" and isinstance(c.right, ast.Num)):
            continue
        for b in sorted(values - {c.right.value}):
            cond = ast.Binary("!=", c.left, ast.Num(b))
            new = ast.If(cond, s.then, s.orelse, span=s.span)
            yield Edit(
                "widen-guard",
                f"widen the guard {line_of(s)} to `{simple_stmt(new)[:-2]}`",
                (Replace(s, (new,)),),
                (s,),
            )


def _constants(ctx: Context) -> set[int]:
    """The values the spec stores in words or starts them with."""
    out = {v.init for v in ctx.checked.vars}
    for p in ctx.places:
        if ctx.stores_word(p.stmt) and isinstance(p.stmt.value, ast.Num):  # type: ignore[union-attr]
            out.add(p.stmt.value.value)  # type: ignore[union-attr]
    return out


# ---------------------------------------------------------------- IPIs and acknowledgements


def _targets(ctx: Context) -> list[ast.Target]:
    out: list[ast.Target] = []
    for d in ctx.spec.decls:
        if isinstance(d, ast.CoreDecl):
            out.append(ast.TargetFamily(d.name) if d.lo is not None else ast.TargetName(d.name))
    return out


@register("ipi-target", "add a core (or a family) to an IPI's targets")
def _ipi_target(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        s = p.stmt
        if not isinstance(s, ast.Ipi) or any(
            isinstance(t, ast.TargetAll | ast.TargetOthers) for t in s.targets
        ):
            continue
        for t in _targets(ctx):
            if t in s.targets or (isinstance(t, ast.TargetName) and t.name == p.owner.name):
                continue
            new = ast.Ipi((*s.targets, t), s.handler, s.args, s.has_parens, span=s.span)
            yield Edit(
                "ipi-target",
                f"add {target(t)} to the targets of {line_of(s)}",
                (Replace(s, (new,)),),
                (s,),
            )


@register("wait-acks", "wait for the acknowledgements of an IPI nobody waits for")
def _wait_acks(ctx: Context) -> Iterator[Edit]:
    handlers = {d.name: d for d in ctx.spec.decls if isinstance(d, ast.HandlerDecl)}
    for p in ctx.places:
        s = p.stmt
        if not isinstance(p.owner, ast.CoreDecl) or not isinstance(s, ast.Ipi):
            continue
        if any(isinstance(t, ast.Await) for t in p.block[p.index + 1 :]):
            continue
        h = handlers.get(s.handler)
        if h is None:
            continue
        for cond in _ack_conditions(ctx, h, s):
            wait = ast.Await(cond)
            yield Edit(
                "wait-acks",
                f"add `{simple_stmt(wait)}` after {line_of(s)}",
                (Insert(s, (wait,), after=True),),
                (s,),
            )


def _ack_conditions(ctx: Context, h: ast.HandlerDecl, ipi: ast.Ipi) -> Iterator[ast.Expr]:
    """`acks == <targets>` for a handler counting `acks += 1`; `ack == k` for `ack := k`."""
    for s in h.body:
        if _is_ack(s) and isinstance(s, ast.Atomic) and isinstance(s.target, ast.Name):
            count = _count(ctx, ipi.targets)
            if count is not None:
                yield ast.Binary("==", ast.Name(s.target.name), count)
        elif (
            ctx.stores_word(s)
            and isinstance(s, ast.Assign)
            and isinstance(s.value, ast.Num)
            and isinstance(s.target, ast.Name)
        ):
            yield ast.Binary("==", ast.Name(s.target.name), s.value)


def _count(ctx: Context, targets: tuple[ast.Target, ...]) -> ast.Expr | None:
    families = {
        d.name: d for d in ctx.spec.decls if isinstance(d, ast.CoreDecl) and d.lo is not None
    }
    total: ast.Expr | None = None
    for t in targets:
        one: ast.Expr
        if isinstance(t, ast.TargetName | ast.TargetIndex):
            one = ast.Num(1)
        elif isinstance(t, ast.TargetFamily) and t.family in families:
            d = families[t.family]
            lo, hi = d.lo, d.hi
            assert lo is not None and hi is not None
            one = hi if lo == ast.Num(1) else ast.Binary("+", ast.Binary("-", hi, lo), ast.Num(1))
        else:
            return None
        total = one if total is None else ast.Binary("+", total, one)
    return total


# ---------------------------------------------------------------- interrupts

IRQ_WINDOW = 3  # the longest run of statements an `irq off` ... `irq on` edit encloses


@register(
    "irq-window",
    f"put `irq off` / `irq on` around up to {IRQ_WINDOW} statements of a core (no `await` "
    "or loop inside)",
    2,
)
def _irq_window(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        if not isinstance(p.owner, ast.CoreDecl):
            continue
        for j in range(p.index, min(len(p.block), p.index + IRQ_WINDOW)):
            inside = p.block[j]
            if contains(inside, _no_irq_window):
                break
            yield Edit(
                "irq-window",
                f"put `irq off` before {line_of(p.stmt)} and `irq on` after {line_of(inside)}",
                (Insert(p.stmt, (ast.Irq(False),)), Insert(inside, (ast.Irq(True),), after=True)),
                (p.stmt, inside),
            )


def _no_irq_window(s: ast.Stmt) -> bool:
    return isinstance(s, ast.Await | ast.Loop | ast.While | ast.Irq)
