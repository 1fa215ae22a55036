"""The edit space: what kernel TLB fixes are made of, one generator per kind of edit.

`EDIT_KINDS` is the table the search walks, in the order candidates of equal
rank are tried.  Each entry generates every `Edit` of its kind a spec allows;
whether one is any good is for the engines to say.  A new kind of edit (the
Arm barriers `dmb`/`dsb`/`isb`/`tlbi` once the language has them) is one more
entry: a name, a sentence for the docs and a generator (`register`).  Barriers
that are plain statements only need a line in `BARRIERS`.
"""

from __future__ import annotations

from verifier.repair import kinds_flush, kinds_ipi, kinds_order  # noqa: F401  (they register)
from verifier.repair.context import EDIT_KINDS, Context, EditKind, register
from verifier.repair.edits import Edit

__all__ = ["EDIT_KINDS", "Context", "EditKind", "candidates", "register"]

# the table's order, which is the order candidates of equal rank are tried in; a kind
# registered later (a new barrier) goes after these
ORDER = (
    "fence",
    "move-later",
    "move-earlier",
    "atomic",
    "widen",
    "add-flush",
    "unguard",
    "widen-guard",
    "shootdown",
    "ipi-target",
    "wait-acks",
    "irq-window",
)
EDIT_KINDS.sort(key=lambda k: ORDER.index(k.name) if k.name in ORDER else len(ORDER))


def candidates(ctx: Context, kinds: set[str] | None = None) -> list[Edit]:
    """Every single edit of the spec, kind by kind in table order."""
    return [e for k in EDIT_KINDS if kinds is None or k.name in kinds for e in k.generate(ctx)]
