"""`tlbcheck suite`: collection, the table and its last line, exit codes, --jobs,
JUnit XML and --update-counterexamples.

Most tests run against a fake front end and engine (`fake_engine`), so the
formatting is pinned down independently of the verdicts; the `real` tests at
the end run the actual engine on the language examples and on a spec with a
deliberately wrong `expect` line.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from verifier.cli import main as cli
from verifier.lang import ast
from verifier.lang.diagnostics import Diagnostic, SpecError
from verifier.lang.span import Span
from verifier.run.result import Problem, Result, Step, Trace
from verifier.suite import runner as suite
from verifier.suite.command import SuiteOptions
from verifier.suite.command import main as suite_main
from verifier.suite.junit import junit_xml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MODELS = ("sc", "tso", "pso")

# ---------------------------------------------------------------- the fake engine
#
# A fake spec is JSON: {"model": "pso", "runs": {"tso": {"expect": "race use-after-free",
# "kinds": ["use-after-free"], "verdict": "unsafe"}}} -- or {"bad": "message"}.


def _expect_decl(text: str | None, model: str) -> ast.ExpectDecl | None:
    if text is None:
        return None
    verdict, _, kinds = text.partition(" ")
    return ast.ExpectDecl(
        verdict, tuple(k.strip() for k in kinds.split(",") if k.strip()), (model,)
    )


class FakeChecked:
    def __init__(self, path: str, data: dict[str, Any]) -> None:
        self.file = path
        self.model = data.get("model", "pso")
        self.runs: dict[str, dict[str, Any]] = data.get("runs", {})

    def expect_for(self, model: str) -> ast.ExpectDecl | None:
        return _expect_decl(self.runs.get(model, {}).get("expect"), model)


def _fake_load(path: str, defines: Any = (), phase: Any = None) -> FakeChecked:
    text = Path(path).read_text()
    data = json.loads(text)
    if "bad" in data:
        span = Span(path, 1, 2, 1, 3)
        raise SpecError([Diagnostic(span, data["bad"])], {path: text})
    return FakeChecked(path, data)


def _met(expect: ast.ExpectDecl | None, kinds: set[str]) -> bool:
    if expect is None or expect.verdict == "safe":
        return not kinds
    if expect.verdict == "hang":
        return kinds == {"hang"}
    return kinds == set(expect.kinds) if expect.kinds else bool(kinds)


def _fake_trace(path: str, model: str, kind: str) -> Trace:
    absolute = str(Path(path).resolve())
    span = Span(absolute, 3, 5, 3, 12)
    problem = Problem(kind, "cpu[1]", f"{kind} at {absolute}:3:5", "read V", span)
    steps = (
        Step(0, "init", "store", "pte V := B rw", "V -> B", span, key="k0"),
        Step(1, "cpu[1]", "access", "read V", "hit A", span, (0,), "k1", (problem,)),
    )
    return Trace("fake", absolute, model, (("N", 2),), kind, ("init", "cpu[1]"), steps, problem)


def _fake_check_file(path: str, models: list[str] | None, defines: Any, **kw: Any) -> list[Result]:
    checked = _fake_load(path)
    out = []
    for model in models or [checked.model]:
        run = checked.runs.get(model, {})
        kinds = tuple(sorted(run.get("kinds", [])))
        verdict = run.get("verdict", "unsafe" if kinds else "safe")
        expect = checked.expect_for(model)
        out.append(
            Result(
                "fake",
                path,
                model,
                (),
                verdict,
                kinds,
                tuple(_fake_trace(path, model, k) for k in kinds),
                states=10 * len(kinds) + 7,
                transitions=20,
                seconds=0.25,
                expected=None if expect is None else run["expect"],
                expectation_met=_met(expect, set(kinds)),
                reason="state limit reached" if verdict == "inconclusive" else "",
            )
        )
    return out


def _fake_expected_models(checked: FakeChecked) -> list[str]:
    return [m for m in MODELS if m in checked.runs and checked.runs[m].get("expect")]


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier import api
    from verifier.lang import frontend

    monkeypatch.setattr(api, "check_file", _fake_check_file)
    monkeypatch.setattr(api, "expected_models", _fake_expected_models)
    monkeypatch.setattr(frontend, "load", _fake_load)
    monkeypatch.setattr(api, "load", _fake_load)  # the suite plans through `api.load_within`


def write_fake(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


SAFE = {"runs": {"sc": {"expect": "safe"}, "tso": {"expect": "safe"}}}
RACY = {
    "runs": {
        "sc": {"expect": "safe"},
        "pso": {
            "expect": "race stale-translation, use-after-free",
            "kinds": ["use-after-free", "stale-translation"],
        },
    }
}
WRONG = {"runs": {"tso": {"expect": "safe", "kinds": ["use-after-free"]}}}
LIMIT = {"runs": {"pso": {"expect": "safe", "verdict": "inconclusive"}}}
NOEXPECT = {"model": "tso"}
BAD = {"bad": "unknown frame `Q`"}


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_engine: None) -> Path:
    monkeypatch.chdir(tmp_path)
    write_fake(tmp_path / "specs" / "b" / "racy.tlb", RACY)
    write_fake(tmp_path / "specs" / "a_safe.tlb", SAFE)
    write_fake(tmp_path / "specs" / "noexpect.tlb", NOEXPECT)
    (tmp_path / "specs" / "notes.txt").write_text("not a spec")
    return tmp_path


LOG_LINE = re.compile(r"^\[\d+/\d+\] ")  # a finished run, streamed when stdout is no terminal


def run_cli(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The exit code, stdout without the streamed lines (the table first), stderr."""
    code = cli.main(["suite", "--no-color", *argv])
    out, err = capsys.readouterr()
    return code, "".join(ln for ln in out.splitlines(True) if not LOG_LINE.match(ln)), err


def table_rows(out: str) -> list[list[str]]:
    lines = out.split("\n\n")[0].splitlines()
    return [ln.split() for ln in lines[2:]]


# ---------------------------------------------------------------- collection and table


def test_find_specs_recursive_sorted_and_deduplicated(tree: Path) -> None:
    found = suite.find_specs(["specs", "specs/b/racy.tlb"])
    assert [p.as_posix() for p in found] == [
        "specs/a_safe.tlb",
        "specs/b/racy.tlb",
        "specs/noexpect.tlb",
    ]


def test_all_pass_table_and_last_line(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys=capsys)  # PATH defaults to specs/
    assert code == 0
    assert out.splitlines()[0].split() == suite.HEADERS
    rows = table_rows(out)
    assert [(r[1], r[2]) for r in rows] == [
        ("specs/a_safe.tlb", "sc"),
        ("specs/a_safe.tlb", "tso"),
        ("specs/b/racy.tlb", "sc"),
        ("specs/b/racy.tlb", "pso"),
        ("specs/noexpect.tlb", "tso"),
    ]  # no expect: the declared model, expecting safe
    assert all(r[0] == "ok" for r in rows)
    racy = out.splitlines()[2 + 3]
    assert "race stale-translation, use-after-free" in racy
    assert out.count("race stale-translation, use-after-free") == 2  # expected and got
    assert out.splitlines()[-1] == "5 passed, 0 failed"
    assert "counted as failed" not in out


def test_mismatch_is_detailed_and_exits_1(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake(tree / "specs" / "wrong.tlb", WRONG)
    code, out, _ = run_cli("specs", capsys=capsys)
    assert code == 1
    assert out.splitlines()[-1] == "5 passed, 1 failed"
    detail = out[out.index("FAIL: specs/wrong.tlb under tso") :]
    assert "expected: safe" in detail
    assert "got:      race use-after-free" in detail
    assert "use-after-free under tso" in detail  # the trace text
    assert "read V" in detail


def test_bad_input_and_inconclusive_count_as_failed(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fake(tree / "specs" / "bad.tlb", BAD)
    write_fake(tree / "specs" / "limit.tlb", LIMIT)
    code, out, _ = run_cli(capsys=capsys)
    assert code == 2  # bad input comes before inconclusive (README's exit codes)
    lines = out.splitlines()
    assert lines[-1] == "5 passed, 2 failed"
    assert lines[-2] == "counted as failed: 1 inconclusive, 1 bad input"
    assert "specs/bad.tlb:1:2: error: unknown frame `Q`" in out  # the diagnostic
    assert "reason:   state limit reached" in out
    # the other specs still ran
    assert sum(r[0] == "ok" for r in table_rows(out)) == 5


def test_inconclusive_alone_exits_3(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake(tree / "specs" / "limit.tlb", LIMIT)
    assert run_cli(capsys=capsys)[0] == 3


def test_missing_path_exits_2(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli("specs", "nowhere", capsys=capsys)
    assert code == 2
    assert "nowhere" in err


def _timeless(out: str) -> str:
    return re.sub(r"\d+\.\d\ds", "T", out)


def test_jobs_2_same_output_as_jobs_1(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake(tree / "specs" / "wrong.tlb", WRONG)
    write_fake(tree / "specs" / "bad.tlb", BAD)
    one = run_cli("--jobs", "1", capsys=capsys)
    two = run_cli("--jobs", "2", capsys=capsys)
    assert one[0] == two[0] == 1
    assert _timeless(one[1]) == _timeless(two[1])


def test_junit_xml(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake(tree / "specs" / "wrong.tlb", WRONG)
    write_fake(tree / "specs" / "bad.tlb", BAD)
    write_fake(tree / "specs" / "limit.tlb", LIMIT)
    (tree / "out").mkdir()
    code, _, _ = run_cli("--junit", "out/report.xml", capsys=capsys)
    assert code == 1
    top = ET.parse(tree / "out" / "report.xml").getroot()
    assert top.tag == "testsuites"
    (ts,) = top.findall("testsuite")
    cases = ts.findall("testcase")
    assert ts.get("tests") == str(len(cases)) == "8"
    assert ts.get("failures") == "2" and ts.get("errors") == "1"
    by_id = {(c.get("classname"), c.get("name")): c for c in cases}
    wrong = by_id[("specs/wrong.tlb", "tso")].find("failure")
    assert wrong is not None
    assert wrong.get("message") == "expected safe, got race use-after-free"
    assert "read V" in (wrong.text or "")
    bad = by_id[("specs/bad.tlb", "-")].find("error")
    assert bad is not None and "unknown frame" in (bad.text or "")
    ok = by_id[("specs/a_safe.tlb", "sc")]
    assert list(ok) == []


def test_junit_survives_control_characters() -> None:
    o = suite.Outcome("x.tlb", "sc", "safe", suite.ERROR, error="bad \x01 byte & <tag>")
    data = junit_xml([o])
    assert "bad ? byte & <tag>" in (ET.fromstring(data).find(".//error").text or "")  # type: ignore[union-attr]


def test_colour_only_when_asked(tree: Path) -> None:
    out = io.StringIO()
    suite_main(SuiteOptions(paths=("specs",), no_color=True), out, io.StringIO())
    assert "\x1b[" not in out.getvalue()


# ---------------------------------------------------------------- counterexamples


def _cx(tree: Path) -> list[str]:
    return sorted(p.name for p in (tree / "counterexamples").glob("*.json"))


def test_update_counterexamples_writes_relative_sorted_json(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "pyproject.toml").write_text("")
    code, out, _ = run_cli("--update-counterexamples", capsys=capsys)
    assert code == 0
    assert _cx(tree) == [
        "specs__b__racy.pso.stale-translation.json",
        "specs__b__racy.pso.use-after-free.json",
    ]
    assert "counterexamples/: 2 written, 0 unchanged, 0 removed" in out
    assert out.splitlines()[-1] == "5 passed, 0 failed"
    text = (tree / "counterexamples" / "specs__b__racy.pso.use-after-free.json").read_text()
    assert str(tree) not in text
    data = json.loads(text)
    assert data["file"] == "specs/b/racy.tlb"
    assert data["steps"][0]["span"]["file"] == "specs/b/racy.tlb"
    assert data["problem"]["message"] == "use-after-free at specs/b/racy.tlb:3:5"
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    # a second run changes nothing, byte for byte
    run_cli("--update-counterexamples", "--jobs", "2", capsys=capsys)
    assert (tree / "counterexamples" / "specs__b__racy.pso.use-after-free.json").read_text() == text


def test_update_counterexamples_deletes_stale_ones(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "pyproject.toml").write_text("")
    run_cli("--update-counterexamples", capsys=capsys)
    cx = tree / "counterexamples"
    (cx / "specs__a_safe.tso.hang.json").write_text("{}")  # stale: a_safe was run
    (cx / "specs__other.tso.hang.json").write_text('{"file": "specs/other.tlb"}')  # orphan
    (cx / "README.md").write_text("not a trace")
    racy = dict(
        RACY,
        runs={
            "sc": {"expect": "safe"},
            "pso": {"expect": "race use-after-free", "kinds": ["use-after-free"]},
        },
    )
    write_fake(tree / "specs" / "b" / "racy.tlb", racy)
    _, out, _ = run_cli("--update-counterexamples", capsys=capsys)
    assert "0 written, 1 unchanged, 3 removed" in out
    assert _cx(tree) == ["specs__b__racy.pso.use-after-free.json"]
    assert (cx / "README.md").exists()


def test_update_keeps_traces_of_unfinished_runs(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "pyproject.toml").write_text("")
    run_cli("--update-counterexamples", capsys=capsys)
    write_fake(
        tree / "specs" / "b" / "racy.tlb",
        {"runs": {"pso": {"expect": "race", "verdict": "inconclusive"}}},
    )
    run_cli("--update-counterexamples", capsys=capsys)
    assert len(_cx(tree)) == 2
    # and a spec that no longer loads keeps its traces too
    write_fake(tree / "specs" / "b" / "racy.tlb", BAD)
    run_cli("--update-counterexamples", capsys=capsys)
    assert len(_cx(tree)) == 2


# ---------------------------------------------------------------- the real engine


def test_real_examples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    specs = [str(EXAMPLES / n) for n in ("eager_fenced.tlb", "eager_missing_fence.tlb")]
    code, out, _ = run_cli(*specs, "--jobs", "2", capsys=capsys)
    assert code == 0, out
    assert out.splitlines()[-1].endswith("passed, 0 failed")


def test_real_wrong_expect_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (EXAMPLES / "eager_missing_fence.tlb").read_text()
    text = re.sub(r"(?m)^expect .*$", "", text) + "\nexpect safe\n"
    spec = tmp_path / "wrong.tlb"
    spec.write_text(text)
    code, out, _ = run_cli(str(spec), capsys=capsys)
    assert code == 1, out
    assert "FAIL: " in out and "expected: safe" in out
    assert re.search(r"\d+ passed, [1-9]\d* failed$", out.rstrip())


def test_limits_reach_the_engine(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from verifier import api

    seen: list[dict[str, Any]] = []

    def recording(path: str, models: list[str] | None, defines: Any, **kw: Any) -> list[Result]:
        seen.append(kw)
        return _fake_check_file(path, models, defines)

    monkeypatch.setattr(api, "check_file", recording)
    args = ("--max-states", "500", "--timeout", "2.5", "--max-memory", "300")
    run_cli("specs/a_safe.tlb", *args, capsys=capsys)
    assert seen == [{"max_states": 500, "timeout": 2.5, "max_memory": 300.0}] * 2
    seen.clear()
    run_cli("specs/a_safe.tlb", capsys=capsys)
    # the engine's own defaults, but a memory limit always
    assert [set(kw) for kw in seen] == [{"max_memory"}] * 2


# ---------------------------------------------------------------- CI logs and Ctrl-C


class _Log(io.StringIO):
    """A file that is no terminal and counts its flushes."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_a_line_per_finished_run_is_flushed_when_stdout_is_no_terminal(tree: Path) -> None:
    out = _Log()
    assert suite_main(SuiteOptions(paths=("specs",), no_color=True), out, io.StringIO()) == 0
    lines = out.getvalue().splitlines()
    assert [re.sub(r"  [0-9.]+s$", "", ln) for ln in lines[:5]] == [
        "[1/5] ok  specs/a_safe.tlb  sc  safe  7 states",
        "[2/5] ok  specs/a_safe.tlb  tso  safe  7 states",
        "[3/5] ok  specs/b/racy.tlb  sc  safe  7 states",
        "[4/5] ok  specs/b/racy.tlb  pso  race stale-translation, use-after-free  27 states",
        "[5/5] ok  specs/noexpect.tlb  tso  safe  7 states",
    ]
    assert out.flushes >= 5
    assert lines[5].split() == suite.HEADERS  # then the table, as before


def test_on_a_terminal_no_lines_are_streamed(tree: Path) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    assert suite_main(SuiteOptions(paths=("specs",), no_color=True), out, io.StringIO()) == 0
    assert out.getvalue().splitlines()[0].split() == suite.HEADERS


def test_ctrl_c_keeps_the_finished_runs_table_junit_and_lists_the_rest(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, calls = suite.run_job, []

    def stopped_at_the_fourth(job: suite.Job, limits: suite.Limits | None = None) -> suite.Outcome:
        calls.append(job)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(job, limits)

    monkeypatch.setattr(suite, "run_job", stopped_at_the_fourth)
    out, err = io.StringIO(), io.StringIO()
    opts = SuiteOptions(paths=("specs",), junit="j.xml", unfinished="left.txt", no_color=True)
    assert suite_main(opts, out, err) == 130
    text = out.getvalue()
    assert "interrupted: the 3 runs that finished" in text
    assert text.splitlines()[-1] == "3 passed, 0 failed"
    assert "specs/b/racy.tlb  sc" in text and "pso" not in text.split("finished")[1]
    assert ET.parse(tree / "j.xml").getroot().get("tests") == "3"
    assert (tree / "left.txt").read_text() == "specs/b/racy.tlb pso\nspecs/noexpect.tlb tso\n"
    assert "2 of 5 runs not finished, listed in left.txt" in err.getvalue()
