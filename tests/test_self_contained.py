"""The repository carries everything its README, docs, tests and benchmarks use: no
path outside the checkout, every link resolves, the language reference keeps up
with the grammar, and every example is listed in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, tlb_files

# the parent's shared folder (as a path, or as a path component in Python), or any
# absolute path of the machine the project was written on (spelt in pieces so that
# this file does not match itself)
_SHARED = "shared"
OUTSIDE = re.compile(
    "|".join(
        re.escape(s) for s in ("../" + _SHARED, f"/{_SHARED}/", "/" + "work/", f'"{_SHARED}" /')
    )
)
TEXT = {".py", ".md", ".lark", ".toml", ".tlb", ".txt", ".json", ".expected", ".html", ".svg"}
LANGUAGE = ROOT / "docs" / "language.md"


def _text_files() -> list[str]:
    out = [ROOT / "README.md"]
    for top in ("tests", "benchmarks", "docs", "verifier", "examples", ".ci"):
        out += [p for p in (ROOT / top).rglob("*") if p.is_file() and p.suffix in TEXT]
    out.append(ROOT / ".ci" / "run")
    return sorted(str(p) for p in out)


def test_nothing_reads_outside_the_repository() -> None:
    offenders = []
    for path in _text_files():
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_every_markdown_link_resolves() -> None:
    broken = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)", md.read_text()):
            if "://" not in target and not (md.parent / target).exists():
                broken.append(f"{md.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_a_glob_that_finds_nothing_is_an_error() -> None:
    with pytest.raises(FileNotFoundError, match="repository is incomplete"):
        tlb_files(ROOT / "no-such-folder")


def test_the_language_reference_names_every_keyword_of_the_grammar() -> None:
    grammar = (ROOT / "verifier" / "lang" / "grammar.lark").read_text()
    keywords = set(re.findall(r'"([a-z_]+)"', grammar))
    keywords |= {w.lower() for w in re.findall(r'^[A-Z]+: "([a-z]+)"', grammar, re.M)}
    doc = LANGUAGE.read_text()
    missing = sorted(k for k in keywords if not re.search(rf"`[^`]*\b{k}\b[^`]*`", doc))
    assert not missing, f"docs/language.md does not show: {missing}"


def test_every_example_is_listed_in_the_reference_and_states_its_verdicts() -> None:
    doc = LANGUAGE.read_text()
    listed = set(re.findall(r"`([a-z_]+\.tlb)`", doc.split("## Where each construct is shown")[1]))
    files = {p.name for p in tlb_files(EXAMPLES)}
    assert listed == files
    for p in tlb_files(EXAMPLES):
        assert re.search(r"^expect ", p.read_text(), re.M), p.name
