"""Edits of order: barriers between two statements, and moves of a statement (or a
flush with its fence and wait) later or earlier in its block."""

from __future__ import annotations

from collections.abc import Iterator

from verifier.lang import ast
from verifier.lang.printer import simple_stmt
from verifier.repair.context import (
    Context,
    gaps,
    is_ack,
    is_flush,
    is_wait_or_flush,
    neighbours,
    register,
    where,
)
from verifier.repair.edits import Edit, Insert, Place, Remove, Replace, contains, line_of

# ---------------------------------------------------------------- barriers

# (statement, the kinds of `fence` already there that make it pointless beside it, the
# model it is for: None for every model, "arm" for the Arm barriers of docs/arm64.md,
# "riscv" for the RISC-V fences of docs/riscv.md)
BARRIERS: list[tuple[ast.Stmt, tuple[str, ...], str | None]] = [
    (ast.Fence("full"), ("full",), None),
    (ast.Fence("release"), ("full", "release"), None),
    (ast.Fence("acquire"), ("full", "acquire"), None),
    (ast.Barrier("dmb"), ("full",), "arm"),
    (ast.Barrier("dmb", "st"), ("full",), "arm"),
    (ast.Barrier("dmb", "ld"), ("full",), "arm"),
    (ast.Barrier("dsb"), (), "arm"),
    (ast.Barrier("dsb", "st"), (), "arm"),
    (ast.Barrier("isb"), (), "arm"),
    (ast.RvFence("rw", "rw"), ("full",), "riscv"),
    (ast.RvFence("w", "w"), ("full", "release"), "riscv"),
    (ast.RvFence("r", "rw"), ("full", "acquire"), "riscv"),
    (ast.RvFence("r", "r"), ("full", "acquire"), "riscv"),
]


def _barrier_there(s: ast.Stmt | None, barrier: ast.Stmt, covers: tuple[str, ...]) -> bool:
    if s == barrier:
        return True
    if isinstance(s, ast.Fence):
        return s.kind in covers
    return isinstance(s, ast.Atomic) and "full" in covers  # an atomic is a full fence


@register(
    "fence",
    "insert `fence`, `fence release` or `fence acquire` between two statements (and, "
    "repairing under `arm`, `dmb`, `dmb st`, `dmb ld`, `dsb`, `dsb st`, `isb`; under "
    "`riscv`, `fence rw,rw`, `fence w,w`, `fence r,rw`, `fence r,r`)",
    1,
)
def _fences(ctx: Context) -> Iterator[Edit]:
    for barrier, covers, model in BARRIERS:
        if model is not None and model not in ctx.models:
            continue
        for anchor, after, p in gaps(ctx):
            prev, nxt = neighbours(p, after)
            if _barrier_there(prev, barrier, covers) or _barrier_there(nxt, barrier, covers):
                continue
            yield Edit(
                "fence",
                f"insert `{simple_stmt(barrier)}` {where(anchor, after)}",
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
        if not (isinstance(s, ast.Complete | ast.Free) or ctx.stores_word(s) or is_ack(s)):
            continue
        moved = _release_pair(p)
        for j in range(p.index + 1, len(p.block)):
            t = p.block[j]
            if isinstance(t, ast.Loop):  # nothing after an endless loop runs
                break
            if not contains(t, is_wait_or_flush):
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


@register(
    "move-earlier",
    "move a PTE write (with the `fence` after it) before an invalidation or IPI of its "
    "block; a store to a shared word "
    "before the barriers and loads above it (a store-buffering pair: publish, then read); "
    "a flush (with the `fence` before it and the `await` after it) earlier, not above the "
    "PTE write it follows; an `irq on` before the `await` it used to follow",
)
def _move_earlier(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        s = p.stmt
        if ctx.stores_word(s):
            for k in range(p.index - 1, -1, -1):
                t = p.block[k]
                if isinstance(t, ast.PteWrite | ast.Await | ast.Irq | ast.Loop | ast.While):
                    break
                if isinstance(t, ast.Fence) or ctx.loads_word(t) or isinstance(t, ast.If):
                    yield _move("move-earlier", (s,), line_of(s), t, after=False)
        elif isinstance(s, ast.Irq) and s.on:  # never wait for others with interrupts off
            for k in range(p.index - 1, -1, -1):
                t = p.block[k]
                if isinstance(t, ast.Irq):
                    break
                if contains(t, lambda x: isinstance(x, ast.Await)):
                    yield _move("move-earlier", (s,), line_of(s), t, after=False)
        elif isinstance(s, ast.PteWrite):
            nxt = p.block[p.index + 1] if p.index + 1 < len(p.block) else None
            groups = [(s,)]
            if isinstance(nxt, ast.Fence) and nxt.kind == "full":  # the write and its barrier
                groups.insert(0, (s, nxt))
            for k in range(p.index - 1, -1, -1):
                t = p.block[k]
                if isinstance(t, ast.PteWrite):
                    break
                if contains(t, is_flush):
                    for g in groups:
                        yield _move("move-earlier", g, _names(g), t, after=False)
        elif is_flush(s):
            lo, group = _flush_group(p)
            for k in range(lo - 1, -1, -1):
                t = p.block[k]
                if isinstance(t, ast.PteWrite):
                    break
                yield _move("move-earlier", group, _names(group), t, after=False)


@register(
    "atomic",
    "make a load of a word and a later store to it one atomic swap (`r := w` ... `w := v` "
    "-> `r := swap(w, v)`): nobody's write can fall between them",
)
def _atomic(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        word = ctx.loads_word(p.stmt)
        if word is None:
            continue
        load = p.stmt
        assert isinstance(load, ast.Assign) and isinstance(load.target, ast.Name)
        for t in p.block[p.index + 1 :]:
            if isinstance(t, ast.Await | ast.Loop | ast.While):
                break
            store = _store_to(ctx, t, word)
            if store is None:
                continue
            swap = ast.Atomic(load.target.name, "swap", ast.Name(word), (store.value,))
            yield Edit(
                "atomic",
                f"make {line_of(load)} and {line_of(store)} one `{simple_stmt(swap)}`",
                (Replace(load, (swap,)), Remove(store)),
                (load, store),
            )
            break


def _store_to(ctx: Context, s: ast.Stmt, word: str) -> ast.Assign | None:
    """``s`` when it stores a constant to ``word``."""
    if ctx.stores_word(s) and isinstance(s, ast.Assign) and isinstance(s.value, ast.Num):
        return s if isinstance(s.target, ast.Name) and s.target.name == word else None
    return None


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
