"""The distros the live node runs on: one clear message, not a traceback, on an rclpy without the
modules it needs (Humble's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rerun_bridge.ros_distro import REQUIRED_RCLPY_MODULES, unsupported_rclpy_reason

# What Humble's rclpy has of the modules the node checks for.
HUMBLE_MODULES = {"rclpy", "rclpy.experimental"}


def test_this_rclpy_runs_the_node() -> None:
    assert unsupported_rclpy_reason() is None


def test_humble_rclpy_gets_one_message_with_the_way_out() -> None:
    reason = unsupported_rclpy_reason(lambda name: name in HUMBLE_MODULES)
    assert reason is not None
    for module in REQUIRED_RCLPY_MODULES:
        assert module in reason
    assert "supports ROS 2 Jazzy and Kilted (Humble is not supported)" in reason
    assert "`ros2 bag record`" in reason
    assert "rerun-bridge convert" in reason


def test_no_rclpy_asks_to_source_ros() -> None:
    reason = unsupported_rclpy_reason(lambda _name: False)
    assert reason is not None
    assert reason.startswith("rclpy not found: source a ROS 2 install first")


def test_executables_on_a_humble_like_rclpy_print_one_error(tmp_path: Path) -> None:
    # An rclpy package without the experimental events executor and event_handler, ahead on the path.
    (tmp_path / "rclpy" / "experimental").mkdir(parents=True)
    (tmp_path / "rclpy" / "__init__.py").write_text("")
    (tmp_path / "rclpy" / "experimental" / "__init__.py").write_text("")
    bin_dir = Path(sys.executable).parent
    for command in ([str(bin_dir / "bridge_node")], [str(bin_dir / "rerun-bridge"), "run"]):
        result = subprocess.run(
            command,
            env={"PATH": str(bin_dir), "PYTHONPATH": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: this rclpy lacks rclpy.experimental.events_executor")
        assert "Traceback" not in result.stderr
