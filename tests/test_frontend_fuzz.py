"""The front end never crashes: any text, any bytes, any mutation of a real spec
either loads or raises SpecError with located diagnostics. Seeds are fixed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import EXAMPLES, tlb_files
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load, load_text
from verifier.lang.span import NOSPAN

SOURCES = [p.read_text() for p in tlb_files(EXAMPLES)]
TOKENS = [
    "{", "}", "(", ")", "[", "]", "[*]", ";", "\n", ",", ":=", "=", "+=", "->", "..", ".",
    "-", "!", "==", "&&", "||", "//", '"', "0x", "99999999999999999999", "else", "if",
    "self", "flush", "all", "others", "ipi", "page", "core", "var", "global", "invalid", "cpu",
    "\x00", "\t", "é", "\r\n",
]  # fmt: skip
FUZZ = settings(max_examples=50, derandomize=True, deadline=None)


def _survives(text: str) -> None:
    try:
        load_text(text, "fuzz.tlb", [])
    except SpecError as err:
        assert err.diagnostics
        for d in err.diagnostics:
            assert d.span != NOSPAN and d.span.line >= 1 and d.span.col >= 1
        assert str(err)  # rendering never fails either


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    _survives(text)


@FUZZ
@given(st.lists(st.sampled_from([*TOKENS, "x", "V", "1", " "]), max_size=60).map(" ".join))
def test_random_token_soup(text: str) -> None:
    _survives(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        else:
            text = text[:i] + text[i:j] + text[i:]
    return text


@settings(max_examples=60, derandomize=True, deadline=None)
@given(mutated())
def test_mutated_examples(text: str) -> None:
    _survives(text)


@FUZZ
@given(st.binary(max_size=120))
def test_random_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bytes.tlb"
        path.write_bytes(data)
        try:
            load(str(path), [])
        except SpecError as err:
            assert err.diagnostics and str(err)


def test_long_source_lines_are_clipped_around_the_caret() -> None:
    from verifier.lang.diagnostics import MAX_LINE, Diagnostic, render
    from verifier.lang.span import Span

    line = "skip; " * 100 + "oops"
    col = line.index("oops") + 1
    text = render(Diagnostic(Span("f.tlb", 1, col, 1, col + 4), "bad"), {"f.tlb": line})
    shown, caret = text.splitlines()[1:3]
    assert len(shown) <= MAX_LINE + 10 and shown.strip().startswith("...")
    assert shown[caret.index("^") : caret.index("^") + 4] == "oops"
