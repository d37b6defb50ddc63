"""Soak: the live bridge with its embedded viewer open under 1.5x the reference load for ten minutes.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python bench/soak.py [--minutes 10] [--scale 1.5]

``bench/live_publisher.py`` publishes the reference load (two 720p cameras at 30 Hz, a 100 k-point lidar at
10 Hz, IMU 400 Hz, TF 100 Hz, joints 100 Hz) times ``--scale`` on a domain of its own. The node runs
``rerun-bridge run --config soak.yaml`` with ``sinks.viewer.enabled: true`` and no file sinks (ten minutes of
1.5x camera frames would be 150 GB of .rrd): what it stores goes into the viewer's live store. The node's RSS
(its process tree, psutil) is sampled every second and held to the bound derived from the config:

    RSS once subscribed (before the first message) + topics x ``queue_megabytes`` (each topic's queue bound)
    + the viewer store's budget (``LIVE_MEMORY_BUDGET_BYTES``) + ``ALLOWANCE_MB`` (messages in flight
    between DDS, the converters and the store; freed memory the allocators keep for reuse)

It prints the RSS over time, the peak against that bound, per topic what was published, received, stored
and dropped (the node's shutdown summary), the exit status, and the stop time against
``shutdown_timeout_s``. Prints numbers; never fails on a missed target. The temporary folder is deleted at
the end; every child process is stopped by its pid.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psutil  # type: ignore[import-untyped]  # no stubs in the venv (types-psutil)
import yaml
from live_load import (  # bench/ is this script's folder: sys.path[0]
    LARGE_MESSAGES_PROFILE,
    TOPICS,
    VENV_BIN,
    Children,
    SummaryLine,
    _read_events,
    _wait_event,
    bench_env,
    parse_summary,
    publisher_command,
)

from rerun_bridge.config import BridgeConfig, load_config
from rerun_bridge.live.shm_clean import clean_dead_fastdds_memory
from rerun_bridge.sinks.store import LIVE_MEMORY_BUDGET_BYTES

#: What the node may hold beyond its configured bounds: messages in flight between DDS, the converters and
#: the store, and memory the allocators keep after a free. Stated, not measured: the bound must hold on
#: any machine.
ALLOWANCE_MB: Final = 512
MB: Final = 1_000_000
SAMPLE_PERIOD_S: Final = 1.0


def soak_config(shutdown_timeout_s: float = 10.0) -> dict[str, Any]:
    """The node's config: the embedded viewer on, no file sinks, the default queue bounds."""
    return {"shutdown_timeout_s": shutdown_timeout_s, "sinks": {"viewer": {"enabled": True}}}


def memory_bound_bytes(config: BridgeConfig, topics: int, baseline_bytes: int) -> int:
    """The most RSS the node may reach: its size once subscribed, every topic's queue full, the viewer
    store at its budget, and the stated allowance."""
    queues = topics * int(config.queue_megabytes * MB)
    return baseline_bytes + queues + LIVE_MEMORY_BUDGET_BYTES + ALLOWANCE_MB * MB


class RssTrace:
    """RSS of a process tree every ``period`` seconds, from a thread: (seconds since start, bytes)."""

    def __init__(self, pid: int, period: float = SAMPLE_PERIOD_S) -> None:
        self.samples: list[tuple[float, int]] = []
        self._root = psutil.Process(pid)
        self._period = period
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def rss(self) -> int:
        total = 0
        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return int(total)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            if size := self.rss():
                self.samples.append((time.monotonic() - self._started, size))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int:
        return max((size for _at, size in self.samples), default=0)


@dataclass(slots=True)
class SoakResult:
    exit_code: int | None = None
    stop_s: float = float("nan")
    shutdown_timeout_s: float = 10.0
    baseline_bytes: int = 0
    bound_bytes: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)
    #: The publisher's result event: expected / published / skipped / failed per topic.
    published: dict[str, int] = field(default_factory=dict)
    summary: dict[str, SummaryLine] = field(default_factory=dict)
    viewer_opened: bool = False
    problem: str = ""
    stderr_tail: str = ""

    @property
    def peak_bytes(self) -> int:
        return max((size for _at, size in self.samples), default=0)

    @property
    def peak_at_s(self) -> float:
        """Seconds since the node started at the peak (the publisher ran from about the first second)."""
        return max(self.samples, key=lambda sample: sample[1], default=(float("nan"), 0))[0]

    @property
    def stopped_in_time(self) -> bool:
        return self.stop_s <= self.shutdown_timeout_s


def _wait_subscribed(trace: RssTrace, events: queue.Queue[dict[str, Any]], publisher: Any) -> int:
    """The node's RSS when the publisher starts (it waits for every topic to have a subscriber)."""
    if _wait_event(events, "start", 120.0, publisher) is None:
        raise RuntimeError("the publisher never started (no subscriber for every topic)")
    return trace.rss()


def run_soak(workdir: Path, env: dict[str, str], scale: float, seconds: float) -> SoakResult:
    """One node with its viewer against one publisher run of ``seconds``; stopped by SIGTERM 0.5 s after
    the publisher ends."""
    config_path = workdir / "soak.yaml"
    config_path.write_text(yaml.safe_dump(soak_config()))
    config = load_config(config_path)
    result = SoakResult(shutdown_timeout_s=config.shutdown_timeout_s)
    children = Children()
    load_command = publisher_command(scale, seconds)
    err_path = workdir / "node.err"
    try:
        with (workdir / "node.out").open("wb") as out, err_path.open("wb") as err:
            node = children.start([VENV_BIN / "rerun-bridge", "run", "--config", config_path], env, out, err)
            trace = RssTrace(node.pid)
            publisher = children.start(load_command, env, subprocess.PIPE, subprocess.DEVNULL)
            events: queue.Queue[dict[str, Any]] = queue.Queue()
            threading.Thread(target=_read_events, args=(publisher.stdout, events), daemon=True).start()
            try:
                result.baseline_bytes = _wait_subscribed(trace, events, publisher)
                result.bound_bytes = memory_bound_bytes(config, len(TOPICS), result.baseline_bytes)
                _wait_event(events, "end", seconds + 60.0, publisher)
                report = _wait_event(events, "result", 30.0, publisher) or {}
                result.published = {t: int(n) for t, n in report.get("published", {}).items()}
            except RuntimeError as error:
                result.problem = str(error)
            children.stop(publisher, timeout=10.0)
            if node.poll() is not None:
                result.problem = result.problem or f"the node exited early with {node.returncode}"
            time.sleep(0.5)
            stop_started = time.monotonic()
            result.exit_code = children.stop(node, timeout=90.0)
            result.stop_s = time.monotonic() - stop_started
            trace.stop()
            result.samples = trace.samples
    finally:
        children.close()
    result.summary = parse_summary((workdir / "node.out").read_text(errors="replace"))
    stderr = err_path.read_text(errors="replace")
    result.viewer_opened = "viewer cannot open" not in stderr
    result.stderr_tail = stderr[-2000:]
    return result


def _mb(size: float) -> str:
    return f"{size / MB:,.0f} MB"


def print_result(result: SoakResult, scale: float, seconds: float) -> None:
    print(
        f"soak: {seconds:g} s at {scale:g}x the reference load, embedded viewer open: {result.viewer_opened}"
    )
    if result.problem:
        print(f"  problem: {result.problem}\n{result.stderr_tail}")
    step = max(len(result.samples) // 20, 1)
    queues = result.bound_bytes - result.baseline_bytes - LIVE_MEMORY_BUDGET_BYTES - ALLOWANCE_MB * MB
    print("  RSS over time: " + ", ".join(f"{at:.0f} s {_mb(s)}" for at, s in result.samples[::step]))
    print(
        f"  peak RSS {_mb(result.peak_bytes)} at {result.peak_at_s:.0f} s; "
        f"bound {_mb(result.bound_bytes)} = subscribed {_mb(result.baseline_bytes)} + queues {_mb(queues)} "
        "+ viewer store "
        f"{_mb(LIVE_MEMORY_BUDGET_BYTES)} + allowance {ALLOWANCE_MB} MB: "
        f"{'within' if 0 < result.peak_bytes <= result.bound_bytes else 'OVER'}"
    )
    header = f"  {'topic':22} {'published':>10} {'received':>9} {'stored':>9} {'dropped':>8} {'errors':>6}"
    print(header + f" {'lost in DDS':>11}")
    for topic in TOPICS:
        line = result.summary.get(topic)
        published = result.published.get(topic, 0)
        if line is None:
            print(f"  {topic:22} {published:>10} (not in the node's summary)")
            continue
        print(
            f"  {topic:22} {published:>10} {line.received:>9} {line.stored:>9} {line.dropped:>8} "
            f"{line.errors:>6} {max(published - line.received, 0):>11}"
        )
    print(
        f"  exit status {result.exit_code}; stop took {result.stop_s:.1f} s "
        f"(shutdown_timeout_s {result.shutdown_timeout_s:g} s: "
        f"{'on time' if result.stopped_in_time else 'LATE'})"
    )


def as_json(result: SoakResult) -> dict[str, Any]:
    """Every figure of a run, for a test to check."""
    return {
        "problem": result.problem,
        "viewer_opened": result.viewer_opened,
        "exit_code": result.exit_code,
        "stop_s": result.stop_s,
        "shutdown_timeout_s": result.shutdown_timeout_s,
        "samples": len(result.samples),
        "baseline_bytes": result.baseline_bytes,
        "peak_bytes": result.peak_bytes,
        "bound_bytes": result.bound_bytes,
        "published": result.published,
        "summary": {topic: line._asdict() for topic, line in result.summary.items()},
        "stderr_tail": result.stderr_tail,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0, help="publishing time (default 10)")
    parser.add_argument("--scale", type=float, default=1.5, help="times the reference load (default 1.5)")
    parser.add_argument("--domain", type=int, help="ROS_DOMAIN_ID (default: a random one in 100..199)")
    parser.add_argument("--json", action="store_true", help="a last line of JSON with every figure")
    args = parser.parse_args(argv)
    clean_dead_fastdds_memory()  # killed processes' Fast DDS segments would count against this run's RAM
    workdir = Path(tempfile.mkdtemp(prefix="soak_"))
    try:
        domain = random.randrange(100, 200) if args.domain is None else args.domain
        env = bench_env(domain, workdir, LARGE_MESSAGES_PROFILE)
        seconds = args.minutes * 60.0
        result = run_soak(workdir, env, args.scale, seconds)
        print_result(result, args.scale, seconds)
        if args.json:
            print(json.dumps(as_json(result)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        clean_dead_fastdds_memory()
    return 0


if __name__ == "__main__":
    sys.exit(main())
