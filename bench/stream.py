"""Split mode under the live node's reference load: what the laptop gets, how late, and what the robot's
recording loses while laptops misbehave.

    .venv/bin/python bench/stream.py [--duration 10] [--warmup 3] [--scale 1] [--budget 5]

``bench/live_publisher.py`` publishes the reference load (two 720p cameras at 30 Hz, a 100 k-point lidar at
10 Hz, IMU at 400 Hz, 20 TF frames at 100 Hz, 30 joints at 100 Hz; rates times ``--scale``) while
``rerun-bridge run --rrd --mcap --serve --summary`` records it and streams the summary. Three runs, each
against a fresh publisher:

0. ``recording only``: the peer, no stream at all (what the machine's load alone costs the recording).
1. ``laptop``: one laptop client (this process: a StreamFollower into a chunk store, as ``view --connect``)
   that joins the running robot ``--warmup`` seconds after the load started (the bridge's first second makes
   every entity's first chunk: types, schemas, the first JPEG; a laptop watches a robot that runs), then
   watches for ``--duration`` seconds.
   Bytes per second it received (mean and the worst one-second window) against the budget, and the
   end-to-end latency of every row it stored: its arrival here minus the row's ``log_time`` (the bridge's
   clock when the message arrived on the robot; one machine, one clock), p50 / p99.
2. ``stalled``: the same, plus a client that opens the stream and never reads.
3. ``viewer killed``: the same as 1, plus the Rerun viewer sink (``--connect``, summary) sending to a real
   ``rerun`` process that is killed halfway.

For each run, the recording's losses per topic (dropped in the bridge's queues, and rows missing from the
.rrd against what the publisher published) side by side: the target is that the three runs are identical,
with zero at the reference load, and equal to the peer's. Prints numbers; never fails on a missed target.
"""

from __future__ import annotations

import argparse
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import live_load  # noqa: E402  (bench/live_load.py: the reference load and its bookkeeping)
from pyarrow import flight  # noqa: E402

from rerun_bridge.model.stream_format import StreamRequest  # noqa: E402
from rerun_bridge.sources.stream_client import ClientSettings, StreamFollower  # noqa: E402

TARGET_P99_MS: Final = 100.0
RERUN_BINARY = Path(str(__import__("rerun_cli").__file__)).parent / "rerun"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Laptop:
    """What the laptop client received: wire bytes per robot second, and each row's latency."""

    bytes_by_second: dict[int, int] = field(default_factory=dict)
    #: The rows' data bytes (Arrow buffers as decoded, without schemas, framing or compression).
    data_bytes: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    chunks: int = 0
    follower: StreamFollower | None = None
    _counted_bytes: int = 0

    def on_chunk(self, _entity: str, _static: bool, batch: pa.RecordBatch) -> None:
        now_ns = time.time_ns()
        self.chunks += 1
        if "log_time" not in batch.schema.names:
            return
        times = batch.column("log_time").cast(pa.int64()).to_numpy(zero_copy_only=False)
        self.latencies_ms.extend(((now_ns - times) / 1e6).tolist())
        # Bytes by the robot's second the rows are from: what the robot sent per second (arrival seconds
        # bunch up whenever this process is starved of CPU). The follower counts the bytes that came over
        # the wire (schemas and compressed batches); it has counted those before this chunk.
        second = int(times.max()) // 1_000_000_000
        received = self.follower.state().received_bytes if self.follower is not None else 0
        self.bytes_by_second[second] = self.bytes_by_second.get(second, 0) + received - self._counted_bytes
        self._counted_bytes = received
        self.data_bytes += batch.nbytes

    def wire_bytes(self) -> int:
        return self.follower.state().received_bytes if self.follower is not None else 0


class StalledClient:
    """Opens the stream and never reads from it."""

    def __init__(self, port: int) -> None:
        self.client = flight.FlightClient(f"grpc+tcp://127.0.0.1:{port}")
        self.reader = self.client.do_get(flight.Ticket(StreamRequest(history_s=0).ticket()))

    def close(self) -> None:
        self.client.close()


@dataclass
class Run:
    name: str
    laptop: Laptop
    losses: dict[str, tuple[int, int]]  # topic -> (dropped in the bridge, missing from the .rrd)
    sink_lines: list[str]
    window_s: float
    bridge_cores: float


def recording_losses(output: str, rrd: Path, published: dict[str, int]) -> dict[str, tuple[int, int]]:
    lines = live_load.parse_summary(output)
    rows = live_load.count_rrd_rows(rrd)
    losses = {}
    for topic, spec in live_load.TOPICS.items():
        line = lines.get(topic)
        stored = rows.get(topic, 0) // spec.rows
        losses[topic] = (line.dropped if line else -1, max(published.get(topic, 0) - stored, 0))
    return losses


def run_once(name: str, args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> Run:
    children = live_load.Children()
    port = free_port()
    rrd, mcap = workdir / f"{name}.rrd", workdir / f"{name}.mcap"
    command: list[str | Path] = [live_load.VENV_BIN / "rerun-bridge", "run", "--rrd", rrd, "--mcap", mcap]
    streaming = name != "recording only"
    if streaming:
        command += ["--serve", f"127.0.0.1:{port}", "--summary"]
    config = workdir / f"{name}.yaml"
    config.write_text(f"sinks:\n  summary:\n    budget_mbit_s: {args.budget}\n")
    command += ["--config", config]
    viewer = None
    if name == "viewer killed":
        viewer_port = free_port()
        viewer_command: list[str | Path] = [RERUN_BINARY, "--bind", "127.0.0.1", "--port", str(viewer_port)]
        viewer_command += ["--save", workdir / "viewer.rrd"]
        viewer = children.start(viewer_command, env, subprocess.DEVNULL, subprocess.DEVNULL)
        command += ["--connect", f"rerun+http://127.0.0.1:{viewer_port}/proxy"]
    laptop = Laptop()
    stalled: StalledClient | None = None
    with (workdir / f"{name}.out").open("wb") as out, (workdir / f"{name}.err").open("wb") as err:
        node = children.start(command, env, out, err)
        load = live_load.publisher_command(args.scale, args.warmup + args.duration)
        publisher = children.start(load, env, subprocess.PIPE, subprocess.DEVNULL)
        events: queue.Queue[dict[str, Any]] = queue.Queue()
        assert publisher.stdout is not None
        threading.Thread(target=live_load._read_events, args=(publisher.stdout, events), daemon=True).start()
        follower = StreamFollower(ClientSettings(f"127.0.0.1:{port}"), laptop.on_chunk, history_s=0)
        laptop.follower = follower
        try:
            if live_load._wait_event(events, "start", 90.0, publisher) is None:
                raise RuntimeError("the publisher never started")
            time.sleep(args.warmup)
            if streaming:
                follower.start()
            if name == "stalled":
                stalled = StalledClient(port)
            started = time.monotonic()
            before = live_load.cpu_snapshot(node.pid)
            if viewer is not None:
                time.sleep(args.duration / 2)
                viewer.send_signal(signal.SIGKILL)
            live_load._wait_event(events, "end", args.duration + 30.0, publisher)
            window_s = time.monotonic() - started
            cores = live_load.cpu_use(before, live_load.cpu_snapshot(node.pid)).cores
            result = live_load._wait_event(events, "result", 30.0, publisher) or {}
            live_load.Children.stop(publisher, timeout=10.0)
            time.sleep(0.5)
            follower.stop()
            if stalled is not None:
                stalled.close()
            live_load.Children.stop(node, timeout=90.0)
        finally:
            children.close()
    output = (workdir / f"{name}.out").read_text(errors="replace")
    if not live_load.parse_summary(output):
        tail = (workdir / f"{name}.err").read_text(errors="replace")[-1500:]
        print(f"  {name}: the bridge printed no summary (exit {node.returncode}); its stderr ends:\n{tail}")
    losses = recording_losses(output, rrd, result.get("published", {}))
    for path in (rrd, mcap, workdir / "viewer.rrd"):
        path.unlink(missing_ok=True)
    sink_lines = [line for line in output.splitlines() if line.startswith("sink ")]
    return Run(name, laptop, losses, sink_lines, window_s, cores)


def report(runs: Sequence[Run], budget_mbit_s: float) -> None:
    print(f"\nbudget {budget_mbit_s:g} Mbit/s; target p99 < {TARGET_P99_MS:g} ms; recording losses identical")
    for run in runs:
        laptop = run.laptop
        seconds = sorted(laptop.bytes_by_second)[1:-1] or sorted(laptop.bytes_by_second)  # whole seconds
        per_second = [laptop.bytes_by_second[s] * 8 / 1e6 for s in seconds]
        mean = laptop.wire_bytes() * 8 / 1e6 / max(run.window_s, 1e-9)
        p50, p99 = (
            (np.percentile(laptop.latencies_ms, q) for q in (50, 99)) if laptop.latencies_ms else (0, 0)
        )
        print(f"\n[{run.name}] bridge CPU {run.bridge_cores:.2f} cores (all its processes)")
        print(f"  laptop received {laptop.chunks} chunks, {len(laptop.latencies_ms)} rows")
        data_mean = laptop.data_bytes * 8 / 1e6 / max(run.window_s, 1e-9)
        print(
            f"  Mbit/s: mean {mean:.2f}, worst second {max(per_second, default=0):.2f} (bytes over the wire: "
            f"schemas and compressed batches; the rows' data, decoded, {data_mean:.2f})"
        )
        print(f"  robot log_time -> laptop store: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        for line in run.sink_lines:
            print(f"  {line}")
        print("  recording: topic  dropped-in-bridge  missing-from-rrd")
        for topic, (dropped, missing) in run.losses.items():
            print(f"    {topic:24s} {dropped:6d} {missing:6d}")
    totals = {run.name: sum(sum(pair) for pair in run.losses.values()) for run in runs}
    print(f"\nrecording losses (dropped + missing, all topics) per run: {totals}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds the laptop watches")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the laptop joins")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--budget", type=float, default=5.0, help="sinks.summary.budget_mbit_s")
    parser.add_argument("--runs", default="recording only,laptop,stalled,viewer killed")
    args = parser.parse_args(argv)
    runs = []
    with live_load.workspace() as workdir:
        env = live_load.bench_env(random.randint(100, 200), workdir, live_load.LARGE_MESSAGES_PROFILE)
        for name in args.runs.split(","):
            print(f"running {name} ...", flush=True)
            runs.append(run_once(name, args, workdir, env))
    report(runs, args.budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
