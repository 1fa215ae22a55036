"""Shared test options: `pytest --update-golden` rewrites golden files on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ../shared/examples from /work/main; from a worktree (/work/wt/NAME) it is one level up
EXAMPLES = next(
    (p / "shared" / "examples" for p in ROOT.parents if (p / "shared" / "examples").is_dir()),
    ROOT.parent / "shared" / "examples",
)
SPECS = ROOT / "specs"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden expected-output files instead of comparing against them",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
