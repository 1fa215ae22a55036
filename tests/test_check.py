"""Checker tests: golden diagnostics for bad inputs, and the tables of a good spec.

Each `tests/golden/diagnostics/NAME.tlb` sits beside `NAME.expected`, the exact
text `tlbcheck parse NAME.tlb` writes to stderr. A first line `// -D N=3 ...`
passes those defines. Regenerate after a deliberate change with
`pytest tests/test_check.py --update-golden` and review the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import tlb_files

from verifier.cli import main as cli
from verifier.lang import ast
from verifier.lang.checked import DEFAULT_SPACE
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text

GOLDEN = Path(__file__).parent / "golden" / "diagnostics"
CASES = [p.stem for p in tlb_files(GOLDEN)]
LOCATION = re.compile(r"^(\S+):(\d+):(\d+): (error|note): ", re.MULTILINE)


def _defines(path: Path) -> list[str]:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    m = re.match(r"//((?:\s+-D\s+\S+)+)", first)
    return re.findall(r"-D\s+(\S+)", m.group(1)) if m else []


def test_there_are_enough_golden_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_golden_diagnostics(
    name: str,
    update_golden: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(GOLDEN)
    spec = f"{name}.tlb"
    argv = ["parse", spec]
    for d in _defines(GOLDEN / spec):
        argv += ["-D", d]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == cli.EXIT_BAD_INPUT, f"{name} should be rejected"
    assert out == ""
    assert "Traceback" not in err
    expected = GOLDEN / f"{name}.expected"
    if update_golden:
        expected.write_text(err)
    assert err == expected.read_text()
    _assert_located(err, spec)


def _assert_located(err: str, spec: str) -> None:
    """Each diagnostic names file:line:col, then shows the source line and a caret."""
    lines = err.splitlines()
    assert lines[0].startswith(f"{spec}:") or lines[0].startswith("tlbcheck: error:")
    for i, line in enumerate(lines):
        m = LOCATION.match(line)
        if m and m.group(1) == spec:
            assert lines[i + 2].strip().startswith("^"), line


def test_every_golden_input_has_expected_output() -> None:
    expected = sorted(p.stem for p in GOLDEN.glob("*.expected"))
    assert expected == CASES


# ---------------------------------------------------------------- good specs

SPEC = """\
spec "tables"
model tso
param N = 2
option walker = on-miss
option ipi = ordered
option buffer = 2
frame A, B
space P asid 1 {
    page V -> A rw
    page U invalid
}
space Q asid 1 { page V -> B rx global }
var acks : 0..7 = 0
var seen[cpu] = 0
core init in P {
    ipi cpu[*] flush(V, 1)
    await acks == N
}
core cpu[1..N] in Q {
    seen[self] := 1
}
handler flush(p, n) {
    invlpg p
    acks += n
}
expect safe under sc
expect race asid-reuse under tso, pso
"""


def test_checked_tables() -> None:
    c = load_text(SPEC, "t.tlb", ["N=3"])
    assert c.title == "tables" and c.model == "tso"
    assert c.params == (("N", 3),)
    assert (c.walker, c.ipi, c.buffer) == ("on-miss", "ordered", 2)
    assert c.frames == ("A", "B") and c.pages == ("V", "U")
    assert [(s.name, s.asid, [p for p, _ in s.entries]) for s in c.spaces] == [
        ("P", 1, ["V", "U"]),
        ("Q", 1, ["V"]),
    ]
    assert [(v.name, v.family, v.init, v.lo, v.hi) for v in c.vars] == [
        ("acks", None, 0, 0, 7),
        ("seen", "cpu", 0, 0, 15),
    ]
    assert c.families == (("cpu", 1, 3),)
    assert [(k.name, k.family, k.index, k.space) for k in c.cores] == [
        ("init", None, None, "P"),
        ("cpu[1]", "cpu", 1, "Q"),
        ("cpu[2]", "cpu", 2, "Q"),
        ("cpu[3]", "cpu", 3, "Q"),
    ]
    (h,) = c.handlers
    assert (h.name, h.params, h.param_kinds) == ("flush", ("p", "n"), ("page", "int"))
    assert c.expect_for("sc") is not None and c.expect_for("sc").verdict == "safe"  # type: ignore[union-attr]
    assert c.expect_for("pso").kinds == ("asid-reuse",)  # type: ignore[union-attr]


def test_defaults() -> None:
    c = load_text("frame A\npage V -> A rw\ncore c { read V }\n", "dir/my_spec.tlb", [])
    assert c.title == "my_spec" and c.model == "pso"
    assert (c.walker, c.ipi, c.buffer) == ("speculative", "unordered", 0)
    (space,) = c.spaces
    assert space.name == DEFAULT_SPACE and space.asid == 0
    assert space.entries == (("V", ast.Mapping("A", "rw")),)
    assert c.cores[0].space == DEFAULT_SPACE


@pytest.mark.parametrize("text", ["", "// nothing yet\n", "frame A\npage V -> A rw\n"])
def test_a_spec_without_cores_is_an_error(text: str) -> None:
    with pytest.raises(SpecError) as e:
        load_text(text, "empty.tlb", [])
    (d,) = e.value.diagnostics
    assert d.message == "the spec declares no cores" and (d.span.line, d.span.col) == (1, 1)


def test_single_space_is_the_start_space() -> None:
    c = load_text("frame A\nspace P asid 3 { page V -> A r }\ncore c { read V }\n", "s.tlb", [])
    assert c.cores[0].space == "P"


def test_param_kinds_flow_through_ipis() -> None:
    text = """\
frame A
page V -> A rw
core c { ipi c outer(V) }
handler outer(q) { ipi c inner(q) }
handler inner(p) { invlpg p }
"""
    c = load_text(text, "k.tlb", [])
    assert [h.param_kinds for h in c.handlers] == [("page",), ("page",)]


def test_later_params_see_overrides() -> None:
    c = load_text("param N = 2\nparam M = N + 1\ncore c { skip }\n", "p.tlb", ["N=5"])
    assert c.params == (("N", 5), ("M", 6))


def test_errors_are_sorted_and_all_reported() -> None:
    text = "core c {\n    r := nope\n}\nmodel bad\nframe A, A\n"
    with pytest.raises(SpecError) as info:
        load_text(text, "e.tlb", [])
    lines = [d.span.line for d in info.value.diagnostics]
    assert lines == sorted(lines) and len(lines) == 3


ONE_WORD = ["r := x", "x := r + 1", "r := fetch_add(x, 1)", "x += r", "r := cas(x, 0, 1)"]
TWO_WORDS = ["seen[self] := x", "r := x * x", "x += x", "r := swap(x, seen[self])", "await x < y"]


@pytest.mark.parametrize("body", ONE_WORD + TWO_WORDS)
def test_at_most_one_shared_word(body: str) -> None:
    text = (
        f"var x = 0\nvar y = 0\nvar seen[cpu] = 0\ncore cpu[1..2] {{\n    r := 0\n    {body}\n}}\n"
    )
    if body in ONE_WORD:
        load_text(text, "w.tlb", [])
        return
    with pytest.raises(SpecError) as info:
        load_text(text, "w.tlb", [])
    assert "more than one shared word" in str(info.value)
