""" "Did you mean" for every name a spec uses and for the command line's choices."""

from __future__ import annotations

import pytest

from verifier.cli import main as cli
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text
from verifier.lang.parse_hints import closest

BASE = """param N = 2
frame A, B
page Vjit -> A rw
var acks = 0
core init {
    STMT
}
core cpu[1..N] {
    read Vjit
}
handler flush(page1) {
    invlpg page1
    acks += 1
}
"""


def _error(text: str, defines: tuple[str, ...] = ()) -> str:
    with pytest.raises(SpecError) as info:
        load_text(text, "x.tlb", list(defines))
    return str(info.value)


@pytest.mark.parametrize(
    ("stmt", "hint"),
    [
        ("invlpg Vjti", "unknown page 'Vjti'; did you mean 'Vjit'?"),
        ("pte Vjit := Bb rw", "unknown frame 'Bb'; did you mean 'B'?"),
        ("free Aa", "unknown frame 'Aa'; did you mean 'A'?"),
        ("ackz += 1", "did you mean 'acks'?"),
        ("ipi cpu[*] flsh(Vjit)", "unknown handler 'flsh'; did you mean 'flush'?"),
        ("ipi cpuu[*] flush(Vjit)", "unknown core family 'cpuu'; did you mean 'cpu'?"),
        ("ipi inti flush(Vjit)", "did you mean 'init'?"),
        ("await acks == NN", "did you mean 'N'?"),
        ("switch Pspac", "unknown space 'Pspac'"),
    ],
)
def test_names_in_statements(stmt: str, hint: str) -> None:
    assert hint in _error(BASE.replace("STMT", stmt))


def test_spaces_handler_parameters_params_models_options_and_kinds() -> None:
    spaces = "frame A\nspace Pspace asid 1 { page V -> A rw }\ncore c in Pspace { switch Pspce }\n"
    assert "unknown space 'Pspce'; did you mean 'Pspace'?" in _error(spaces)
    param = BASE.replace("STMT", "skip").replace("invlpg page1", "invlpg pag1")
    assert "unknown page 'pag1'; did you mean 'page1'?" in _error(param)
    ok = BASE.replace("STMT", "skip")
    assert "declares no param 'NX'; did you mean 'N'?" in _error(ok, ("NX=3",))
    assert (
        "unknown model 'psoo' (expected sc, tso, pso, arm, riscv); did you mean 'pso'?"
        in _error("model psoo\n" + ok)
    )
    assert "did you mean 'tso'?" in _error(ok + "expect safe under tsoo\n")
    assert "did you mean 'walker'?" in _error("option walkr = on-miss\n" + ok)
    assert "did you mean 'speculative'?" in _error("option walker = specultive\n" + ok)
    assert "did you mean 'stale-permission'?" in _error(ok + "expect race stale-permision\n")
    assert "did you mean 'hang'?" in _error(ok + "expect hnag\n")


def test_short_names_and_case() -> None:
    assert closest("NN", ["N", "M"]) == "N"
    assert closest("vjit", ["Vjit"]) == "Vjit"
    assert closest("x", ["y"]) is None  # one letter: no guess
    assert closest("colour", ["walker", "ipi", "buffer"]) is None


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["chek", "x.tlb"], "did you mean 'check'?"),
        (["check", "x.tlb", "--model", "psoo"], "did you mean 'pso'?"),
        (["check", "x.tlb", "--stict"], "for --stict, did you mean '--strict'?"),
        (["show", "t.json", "--format", "svgg"], "did you mean 'svg'?"),
    ],
)
def test_command_line_choices(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    assert hint in capsys.readouterr().err
