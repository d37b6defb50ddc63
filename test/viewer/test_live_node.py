"""The live node with the viewer on: its worker feeds the window's store while rclpy spins beside Qt.

Real ROS 2 publishers in separate processes over Fast DDS, each test on a DDS domain of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytestqt.qtbot import QtBot

from rerun_bridge.config import BridgeConfig, apply_overrides
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.views.time_series_view import TimeSeriesView
from rerun_bridge.viewer.window import ViewerWindow
from test.conftest import rrd_row_count, verify_rrd

if TYPE_CHECKING:
    from rerun_bridge.node import BridgeNode  # imports rclpy: only where a test needs it

pytestmark = [pytest.mark.gui, pytest.mark.xdist_group("live")]

ROOT = Path(__file__).resolve().parents[2]
BRIDGE = [str(Path(sys.executable).parent / "rerun-bridge"), "run"]
IMU_MESSAGES = 30
CLOUD_MESSAGES = 10
_domains = iter(range(50))


@pytest.fixture
def ros_env(worker_id: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A DDS domain of its own (apart from test/live's), for this process and its children."""
    worker = int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0
    domain = 150 + worker * 50 + next(_domains) % 50
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    monkeypatch.delenv("ROS_LOCALHOST_ONLY", raising=False)
    env = os.environ.copy()
    env["PYTHONPATH"] = str(ROOT)
    return env


def publish(env: dict[str, str], kind: str, count: int, rate_hz: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "test.live.publisher", kind, str(count), str(rate_hz)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 60) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


@pytest.fixture
def bridge_node(ros_env: dict[str, str]) -> Iterator[BridgeNode]:
    """A BridgeNode with the viewer on, spun on a background thread as ``rerun-bridge run`` does."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    from rerun_bridge.node import BridgeNode

    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node("rerun_bridge", context=context)
    config = apply_overrides(
        BridgeConfig.default(), {"sinks.viewer.enabled": True, "discovery_period_s": 0.2}
    )
    bridge = BridgeNode(config, node)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.05)

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    try:
        yield bridge
    finally:
        stop.set()
        spinner.join(timeout=10)
        bridge.shutdown()
        executor.remove_node(node)
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def test_the_node_feeds_the_live_window(
    qtbot: QtBot, ros_env: dict[str, str], bridge_node: BridgeNode
) -> None:
    store = bridge_node.viewer_store
    assert store is not None
    window = ViewerWindow(store)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    updates = window.enable_live(interval_ms=50)
    publishers = [publish(ros_env, "imu", IMU_MESSAGES, 30), publish(ros_env, "cloud", CLOUD_MESSAGES, 10)]

    def everything_shown() -> bool:
        # The default blueprint plots each topic's scalars under its first path part.
        plots = [view for view in window.views_of(TimeSeriesView) if view.origin == "/imu"]
        scenes = window.views_of(Spatial3DView)
        if not plots or not scenes or not updates.up_to_date:
            return False
        (plot,) = plots
        assert isinstance(plot, TimeSeriesView)
        samples = [
            len(curve.getOriginalDataset()[1])
            for key, curve in plot.curves.items()
            if key.startswith("/imu/data#")
        ]
        scene = scenes[0]
        assert isinstance(scene, Spatial3DView)
        return bool(samples) and min(samples) == IMU_MESSAGES and "/lidar/points" in scene.points

    qtbot.waitUntil(everything_shown, timeout=45_000)
    for process in publishers:
        finish(process)
    panel = window.time_panel
    assert panel.following
    newest = store.time_range("ros_time")
    assert newest is not None
    assert panel.current_time == newest[1]  # the cursor sits on the newest message
    assert all(view.time == newest[1] for view in window.views)


def test_run_with_the_viewer_records_and_stops_on_sigterm(ros_env: dict[str, str], tmp_path: Path) -> None:
    bridge = subprocess.Popen(
        [*BRIDGE, "--rrd", "out.rrd", "--ros-args", "-p", "viewer:=true", "-p", "blueprint:=manipulation"],
        cwd=tmp_path,
        env=ros_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    finish(publish(ros_env, "imu", IMU_MESSAGES, 50))
    bridge.send_signal(signal.SIGTERM)  # handled on the Qt main thread: the window closes, files close
    out, err = bridge.communicate(timeout=60)
    assert bridge.returncode == 0, err
    assert "viewer cannot open" not in err
    assert "/imu/data" in out  # the closing summary
    verify_rrd(tmp_path / "out.rrd")
    assert rrd_row_count(tmp_path / "out.rrd", "/imu/data", "Scalars:scalars") == IMU_MESSAGES


def test_without_a_display_the_node_records_without_the_viewer(
    ros_env: dict[str, str], tmp_path: Path
) -> None:
    env = {key: value for key, value in ros_env.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [*BRIDGE, "--rrd", "out.rrd", "--duration", "1", "--ros-args", "-p", "viewer:=true"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "the embedded viewer cannot open: no display" in result.stderr
    verify_rrd(tmp_path / "out.rrd")
