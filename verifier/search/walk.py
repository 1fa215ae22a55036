"""Random walks: a witness for a problem that lies deeper than any search can go.

At a large instance a problem may need every member of a family to act: the
sixteenth acknowledgement of an eager shootdown with 16 responders overflows a
counter declared ``0..15`` after 52 steps, behind about 10^10 states, far deeper
than a bounded search reaches.  One random walk meets it in a fraction of a second.

`walk` runs seeded walks (the same walks on every run): from the initial state, each
step takes one of the enabled commands whose path goes on (a failed assertion or
range check ends a path), uniformly in even walks and, in odd ones, weighted by a
random weight per core drawn for that walk (a "swarm": some walks let a few cores
run far ahead of the others).  Every problem an enabled command's check finds on the
way is recorded, the first of each wanted kind.  `shorten` then makes its path as
short as removing steps can: first every loop (a state met twice keeps its first
visit), then single steps, from the last to the first, for as long as one pass
removes any; a step goes when the path without it still replays (each command
enabled in turn, no fatal check holding before the end) and its last state still
enables a command whose check finds the kind.

What is found is a behaviour of the machine, found by running its commands: a kind
walks find is reachable.  It is not proved shortest (a shorter path may need other
steps, not fewer); the caller proves it with a bounded search or says it may not be.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from verifier.ir.system import System
from verifier.run.compile import Compiled

WALKS = 16  # walks at most
WALK_STEPS = 2_000  # steps per walk at most

State = tuple[int, ...]


@dataclass(frozen=True)
class Walked:
    """A problem a walk met: the commands before the problem command, that command
    and its check, the state it starts from; the walk (its seed) and how many steps
    the path had before `shorten`."""

    kind: str
    path: tuple[int, ...]
    command: int
    check: int
    pre: State
    walk: int
    steps: int


def walk(
    system: System,
    compiled: Compiled,
    kinds: Iterable[str],
    *,
    stop: Callable[[], bool] = lambda: False,
    walks: int = WALKS,
    steps: int = WALK_STEPS,
) -> dict[str, Walked]:
    """The first problem of each of ``kinds`` the walks meet, shortened; ``stop`` is
    asked after every step (a deadline) and ends the walks."""
    want = set(kinds)
    found: dict[str, Walked] = {}
    succ = compiled.state_succ
    for w in range(walks):
        rng = random.Random(w)
        weights = None if w % 2 == 0 else [rng.random() + 0.01 for _ in system.cores]
        s, path = system.init, []
        for _ in range(steps):
            out: list[tuple[int, State | None]] = []
            hits: list[tuple[int, int]] = []
            succ(s, out, hits)
            for cid, h in hits:
                kind = system.commands[cid].checks[h].kind
                if kind in want and kind not in found:
                    met = Walked(kind, tuple(path), cid, h, s, w, len(path) + 1)
                    found[kind] = shorten(system, compiled, met)
            if want <= found.keys() or stop():
                return found
            going = [(cid, n) for cid, n in out if n is not None]
            if not going:
                break
            if weights is None:
                cid, s = going[rng.randrange(len(going))]
            else:
                by = [weights[system.commands[cid].core] for cid, _ in going]
                cid, s = rng.choices(going, by)[0]
            path.append(cid)
    return found


def shorten(system: System, compiled: Compiled, met: Walked) -> Walked:
    """``met`` with a path no loop and no single step can be taken out of."""
    path = _unloop(system, compiled, met.path)
    end = _problem(compiled, system, _replay(compiled, system.init, path), met.kind)
    assert end is not None, "a loop's removal keeps the last state"
    while True:
        states = _states(compiled, system, path)
        removed = False
        for i in range(len(path) - 1, -1, -1):
            cand = path[:i] + path[i + 1 :]
            last = _replay(compiled, states[i], cand[i:])
            hit = _problem(compiled, system, last, met.kind) if last is not None else None
            if hit is not None:
                path, end, removed = cand, hit, True
        if not removed:
            break
    path = tidy(system, compiled, path)
    cid, h, pre = end
    return Walked(met.kind, tuple(path), cid, h, pre, met.walk, met.steps)


def tidy(system: System, compiled: Compiled, path: Sequence[int]) -> list[int]:
    """``path`` with adjacent steps of different cores swapped into core order (a
    bubble sort) wherever the swap leads to the same state: the same execution up to
    the order of independent steps, which groups each core's steps as a reader
    follows them."""
    path = list(path)
    states = _states(compiled, system, path)
    core = [c.core for c in system.commands]
    swapped = True
    while swapped:
        swapped = False
        for i in range(len(path) - 1):
            a, b = path[i], path[i + 1]
            if core[b] >= core[a]:
                continue
            mid = _replay(compiled, states[i], [b])
            if mid is not None and _replay(compiled, mid, [a]) == states[i + 2]:
                path[i], path[i + 1], states[i + 1] = b, a, mid
                swapped = True
    return path


def _unloop(system: System, compiled: Compiled, path: Sequence[int]) -> list[int]:
    """``path`` with every loop cut out: where a state comes again, the steps since
    its first visit go."""
    out: list[int] = []
    seen = {system.init: 0}
    trail = [system.init]
    for cid in path:
        s = compiled.step[cid](trail[-1])
        assert s is not None, "a walk's path replays"
        if s in seen:
            k = seen[s]
            for gone in trail[k + 1 :]:
                del seen[gone]
            del out[k:], trail[k + 1 :]
        else:
            out.append(cid)
            trail.append(s)
            seen[s] = len(out)
    return out


def _states(compiled: Compiled, system: System, path: Sequence[int]) -> list[State]:
    states = [system.init]
    for cid in path:
        nxt = compiled.step[cid](states[-1])
        assert nxt is not None, "a shortened path replays"
        states.append(nxt)
    return states


def _replay(compiled: Compiled, s: State, path: Sequence[int]) -> State | None:
    """The state ``path`` leads to from ``s``; None when a command is not enabled or a
    fatal check ends the path before its end."""
    for cid in path:
        nxt = None if compiled.ends(cid, s) else compiled.step[cid](s)
        if nxt is None:
            return None
        s = nxt
    return s


def _problem(
    compiled: Compiled, system: System, s: State | None, kind: str
) -> tuple[int, int, State] | None:
    """(command, check, ``s``) of the first enabled command whose check finds
    ``kind`` in ``s``."""
    if s is None:
        return None
    out: list[tuple[int, State | None]] = []
    hits: list[tuple[int, int]] = []
    compiled.state_succ(s, out, hits)
    for cid, h in hits:
        if system.commands[cid].checks[h].kind == kind:
            return cid, h, s
    return None
