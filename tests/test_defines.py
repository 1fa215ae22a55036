"""`-D NAME=VALUE` reads VALUE as a spec reads an integer (`007` is 7, `0x10` is 16), and
no value, however odd, is an internal error: it is a value or a one-line error (exit 2)."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest
from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.cli import main as cli
from verifier.suite.sweep import SweepError, parse

SPEC = str(EXAMPLES / "eager_fenced.tlb")
ODD = [
    "0", "01", "007", "0x10", "0X1f", "-1", "-0", "-007", "+1", "1e3", "1.5", "nan", "", " ",
    " 2 ", "0b1", "0o7", "1_000", "\u0661", "\uff12", "9" * 30, "9" * 5000, "2147483648",
    "0x", "--1", "N", "=", "\x00", "3 4", "0x7fffffff",
]  # fmt: skip


def _parse(value: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["parse", SPEC, "-D", f"N={value}"])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("value", "n"), [("01", 1), ("007", 7), ("0x03", 3), (" 2 ", 2)])
def test_leading_zeros_and_hex_read_as_in_a_spec(value: str, n: int) -> None:
    code, out, _ = _parse(value)
    assert code == 0 and f"param N = {n}" in out


@pytest.mark.parametrize("value", ODD)
def test_no_value_is_an_internal_error(value: str) -> None:
    code, _, err = _parse(value)
    assert code in (0, 2), err
    assert "internal error" not in err and "Traceback" not in err


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=12))
def test_no_text_is_an_internal_error(value: str) -> None:
    code, _, err = _parse(value)
    assert code in (0, 2) and "internal error" not in err


def test_the_suite_sweep_reads_values_the_same_way() -> None:
    assert parse(["N=01", "M=0x2..0x4"]) == [("N", (1,)), ("M", (2, 3, 4))]
    for bad in ("N=1_000", "N=1e3", "N=", "N=3..1"):
        with pytest.raises(SweepError):
            parse([bad])
    with pytest.raises(SweepError, match="at most 64"):
        parse(["N=1..99999999999999999999"])  # counted, not built
