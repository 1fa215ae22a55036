"""A two-node Ray cluster on 127.0.0.1 for the tests (`conftest.ray_cluster`), run as
its own process: `python3 tests/ray_cluster.py OUT.json`.

A head and a second node (separate raylet processes, so partitions and tasks really
talk across processes), each with one CPU, an 80 MB object store and no dashboard,
every server on loopback.  It writes {"address", "raylets"} to OUT.json when ready and
shuts the cluster down when its parent (the test session) goes away or on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # 127.0.0.1 stays 127.0.0.1
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

NODE = {
    "num_cpus": 1,
    "object_store_memory": 80 * 2**20,
    "include_dashboard": False,
    "node_ip_address": "127.0.0.1",
}


def main(out: str) -> None:
    from ray.cluster_utils import Cluster

    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    temp = tempfile.mkdtemp(prefix="tlbray", dir="/tmp")  # short: Ray's socket paths
    # Ray's Cluster writes the head's address to <RAY_TMPDIR>/ray/ray_current_cluster without
    # making that folder (on a machine that never ran Ray, /tmp/ray is missing and the head
    # fails to start): keep it inside our own folder, made here
    os.environ["RAY_TMPDIR"] = temp
    os.makedirs(os.path.join(temp, "ray"), exist_ok=True)
    client = int(sys.argv[2]) if len(sys.argv) > 2 else None  # a Ray Client server's port
    head = {**NODE, "temp_dir": temp, **({"ray_client_server_port": client} if client else {})}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    try:
        cluster.add_node(**NODE)
        raylets = [
            p.process.pid
            for node in cluster.list_all_nodes()
            for p in node.all_processes.get("raylet", [])  # ray_constants.PROCESS_TYPE_RAYLET
        ]
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"address": cluster.address, "raylets": raylets}, f)
        os.replace(tmp, out)
        while os.getppid() == parent:
            time.sleep(0.5)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
