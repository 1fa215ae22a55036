"""The default state limit depends on the search that runs (`Budget.states`): the
Python search's (`PYTHON_MAX_STATES`) for --engine explicit, the cluster, the smt
engine's proof and `auto` without a C compiler; the native search's
(`NATIVE_MAX_STATES`, larger) for the native search, its unreduced second search and
its hang analysis.  A limit given (`--max-states`, ``max_states=``) holds for every
search.  The defaults are lowered here so that a spec of a few thousand states shows
the difference."""

from __future__ import annotations

import json
import os

import pytest
from conftest import EXAMPLES

from verifier import engine
from verifier.api import check_spec
from verifier.cli import main as cli
from verifier.lang.frontend import load
from verifier.run import budget as budget_module
from verifier.run.budget import Budget
from verifier.search.native import available

os.environ.setdefault("TLBCHECK_NATIVE_OPT", "-O0")  # these searches are small: compile fast
native = pytest.mark.skipif(not available(), reason="no C compiler")

PYTHON, NATIVE = 300, 1_000_000  # the lowered defaults
SAFE_SPEC = EXAMPLES / "lazy_generation.tlb"  # N=3 pso: safe, a few thousand states
UNSAFE_SPEC = EXAMPLES / "eager_missing_fence.tlb"  # pso: unsafe, a few thousand states


@pytest.fixture
def lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget_module, "PYTHON_MAX_STATES", PYTHON)
    monkeypatch.setattr(budget_module, "NATIVE_MAX_STATES", NATIVE)


def _safe() -> object:
    return load(str(SAFE_SPEC), ["N=3"])


def test_budget_resolves_the_default_by_search() -> None:
    assert Budget().states() == budget_module.PYTHON_MAX_STATES
    assert Budget().states(native=True) == budget_module.NATIVE_MAX_STATES
    assert budget_module.NATIVE_MAX_STATES > budget_module.PYTHON_MAX_STATES
    assert Budget(1234).states() == Budget(1234).states(native=True) == 1234
    assert Budget(1234).states_reached(native=True) == "state limit of 1234 reached"
    assert Budget().states_reached() == (
        f"state limit of {budget_module.PYTHON_MAX_STATES} reached (the Python search's default)"
    )


def test_the_python_search_stops_at_its_default(lowered: None) -> None:
    r = check_spec(_safe(), "pso", engine="explicit")
    assert r.verdict == "inconclusive" and r.engine == "explicit"
    assert r.reason.startswith(f"state limit of {PYTHON} reached (the Python search's default)")
    assert "next: raise --max-states" in r.reason


def test_auto_without_a_compiler_keeps_the_python_default(
    lowered: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "native_available", lambda: False)
    monkeypatch.setattr(engine, "NATIVE_AFTER", 100)
    r = check_spec(_safe(), "pso")
    assert r.verdict == "inconclusive" and r.engine == "explicit"
    assert f"state limit of {PYTHON} reached (the Python search's default)" in r.reason
    assert any("no C compiler" in n for n in r.reductions)


@native
def test_the_native_search_goes_past_the_python_default(lowered: None) -> None:
    r = check_spec(_safe(), "pso", engine="native")
    assert r.verdict == "safe" and r.engine == "native" and r.states > PYTHON


@native
def test_auto_hands_over_with_the_native_default(
    lowered: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "NATIVE_AFTER", 100)
    r = check_spec(_safe(), "pso")
    assert r.verdict == "safe" and r.engine == "native" and r.states > PYTHON


@native
@pytest.mark.parametrize("which", ["native", "explicit"])
def test_a_given_limit_holds_for_every_search(lowered: None, which: str) -> None:
    r = check_spec(_safe(), "pso", engine=which, max_states=200)
    assert r.verdict == "inconclusive"
    assert r.reason.startswith("state limit of 200 reached;")  # no default named


@native
def test_the_native_default_stops_the_native_search(
    lowered: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget_module, "NATIVE_MAX_STATES", 500)
    r = check_spec(_safe(), "pso", engine="native")
    assert r.verdict == "inconclusive"
    assert r.reason.startswith("state limit of 500 reached (the native search's default)")


@native
def test_the_unreduced_search_for_traces_keeps_the_native_default(lowered: None) -> None:
    """The second search that rebuilds shortest traces is a native one too: it may go
    past the Python default, and the traces stay shortest."""
    checked = load(str(UNSAFE_SPEC), [])
    r = check_spec(checked, "pso", engine="native")
    assert r.verdict == "unsafe" and r.states > PYTHON and r.traces
    assert not any("not be shortest" in n for n in r.reductions), r.reductions
    ref = check_spec(checked, "pso", engine="explicit", max_states=10**6)
    assert [len(t.steps) for t in r.traces] == [len(t.steps) for t in ref.traces]


@native
def test_the_command_line_default_is_the_search_s(
    lowered: None, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(SAFE_SPEC)
    base = ["check", spec, "-D", "N=3", "--model", "pso", "--json"]
    assert cli.main([*base, "--engine", "explicit"]) == 3
    (r,) = json.loads(capsys.readouterr().out)
    assert f"state limit of {PYTHON} reached" in r["reason"]
    assert cli.main([*base, "--engine", "native"]) == 0
    (r,) = json.loads(capsys.readouterr().out)
    assert r["verdict"] == "safe"
    assert cli.main([*base, "--engine", "native", "--max-states", "200"]) == 3
    (r,) = json.loads(capsys.readouterr().out)
    assert r["reason"].startswith("state limit of 200 reached;")


def test_help_states_the_default_of_each_search(
    lowered: None, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("check", "suite", "repair"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert f"(default: {NATIVE:,} for the native search, {PYTHON:,} for the Python" in text


def test_suite_workers_share_the_default_memory_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """`suite --jobs N` without --max-memory gives each worker 1/N of the default (half
    the machine), so N workers at their limit fit together; a given limit is each one's."""
    from verifier.suite import command

    seen = []
    monkeypatch.setattr(command, "main", lambda opts: seen.append(opts) or 0)
    whole = float(budget_module.default_max_memory_mb())
    for argv, want in (
        (["suite", "specs/", "--jobs", "4"], whole / 4),
        (["suite", "specs/"], whole),
        (["suite", "specs/", "--jobs", "4", "--max-memory", "900"], 900.0),
    ):
        assert cli.main(argv) == 0
        assert seen.pop().limits.max_memory == want
