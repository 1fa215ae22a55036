"""The stored counterexamples in counterexamples/ against the current engine.

Every stored trace must replay (reach its problem again through the explicit
step function), and re-running its spec under its model must find the same
shortest traces, byte for byte: a change of behaviour shows up as a diff.
After an intended change, regenerate them with
`tlbcheck suite --update-counterexamples` and review the diff.
"""

from __future__ import annotations

import difflib
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from verifier.lang.span import Span
from verifier.run.result import PROBLEM_KINDS, Problem, Step, Trace
from verifier.suite import counterexamples as cx

ROOT = Path(__file__).resolve().parent.parent
STORED = cx.stored(ROOT)
PAIRS = sorted({(s.stem, s.model) for s in STORED})

# (spec stem, model) pairs whose fresh run takes long; they are compared only
# under `pytest -m slow` (replaying their traces is quick and always done).
SLOW_PAIRS: set[tuple[str, str]] = set()

UPDATE_HINT = "if the change is intended, run `tlbcheck suite --update-counterexamples`"


def _api() -> Any:
    from verifier import api

    return api


def _defines(trace: Trace) -> list[str]:
    return [f"{k}={v}" for k, v in trace.params]


@pytest.mark.parametrize("st", STORED, ids=[s.path.name for s in STORED])
def test_stored_trace_replays(st: cx.Stored) -> None:
    data = st.load()
    trace = Trace.from_json(data)
    assert (trace.model, trace.kind) == (st.model, st.kind), "file name and contents disagree"
    assert not Path(trace.file).is_absolute(), "paths in stored traces are repo-relative"
    assert cx.stem(ROOT / trace.file, ROOT) == st.stem
    outcome = _api().replay_trace(trace, str(ROOT / trace.file), _defines(trace))
    assert outcome.reproduced, (
        f"{st.path.name} no longer reproduces: {outcome.message}\n" + UPDATE_HINT
    )


@functools.cache
def _fresh(spec_file: str, model: str, defines: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    (result,) = _api().check_file(str(ROOT / spec_file), [model], list(defines))
    return result.verdict, {t.kind: cx.dumps(cx.trace_json(t, ROOT)) for t in result.traces}


def _pair_param(pair: tuple[str, str]) -> Any:
    marks = [pytest.mark.slow] if pair in SLOW_PAIRS else []
    return pytest.param(pair, id=f"{pair[0]}.{pair[1]}", marks=marks)


@pytest.mark.parametrize("pair", [_pair_param(p) for p in PAIRS])
def test_fresh_run_finds_the_stored_traces(pair: tuple[str, str]) -> None:
    stored = {s.kind: s for s in STORED if (s.stem, s.model) == pair}
    first = next(iter(stored.values())).trace()
    verdict, fresh = _fresh(first.file, first.model, tuple(_defines(first)))
    assert verdict == "unsafe", f"{first.file} under {first.model} is now {verdict}\n{UPDATE_HINT}"
    old = {kind: st.path.read_text(encoding="utf-8") for kind, st in stored.items()}
    if old == fresh:
        return
    diff: list[str] = []
    for kind in sorted(set(old) | set(fresh)):
        name = cx.file_name(pair[0], pair[1], kind)
        diff += difflib.unified_diff(
            old.get(kind, "").splitlines(keepends=True),
            fresh.get(kind, "").splitlines(keepends=True),
            f"stored/{name}",
            f"fresh/{name}",
        )
    pytest.fail(
        f"{first.file} under {first.model}: the engine now finds other traces\n"
        f"{UPDATE_HINT}\n\n{''.join(diff)}",
        pytrace=False,
    )


# ---------------------------------------------------------------- the file format


def test_names() -> None:
    root = Path("/r")
    assert cx.stem(root / "specs" / "eager" / "fenced.tlb", root) == "specs__eager__fenced"
    assert cx.file_name("specs__x", "tso", "use-after-free") == "specs__x.tso.use-after-free.json"
    assert cx.parse_name("specs__x.y.tso.hang.json") == ("specs__x.y", "tso", "hang")
    assert cx.parse_name("specs__x.tso.nonsense.json") is None
    assert cx.parse_name("specs__x.vax.hang.json") is None
    assert cx.parse_name("specs__x.arm.hang.json") == ("specs__x", "arm", "hang")
    assert cx.parse_name("README.md") is None
    assert all("." not in k for k in PROBLEM_KINDS)


def test_stored_json_is_relative_and_deterministic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "specs" / "x.tlb"
    span = Span(str(spec), 2, 1, 2, 5)
    problem = Problem("hang", "init", f"blocked at {spec}:2:1", "await x == 1", span)
    trace = Trace(
        "x",
        str(spec),
        "sc",
        (("N", 2),),
        "hang",
        ("init",),
        (Step(0, "init", "await", "await x == 1", "", span, problems=(problem,)),),
        problem,
    )
    data = cx.trace_json(trace, tmp_path)
    assert data["file"] == "specs/x.tlb"
    assert data["problem"]["span"]["file"] == "specs/x.tlb"
    assert data["problem"]["message"] == "blocked at specs/x.tlb:2:1"
    # a path given relative to the working directory comes out the same
    rel = Trace.from_json(dict(trace.to_json(), file="specs/x.tlb"))
    assert cx.trace_json(rel, tmp_path)["file"] == "specs/x.tlb"
    text = cx.dumps(data)
    assert text == cx.dumps(json.loads(text))
    assert Trace.from_json(json.loads(text)).steps[0].span == Span("specs/x.tlb", 2, 1, 2, 5)


def test_find_root(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "pyproject.toml").write_text("")
    assert cx.find_root(tmp_path / "a" / "b") == (tmp_path / "a").resolve()
    assert cx.find_root(ROOT / "verifier") == ROOT
