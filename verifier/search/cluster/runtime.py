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
_CONNECTED: dict[str, str] = {}  # the address this process joined
_POOL: dict[int, list[Any]] = {}  # this driver's partition actors, by count


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
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR"}
    if address == "auto" or host_of(address) in LOOPBACK:
        # a cluster on this machine only: Ray must not turn 127.0.0.1 into the machine's
        # network address (it reads this when imported)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        if address != "auto" and not address.startswith("ray://"):
            options["_node_ip_address"] = "127.0.0.1"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = need_ray()
    if address != "auto":
        _reachable(address)
    if ray.is_initialized():
        if _CONNECTED.get("address") == address:
            return ray
        ray.shutdown()  # joined to another cluster before: its workers are gone
        _POOL.clear()
    # the workers run this driver's own `verifier` package (uploaded once, by content
    # hash), so every node checks with the same code whatever is installed there;
    # TLBCHECK_RAY_SHIP=0: the workers import their own (the same, installed or on
    # their PYTHONPATH), which saves seconds of worker start-up
    if os.environ.get("TLBCHECK_RAY_SHIP", "1") != "0":
        package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        options["runtime_env"] = {"py_modules": [package], "excludes": ["__pycache__"]}
    try:
        ray.init(address=address, **options)
        _CONNECTED["address"] = address
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"no Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    return ray


def _reachable(address: str) -> None:
    """Fail at once when nothing listens at ``address`` (Ray itself retries for
    minutes)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--cluster {address}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise ClusterError(f"no Ray cluster at {address}: {exc.strerror or exc}") from None


def cluster_cpus(ray: ModuleType) -> int:
    """CPUs of the cluster's alive nodes: the default number of partitions and jobs."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def remote_partitions(ray: ModuleType, workers: int) -> list[Any]:
    """``workers`` partition actors (`partition.Partition`), spread over the nodes and
    kept for this driver's later searches (each `load`s its model).  A partition that
    dies stays dead (no restart: its states are gone, and the search says so instead
    of going on without them); the next search starts fresh ones."""
    from verifier.search.cluster.partition import Partition

    parts = _POOL.get(workers)
    if parts is not None:
        try:
            ray.get([p.where.remote() for p in parts], timeout=30)
            return parts
        except Exception:
            for p in parts:
                ray.kill(p)
    actor = ray.remote(num_cpus=0, max_restarts=0, max_task_retries=0)(Partition)
    _POOL[workers] = parts = [
        actor.options(scheduling_strategy="SPREAD").remote(i, workers) for i in range(workers)
    ]
    return parts
