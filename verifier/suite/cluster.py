"""A suite on a Ray cluster: each (spec, model, -D) job one Ray task.

The driver reads every spec's text and sends it with its job, so the workers need
the package (Ray ships this driver's own, `search/cluster/runtime.py`) and not the
files.  Each task asks for one CPU, so a cluster runs as many jobs at once as it
has CPUs.  Outcomes are reported as they finish (``progress``) and returned in job
order, so the table, JUnit and counterexamples are those of a local run.

A worker that dies during a job (its process or its node lost) costs the job one
retry (Ray's ``max_retries=1``); if the retry is lost too the job's outcome is an
`error` naming the node it last ran on — never dropped, never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verifier.lang.frontend import read_source
from verifier.search.cluster.runtime import connect
from verifier.suite.runner import ERROR, Execute, Job, Limits, Outcome, Progress, run_job


class _Where:
    """Where each job last started: (node address, process id), by job number."""

    def __init__(self) -> None:
        self.at: dict[int, tuple[str, int]] = {}

    def started(self, n: int, node: str, pid: int) -> None:
        self.at[n] = (node, pid)

    def of(self, n: int) -> tuple[str, int] | None:
        return self.at.get(n)


def _task(where: Any, n: int, job: Job, limits: Limits, source: str | None) -> Outcome:
    """One job in a Ray worker; it says where it runs before it starts."""
    import os

    import ray

    ray.get(where.started.remote(n, ray.util.get_node_ip_address(), os.getpid()))
    return run_job(job, limits, source)


def on_cluster(address: str) -> Execute:
    """`runner.run_jobs`'s ``execute``: the jobs as tasks on the cluster at ``address``."""
    return lambda jobs, limits, progress: run_on_cluster(address, jobs, limits, progress)


def run_on_cluster(
    address: str, jobs: Sequence[Job], limits: Limits, progress: Progress | None = None
) -> list[Outcome]:
    """Every job as a task on the cluster at ``address``; outcomes in job order."""
    ray = connect(address)
    where = ray.remote(num_cpus=0)(_Where).remote()
    task = ray.remote(num_cpus=1, max_retries=1, retry_exceptions=False)(_task)
    sources = {p: _source(p) for p in {j.path for j in jobs}}
    refs = [task.remote(where, n, j, limits, sources[j.path]) for n, j in enumerate(jobs)]
    number = {r: n for n, r in enumerate(refs)}
    out: list[Outcome | None] = [None] * len(jobs)
    pending, finished = list(refs), 0
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            n = number[ready[0]]
            try:
                out[n] = ray.get(ready[0])
            except ray.exceptions.RayError as err:
                out[n] = _lost(jobs[n], ray.get(where.of.remote(n)), err)
            finished += 1
            if progress is not None:
                progress(finished, len(jobs), out[n])  # type: ignore[arg-type]
    except KeyboardInterrupt:
        for r in pending:
            ray.cancel(r, force=True)
        raise
    return [o for o in out if o is not None]


def _source(path: str) -> str | None:
    """The spec's text, or None to let the worker read (and report) it."""
    try:
        return read_source(path)
    except Exception:
        return None


def _lost(job: Job, at: tuple[str, int] | None, err: Exception) -> Outcome:
    """The outcome of a job whose worker died twice."""
    node = f"node {at[0]} (worker pid {at[1]})" if at else "a node of the cluster"
    first = next((x.strip() for x in str(err).splitlines() if x.strip()), type(err).__name__)
    return Outcome(
        job.path, job.model, job.expected, ERROR, defines=job.defines,
        error=f"worker lost: the job ran on {node}, which died twice (retried once): {first}",
    )  # fmt: skip
