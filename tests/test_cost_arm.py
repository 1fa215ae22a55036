"""`tlbcheck cost` under `arm` (docs/cost.md, "Arm64"): a broadcast `tlbi` is issued
for `arm.tlbi_broadcast` and completed by the next full `dsb` of its core, which pays
one sync round (`arm.dsb_sync`) plus `arm.dsb_sync_per_core` for every other core; no
IPI, no handler.  The same flush as an x86 IPI round grows with the receivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.cost.table import load_table
from verifier.cost.timing import timed_run
from verifier.lang.frontend import load, load_text

ROOT = Path(__file__).resolve().parent.parent
USERS = str(ROOT / "specs" / "arm64" / "flush_tlb_page_users.tlb")
EAGER = str(ROOT / "specs" / "eager" / "full_fence.tlb")
TABLE = load_table(None)


def _run(path: str, n: int, table=TABLE):  # type: ignore[no-untyped-def]
    return timed_run(load(path, [f"N={n}"], max_cores=300), table)


@pytest.mark.parametrize("n", [1, 7, 63])
def test_broadcast_flush_is_the_sum_of_its_steps(n: int) -> None:
    r = _run(USERS, n)
    k = TABLE
    sync = k["arm.dsb_sync"] + k["arm.dsb_sync_per_core"] * n
    path = k["arm.dsb"] + k["arm.tlbi_broadcast"] + sync  # dsb st, tlbi is V, dsb
    assert r.finished and r.ipis == 0 and r.interrupted == 0 and r.invalidations == 1
    # the dsb may also wait for users' accesses still holding a covered translation
    held = dict(r.phases)["wait"] - (k["arm.dsb"] + sync)
    assert 0 <= held < 0.05 * sync
    assert r.latency_ns == pytest.approx(path + held + dict(r.phases)["other"], abs=1e-6)


def test_dsb_without_broadcast_costs_a_plain_dsb() -> None:
    checked = load_text(Path(USERS).read_text().replace("tlbi is V", "tlbi V"), "l.tlb", ["N=3"])
    r = timed_run(checked, TABLE)
    k = TABLE
    assert dict(r.phases)["wait"] == pytest.approx(2 * k["arm.dsb"])
    assert dict(r.phases)["flush"] == pytest.approx(k["arm.tlbi_local"])


def test_user_table_overrides_the_sync_round(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text("[arm]\ndsb_sync = 1500\n")
    slower = _run(USERS, 3, load_table(str(f))).latency_ns - _run(USERS, 3).latency_ns
    assert slower == pytest.approx(1000)


def test_broadcast_beats_an_ipi_round_as_cores_grow() -> None:
    """With the default (estimated) figures the arm64 flush stays near one sync round
    while the IPI round pays per receiver; at 255 users (256 cores) the guard over every
    core's marks is a balanced tree, so the run is not nested too deeply."""
    arm = [_run(USERS, n).latency_ns for n in (1, 63, 255)]
    ipi = [_run(EAGER, n).latency_ns for n in (1, 63, 255)]
    assert arm[0] < ipi[0] and arm[2] < ipi[2] / 10
    assert arm[2] - arm[0] == pytest.approx(TABLE["arm.dsb_sync_per_core"] * 254, rel=0.05)
