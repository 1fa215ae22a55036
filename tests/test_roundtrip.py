"""parse -> print -> parse round trips: the shared examples, every spec in specs/,
and random ASTs from a Hypothesis strategy.

For every spec `s`: `parse(print(s)) == s` (spans ignored) and printing is
idempotent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES, SPECS, tlb_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier.lang import ast
from verifier.lang.frontend import load
from verifier.lang.parse import keywords, parse_text
from verifier.lang.printer import format_checked, format_spec

FILES = tlb_files(EXAMPLES) + tlb_files(SPECS, "**/*.tlb")


def _roundtrip(spec: ast.Spec) -> str:
    text = format_spec(spec)
    again = parse_text(text, "printed.tlb")
    assert again == spec, text
    assert format_spec(again) == text
    return text


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(p.parents[1])))
def test_file_roundtrip(path: Path) -> None:
    checked = load(str(path), [])
    _roundtrip(checked.spec)
    # The canonical text is itself a valid spec with the same meaning.
    text = format_checked(checked)
    assert parse_text(text, "x.tlb") == checked.spec


def test_examples_are_present() -> None:
    assert len(tlb_files(EXAMPLES)) >= 7


def test_format_checked_uses_effective_params() -> None:
    checked = load(str(EXAMPLES / "eager_fenced.tlb"), ["N=3"])
    assert "param N = 3\n" in format_checked(checked)


# ---------------------------------------------------------------- the AST strategy

KEYWORDS = keywords()
# Names near the keywords (prefixes, suffixes, other case) test that only whole
# keywords are reserved; `flush`-like handler names must stay usable.
NAMES = ["a", "x", "V", "cpu", "_t0", "Flush", "flush_v", "selfish", "in_", "iff", "r2", "ALL"]
assert not KEYWORDS & set(NAMES)
names = st.sampled_from(NAMES)
dashed = st.lists(names, min_size=1, max_size=3).map("-".join)
perms = st.sampled_from(["r", "w", "x", "rw", "rx", "wx", "rwx"])
BINOPS = ["||", "&&", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%"]


def _exprs(allow_index: bool) -> st.SearchStrategy[ast.Expr]:
    leaves: list[st.SearchStrategy[ast.Expr]] = [
        st.integers(0, 2**40).map(ast.Num),
        names.map(ast.Name),
        st.just(ast.SelfRef()),
    ]
    if allow_index:
        simple = _exprs(False)
        index_sub = st.one_of(simple, st.builds(ast.TargetIndex, names, simple))
        leaves.append(st.builds(ast.Index, names, index_sub))
    return st.recursive(
        st.one_of(leaves),
        lambda sub: st.one_of(
            st.builds(ast.Unary, st.sampled_from(["-", "!"]), sub),
            st.builds(ast.Binary, st.sampled_from(BINOPS), sub, sub),
        ),
        max_leaves=6,
    )


exprs = _exprs(True)
lvalues = st.one_of(names.map(ast.Name), st.builds(ast.Index, names, _exprs(False)))
targets = st.one_of(
    names.map(ast.TargetName),
    st.builds(ast.TargetIndex, names, exprs),
    names.map(ast.TargetFamily),
    st.just(ast.TargetOthers()),
    st.just(ast.TargetAll()),
)
page_refs = st.builds(ast.PageRef, st.none() | names, names)
pte_values = st.one_of(st.builds(ast.Mapping, names, perms, st.booleans()), st.just(ast.Invalid()))
ipi_args = st.one_of(exprs, st.builds(ast.PageName, names, names))


def _atomic(dest: str, op: str, target: ast.Name | ast.Index, args: list[ast.Expr]) -> ast.Atomic:
    n = {"fetch_add": 1, "swap": 1, "cas": 2, "+=": 1}[op]
    return ast.Atomic(None if op == "+=" else dest, op, target, tuple(args[:n]))


simple_stmts = st.one_of(
    st.builds(ast.PteWrite, page_refs, pte_values),
    st.builds(ast.Assign, lvalues, exprs),
    st.builds(
        _atomic,
        names,
        st.sampled_from(["fetch_add", "swap", "cas", "+="]),
        lvalues,
        st.lists(exprs, min_size=2, max_size=2),
    ),
    st.builds(ast.Fence, st.sampled_from(["full", "release", "acquire"])),
    st.builds(
        ast.Ipi,
        st.lists(targets, min_size=1, max_size=3).map(tuple),
        names,
        st.lists(ipi_args, max_size=3).map(tuple),
    ),
    st.builds(ast.Invlpg, page_refs),
    st.builds(ast.FlushAsid, names),
    st.just(ast.FlushAll()),
    st.builds(ast.Access, st.sampled_from(["read", "write", "exec"]), page_refs),
    st.builds(ast.Switch, names),
    st.builds(ast.Free, names),
    st.builds(ast.Complete, page_refs),
    st.builds(ast.Await, exprs),
    st.builds(ast.Irq, st.booleans()),
    st.builds(ast.Assert, exprs),
    st.just(ast.Skip()),
)


def _compound(body: st.SearchStrategy[tuple[ast.Stmt, ...]]) -> st.SearchStrategy[ast.Stmt]:
    return st.one_of(
        st.builds(ast.If, exprs, body, st.none() | body),
        st.builds(ast.While, exprs, body),
        st.builds(ast.Loop, body),
        st.builds(ast.Repeat, exprs, body),
        st.builds(ast.For, names, targets, body),
    )


stmts = st.recursive(
    simple_stmts, lambda sub: _compound(st.lists(sub, max_size=3).map(tuple)), max_leaves=8
)
bodies = st.lists(stmts, max_size=4).map(tuple)
idents = names.map(ast.Ident)
page_decls = st.builds(ast.PageDecl, names, pte_values)
ranges = st.one_of(st.tuples(st.none(), st.none()), st.tuples(exprs, exprs))


def _var(name: str, family: str | None, init: ast.Expr, rng: tuple) -> ast.VarDecl:  # type: ignore[type-arg]
    return ast.VarDecl(name, family, init, rng[0], rng[1])


def _core(name: str, rng: tuple, space: str | None, body: tuple) -> ast.CoreDecl:  # type: ignore[type-arg]
    return ast.CoreDecl(name, rng[0], rng[1], space, body)


decls = st.one_of(
    st.builds(ast.SpecTitle, st.text(st.characters(exclude_characters="\n\r"), max_size=12)),
    st.builds(ast.ModelDecl, names),
    st.builds(ast.ParamDecl, names, exprs),
    st.builds(ast.OptionDecl, names, st.one_of(st.integers(0, 99), dashed)),
    st.builds(ast.FrameDecl, st.lists(idents, min_size=1, max_size=3).map(tuple)),
    page_decls,
    st.builds(ast.SpaceDecl, names, exprs, st.lists(page_decls, max_size=3).map(tuple)),
    st.builds(_var, names, st.none() | names, exprs, ranges),
    st.builds(_core, names, ranges, st.none() | names, bodies),
    st.builds(ast.HandlerDecl, names, st.lists(idents, max_size=3).map(tuple), bodies),
    st.builds(
        ast.ExpectDecl,
        names,
        st.lists(dashed, max_size=3).map(tuple),
        st.none() | st.lists(names, min_size=1, max_size=3).map(tuple),
    ),
)
specs = st.lists(decls, max_size=8).map(lambda ds: ast.Spec(tuple(ds)))


@settings(
    max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(specs)
def test_random_ast_roundtrip(spec: ast.Spec) -> None:
    _roundtrip(spec)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(exprs)
def test_random_expression_roundtrip(e: ast.Expr) -> None:
    _roundtrip(ast.Spec((ast.ParamDecl("N", e),)))
