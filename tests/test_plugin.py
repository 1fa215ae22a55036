"""The pytest plugin (`verifier.suite.pytest_plugin`), run with `pytester` on specs in tmp.

Against the fake engine of test_suite.py, so collection, naming and failure
reports are checked whatever the engines currently decide; one test at the end
runs a real spec.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_suite import BAD, EXAMPLES, RACY, SAFE, WRONG, fake_engine, write_fake

pytest_plugins = ["pytester"]

__all__ = ["fake_engine"]  # a fixture used by the tests below


@pytest.fixture
def plugin_args(request: pytest.FixtureRequest) -> list[str]:
    """`-p verifier.suite.pytest_plugin` unless the installed entry point loaded it already."""
    if request.config.pluginmanager.has_plugin("tlbcheck"):
        return []
    return ["-p", "verifier.suite.pytest_plugin"]


@pytest.fixture
def specs(pytester: pytest.Pytester, fake_engine: None) -> Path:
    d = pytester.path / "specs"
    write_fake(d / "safe.tlb", SAFE)
    write_fake(d / "sub" / "racy.tlb", RACY)
    return d


def test_collects_each_spec_and_model(
    pytester: pytest.Pytester, specs: Path, plugin_args: list[str]
) -> None:
    result = pytester.runpytest(*plugin_args, "specs", "--collect-only", "-q")
    ids = [ln for ln in result.outlines if "::" in ln]
    assert ids == [
        "specs/safe.tlb::sc",
        "specs/safe.tlb::tso",
        "specs/sub/racy.tlb::sc",
        "specs/sub/racy.tlb::pso",
    ]


def test_passing_specs(pytester: pytest.Pytester, specs: Path, plugin_args: list[str]) -> None:
    result = pytester.runpytest(*plugin_args, "specs", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*specs/sub/racy.tlb::pso PASSED*"])


def test_failure_shows_expected_got_and_trace(
    pytester: pytest.Pytester, specs: Path, plugin_args: list[str]
) -> None:
    write_fake(specs / "wrong.tlb", WRONG)
    result = pytester.runpytest(*plugin_args, "specs")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "expected safe, got race use-after-free  (specs/wrong.tlb under tso)",
            "expected: safe",
            "got:      race use-after-free",
            "*use-after-free under tso*",
            "*read V*",
            "FAILED specs/wrong.tlb::tso*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_bad_input_shows_the_diagnostic(
    pytester: pytest.Pytester, specs: Path, plugin_args: list[str]
) -> None:
    write_fake(specs / "bad.tlb", BAD)
    result = pytester.runpytest(*plugin_args, "specs")
    result.assert_outcomes(passed=4, failed=1)  # the others still run
    result.stdout.fnmatch_lines(
        [
            "bad input  (specs/bad.tlb)",
            "specs/bad.tlb:1:2: error: unknown frame `Q`",
            "FAILED specs/bad.tlb::load*",
        ]
    )


def test_reportinfo_names_the_spec(
    pytester: pytest.Pytester, specs: Path, plugin_args: list[str]
) -> None:
    items, _ = pytester.inline_genitems(*plugin_args, "specs/safe.tlb")
    assert [i.name for i in items] == ["sc", "tso"]
    path, line, desc = items[1].reportinfo()
    assert Path(path).name == "safe.tlb" and line is None
    assert desc == "specs/safe.tlb under tso"


def test_testpaths_run_does_not_collect_specs(
    pytester: pytest.Pytester, specs: Path, plugin_args: list[str]
) -> None:
    """A plain `pytest` walks testpaths only, and .tlb fixtures under it are not specs."""
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    tests = pytester.mkpydir("tests")
    (tests / "test_x.py").write_text("def test_x():\n    pass\n")
    write_fake(tests / "golden" / "bad_input.tlb", BAD)
    result = pytester.runpytest(*plugin_args)
    result.assert_outcomes(passed=1)
    result = pytester.runpytest(*plugin_args, "tests")
    result.assert_outcomes(passed=1)
    # named explicitly, a spec under tests/ is still collected
    result = pytester.runpytest(*plugin_args, "tests/golden/bad_input.tlb")
    result.assert_outcomes(failed=1)
    # and `pytest specs tests` collects specs/ once and tests/ without its fixtures
    result = pytester.runpytest(*plugin_args, "specs", "tests")
    result.assert_outcomes(passed=5)


def test_ini_paths(pytester: pytest.Pytester, specs: Path, plugin_args: list[str]) -> None:
    pytester.makeini("[pytest]\ntestpaths = tests specs\ntlbcheck_paths = specs\n")
    pytester.mkpydir("tests")
    result = pytester.runpytest(*plugin_args)
    result.assert_outcomes(passed=4)


def test_entry_point_declared() -> None:
    import tomllib

    root = Path(__file__).resolve().parent.parent
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["project"]["entry-points"]["pytest11"] == {
        "tlbcheck": "verifier.suite.pytest_plugin"
    }


def test_real_spec(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    text = (EXAMPLES / "eager_missing_fence.tlb").read_text()
    (pytester.path / "missing_fence.tlb").write_text(text)
    wrong = re.sub(r"(?m)^expect .*$", "", text) + "\nexpect safe under tso\n"
    (pytester.path / "wrong.tlb").write_text(wrong)
    result = pytester.runpytest(*plugin_args, "missing_fence.tlb", "wrong.tlb")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1 and outcomes.get("passed", 0) >= 1
    result.stdout.fnmatch_lines(
        ["expected safe, got race*(wrong.tlb under tso)", "expected: safe", "got:      race*"]
    )


def test_limit_options(
    pytester: pytest.Pytester, specs: Path, plugin_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_suite import _fake_check_file

    from verifier import api

    seen: list[dict[str, object]] = []

    def recording(path: str, models: list[str] | None, defines: object, **kw: object) -> object:
        seen.append(kw)
        return _fake_check_file(path, models, defines)

    monkeypatch.setattr(api, "check_file", recording)
    result = pytester.runpytest(
        *plugin_args, "specs/safe.tlb", "--tlbcheck-max-states", "9", "--tlbcheck-timeout", "1.5"
    )
    result.assert_outcomes(passed=2)
    assert seen == [{"max_states": 9, "timeout": 1.5}] * 2


def test_summary_line_junit_classname_and_properties(
    pytester: pytest.Pytester, specs: Path, plugin_args: list[str]
) -> None:
    import xml.etree.ElementTree as ET

    write_fake(specs / "wrong.tlb", WRONG)
    result = pytester.runpytest(*plugin_args, "specs", "-rf", "--junitxml=out.xml")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        ["FAILED specs/wrong.tlb::tso - expected safe, got race use-after-free*"]
    )
    cases = {
        (c.get("classname"), c.get("name")): c
        for c in ET.parse(pytester.path / "out.xml").getroot().iter("testcase")
    }
    assert ("specs.sub.racy", "pso") in cases and ("specs.wrong", "tso") in cases
    props = {
        p.get("name"): p.get("value") for p in cases[("specs.sub.racy", "pso")].iter("property")
    }
    assert set(props) == {"verdict", "states", "transitions", "seconds"}
    assert props["verdict"] == "unsafe"
