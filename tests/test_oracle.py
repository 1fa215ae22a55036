"""tlbcheck against an independent reading of the reference (the oracle in `tests/oracle/`).

* generated specs: tlbcheck's verdict kinds == the oracle's, under sc, tso and pso
  (a fixed-seed slice here, a large campaign behind `slow`);
* the language examples: the oracle gives the verdicts their `expect` lines state;
* `tests/regressions/oracle/*.tlb`: every disagreement ever found, with the verdict the
  reference gives in its `expect` lines.  A header line `// xfail: issue 9: <defect>`
  marks a spec on which tlbcheck is known to be wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, tlb_files
from oracle.campaign import compare
from oracle.explore import run_oracle

from verifier.api import check_spec
from verifier.lang import ast
from verifier.lang.checked import MODELS, CheckedSpec
from verifier.lang.frontend import load

REGRESSIONS = Path(__file__).parent / "regressions" / "oracle"


def meets(e: ast.ExpectDecl | None, kinds: set[str]) -> bool:
    """The reference's reading of an `expect` line (written again here, not imported)."""
    if e is None or e.verdict == "safe":
        return not kinds
    if e.verdict == "hang":
        return kinds == {"hang"}
    return kinds == set(e.kinds) if e.kinds else bool(kinds)


def models_of(checked: CheckedSpec) -> list[str]:
    named: set[str] = set()
    for e in checked.expects:
        named.update(e.models or MODELS)
    return [m for m in MODELS if m in named]


# ---------------------------------------------------------------- generated specs


@pytest.mark.parametrize(("seed", "model"), [(s, m) for s in range(8) for m in MODELS])
def test_tlbcheck_agrees_with_the_oracle(seed: int, model: str) -> None:
    p = compare(seed, model)
    assert p.agree, (p.ours, p.theirs, p.text)


@pytest.mark.slow
def test_tlbcheck_agrees_with_the_oracle_campaign() -> None:
    bad = []
    for seed in range(1000, 1400):
        for m in MODELS:
            p = compare(seed, m)
            if not p.agree:
                bad.append((seed, m, p.ours, p.theirs))
    assert not bad


# ---------------------------------------------------------------- the language examples


def _examples(ns: list[int], slow: bool) -> list[Any]:
    out = []
    for f in tlb_files(EXAMPLES):
        has_n = "param N" in f.read_text()
        if slow and not has_n:
            continue  # already in the first list (marked slow there)
        for n in ns if has_n else ns[:1]:
            for m in MODELS:
                # a spec without N cannot be made smaller: its thousands of states go to `slow`
                marks = [pytest.mark.slow] if slow or not has_n else []
                out.append(pytest.param(f, n, m, marks=marks, id=f"{f.stem}-N{n}-{m}"))
    return out


@pytest.mark.parametrize(("path", "n", "model"), _examples([1], False) + _examples([2], True))
def test_oracle_gives_the_examples_verdicts(path: Path, n: int, model: str) -> None:
    defines = [f"N={n}"] if "param N" in path.read_text() else []
    checked = load(str(path), defines)
    r = run_oracle(checked, model)
    assert r.complete
    assert meets(checked.expect_for(model), set(r.kinds)), sorted(r.kinds)


def test_the_examples_are_found() -> None:
    assert len(tlb_files(EXAMPLES)) >= 7


# ---------------------------------------------------------------- stored disagreements


def _regressions(tlbcheck: bool) -> list[Any]:
    out = []
    for f in tlb_files(REGRESSIONS):
        marks = []
        for line in f.read_text().splitlines():
            if tlbcheck and line.startswith("// xfail:"):
                reason = line.removeprefix("// xfail:").strip()
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
        out.append(pytest.param(f, marks=marks, id=f.stem))
    return out


@pytest.mark.parametrize("path", _regressions(tlbcheck=False))
def test_oracle_regression(path: Path) -> None:
    checked = load(str(path), [])
    for m in models_of(checked):
        r = run_oracle(checked, m)
        assert r.complete
        assert meets(checked.expect_for(m), set(r.kinds)), (m, sorted(r.kinds))


@pytest.mark.parametrize("path", _regressions(tlbcheck=True))
def test_tlbcheck_regression(path: Path) -> None:
    checked = load(str(path), [])
    for m in models_of(checked):
        r = check_spec(checked, m, max_states=200_000)
        assert r.verdict != "inconclusive", m
        assert meets(checked.expect_for(m), set(r.kinds)), (m, r.kinds)
