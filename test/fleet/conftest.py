"""One real Ray (two CPUs, this machine) and one real S3 server (SeaweedFS's ``weed``) per test session,
started on first use and stopped at the end. Modules using them are in the xdist group ``fleet``, so that
two test workers never both start them."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

WEED = Path(sys.executable).parent / "weed"
S3_ACCESS_KEY = "fleet-test"
S3_SECRET_KEY = "fleet-test-secret"
#: Seconds the S3 server gets to answer after it starts (a few on an idle machine).
WEED_START_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class RayCluster:
    address: str
    home: Path


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """Ray on two CPUs of this machine. Its token (~/.ray/auth_token) and session files go to a private
    home and a short temporary folder (Ray's sockets need short paths)."""
    import ray

    home = Path(tempfile.mkdtemp(prefix="rb-ray-home-"))
    temp = Path(tempfile.mkdtemp(prefix="rb-ray-"))
    old_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=str(temp))
        yield RayCluster(ray.get_runtime_context().gcs_address, home)
    finally:
        ray.shutdown()
        if old_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = old_home
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(temp, ignore_errors=True)


#: SeaweedFS serves gRPC on each HTTP port + 10000.
WEED_GRPC_OFFSET = 10000


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _free_weed_ports(count: int) -> list[int]:
    """Free ports whose gRPC twins (port + 10000) are free too."""
    ports: list[int] = []
    rng = random.Random()
    while len(ports) < count:
        port = rng.randrange(20000, 55000)
        if port not in ports and _bindable(port) and _bindable(port + WEED_GRPC_OFFSET):
            ports.append(port)
    return ports


@dataclass(frozen=True, slots=True)
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]

    def environment(self) -> dict[str, str]:
        """The standard AWS settings that point a client at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }


def _answers(endpoint: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(endpoint, timeout=2):
            return True
    except OSError as err:
        # Any HTTP answer (403 without credentials) means the S3 gateway is up.
        return hasattr(err, "code")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS (master, volume, filer and S3 gateway in one process) on free ports, its data in a
    temporary folder; the standard AWS variables point this process (and its children) at it."""
    root = tmp_path_factory.mktemp("weed")
    (root / "data").mkdir()
    identities = {
        "identities": [
            {
                "name": "fleet",
                "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (root / "identities.json").write_text(json.dumps(identities))
    s3_port, master, volume, filer = _free_weed_ports(4)
    log = (root / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            str(WEED),
            "server",
            f"-dir={root / 'data'}",
            "-s3",
            f"-s3.port={s3_port}",
            f"-s3.config={root / 'identities.json'}",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            # Off: the Iceberg and Lance catalogs (fixed ports) and telemetry (no network here).
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # Each bucket is a collection with volumes of its own: small volumes, and room for many.
            "-master.volumeSizeLimitMB=64",
            "-volume.max=200",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = S3Server(f"http://127.0.0.1:{s3_port}", process)
    saved = {key: os.environ.get(key) for key in server.environment()}
    try:
        deadline = time.monotonic() + WEED_START_TIMEOUT_S
        while not _answers(server.endpoint):
            assert process.poll() is None, (root / "weed.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "weed server did not answer"
            time.sleep(0.2)
        os.environ.update(server.environment())
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
