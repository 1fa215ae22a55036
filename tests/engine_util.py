"""Helpers for engine tests: check spec text under a model and return the Result."""

from __future__ import annotations

from verifier.api import check_spec
from verifier.lang.frontend import load_text
from verifier.run.result import Result


def run(text: str, model: str, *defines: str, file: str = "t.tlb", **kw: object) -> Result:
    checked = load_text(text, file, list(defines))
    return check_spec(checked, model, **kw)  # type: ignore[arg-type]


def kinds(text: str, model: str, *defines: str) -> set[str]:
    r = run(text, model, *defines)
    assert r.verdict in ("safe", "unsafe"), r.reason
    return set(r.kinds)
