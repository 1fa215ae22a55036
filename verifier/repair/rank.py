"""Fixes in the order they are offered: fewest edits, then what they cost, each as a diff.

The cost is that of `tlbcheck cost` (`verifier/cost/timing.py`, the default
table): one timed run along the protocol's intended schedule, under the weakest
model checked, at the spec's own size and with its core-count param (`N`) set so
that it has 64 cores.  A fix is ranked by its size, then by its IPIs,
invalidations, fences, and the initiator's latency (stall) at the spec's size and
at 64 cores.

A fixed spec's `expect` lines say what it now does: the first becomes
`expect safe` and the others go, so that `tlbcheck check --expected-models`
accepts the applied file.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from verifier.cost.table import load_table
from verifier.cost.timing import CostRun, timed_run
from verifier.lang import ast
from verifier.lang.checked import ALL_MODELS, MODELS, CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text
from verifier.lang.parse import parse_text
from verifier.lang.printer import format_spec
from verifier.repair.edits import NotLocal, contains
from verifier.repair.search import WEAKEST_FIRST, Candidate

WIDE = 64  # the core count every fix is also costed at
SCALE = "N"  # the param that sets the core count, as in `tlbcheck cost`


@dataclass(frozen=True)
class Fix:
    candidate: Candidate
    text: str  # the repaired spec, `expect` lines updated
    diff: str  # unified diff against the user's file
    reprinted: bool
    at_n: CostRun | None
    at_wide: CostRun | None  # None: the spec has no core-count param to scale

    @property
    def size(self) -> int:
        return len(self.candidate.edits)

    def _unguarded(self, kinds: tuple[type, ...]) -> int:
        """Statements of ``kinds`` a fix runs where their guard used to say no (`unguard`,
        `widen-guard`): the intended schedule takes the guarded branch anyway, so the
        timed run alone would price them at nothing.  One each."""
        return sum(
            1
            for e in self.candidate.edits
            if e.kind in ("unguard", "widen-guard")
            and contains(e.at[0], lambda s: isinstance(s, kinds))
        )

    @property
    def ipis(self) -> int:
        """IPIs of the timed run, and one per IPI a fix no longer guards."""
        return (self.at_n.ipis if self.at_n else 0) + self._unguarded((ast.Ipi,))

    @property
    def invalidations(self) -> int:
        """Invalidations of the timed run, and one per invalidation a fix no longer guards."""
        flushes = (ast.Invlpg, ast.FlushAsid, ast.FlushAll, ast.Tlbi)
        return (self.at_n.invalidations if self.at_n else 0) + self._unguarded(flushes)

    def key(self) -> tuple[float, ...]:
        """Size, then IPIs, invalidations (each costs the TLB misses that follow, which
        the initiator's latency does not show), fences, and the stall at the spec's size
        and at `WIDE` cores."""
        n, wide = self.at_n, self.at_wide or self.at_n
        return (
            self.size,
            self.ipis,
            self.invalidations,
            n.fences if n else 0,
            n.latency_ns if n else 0.0,
            wide.latency_ns if wide else 0.0,
        )


def ranked(
    checked: CheckedSpec, fixes: Sequence[Candidate], models: Sequence[str], defines: Sequence[str]
) -> list[Fix]:
    """The fixes, each with its final text, diff and costs, best first (stable)."""
    model = min(models, key=WEAKEST_FIRST.index)
    out = []
    for c in fixes:
        text, reprinted = expect_safe(c.text, c.reprinted, checked.file, models)
        at_n, at_wide = costs(text, checked.file, defines, model)
        diff = unified_diff(checked.source, text, checked.file)
        out.append(Fix(c, text, diff, reprinted, at_n, at_wide))
    return sorted(out, key=Fix.key)


def unified_diff(before: str, after: str, file: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{file.lstrip('/')}",
            tofile=f"b/{file.lstrip('/')}",
        )
    )


def expected_after(
    expects: Sequence[ast.ExpectDecl], models: Sequence[str]
) -> list[ast.ExpectDecl]:
    """The `expect` lines of a fix verified safe under ``models``: `expect safe` under
    those, and what the spec expected under any other model it names."""
    covered = [m for m in ALL_MODELS if any(_covers(e, m) for e in expects)]
    want: dict[str, tuple[str, tuple[str, ...]]] = {}
    for m in dict.fromkeys([*covered, *models]):
        if m in models:
            want[m] = ("safe", ())
        else:
            e = next(e for e in expects if _covers(e, m))
            want[m] = (e.verdict, e.kinds)
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for m in ALL_MODELS:
        if m in want:
            groups.setdefault(want[m], []).append(m)
    return [  # a line without `under` covers sc, tso and pso
        ast.ExpectDecl(v, k, None if ms == list(MODELS) else tuple(ms))
        for (v, k), ms in groups.items()
    ]


def _covers(e: ast.ExpectDecl, model: str) -> bool:
    return (e.models is None and model in MODELS) or (e.models is not None and model in e.models)


def expect_safe(
    text: str, reprinted: bool, file: str, models: Sequence[str] = MODELS
) -> tuple[str, bool]:
    """``text`` with its `expect` lines saying `safe` under ``models`` (the others keep
    theirs); unchanged when they already do."""
    spec = parse_text(text, file)
    expects = [d for d in spec.decls if isinstance(d, ast.ExpectDecl)]
    new = expected_after(expects, models)
    if not expects or expects == new:  # no `expect` line: safe is what it expects
        return text, reprinted
    decls: list[ast.Decl] = [d for d in spec.decls if not isinstance(d, ast.ExpectDecl)]
    at = next((i for i, d in enumerate(spec.decls) if isinstance(d, ast.ExpectDecl)), len(decls))
    decls[at:at] = new
    wanted = ast.Spec(tuple(decls), file=file)
    if not reprinted:
        lines = text.splitlines(keepends=True)
        try:
            for i, e in reversed(list(enumerate(expects))):
                s = e.span
                if (
                    s.line != s.end_line
                    or lines[s.line - 1].strip()
                    != lines[s.line - 1][s.col - 1 : s.end_col - 1].strip()
                ):
                    raise NotLocal("an expect line shared with something else")
                lines[s.line - 1 : s.line] = _expect_lines(new) if i == 0 else []
            edited = "".join(lines)
            if parse_text(edited, file) == wanted:
                return edited, False
        except (NotLocal, SpecError):
            pass
    return format_spec(wanted), True


def _expect_lines(expects: Sequence[ast.ExpectDecl]) -> list[str]:
    return format_spec(ast.Spec(tuple(expects))).splitlines(keepends=True)


def costs(
    text: str, file: str, defines: Sequence[str], model: str
) -> tuple[CostRun | None, CostRun | None]:
    """The timed run at the spec's own size and at `WIDE` cores (None where the spec has
    no `N` that reaches it)."""
    table = load_table(None)
    base = load_text(text, file, list(defines))
    at_n = timed_run(base, table, model)
    wide = _scaled(text, file, defines, base)
    return at_n, (timed_run(wide, table, model) if wide is not None else None)


def _scaled(text: str, file: str, defines: Sequence[str], base: CheckedSpec) -> CheckedSpec | None:
    """The spec with `N` set so that it has `WIDE` cores (the core count affine in N)."""
    params = dict(base.params)
    if SCALE not in params:
        return None
    n0 = params[SCALE]
    rest = [d for d in defines if d.split("=")[0].strip() != SCALE]
    try:
        other = load_text(text, file, [*rest, f"{SCALE}={n0 + 1}"])
        slope = len(other.cores) - len(base.cores)
        if slope <= 0:
            return None
        n, r = divmod(WIDE - len(base.cores), slope)
        if r:
            return None
        return load_text(text, file, [*rest, f"{SCALE}={n0 + n}"], max_cores=WIDE)
    except SpecError:
        return None
