"""User-mode code and the `user` permission (docs/arm64.md section 8): `option mode =
user for CORE`, `page V -> A rw user`, herd7's `EL0=` threads and `el0` descriptor field."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.api import check_spec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load, load_text
from verifier.lang.litmus_lower import load_litmus
from verifier.run.litmus import answer

HERE = Path(__file__).parent
RULES = HERE / "arm"


def kinds(name: str, model: str) -> tuple[str, tuple[str, ...]]:
    r = check_spec(load(str(RULES / f"{name}.tlb"), []), model)
    return r.verdict, tuple(sorted(r.kinds))


@pytest.mark.parametrize("model", ["arm", "sc", "pso"])
def test_user_code_needs_the_user_permission(model: str) -> None:
    """The asserts hold only if app's read of the kernel page faults and kern's does not."""
    assert kinds("user_kernel_page", model) == ("safe", ())


def test_user_code_faults_only_through_the_bit() -> None:
    """Without `option mode = user` app is kernel code: its read of K reaches A."""
    text = (RULES / "user_kernel_page.tlb").read_text().replace("option mode = user for app", "")
    r = check_spec(load_text(text, "k.tlb", []), "sc")
    assert r.kinds == ("assertion",)


@pytest.mark.parametrize(
    ("name", "model", "want"),
    [
        ("user_revoke_noflush", "pso", ("unsafe", ("stale-permission",))),
        ("user_revoke_noflush", "arm", ("unsafe", ("bbm", "stale-permission"))),
        ("user_revoke_flush", "arm", ("safe", ())),
    ],
)
def test_revoking_user_access_needs_a_flush(name: str, model: str, want: object) -> None:
    assert kinds(name, model) == want


@pytest.mark.parametrize(
    ("name", "want"),
    [  # herd7 -variant vmsa,fatal gives the same observations on these files
        ("el0_user_page", "Always"),
        ("el0_pte_read", "Always"),
        ("el0_revoke_dsb", "Never"),
        ("el0_revoke_po", "Sometimes"),
    ],
)
def test_el0_litmus(name: str, want: str) -> None:
    path = HERE / "litmus" / f"{name}.litmus"
    checked = load_litmus(str(path), path.read_text())
    assert answer(checked, check_spec(checked, "arm")).observation == want


def test_el0_lowering() -> None:
    """`EL0=P0` is `option mode = user for P0`; pages carry `user` unless `el0:0`; an EL0
    load of a page-table entry is a read of a kernel-only page (a permission fault)."""
    from verifier.lang import ast

    path = HERE / "litmus" / "el0_pte_read.litmus"
    spec = load_litmus(str(path), path.read_text())
    assert spec.mode_cores == (("P0", "user"),)
    pages = {d.name: d.value for d in spec.spec.decls if isinstance(d, ast.PageDecl)}
    assert pages["x"].user and not pages["pte_x"].user  # type: ignore[union-attr]
    p0 = next(c for c in spec.cores if c.name == "P0")
    assert isinstance(p0.body[0], ast.Access) and p0.body[0].page.page == "pte_x"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("pte K := A rw user", "3:5: error: a pte store in user-mode code: core app"),
        ("tlbi is K", "3:5: error: tlbi in user-mode code"),
        ("r := pte(K).present", "3:10: error: a page-table read in user-mode code"),
    ],
)
def test_kernel_statements_in_user_code_are_located(line: str, message: str) -> None:
    text = f"option mode = user\nframe A\npage K -> A rw\ncore app {{\n    {line}\n}}\n"
    with pytest.raises(SpecError) as e:
        load_text(text, "u.tlb", [])
    got = str(e.value).splitlines()[0]
    assert got.startswith("u.tlb:" + message.replace("3:", "5:", 1)), got


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("option mode = usr", "unknown value 'usr' for option mode (expected kernel or user)"),
        ("option mode = user for ap", "unknown core 'ap'"),
        ("option buffer = 2 for app", "option buffer takes no core list"),
    ],
)
def test_mode_option_errors(option: str, message: str) -> None:
    text = f"frame A\npage K -> A rw user\n{option}\ncore app {{\n    read K\n}}\n"
    with pytest.raises(SpecError) as e:
        load_text(text, "u.tlb", [])
    assert message in str(e.value)


def test_user_flag_prints_and_reads() -> None:
    """`user` round-trips through the printer, and `pte(V).user` reads the bit."""
    from verifier.lang.parse import parse_text
    from verifier.lang.printer import format_spec

    text = "frame A\npage K -> A rw user\ncore c {\n    r := pte(K).user\n    assert r == 1\n}\n"
    assert "page K -> A rw user" in format_spec(parse_text(text, "p.tlb"))
    assert check_spec(load_text(text, "p.tlb", []), "sc").verdict == "safe"
    bad = text.replace("rw user", "rw")
    assert check_spec(load_text(bad, "p.tlb", []), "sc").kinds == ("assertion",)
