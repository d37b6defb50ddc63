"""The launch files' contract: they start `rerun-bridge run` with ROS parameters; the node honours them.

`ros2 launch` cannot be installed here (no launch wheel), so the launch files are kept thin and checked by
reading them, while the parameters they pass are exercised on the real node, both as `-p` arguments and
as a params file (the form launch_ros hands to a node).
"""

from __future__ import annotations

import ast
import time

import pytest
import yaml

from rerun_bridge.launch_support import ROS_ARGUMENTS
from rerun_bridge.node import PARAMETERS
from test.conftest import rrd_row_count, verify_rrd
from test.live.conftest import ROOT, LiveEnv, stop, wait_all

pytestmark = pytest.mark.xdist_group("live")

LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))


def test_launch_files_are_thin_and_complete() -> None:
    assert {p.name for p in LAUNCH_FILES} >= {"bridge.launch.py", "record.launch.py", "view.launch.py"}
    for path in LAUNCH_FILES:
        tree = ast.parse(path.read_text())
        calls = [
            n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        ]
        assert "bridge_launch_description" in calls, path
        # Any default a launch file sets must be a real node parameter.
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in {"defaults", "fixed"}:
                keys = {k.value for k in node.value.keys if isinstance(k, ast.Constant)}  # type: ignore[attr-defined]
                assert keys <= set(PARAMETERS) | set(ROS_ARGUMENTS), (path, keys)


def test_every_parameter_has_a_description() -> None:
    for name, (_default, description) in PARAMETERS.items():
        assert len(description) > 10, name


def test_node_takes_parameters_from_ros_args(live: LiveEnv) -> None:
    bridge = live.bridge(
        "--ros-args",
        "-p", f"rrd_path:={live.tmp / 'p.rrd'}",
        "-p", f"mcap_path:={live.tmp / 'p.mcap'}",
        "-p", "duration:=6.0",
    )  # fmt: skip
    wait_all([live.publish("string", 10, 20)])
    _out, err = bridge.communicate(timeout=60)
    assert bridge.returncode == 0, err
    verify_rrd(live.tmp / "p.rrd")
    assert rrd_row_count(live.tmp / "p.rrd", "/late_topic", "TextLog:text") == 10
    assert (live.tmp / "p.mcap").stat().st_size > 0


def test_node_takes_a_params_file_and_config_file(live: LiveEnv) -> None:
    config = live.tmp / "bridge.yaml"
    config.write_text(yaml.safe_dump({"topics": {"/late_topic": {"entity_path": "/chatter"}}}))
    params = live.tmp / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "rerun_bridge": {
                    "ros__parameters": {"config_file": str(config), "rrd_path": str(live.tmp / "f.rrd")}
                }
            }
        )
    )
    bridge = live.bridge("--ros-args", "--params-file", str(params))
    wait_all([live.publish("string", 5, 20)])
    time.sleep(0.3)
    stop(bridge)
    assert rrd_row_count(live.tmp / "f.rrd", "/chatter", "TextLog:text") == 5


def test_bad_config_is_one_clear_error(live: LiveEnv) -> None:
    config = live.tmp / "bad.yaml"
    config.write_text("topics:\n  /x:\n    rate_limit_hz: fast\n")
    bridge = live.bridge("--config", str(config))
    _out, err = bridge.communicate(timeout=60)
    assert bridge.returncode == 2
    assert "bad.yaml" in err
    assert "topics./x.rate_limit_hz" in err
