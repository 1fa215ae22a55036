"""Shared test options: `pytest --update-golden` rewrites golden files on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SPECS = ROOT / "specs"

# an eager shootdown whose ack counter's range grows with N (the example's is 0..15)
EAGER = """
param N = 2
frame A, B
page V -> A rw
var acks : 0..N = 0
core init {
    pte V := B rw
    FENCE
    ipi cpu[*] flush(V)
    invlpg V
    await acks == N
    complete V
    free A
}
core cpu[1..N] {
    loop {
        read V
        write V
    }
}
handler flush(p) {
    invlpg p
    acks += 1
}
"""


def eager_spec(fence: bool = True, acks: str = "0..N", wait: str = "N") -> str:
    """The eager shootdown, fenced or not, its counter ranged ``acks`` and awaited to
    reach ``wait``."""
    text = EAGER.replace("FENCE", "fence" if fence else "")
    return text.replace("0..N", acks).replace("acks == N", f"acks == {wait}")


def tlb_files(folder: Path, pattern: str = "*.tlb") -> list[Path]:
    """The files of ``folder`` matching ``pattern``, sorted; none is an error, so a test
    parametrised over them fails at collection instead of silently running no case."""
    found = sorted(folder.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} under {folder}: the repository is incomplete")
    return found


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


# ---------------------------------------------------------------- a Ray cluster

RAY_FIXTURE = "ray_cluster"
_RAY: dict[str, object] = {}


def _ray_missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return "ray is not installed (the extra tlbcheck[ray]: pip install -e '.[ray]')"
    return None


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the test cluster as soon as a selected test needs it, so that its
    start-up (tens of seconds on a busy machine) overlaps the tests before it."""
    import subprocess
    import sys
    import tempfile

    wanted = any(RAY_FIXTURE in getattr(i, "fixturenames", ()) for i in items)
    if not wanted or _ray_missing() or "proc" in _RAY:
        return
    out = Path(tempfile.mkdtemp(prefix="tlbcheck-ray")) / "cluster.json"
    _RAY["out"] = out
    _RAY["proc"] = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "ray_cluster.py"), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def ray_cluster() -> object:
    """{"address", "raylets"} of the two-node Ray cluster on 127.0.0.1, shared by the
    session (`tests/ray_cluster.py`); the tests skip where Ray is not installed."""
    import json
    import os
    import time

    missing = _ray_missing()
    if missing:
        pytest.skip(missing)
    proc, out = _RAY.get("proc"), _RAY.get("out")
    if proc is None or not isinstance(out, Path):
        pytest.skip("the Ray cluster was not started at collection")
    deadline = time.monotonic() + 180
    while not out.exists():
        if proc.poll() is not None or time.monotonic() > deadline:  # type: ignore[attr-defined]
            pytest.fail("the test Ray cluster did not start (tests/ray_cluster.py)")
        time.sleep(0.2)
    # the cluster's processes inherit this session's PYTHONPATH: no need to ship the package
    os.environ["TLBCHECK_RAY_SHIP"] = "0"
    yield json.loads(out.read_text())
    proc.terminate()  # type: ignore[attr-defined]  # it shuts the cluster down on its own
