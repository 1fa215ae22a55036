"""The suite and one search on a Ray cluster (`search/cluster/`, `suite/cluster.py`),
against a two-node cluster on 127.0.0.1 started for the session (`conftest.ray_cluster`).

The distributed search must give what the one-process search gives: the same kinds,
state and transition counts and the same shortest traces, step for step; a worker
killed mid-run must never give `safe`.  The suite on the cluster must give the same
table and JUnit as a local run, and a job whose worker dies twice is an `error`
naming the node."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import tlb_files

from verifier import api
from verifier.lang.frontend import load
from verifier.run.result import Result
from verifier.suite import runner

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
EXAMPLES = ROOT / "examples"
QUICK = {  # the default run: one spec of each kind of verdict, hang included
    "eager/missing_fence",
    "eager/ack_count_mismatch",
    "asid/recycle_no_flush",
    "irq/shootdown_irqoff_hang",
    "lazy/generation",
}


def _traces(r: Result) -> dict[str, list[str]]:
    return {t.kind: [s.key for s in t.steps] for t in r.traces}


def _same(a: Result, b: Result) -> None:
    assert (b.verdict, b.kinds) == (a.verdict, a.kinds), b.reason
    assert (b.states, b.transitions) == (a.states, a.transitions)
    assert _traces(b) == _traces(a)


def _cluster_summary(r: Result) -> str:
    return next(x for x in r.reductions if x.startswith("cluster:"))


def _cases() -> list[Any]:
    files = tlb_files(SPECS, "*/*.tlb") + tlb_files(EXAMPLES)
    out = []
    for f in files:
        name = f"{f.parent.name}/{f.stem}"
        for model in api.expected_models(load(str(f), [])):
            marks = [] if name in QUICK and model == "tso" else [pytest.mark.slow]
            out.append(pytest.param(f, model, id=f"{name}.{model}", marks=marks))
    return out


@pytest.mark.parametrize(("path", "model"), _cases())
def test_cluster_search_is_the_local_search(ray_cluster: Any, path: Path, model: str) -> None:
    checked = load(str(path), [])
    a = api.check_spec(checked, model)
    b = api.check_spec(checked, model, cluster=ray_cluster["address"], workers=2)
    _same(a, b)
    held = re.findall(r"[\d,]+(?= |,)", _cluster_summary(b).split("holding")[1].split("(")[0])
    assert sum(int(x.replace(",", "")) for x in held) == b.states


def test_without_reductions_too(ray_cluster: Any) -> None:
    checked = load(str(SPECS / "eager/missing_fence.tlb"), ["N=2"])
    for sym, por in ((False, False), (True, False), (False, True)):
        a = api.check_spec(checked, "tso", symmetry=sym, por=por)
        b = api.check_spec(
            checked, "tso", symmetry=sym, por=por, cluster=ray_cluster["address"], workers=2
        )
        _same(a, b)


def _generated(seeds: range, slow: bool) -> list[Any]:
    marks = [pytest.mark.slow] if slow else []
    return [
        pytest.param(s, m, id=f"seed{s}-{m}", marks=marks) for s in seeds for m in ("sc", "pso")
    ]


@pytest.mark.parametrize(
    ("seed", "model"), _generated(range(1), False) + _generated(range(3000, 3150), True)
)
def test_generated_specs(ray_cluster: Any, seed: int, model: str) -> None:
    """Specs of the oracle's generator (every statement form of the language)."""
    from oracle.gen import gen_checked

    _, _, checked = gen_checked(seed)
    a = api.check_spec(checked, model, max_states=100_000, timeout=60)
    if a.verdict == "inconclusive":
        pytest.skip("not decided within the test's limits")
    b = api.check_spec(
        checked, model, max_states=100_000, timeout=60, cluster=ray_cluster["address"], workers=2
    )
    _same(a, b)


@pytest.mark.slow
def test_one_worker_and_three(ray_cluster: Any) -> None:
    checked = load(str(SPECS / "eager/missing_fence.tlb"), ["N=2"])
    a = api.check_spec(checked, "pso")
    for n in (1, 3):
        b = api.check_spec(checked, "pso", cluster=ray_cluster["address"], workers=n)
        _same(a, b)
        assert _cluster_summary(b).startswith(f"cluster: {n} workers holding ")


def test_a_state_limit_is_inconclusive(ray_cluster: Any) -> None:
    checked = load(str(SPECS / "lazy/generation.tlb"), ["N=2"])
    r = api.check_spec(checked, "sc", max_states=100, cluster=ray_cluster["address"], workers=2)
    assert r.verdict == "inconclusive"
    assert "state limit of 100 reached" in r.reason


# ---------------------------------------------------------------- the suite


def _suite(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The exit code and the report (the lines streamed as runs finish come in the order
    they finish, which on a cluster is not the local order: they are left out)."""
    from verifier.cli.main import main

    code = main(["suite", *args, "--no-color"])
    out = capsys.readouterr().out
    return code, "".join(ln for ln in out.splitlines(True) if not re.match(r"\[\d+/\d+\] ", ln))


def _no_times(text: str) -> str:
    """The report without times, the lines streamed as runs finished put in order (on a
    cluster they come in the order the jobs end)."""
    text = re.sub(r"\s+\d+\.\d\ds$", "", text, flags=re.M)
    streamed = [ln for ln in text.splitlines() if re.match(r"\[\d+/\d+\] ", ln)]
    rest = [ln for ln in text.splitlines() if not re.match(r"\[\d+/\d+\] ", ln)]
    return "\n".join(sorted(ln.split("] ", 1)[1] for ln in streamed) + rest)


@pytest.mark.slow  # Ray's task workers start in ~12 s here: beyond the default run's share
def test_suite_on_the_cluster_is_the_local_suite(
    ray_cluster: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    specs = [str(SPECS / "eager/missing_fence.tlb"), str(SPECS / "irq/shootdown_irqoff_hang.tlb")]
    here, local = _suite([*specs, "--junit", str(tmp_path / "a.xml")], capsys)
    there, remote = _suite(
        [*specs, "--junit", str(tmp_path / "b.xml"), "--cluster", ray_cluster["address"]], capsys
    )
    assert (there, _no_times(remote)) == (here, _no_times(local))
    junit = [re.sub(r'time="[\d.]+"', "", (tmp_path / f).read_text()) for f in ("a.xml", "b.xml")]
    assert junit[0] == junit[1]


@pytest.mark.slow
def test_a_sweep_is_jobs(ray_cluster: Any, capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(SPECS / "eager/missing_fence.tlb")
    code, out = _suite([spec, "-D", "N=1..3", "--cluster", ray_cluster["address"]], capsys)
    assert code == 0
    for n in (1, 2, 3):
        assert len(re.findall(rf"missing_fence\.tlb -D N={n} ", out)) == 3  # sc, tso, pso
    code, local = _suite([spec, "-D", "N=1..3"], capsys)
    assert _no_times(local) == _no_times(out)


@pytest.mark.slow
def test_a_job_whose_worker_dies_twice_is_an_error(ray_cluster: Any) -> None:
    """Every process running the job is killed (the first attempt and its retry): the
    job is reported as an error naming the node, not dropped, not passed."""
    from verifier.suite.cluster import run_on_cluster

    raylets = set(ray_cluster["raylets"])
    stop = threading.Event()
    killed: list[int] = []

    def killer() -> None:
        while not stop.is_set():
            for pid in _task_processes(raylets):
                time.sleep(0.5)  # let it say where it runs
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    job = runner.Job(str(SPECS / "lazy/generation.tlb"), "sc", "safe", ("N=4",))
    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        (o,) = run_on_cluster(ray_cluster["address"], [job], runner.Limits())
    finally:
        stop.set()
        t.join()
    assert len(killed) >= 2
    assert o.status == runner.ERROR and not o.bad_input
    assert "worker lost" in o.error and "node 127.0.0.1" in o.error and "retried once" in o.error


def _task_processes(raylets: set[int]) -> list[int]:
    """Ray workers of the test cluster running a suite job (titled `ray::_task`)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid in raylets and cmd.startswith(b"ray::_task"):
            out.append(int(d.name))
    return out


def test_without_ray_the_option_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from verifier.search.cluster.runtime import ClusterError, need_ray

    real = builtins.__import__

    def no_ray(name: str, *args: Any, **kw: Any) -> Any:
        if name == "ray":
            raise ImportError("no ray")
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ClusterError, match=r"pip install 'tlbcheck\[ray\]'"):
        need_ray()


def test_no_cluster_at_the_address_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ray", reason="ray is not installed (the extra tlbcheck[ray])")
    from verifier.cli.main import main

    spec = str(SPECS / "eager/missing_fence.tlb")
    assert main(["check", spec, "--cluster", "127.0.0.1:1", "-q"]) == 2
    assert "no Ray cluster at 127.0.0.1:1: Connection refused" in capsys.readouterr().err
    assert main(["check", spec, "--cluster", "nowhere", "-q"]) == 2
    assert "expected auto, HOST:PORT or ray://HOST:PORT" in capsys.readouterr().err


def test_a_sweep_runs_each_value_locally(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _suite([str(SPECS / "eager/missing_fence.tlb"), "-D", "N=1,2"], capsys)
    assert code == 0
    assert re.findall(r"missing_fence\.tlb -D N=(\d) +(\w+)", out) == [
        (n, m) for n in "12" for m in ("sc", "tso", "pso")
    ]


def test_a_bad_sweep_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    from verifier.cli.main import main

    assert main(["suite", str(SPECS / "eager"), "-D", "N=2..x"]) == 2
    assert "-D N=2..x: the values must be whole numbers" in capsys.readouterr().err


# ---------------------------------------------------------------- faults (last: a
# killed worker makes the next search start new ones)


def test_a_killed_worker_is_never_safe(ray_cluster: Any) -> None:
    """A partition's process is killed after the second layer: the run ends
    `inconclusive`, naming the lost partition and its node."""
    from verifier.search.cluster import runtime

    checked = load(str(SPECS / "lazy/generation.tlb"), ["N=2"])
    assert api.check_spec(checked, "sc").verdict == "safe"
    layers = [0]

    def kill_one(states: int, frontier: int, transitions: int, depth: int = -1) -> None:
        layers[0] += 1
        if layers[0] == 2:
            ray = runtime.need_ray()
            pid = ray.get(runtime._POOL[2][1].where.remote())[3]
            os.kill(pid, signal.SIGKILL)

    r = api.check_spec(checked, "sc", cluster=ray_cluster["address"], workers=2, progress=kill_one)
    assert layers[0] >= 2
    assert r.verdict == "inconclusive"
    assert "worker lost at layer 2" in r.reason and "partition 1 (node 127.0.0.1" in r.reason
    assert not r.traces


@pytest.mark.slow
def test_after_a_lost_worker_the_next_search_starts_new_ones(ray_cluster: Any) -> None:
    test_a_killed_worker_is_never_safe(ray_cluster)
    checked = load(str(SPECS / "lazy/generation.tlb"), ["N=2"])
    again = api.check_spec(checked, "sc", cluster=ray_cluster["address"], workers=2)
    _same(api.check_spec(checked, "sc"), again)
