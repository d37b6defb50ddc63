"""One real Ray cluster (two nodes of one CPU each, on this machine) and one real S3 server (SeaweedFS's
``weed``) per test session, started on first use and stopped at the end. Modules using them are in the
xdist group ``fleet``, so that two test workers never both start them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from test.fleet.seaweed import S3Server, start_weed


@dataclass(frozen=True, slots=True)
class RayCluster:
    address: str
    home: Path

    def environment(self) -> dict[str, str]:
        """This process's environment, with the home that holds the cluster's token (for a command that
        joins the cluster by its address)."""
        return {**os.environ, "HOME": str(self.home)}


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A Ray cluster of two nodes (a head and a worker node, one CPU each) on this machine, as a batch
    meets a real cluster: tasks spread over nodes, a node's worker killed. Its token
    (~/.ray/auth_token) and session files go to a private home and a short temporary folder (Ray's
    sockets need short paths); the home is this process's only while Ray starts, so that other tests of
    the session keep theirs."""
    import ray
    from ray._common.utils import get_default_ray_temp_dir
    from ray.cluster_utils import Cluster

    # Ray's test cluster writes its address to <system temp>/ray/ray_current_cluster whatever temp_dir it
    # is given, without making that folder: on a machine where no Ray ran before it fails to start.
    Path(get_default_ray_temp_dir()).mkdir(parents=True, exist_ok=True)  # type: ignore[no-untyped-call]
    home = Path(tempfile.mkdtemp(prefix="rb-ray-home-"))
    temp = Path(tempfile.mkdtemp(prefix="rb-ray-"))
    old_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "include_dashboard": False, "temp_dir": str(temp)},
        )
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address)
    finally:
        if old_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = old_home
    try:
        yield RayCluster(ray.get_runtime_context().gcs_address, home)
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS on free ports, its data in a temporary folder; the standard AWS variables point this
    process (and its children) at it while the session lasts."""
    server = start_weed(tmp_path_factory.mktemp("weed"))
    saved = {key: os.environ.get(key) for key in server.environment()}
    os.environ.update(server.environment())
    try:
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
