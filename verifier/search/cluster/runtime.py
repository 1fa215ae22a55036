"""Ray, as the distributed search and the suite use it: connecting, and the partitions.

Ray is an optional extra (`pip install 'tlbcheck[ray]'`); without it `--cluster`
says how to get it.  ``--cluster`` takes ``auto`` (the Ray started on this machine
with `ray start`), ``HOST:PORT`` (a head's GCS address, as `ray start --head` prints
it) or ``ray://HOST:PORT`` (a head's Ray Client server).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost")


class ClusterError(Exception):
    """The cluster cannot be used (Ray missing, no cluster at the address)."""


def need_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ClusterError(
            "--cluster needs Ray, an optional extra: python3 -m pip install 'tlbcheck[ray]'"
        ) from None
    return ray


def host_of(address: str) -> str:
    return address.removeprefix("ray://").rpartition(":")[0]


def connect(address: str) -> ModuleType:
    """Join the Ray cluster at ``address`` as a driver (once per process)."""
    ray = need_ray()
    if ray.is_initialized():
        return ray
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR"}
    if host_of(address) in LOOPBACK:
        # a cluster on this machine only: every Ray server of the driver on loopback
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        if not address.startswith("ray://"):
            options["_node_ip_address"] = "127.0.0.1"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"no Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    return ray


def cluster_cpus(ray: ModuleType) -> int:
    """CPUs of the cluster's alive nodes: the default number of partitions and jobs."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def remote_partitions(ray: ModuleType, workers: int, *args: Any) -> list[Any]:
    """``workers`` partition actors (`partition.Partition`), spread over the nodes.
    A partition that dies stays dead (no restart: its states are gone, and the
    search says so instead of going on without them)."""
    from verifier.search.cluster.partition import Partition

    actor = ray.remote(num_cpus=0, max_restarts=0, max_task_retries=0)(Partition)
    return [
        actor.options(scheduling_strategy="SPREAD").remote(i, workers, *args)
        for i in range(workers)
    ]
