"""How the node's files end: complete after every clean stop, readable (repaired) after a SIGKILL anywhere."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import rerun.chunk as rrc
import rerun_bindings
from mcap.reader import make_reader

from rerun_bridge.sources.bag import open_bag
from test.conftest import verify_rrd
from test.live.conftest import BRIDGE, LiveEnv, read_until, stop, wait_all

pytestmark = pytest.mark.xdist_group("live")
REPAIR = [BRIDGE[0], "repair"]


def _assert_complete(rrd: Path, mcap: Path, imu_messages: int) -> None:
    """Rerun's footer and manifest (no "legacy format"), the MCAP summary, and every message."""
    verify_rrd(rrd)
    assert rerun_bindings.check_for_rrd_footer(str(rrd)), f"{rrd}: no footer"
    assert len(rrc.RrdReader(str(rrd)).store()) > 0  # store() needs the manifest
    with mcap.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None
    assert summary.statistics is not None
    assert summary.statistics.message_count >= imu_messages


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "duration"])
def test_every_clean_stop_writes_the_footer_and_the_summary(live: LiveEnv, how: str) -> None:
    extra = ["--duration", "6"] if how == "duration" else []
    bridge = live.bridge("--rrd", "s.rrd", "--mcap", "s.mcap", *extra)
    wait_all([live.publish("imu", 40, 40)])
    if how == "duration":
        bridge.communicate(timeout=60)
    else:
        stop(bridge, getattr(signal, how))
    assert bridge.returncode == 0
    _assert_complete(live.tmp / "s.rrd", live.tmp / "s.mcap", 40)


def _imu_values(rrd: Path) -> list[float]:
    values: list[float] = []
    for chunk in rrc.RrdReader(str(rrd)).stream().to_chunks():
        batch = chunk.to_record_batch()
        if str(chunk.entity_path) == "/imu/data" and "Scalars:scalars" in batch.schema.names:
            # The first scalar of a row is angular_velocity.x: the message's index.
            values += [float(np.asarray(row)[0]) for row in batch.column("Scalars:scalars").to_pylist()]
    return sorted(values)


def _repair(source: Path, output: Path) -> None:
    result = subprocess.run(
        [*REPAIR, str(source), "-o", str(output)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_moment_leaves_files_that_open_up_to_the_last_flush(
    live: LiveEnv, seed: int
) -> None:
    bridge = live.bridge("--rrd", "k.rrd", "--mcap", "k.mcap")
    imu = live.publish("imu", 1000, 100)
    frames = live.publish("small_frame", 100, 10)  # big writes: a kill is likely to cut one
    try:
        subscribed, lines = read_until(bridge.stderr, "bridging /imu/data", timeout=60)
        assert subscribed, "".join(lines)
        time.sleep(random.Random(seed).uniform(1.5, 4.0))  # the random moment of the kill
        bridge.kill()
        bridge.wait()
    finally:
        imu.kill()
        frames.kill()
    rrd, mcap = live.tmp / "k.repaired.rrd", live.tmp / "k.repaired.mcap"
    _repair(live.tmp / "k.rrd", rrd)
    _repair(live.tmp / "k.mcap", mcap)
    verify_rrd(rrd)
    # What was flushed is there without holes: the IMU's indexes 0..n-1 (n > 0: flushes ran).
    values = _imu_values(rrd)
    assert values, "nothing flushed before the kill"
    assert values == [float(i) for i in range(len(values))]
    with mcap.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None
    assert summary.statistics is not None
    with open_bag(mcap) as bag:
        imu_count = sum(1 for m in bag.messages() if m.topic == "/imu/data")
    assert imu_count > 0, "nothing flushed to the MCAP before the kill"
