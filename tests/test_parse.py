"""Parser tests: the AST the grammar produces, spans, syntax errors, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, tlb_files

from verifier.cli import main as cli
from verifier.lang import ast
from verifier.lang.diagnostics import SpecError
from verifier.lang.parse import parse_text
from verifier.lang.span import Span
from verifier.lang.to_ast_decls import canonical_perms


def body(text: str) -> tuple[ast.Stmt, ...]:
    """The statements of a single core whose body is `text`."""
    (core,) = parse_text(f"core c {{\n{text}\n}}\n", "t.tlb").decls
    assert isinstance(core, ast.CoreDecl)
    return core.body


def expr(text: str) -> ast.Expr:
    (param,) = parse_text(f"param N = {text}\n", "t.tlb").decls
    assert isinstance(param, ast.ParamDecl)
    return param.value


def syntax_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        parse_text(text, "t.tlb")
    (diag,) = info.value.diagnostics
    return diag.message


def test_all_examples_parse() -> None:
    for path in tlb_files(EXAMPLES):
        spec = parse_text(path.read_text(), str(path))
        assert spec.decls and spec.file == str(path)


def test_empty_and_comment_only() -> None:
    assert parse_text("", "e.tlb").decls == ()
    assert parse_text("// just a comment\n\n  // another\n", "e.tlb").decls == ()


def test_top_level_declarations() -> None:
    text = """\
spec "a \\"b\\" c"
model tso
option walker = on-miss
option buffer = 8
frame A, B
page V -> A wr
page K -> B xr global
page U invalid
space P asid 0x10 { page V -> A r; page U invalid }
var seen[cpu] : 0..3 = 1
core cpu[1..N] in P { skip }
handler h() { skip }
expect race stale-translation, use-after-free under tso, pso
"""
    d = parse_text(text, "t.tlb").decls
    assert d[0] == ast.SpecTitle('a "b" c')
    assert d[1] == ast.ModelDecl("tso")
    assert d[2] == ast.OptionDecl("walker", "on-miss")
    assert d[3] == ast.OptionDecl("buffer", 8)
    assert d[4] == ast.FrameDecl((ast.Ident("A"), ast.Ident("B")))
    assert d[5] == ast.PageDecl("V", ast.Mapping("A", "rw"))
    assert d[6] == ast.PageDecl("K", ast.Mapping("B", "rx", True))
    assert d[7] == ast.PageDecl("U", ast.Invalid())
    assert d[8] == ast.SpaceDecl(
        "P",
        ast.Num(16),
        (ast.PageDecl("V", ast.Mapping("A", "r")), ast.PageDecl("U", ast.Invalid())),
    )
    assert d[9] == ast.VarDecl("seen", "cpu", ast.Num(1), ast.Num(0), ast.Num(3))
    assert d[10] == ast.CoreDecl("cpu", ast.Num(1), ast.Name("N"), "P", (ast.Skip(),))
    assert d[11] == ast.HandlerDecl("h", (), (ast.Skip(),))
    assert d[12] == ast.ExpectDecl("race", ("stale-translation", "use-after-free"), ("tso", "pso"))


def test_statements() -> None:
    stmts = body(
        """\
    pte P.V := B rw global; pte V := invalid
    x := 1; seen[self] := r; seen[cpu[2]] := 0
    r := fetch_add(x, 1); r := swap(seen[c], 2); r := cas(x, 0, 1); x += 2
    fence; fence release; fence acquire
    ipi cpu[*], init, others, all flush(V, P.V, n + 1)
    ipi c h; ipi c h()
    invlpg V; invlpg P.V; flush asid P; flush all
    read V; write V; exec P.V; switch P; free A; complete V
    await x == 1; irq off; irq on; assert r < 3; skip
    for d in cpu[1] { loop { repeat N + 1 { while r { skip } } } }"""
    )
    idx2 = ast.TargetIndex("cpu", ast.Num(2))
    assert stmts[:4] == (
        ast.PteWrite(ast.PageRef("P", "V"), ast.Mapping("B", "rw", True)),
        ast.PteWrite(ast.PageRef(None, "V"), ast.Invalid()),
        ast.Assign(ast.Name("x"), ast.Num(1)),
        ast.Assign(ast.Index("seen", ast.SelfRef()), ast.Name("r")),
    )
    assert stmts[4] == ast.Assign(ast.Index("seen", idx2), ast.Num(0))
    assert stmts[5:9] == (
        ast.Atomic("r", "fetch_add", ast.Name("x"), (ast.Num(1),)),
        ast.Atomic("r", "swap", ast.Index("seen", ast.Name("c")), (ast.Num(2),)),
        ast.Atomic("r", "cas", ast.Name("x"), (ast.Num(0), ast.Num(1))),
        ast.Atomic(None, "+=", ast.Name("x"), (ast.Num(2),)),
    )
    assert [s.kind for s in stmts[9:12]] == ["full", "release", "acquire"]  # type: ignore[union-attr]
    ipi = stmts[12]
    assert ipi == ast.Ipi(
        (ast.TargetFamily("cpu"), ast.TargetName("init"), ast.TargetOthers(), ast.TargetAll()),
        "flush",
        (ast.Name("V"), ast.PageName("P", "V"), ast.Binary("+", ast.Name("n"), ast.Num(1))),
    )
    assert stmts[13] == stmts[14] == ast.Ipi((ast.TargetName("c"),), "h", ())
    assert isinstance(stmts[14], ast.Ipi) and stmts[14].has_parens
    kinds = [type(s).__name__ for s in stmts[15:]]
    assert kinds == [
        "Invlpg", "Invlpg", "FlushAsid", "FlushAll", "Access", "Access", "Access", "Switch",
        "Free", "Complete", "Await", "Irq", "Irq", "Assert", "Skip", "For",
    ]  # fmt: skip
    loop = stmts[-1]
    assert isinstance(loop, ast.For) and loop.over == ast.TargetIndex("cpu", ast.Num(1))


def test_keywords_are_reserved_only_where_expected() -> None:
    spec = parse_text(
        "handler flush(p) { invlpg p }\nhandler read { skip }\n"
        "var all = 0\ncore c { ipi c flush(V); ipi others read; r := all + 1 }\n",
        "t.tlb",
    )
    core = spec.decls[3]
    assert isinstance(core, ast.CoreDecl)
    assert core.body[0] == ast.Ipi((ast.TargetName("c"),), "flush", (ast.Name("V"),))
    assert core.body[2] == ast.Assign(ast.Name("r"), ast.Binary("+", ast.Name("all"), ast.Num(1)))


def test_else_on_the_next_line_and_chains() -> None:
    stmts = body("if a { x := 1 }\n// why\n\nelse if b { skip }\nelse { flush all }\nskip")
    assert stmts == (
        ast.If(
            ast.Name("a"),
            (ast.Assign(ast.Name("x"), ast.Num(1)),),
            (ast.If(ast.Name("b"), (ast.Skip(),), (ast.FlushAll(),)),),
        ),
        ast.Skip(),
    )


def test_else_block_holding_an_if_is_closed() -> None:
    assert "already has an 'else'" in syntax_error(
        "core c {\n if a { skip } else { if b { skip } }\n else { skip }\n}"
    )


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("1 + 2 * 3", ast.Binary("+", ast.Num(1), ast.Binary("*", ast.Num(2), ast.Num(3)))),
        ("1 - 2 - 3", ast.Binary("-", ast.Binary("-", ast.Num(1), ast.Num(2)), ast.Num(3))),
        ("-x % 2", ast.Binary("%", ast.Unary("-", ast.Name("x")), ast.Num(2))),
        ("!a || b && c", ast.Binary("||", ast.Unary("!", ast.Name("a")),
                                    ast.Binary("&&", ast.Name("b"), ast.Name("c")))),
        ("a < b == c", ast.Binary("==", ast.Binary("<", ast.Name("a"), ast.Name("b")),
                                  ast.Name("c"))),
        ("(1 + 2) * 3", ast.Binary("*", ast.Binary("+", ast.Num(1), ast.Num(2)), ast.Num(3))),
        ("0x1F", ast.Num(31)),
        ("123456789012345678901234567890", ast.Num(123456789012345678901234567890)),
    ],
)  # fmt: skip
def test_expressions(text: str, tree: ast.Expr) -> None:
    assert expr(text) == tree


def test_perms_are_canonical() -> None:
    assert canonical_perms("xwr") == "rwx"
    assert canonical_perms("wr") == "rw"
    assert canonical_perms("rr") == "rr"  # kept for the checker to report
    assert canonical_perms("rq") == "rq"


def test_spans() -> None:
    spec = parse_text("frame A\n\ncore c {\n    read  A_page\n}\n", "s.tlb")
    core = spec.decls[1]
    assert isinstance(core, ast.CoreDecl)
    assert core.span == Span("s.tlb", 3, 1, 5, 2)
    (access,) = core.body
    assert access.span == Span("s.tlb", 4, 5, 4, 17)
    assert isinstance(access, ast.Access) and access.page.span == Span("s.tlb", 4, 11, 4, 17)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("page V A rw", "expected '->' after the page name"),
        ("core c {\n x = 1\n}", "expected ':=' to assign"),
        ("param N := 1", "expected '='"),
        ("core c {\n skip\n", "a '}' is missing"),
        ("core c { 7 }", "unexpected '7'; expected a statement or '}'"),
        ("core c { r := }", "expected an expression"),
        ("core c { fence sideways }", "unexpected 'sideways'"),
        ("frame A $", "unexpected character '$'"),
        ('spec "open', "unterminated string"),
        ("core c { r := min(x, 1) }", "unknown operation 'min'"),
        ("core c { seen[1] := fetch_add(x, 1) }", "must go to a register"),
        ("core c { r := swap(1, 2) }", "needs a shared word"),
        ("core c { else { skip } }", "'else' without an 'if'"),
        ("}", "unexpected '}'; expected a declaration"),
    ],
)
def test_syntax_errors(text: str, message: str) -> None:
    assert message in syntax_error(text)


def test_deep_nesting_is_a_diagnostic() -> None:
    """Any depth parses (without recursion); loading reports the first block past the
    language's limit where it stands."""
    from verifier.lang.frontend import load_text

    text = "core c {\n" + "loop {\n" * 5000 + "}\n" * 5000 + "}\n"
    parse_text(text, "t.tlb")
    with pytest.raises(SpecError) as info:
        load_text(text, "t.tlb", [])
    (diag,) = info.value.diagnostics
    assert "`loop` nested 65 blocks deep" in diag.message
    assert (diag.span.line, diag.span.col) == (66, 1)


# ---------------------------------------------------------------- the CLI


def test_cli_parse_prints_canonical_text(capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES / "eager_fenced.tlb"
    assert cli.main(["parse", str(path), "-D", "N=4"]) == cli.EXIT_OK
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith('spec "eager shootdown, fenced"\n\nparam N = 4\n')
    assert "    ipi cpu[*] flush(V)\n" in out
    original = parse_text(path.read_text(), "y.tlb").decls
    expected = tuple(
        ast.ParamDecl("N", ast.Num(4)) if isinstance(d, ast.ParamDecl) else d for d in original
    )
    assert parse_text(out, "x.tlb").decls == expected


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (["missing.tlb"], "tlbcheck: error: cannot read 'missing.tlb': no such file"),
        (["."], "tlbcheck: error: '.' is a directory, not a spec file"),
        ([str(EXAMPLES / "eager_fenced.tlb"), "-D", "N"], "tlbcheck: error: -D N: expected"),
        ([str(EXAMPLES / "eager_fenced.tlb"), "-D", "Q=1"], "tlbcheck: error: -D Q=1: the spec"),
    ],
)
def test_cli_bad_input(
    args: list[str], first_line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["parse", *args]) == cli.EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(first_line)


def test_cli_subprocess_exit_code_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tlb"
    bad.write_bytes(b"core c {\n    r := x +\n}\n")
    run = subprocess.run(
        [sys.executable, "-m", "verifier", "parse", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith(
        f"{bad}:2:13: error: unexpected end of line; expected an expression"
    )
