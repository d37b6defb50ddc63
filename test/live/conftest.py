"""Live tests run real ROS 2 processes over Fast DDS; each test gets its own DDS domain."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BRIDGE = [str(Path(sys.executable).parent / "rerun-bridge"), "run"]
# A random start per test process: suites run side by side on one machine (several checkouts) would
# otherwise all begin at the same domain and hear each other's publishers.
_domain_counter = iter(range(random.randrange(50), 1000))


@dataclass
class LiveEnv:
    env: dict[str, str]
    tmp: Path

    def publish(self, kind: str, count: int, rate: float, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "test.live.publisher", kind, str(count), str(rate), *extra],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def bridge(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*BRIDGE, *args],
            cwd=self.tmp,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def wait_all(processes: list[subprocess.Popen[str]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for process in processes:
        process.wait(timeout=max(deadline - time.monotonic(), 1))
        assert process.returncode == 0, process.stdout.read() if process.stdout else ""


def read_until(stream: Iterable[str] | None, text: str, timeout: float = 30) -> tuple[bool, list[str]]:
    """Lines of a process's pipe up to the first containing ``text`` (or until ``timeout``), and whether it
    came: what a test waits for instead of sleeping a guessed time on a busy machine."""
    lines: list[str] = []
    found = threading.Event()

    def reader() -> None:
        for line in stream or ():
            lines.append(line)
            if text in line:
                found.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    return found.wait(timeout), lines


def stop(
    process: subprocess.Popen[str], signum: int = signal.SIGTERM, timeout: float = 60
) -> tuple[str, str]:
    process.send_signal(signum)
    out, err = process.communicate(timeout=timeout)
    return out, err


@pytest.fixture
def live(tmp_path: Path, worker_id: str) -> LiveEnv:
    # A domain of its own per test and per xdist worker: parallel tests never hear each other.
    worker = int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0
    domain = 20 + worker * 50 + next(_domain_counter) % 50
    env = os.environ.copy()
    env["ROS_DOMAIN_ID"] = str(domain)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("ROS_LOCALHOST_ONLY", None)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    return LiveEnv(env, tmp_path)
