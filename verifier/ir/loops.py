"""A `for` over a whole core family, as the lowering unrolled it (re-exported by
`program`)."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.lang.span import Span


@dataclass(frozen=True)
class ForLoop:
    """A `for c in F[*]` over a whole core family, unrolled: iteration k runs the code at
    ``starts[k]`` .. (the next start, or ``end``) with ``c`` bound to ``cores[k]``
    (the family's cores in index order).  Symmetry reduction reads it
    (search/symmetry_loops.py)."""

    family: str
    cores: tuple[int, ...]
    starts: tuple[int, ...]
    end: int
    span: Span
