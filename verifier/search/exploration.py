"""What a search returns: the explored graph (`Exploration`) and where each problem kind
was first reached (`Found`).  Every search (the Python one in `explicit.py`, compiled or
distributed ones beside it) returns this shape, so verdicts, traces and hang analysis
are shared."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from verifier.ir.system import System
from verifier.run.compile import Compiled
from verifier.search.store import Store


@dataclass(frozen=True)
class Found:
    """Where a problem kind was first reached: ``state`` --``command``--> problem."""

    kind: str
    state: int
    command: int  # -1 for hang (the trace ends in ``state``)
    check: int  # index into the command's checks; -1 for hang
    core: int = -1
    await_pc: int = -1
    stuck: bool = False  # hang: the core is in a handler that never returns


@dataclass
class Exploration:
    """The explored graph.  ``states`` (`store.py`: bytes states in one flat buffer)
    holds one concrete state per stored state (with symmetry reduction: the first state
    met of each orbit), so ``path`` is a real execution.  Edges (``succ_off``/``succ``)
    are kept only when asked or when a core has an `await` (hang analysis walks them;
    it tells a path's end from the commands themselves, `hang.passes`)."""

    system: System
    states: Store  # a sequence of states: ``len``, ``[i]``, iteration
    parent: array  # type: ignore[type-arg]
    via: array  # type: ignore[type-arg]
    found: dict[str, Found]
    transitions: int
    complete: bool
    reason: str = ""
    seconds: float = 0.0
    succ_off: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]
    succ: array = field(default_factory=lambda: array("i"))  # type: ignore[type-arg]
    compiled: Compiled | None = None  # its commands, compiled as far as it needed them
    stopped: bool = False  # ended at what it was asked to find (``stop_at_first``, ``stop_when``)
    expanded: int = 0  # states 0 .. expanded-1 had their successors added (BFS order)

    def state(self, i: int) -> tuple[int, ...]:
        return tuple(self.states[i])

    def path(self, state: int) -> list[int]:
        """Command ids from the initial state to ``state``."""
        cmds = []
        while state > 0:
            cmds.append(self.via[state])
            state = self.parent[state]
        return cmds[::-1]
