"""Recording on the robot, watching on the laptop: the bridge, its clients and a real Rerun viewer run as
separate processes on loopback. Whatever the clients do (wrong token, killed mid-stream, gone), the robot's
recording stays complete."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from test.conftest import rrd_column, rrd_row_count, verify_rrd
from test.live.conftest import ROOT, LiveEnv, read_until, stop, wait_all
from test.network import Viewer, free_port, wait_for

pytestmark = pytest.mark.xdist_group("live")

RERUN_BRIDGE = str(Path(sys.executable).parent / "rerun-bridge")


def receiver(live: LiveEnv, port: int, output: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [RERUN_BRIDGE, "receive", f"127.0.0.1:{port}", "-o", str(live.tmp / output), *args],
        env=live.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_served_stream_refuses_bad_tokens_and_killed_or_stalled_clients_leave_the_recording_whole(
    live: LiveEnv,
) -> None:
    port = free_port()
    bridge = live.bridge("--rrd", "robot.rrd", "--serve", f"127.0.0.1:{port}", "--token", "t0k")
    served, _lines = read_until(bridge.stderr, "streaming on", timeout=60)
    assert served
    for args in (("--token", "wrong"), ()):
        refused = receiver(live, port, "refused.rrd", *args, "--duration", "5")
        _out, err = refused.communicate(timeout=60)
        assert refused.returncode != 0
        assert "authentication failed" in err
        assert not (live.tmp / "refused.rrd").exists()  # no empty recording left behind
    watching = receiver(live, port, "laptop.rrd", "--token", "t0k", "--duration", "20")
    killed = receiver(live, port, "killed.rrd", "--token", "t0k")
    stalled = receiver(live, port, "stalled.rrd", "--token", "t0k")
    interrupted = receiver(live, port, "interrupted.rrd", "--token", "t0k")
    for client in (watching, killed, stalled, interrupted):
        assert read_until(client.stderr, "receiving from", timeout=60)[0]
    stalled.send_signal(signal.SIGSTOP)  # connected, reads nothing more
    publisher = live.publish("imu", 60, 30)
    time.sleep(2.0)  # the publisher has found the bridge and is publishing (60 messages take 2 s)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    wait_all([publisher])
    interrupted.send_signal(signal.SIGINT)  # Ctrl-C: the recording ends complete, without a traceback
    out, err = interrupted.communicate(timeout=60)
    assert interrupted.returncode == 130, err
    assert "Traceback" not in err
    assert out.startswith("received ")
    assert "interrupted.rrd" in out
    verify_rrd(live.tmp / "interrupted.rrd")
    assert rrd_row_count(live.tmp / "interrupted.rrd", "/imu/data", "Scalars:scalars") > 0
    _out, err = stop(bridge)
    assert bridge.returncode == 0, err
    stalled.send_signal(signal.SIGKILL)
    stalled.wait(timeout=30)
    _out, err = watching.communicate(timeout=60)
    assert watching.returncode == 0, err
    verify_rrd(live.tmp / "robot.rrd")
    expected = [float(i) for i in range(60)]
    assert [row[0] for row in rrd_column(live.tmp / "robot.rrd", "/imu/data", "Scalars:scalars")] == expected
    assert [row[0] for row in rrd_column(live.tmp / "laptop.rrd", "/imu/data", "Scalars:scalars")] == expected


def test_a_laptop_joining_after_the_history_window_still_gets_the_latched_map(live: LiveEnv) -> None:
    """The map server publishes once at start-up (transient local); the stream keeps only a second of
    temporal data here. A laptop that joins later gets the map all the same, as a late DDS subscriber
    would (found by an audit: it had no map until the map was published again)."""
    port = free_port()
    config = live.tmp / "bridge.yaml"
    config.write_text(yaml.safe_dump({"sinks": {"stream": {"history_s": 1.0}}}))
    bridge = live.bridge("--config", str(config), "--serve", f"127.0.0.1:{port}")
    assert read_until(bridge.stderr, "streaming on", timeout=60)[0]
    wait_all([live.publish("map", 1, 10.0)])
    wait_all([live.publish("imu", 60, 30)])  # two seconds later: the map is out of the history window
    late = receiver(live, port, "late.rrd", "--duration", "4")
    _out, err = late.communicate(timeout=60)
    assert late.returncode == 0, err
    _out, err = stop(bridge)
    assert bridge.returncode == 0, err
    verify_rrd(live.tmp / "late.rrd")
    assert rrd_row_count(live.tmp / "late.rrd", "/map/image", "Image:buffer") == 1
    assert rrd_row_count(live.tmp / "late.rrd", "/imu/data", "Scalars:scalars") < 60  # history: a second


def test_serving_beyond_loopback_needs_a_token(live: LiveEnv) -> None:
    bridge = live.bridge("--serve", f"0.0.0.0:{free_port()}", "--duration", "5")
    _out, err = bridge.communicate(timeout=60)
    assert bridge.returncode == 2
    assert "sinks.stream.token" in err
    assert "non-loopback" in err


def test_rerun_viewer_gets_the_data_and_its_death_leaves_the_recording_whole(live: LiveEnv) -> None:
    port = free_port()
    viewer = Viewer(port, live.tmp / "laptop.rrd")
    try:
        url = f"rerun+http://127.0.0.1:{port}/proxy"
        bridge = live.bridge(
            "--rrd", "robot.rrd", "--connect", url, "--ros-args", "-p", "blueprint:=navigation"
        )
        wait_all([live.publish("imu", 40, 40)])
        assert wait_for(lambda: "/imu/data" in {entity for entity, _s, _v in viewer.chunks()})
    finally:
        viewer.stop(signal.SIGKILL)  # the laptop goes away mid-run
    wait_all([live.publish("imu", 40, 40)])
    out, err = stop(bridge)
    assert bridge.returncode == 0, err
    verify_rrd(live.tmp / "robot.rrd")
    stored = [row[0] for row in rrd_column(live.tmp / "robot.rrd", "/imu/data", "Scalars:scalars")]
    assert stored == [float(i) for i in range(40)] * 2
    seen = [v for entity, _s, values in viewer.chunks() if entity == "/imu/data" for v in values]
    assert seen[:40] == [float(i) for i in range(40)]
    assert viewer.blueprint_application_ids() == ["rerun_bridge"]
    assert "sink rerun_viewer: connected false, connections 1" in out


def test_split_mode_streams_a_summary_and_records_everything(live: LiveEnv) -> None:
    port = free_port()
    bridge = live.bridge("--rrd", "robot.rrd", "--serve", f"127.0.0.1:{port}", "--summary")
    assert read_until(bridge.stderr, "split mode", timeout=60)[0]
    laptop = receiver(live, port, "laptop.rrd", "--duration", "15")
    assert read_until(laptop.stderr, "receiving from", timeout=60)[0]
    wait_all([live.publish("image", 30, 20), live.publish("imu", 40, 40)])
    _out, err = laptop.communicate(timeout=60)
    assert laptop.returncode == 0, err
    out, err = stop(bridge)
    assert bridge.returncode == 0, err
    robot, remote = live.tmp / "robot.rrd", live.tmp / "laptop.rrd"
    assert rrd_row_count(robot, "/camera/image_raw", "Image:buffer") == 30  # the recording stays full
    summarized = rrd_row_count(remote, "/camera/image_raw", "EncodedImage:blob")
    assert 1 <= summarized <= 5  # 2 Hz of 1.5 s, JPEG-encoded
    assert rrd_row_count(remote, "/camera/image_raw", "Image:buffer") == 0
    expected = [float(i) for i in range(40)]
    assert [row[0] for row in rrd_column(remote, "/imu/data", "Scalars:scalars")] == expected  # in full
    (summary_line,) = [line for line in out.splitlines() if line.startswith("sink summary:")]
    assert "left_out_rate 0" not in summary_line


def test_a_client_that_stops_reading_big_data_never_holds_the_bridge(live: LiveEnv) -> None:
    """Camera frames fill a stalled client's connection until gRPC's writes block: the bridge still records
    every frame and exits when told (gRPC alone would wait for that client at shutdown, forever)."""
    live.env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(ROOT / "config" / "fastdds_large_messages.xml")
    port = free_port()
    bridge = live.bridge("--rrd", "robot.rrd", "--serve", f"127.0.0.1:{port}")
    assert read_until(bridge.stderr, "streaming on", timeout=60)[0]
    stalled = receiver(live, port, "stalled.rrd")
    assert read_until(stalled.stderr, "receiving from", timeout=60)[0]
    stalled.send_signal(signal.SIGSTOP)
    try:
        wait_all([live.publish("camera_frame", 40, 20)])
        out, err = stop(bridge, timeout=60)
    finally:
        stalled.send_signal(signal.SIGKILL)
        stalled.wait(timeout=30)
    assert bridge.returncode == 0, err
    assert rrd_row_count(live.tmp / "robot.rrd", "/camera/hd/image_raw", "Image:buffer") == 40
    assert "sink stream:" in out
    assert "stopped reading" in err  # the case this test is about happened


def test_each_network_sink_reports_its_drops_in_the_diagnostics(live: LiveEnv) -> None:
    """No viewer listens at the Rerun sink's address and its queue holds 1 kB: what it drops is counted in
    its own diagnostics status, a warning, while the recording and the stream's status are fine."""
    config = live.tmp / "bridge.yaml"
    config.write_text(yaml.safe_dump({"sinks": {"rerun_viewer": {"queue_megabytes": 0.001}}}))
    url = f"rerun+http://127.0.0.1:{free_port()}/proxy"
    bridge = live.bridge(
        "--config", str(config), "--rrd", "robot.rrd", "--serve", f"127.0.0.1:{free_port()}", "--connect", url
    )
    publisher = live.publish("imu", 100, 50)
    listen = ["-m", "test.live.listener", "/rerun_bridge/diagnostics", "30", "rerun_bridge: /imu/data"]
    listener = subprocess.run(
        [sys.executable, *listen],
        cwd=ROOT,
        env=live.env,
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    wait_all([publisher])
    stop(bridge)
    statuses = {s["name"]: s for s in json.loads(listener.stdout.strip().splitlines()[-1])}
    viewer_sink = statuses["rerun_bridge: sink rerun_viewer"]
    assert viewer_sink["values"]["connected"] == "false"
    assert int(viewer_sink["values"]["dropped_chunks"]) > 0
    assert viewer_sink["level"] == 1  # WARN
    stream_sink = statuses["rerun_bridge: sink stream"]
    assert stream_sink["values"]["dropped_chunks"] == "0"
    assert stream_sink["level"] == 0
    assert rrd_row_count(live.tmp / "robot.rrd", "/imu/data", "Scalars:scalars") == 100
