"""Every language example gives exactly the kinds its `expect` line states, for N = 1, 2, 3,
and the traces of eager_missing_fence stay as they are (golden files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, tlb_files

from verifier.api import check_spec, meets
from verifier.lang.checked import MODELS
from verifier.lang.frontend import load, load_text
from verifier.report.render_text import render_text

GOLDEN = Path(__file__).parent / "golden" / "traces"
FILES = tlb_files(EXAMPLES)


def _cases(ns: list[int]) -> list[object]:
    out = []
    for f in FILES:
        has_n = "param N" in f.read_text()
        for n in ns if has_n else ns[:1]:
            for m in MODELS:
                marks = [pytest.mark.slow] if n >= 3 else []
                out.append(
                    pytest.param(
                        f,
                        n if has_n else None,
                        m,
                        marks=marks,
                        id=f"{f.stem}-N{n}-{m}" if has_n else f"{f.stem}-{m}",
                    )
                )
    return out


@pytest.mark.parametrize(("path", "n", "model"), _cases([1, 2, 3]))
def test_example_meets_its_expectation(path: Path, n: int | None, model: str) -> None:
    checked = load(str(path), [f"N={n}"] if n is not None else [])
    r = check_spec(checked, model)
    expect = checked.expect_for(model)
    assert r.verdict in ("safe", "unsafe"), r.reason
    assert meets(expect, r.kinds), f"{path.name} {model} N={n}: got {r.kinds}"
    assert r.expectation_met
    for t in r.traces:
        assert t.steps or t.kind == "hang"


@pytest.mark.parametrize("model", ["tso", "pso"])
def test_eager_missing_fence_golden_traces(model: str, update_golden: bool) -> None:
    text = (EXAMPLES / "eager_missing_fence.tlb").read_text()
    checked = load_text(text, "eager_missing_fence.tlb", [])
    r = check_spec(checked, model)
    assert r.kinds == ("stale-translation", "use-after-free")
    for t in r.traces:
        name = f"eager_missing_fence.{model}.{t.kind}"
        txt, js = GOLDEN / f"{name}.txt", GOLDEN / f"{name}.json"
        rendered = render_text(t) + "\n"
        as_json = json.dumps(t.to_json(), indent=1, sort_keys=True) + "\n"
        if update_golden:
            GOLDEN.mkdir(parents=True, exist_ok=True)
            txt.write_text(rendered)
            js.write_text(as_json)
        assert rendered == txt.read_text(), (
            "trace changed; run `pytest --update-golden` if that is intended"
        )
        assert as_json == js.read_text()


def test_shortest_trace_lengths() -> None:
    """The missing fence race needs 13 steps; the use-after-free one step more (the free)."""
    text = (EXAMPLES / "eager_missing_fence.tlb").read_text()
    r = check_spec(load_text(text, "eager_missing_fence.tlb", []), "pso")
    lengths = {t.kind: len(t.steps) for t in r.traces}
    assert lengths == {"stale-translation": 13, "use-after-free": 14}
