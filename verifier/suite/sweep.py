"""Parameter sweeps of a suite: `tlbcheck suite specs/ -D N=2..8` runs every spec that
declares `N` once per value (each run a job of its own, locally or on a cluster).

``NAME=VALUE`` sets a parameter, ``NAME=LO..HI`` sweeps it over LO, LO+1, ..., HI and
``NAME=A,B,C`` over the values listed; several ``-D`` sweep over every combination.
A spec that does not declare a swept name runs as written, once (a sweep over `N`
leaves a spec without `N` alone instead of failing it)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from verifier.lang.frontend import integer

MAX_VALUES = 64  # values of one swept parameter (a range is written by hand)


class SweepError(ValueError):
    """A -D that is not NAME=VALUE, NAME=LO..HI or NAME=A,B,..."""


def parse(defines: Sequence[str]) -> list[tuple[str, tuple[int, ...]]]:
    """Each -D as (name, the values it takes), in the order given."""
    out: list[tuple[str, tuple[int, ...]]] = []
    for d in defines:
        name, eq, text = d.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier():
            raise SweepError(f"-D {d}: expected NAME=VALUE, NAME=LO..HI or NAME=A,B,...")
        # each value read as a spec reads an integer (`007` is 7, `0x10` is 16)
        ends = [integer(x) for x in (text.split("..", 1) if ".." in text else text.split(","))]
        if any(v is None for v in ends):
            raise SweepError(f"-D {d}: the values must be whole numbers (decimal or 0x hex)")
        nums = [v for v in ends if v is not None]
        count = nums[1] - nums[0] + 1 if ".." in text else len(nums)
        if count <= 0:
            raise SweepError(f"-D {d}: the range is empty")
        if count > MAX_VALUES:
            raise SweepError(f"-D {d}: {count} values; at most {MAX_VALUES} in one sweep")
        values = tuple(range(nums[0], nums[1] + 1)) if ".." in text else tuple(nums)
        if any(n == name for n, _ in out):
            raise SweepError(f"-D {name} is given twice")
        out.append((name, values))
    return out


def settings(
    sweep: Sequence[tuple[str, tuple[int, ...]]], declared: set[str]
) -> list[tuple[str, ...]]:
    """The -D NAME=VALUE lists to run a spec declaring ``declared`` with: one per
    combination of the swept values of the names it declares (one empty list if none)."""
    mine = [(n, vs) for n, vs in sweep if n in declared]
    return [
        tuple(f"{n}={v}" for (n, _), v in zip(mine, combo, strict=True))
        for combo in itertools.product(*(vs for _, vs in mine))
    ]
