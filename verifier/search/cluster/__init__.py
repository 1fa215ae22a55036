"""One search across machines: the state table partitioned over Ray actors.

`ClusterSearch.start` joins a Ray cluster (`runtime.py`) and starts one partition
actor (`partition.py`) per worker, each building the model from the checked spec
and compiling its step functions (`run/compile.py`, the fastest local step
functions today).  `ClusterSearch.explore` has the keywords of `explicit.explore`
and returns what `api.py` reads of an exploration (`search.py`): the same states,
numbers, first problems and shortest traces as the one-process search.
"""

from __future__ import annotations

import contextlib
from typing import Any

from verifier.ir.system import System
from verifier.run.budget import Budget
from verifier.run.model import Model
from verifier.search.cluster.partition import spec_of
from verifier.search.cluster.runtime import ClusterError, cluster_cpus, connect, remote_partitions
from verifier.search.cluster.search import ClusterExploration, Held, ProgressFn, explore_cluster

__all__ = ["ClusterError", "ClusterExploration", "ClusterSearch"]


class ClusterSearch:
    """The partitions of one model on a Ray cluster, reused by each search of it."""

    def __init__(self, ray: Any, parts: list[Any], held: list[Held], key: Any) -> None:
        self.ray, self.parts, self.held, self.key = ray, parts, held, key
        self.generation = [0]

    @staticmethod
    def start(
        address: str, workers: int | None, m: Model, symmetry: bool, por: bool
    ) -> ClusterSearch:
        """``workers`` partitions (default: one per CPU of the cluster) for ``m``."""
        from verifier.search.symmetry import canon

        ray = connect(address)
        n = workers or cluster_cpus(ray)
        parts = remote_partitions(ray, n)
        try:
            ray.get([p.load.remote(spec_of(m.checked), m.model, symmetry, por) for p in parts])
            where = ray.get([p.where.remote() for p in parts])
        except ray.exceptions.RayError as err:
            cause = getattr(err, "cause", None)
            if isinstance(cause, ValueError):  # e.g. states that do not fit in bytes
                raise ClusterError(str(cause)) from None
            raise ClusterError(f"the workers did not start: {_last_line(err)}") from None
        fn = canon(m.system, m.program).fn if symmetry else None
        held = [Held(i, node, pid) for i, node, _, pid in where]
        return ClusterSearch(ray, parts, held, fn if fn is not None else (lambda s: s))

    def explore(
        self,
        system: System,
        *,
        progress: ProgressFn | None = None,
        budget: Budget,
        canon: Any = None,
        stop_at_first: bool = False,
        ample: Any = None,
        stop_when: frozenset[str] | None = None,
        compiled: Any = None,
    ) -> ClusterExploration:
        """`explicit.explore` over the partitions (``canon``: whether symmetry is on is
        fixed when the partitions start; ``compiled``: each partition compiles its own)."""
        self.generation[0] += 1
        ex = explore_cluster(
            self.ray,
            self.parts,
            self.held,
            system,
            self.key,
            ample=ample is not None,
            budget=budget,
            stop_at_first=stop_at_first,
            stop_when=stop_when,
            progress=progress,
        )
        ex.generation, ex.current = self.generation[0], self.generation
        return ex

    def close(self) -> None:
        """Let the workers drop the states (they stay for the next search)."""
        with contextlib.suppress(Exception):
            self.ray.get([p.reset.remote(False, None, None) for p in self.parts], timeout=30)


def _last_line(err: Exception) -> str:
    """The error a worker raised, without Ray's traceback around it."""
    lines = [x for x in str(err).splitlines() if x.strip()]
    return lines[-1].strip() if lines else type(err).__name__
