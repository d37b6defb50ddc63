"""The launch files under real ROS 2 launch, on a colcon-built workspace, as a ROS user runs them.

One session workspace: the project (its files as a fresh clone has them) and a small `robot_stack`
package whose XML and YAML launch files include our node, colcon-built and sourced through
install/setup.bash. Every shipped launch file runs through `ros2launch.api.launch_a_launch_file` (what
`ros2 launch` runs) with arguments typed as users type them, and each test checks what the node recorded:
launch reports success even when the node died.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from rerun_bridge.parameters import PARAMETERS
from test.conftest import rrd_row_count, verify_rrd
from test.live.conftest import BRIDGE, ROOT, LiveEnv, stop, wait_all

pytestmark = pytest.mark.xdist_group("live")

MESSAGES = 10
# The node runs for a fixed time; long enough to discover the publisher on a busy machine.
DURATION = "8"
LAUNCH_FILES = sorted(path.name for path in (ROOT / "launch").glob("*.launch.py"))
# What `ros2 launch FILE ARGS...` runs; its return code is launch's, not the node's.
LAUNCH_RUNNER = (
    "import sys; from ros2launch.api import launch_a_launch_file; "
    "sys.exit(launch_a_launch_file(launch_file_path=sys.argv[1], launch_file_arguments=sys.argv[2:], "
    "noninteractive=True))"
)
# What a fresh clone holds: build outputs, caches and the venv stay behind.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "install", "log", "__pycache__", "*.egg-info", ".*_cache", ".hypothesis",
    "demo_output", "*.rrd",
)  # fmt: skip
# The variables install/setup.bash sets for the workspace.
WORKSPACE_VARIABLES = ("AMENT_PREFIX_PATH", "COLCON_PREFIX_PATH", "PYTHONPATH", "PATH")

ROBOT_STACK_XML = """\
<launch>
  <arg name="rrd_path"/>
  <group>
    <push-ros-namespace namespace="xml_robot"/>
    <include file="$(find-pkg-share rerun_bridge)/launch/bridge.launch.py">
      <arg name="rrd_path" value="$(var rrd_path)"/>
      <arg name="duration" value="8"/>
    </include>
  </group>
</launch>
"""
# A node entry with <param>s, typed the YAML way: `duration: 8` is an integer, the parameter a double.
ROBOT_STACK_YAML = """\
launch:
- arg: {name: rrd_path}
- node:
    pkg: rerun_bridge
    exec: bridge_node
    name: yaml_bridge
    namespace: yaml_robot
    param:
    - {name: rrd_path, value: "$(var rrd_path)"}
    - {name: duration, value: 8}
"""
ROBOT_STACK_SETUP = """\
from glob import glob
from setuptools import setup

setup(
    name="robot_stack",
    version="0.0.1",
    packages=[],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/robot_stack"]),
        ("share/robot_stack", ["package.xml"]),
        ("share/robot_stack/launch", glob("launch/*")),
    ],
)
"""
ROBOT_STACK_PACKAGE = """\
<?xml version="1.0"?>
<package format="3">
  <name>robot_stack</name>
  <version>0.0.1</version>
  <description>A robot stack that includes the bridge from its own launch files.</description>
  <maintainer email="robot@example.invalid">robot</maintainer>
  <license>Apache-2.0</license>
  <exec_depend>rerun_bridge</exec_depend>
  <export><build_type>ament_python</build_type></export>
</package>
"""


@dataclass(frozen=True)
class Workspace:
    install: Path
    environment: dict[str, str]  # WORKSPACE_VARIABLES as install/setup.bash sets them

    def share(self, package: str) -> Path:
        return self.install / package / "share" / package

    def env(self, live: LiveEnv) -> dict[str, str]:
        # The test's DDS domain and settings, the sourced workspace instead of this checkout on PYTHONPATH:
        # the node runs the colcon-installed copy.
        env = {**live.env, **self.environment}
        env["ROS_LOG_DIR"] = str(live.tmp / "ros_log")
        return env


def _write_robot_stack(source: Path) -> None:
    (source / "launch").mkdir(parents=True)
    (source / "resource").mkdir()
    (source / "resource" / "robot_stack").write_text("")
    (source / "package.xml").write_text(ROBOT_STACK_PACKAGE)
    (source / "setup.py").write_text(ROBOT_STACK_SETUP)
    (source / "launch" / "robot.launch.xml").write_text(ROBOT_STACK_XML)
    (source / "launch" / "robot.launch.yaml").write_text(ROBOT_STACK_YAML)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """`colcon build` of the project and robot_stack in a fresh workspace; `source install/setup.bash`."""
    root = tmp_path_factory.mktemp("ros_ws")
    shutil.copytree(ROOT, root / "src" / "rerun_bridge", ignore=NOT_SOURCES)
    _write_robot_stack(root / "src" / "robot_stack")
    clean = {key: value for key, value in os.environ.items() if key not in WORKSPACE_VARIABLES[:3]}
    # The venv is the underlay, as a sourced /opt/ros/<distro> is on a ROS machine: launch and the
    # message packages are found through it.
    clean["AMENT_PREFIX_PATH"] = sys.prefix
    clean["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    build = subprocess.run(
        # As docs/ros.md says: colcon run by the venv's python, which the executables then start with.
        [sys.executable, "-m", "colcon", "build"],
        cwd=root,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    sourced = subprocess.run(
        ["bash", "-c", "source install/setup.bash && env -0"],
        cwd=root,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    environment = dict(line.split("=", 1) for line in sourced.stdout.split("\0") if "=" in line)
    return Workspace(root / "install", {key: environment[key] for key in WORKSPACE_VARIABLES})


def launch(workspace: Workspace, live: LiveEnv, launch_file: Path, *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCH_RUNNER, str(launch_file), *arguments],
        cwd=live.tmp,
        env=workspace.env(live),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def launch_and_publish(workspace: Workspace, live: LiveEnv, launch_file: Path, *arguments: str) -> str:
    """Launch, publish MESSAGES strings on /late_topic, wait for the launch to end; its output."""
    launched = launch(workspace, live, launch_file, *arguments)
    wait_all([live.publish("string", MESSAGES, 20)])
    output, _ = launched.communicate(timeout=120)
    assert launched.returncode == 0, output
    assert "process has finished cleanly" in output, output  # launch's word that the node exited with 0
    return output


def assert_recorded(rrd: Path) -> None:
    verify_rrd(rrd)
    assert rrd_row_count(rrd, "/late_topic", "TextLog:text") == MESSAGES


def test_colcon_installs_the_launch_files_and_both_executables(workspace: Workspace) -> None:
    share = workspace.share("rerun_bridge")
    assert sorted(path.name for path in (share / "launch").glob("*.launch.py")) == LAUNCH_FILES
    assert (share / "config" / "fastdds_large_messages.xml").is_file()
    # Where `ros2 run rerun_bridge EXECUTABLE` looks: lib/<package>/<executable>.
    executables = workspace.install / "rerun_bridge" / "lib" / "rerun_bridge"
    assert {"bridge_node", "rerun-bridge"} <= {path.name for path in executables.iterdir()}


def test_bridge_launch_with_typed_arguments_and_a_namespace(workspace: Workspace, live: LiveEnv) -> None:
    output = launch_and_publish(
        workspace,
        live,
        workspace.share("rerun_bridge") / "launch" / "bridge.launch.py",
        f"duration:={DURATION}",  # an integer to YAML, the parameter a double
        "rrd_path:=out.rrd",
        f"mcap_path:={live.tmp / 'out.mcap'}",
        "viewer:=false",
        "use_sim_time:=false",
        "namespace:=robot1",
        "node_name:=recorder",
    )
    assert "[robot1.recorder]" in output  # the node's logger: its namespace and name
    assert_recorded(live.tmp / "out.rrd")
    assert (live.tmp / "out.mcap").stat().st_size > 0


def test_record_launch_writes_files_named_by_the_start_time(workspace: Workspace, live: LiveEnv) -> None:
    launch_and_publish(
        workspace,
        live,
        workspace.share("rerun_bridge") / "launch" / "record.launch.py",
        f"duration:={DURATION}",
    )
    (rrd,) = live.tmp.glob("recording_*.rrd")
    (mcap,) = live.tmp.glob("recording_*.mcap")
    assert rrd.stem == mcap.stem
    assert_recorded(rrd)


def test_view_launch_opens_the_viewer_and_records(workspace: Workspace, live: LiveEnv) -> None:
    assert os.environ.get("DISPLAY"), "the suite runs under xvfb-run (make test)"
    output = launch_and_publish(
        workspace,
        live,
        workspace.share("rerun_bridge") / "launch" / "view.launch.py",
        f"duration:={DURATION}",
        "rrd_path:=view.rrd",
        "blueprint:=manipulation",
    )
    assert "viewer cannot open" not in output
    assert_recorded(live.tmp / "view.rrd")


def test_xml_launch_file_of_another_package_includes_the_bridge(workspace: Workspace, live: LiveEnv) -> None:
    output = launch_and_publish(
        workspace, live, workspace.share("robot_stack") / "launch" / "robot.launch.xml", "rrd_path:=xml.rrd"
    )
    assert "[xml_robot.rerun_bridge]" in output  # the namespace the including file pushed
    assert_recorded(live.tmp / "xml.rrd")


def test_yaml_launch_file_of_another_package_starts_the_node(workspace: Workspace, live: LiveEnv) -> None:
    output = launch_and_publish(
        workspace, live, workspace.share("robot_stack") / "launch" / "robot.launch.yaml", "rrd_path:=yaml.rrd"
    )
    assert "[yaml_robot.yaml_bridge]" in output
    assert_recorded(live.tmp / "yaml.rrd")


@pytest.mark.parametrize(
    ("launch_file", "argument", "message"),
    [
        ("bridge.launch.py", "duration:=soon", "launch argument 'duration': expected a number, got 'soon'"),
        ("record.launch.py", "duration:=-5", "launch argument 'duration': expected a number >= 0, got '-5'"),
        (
            "bridge.launch.py",
            "viewer:=maybe",
            "launch argument 'viewer': expected true or false, got 'maybe'",
        ),
        ("bridge.launch.py", "use_sim_time:=2", "launch argument 'use_sim_time': expected true or false"),
        ("record.launch.py", "viewer:=true", "launch argument 'viewer' is not offered by this launch file"),
        ("view.launch.py", "viewer:=false", "launch argument 'viewer' is not offered by this launch file"),
    ],
)
def test_an_argument_that_does_not_fit_stops_the_launch_with_one_error(
    workspace: Workspace, live: LiveEnv, launch_file: str, argument: str, message: str
) -> None:
    launched = launch(workspace, live, workspace.share("rerun_bridge") / "launch" / launch_file, argument)
    output, _ = launched.communicate(timeout=120)
    assert launched.returncode == 1, output
    assert message in output
    assert "process started" not in output  # no node was started
    assert "Traceback" not in output


def test_bridge_node_takes_ros_remapping_and_integer_parameters(workspace: Workspace, live: LiveEnv) -> None:
    """`ros2 run rerun_bridge bridge_node --ros-args ...`: the executable ros2 run finds, run directly."""
    node = subprocess.Popen(
        [
            str(workspace.install / "rerun_bridge" / "lib" / "rerun_bridge" / "bridge_node"),
            "--ros-args",
            "-r", "__node:=my_bridge",
            "-r", "__ns:=/robot2",
            "-p", f"duration:={DURATION}",
            "-p", "rrd_path:=run.rrd",
        ],
        cwd=live.tmp,
        env=workspace.env(live),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    wait_all([live.publish("string", MESSAGES, 20)])
    output, _ = node.communicate(timeout=120)
    assert node.returncode == 0, output
    assert "[robot2.my_bridge]" in output
    assert_recorded(live.tmp / "run.rrd")


def test_bridge_node_names_a_parameter_of_the_wrong_type(workspace: Workspace, live: LiveEnv) -> None:
    result = subprocess.run(
        [
            str(workspace.install / "rerun_bridge" / "lib" / "rerun_bridge" / "bridge_node"),
            "--ros-args", "-p", "viewer:=sometimes",
        ],
        cwd=live.tmp,
        env=workspace.env(live),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "error: parameter 'viewer': expected true or false, got 'sometimes' " + (
        "(for example viewer:=false)"
    )


def test_every_parameter_has_a_description() -> None:
    for name, (_default, description) in PARAMETERS.items():
        assert len(description) > 10, name


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


def test_a_negative_duration_is_a_wrong_argument(live: LiveEnv) -> None:
    """`--duration -5` ran until SIGINT, silently, as `--duration 0` does."""
    bridge = live.bridge("--duration", "-5", "--rrd", "r.rrd")
    try:
        _out, err = bridge.communicate(timeout=60)
    finally:
        if bridge.poll() is None:  # it ran: stop it cleanly, not leave it behind the failed test
            stop(bridge)
    assert bridge.returncode == 2
    assert "argument --duration: expected a number of seconds >= 0, got '-5'" in err
    assert not (live.tmp / "r.rrd").exists()


def test_bad_config_is_one_clear_error(live: LiveEnv) -> None:
    config = live.tmp / "bad.yaml"
    config.write_text("topics:\n  /x:\n    rate_limit_hz: fast\n")
    bridge = live.bridge("--config", str(config))
    _out, err = bridge.communicate(timeout=60)
    assert bridge.returncode == 2
    assert "bad.yaml" in err
    assert "topics./x.rate_limit_hz" in err


def test_bad_custom_types_are_named_by_the_config_file(live: LiveEnv) -> None:
    """Archetypes and msg folders are checked with Rerun, after the YAML: still one error naming the file
    and each key (they used to say '<config>' and stop at the first)."""
    config = live.tmp / "bad.yaml"
    config.write_text(
        "custom_types:\n  msg_path: [missing]\n  mappings:\n    my_robot/msg/T:\n"
        "      archetype: Pointz3D\n      fields: {positions: a.x/y/z}\n"
    )
    bridge = live.bridge("--config", str(config), "--rrd", "r.rrd")
    _out, err = bridge.communicate(timeout=60)
    assert bridge.returncode == 2
    assert f"{config}: custom_types.mappings.my_robot/msg/T.archetype: 'Pointz3D' is not" in err
    assert f"{config}: custom_types.msg_path[0]: 'missing' is not a folder" in err
    assert not (live.tmp / "r.rrd").exists()


def test_an_unknown_parameter_is_an_error_naming_it(live: LiveEnv) -> None:
    """`-p bluprint:=navigation` (a typo) was dropped without a word: the bridge ran without its layout
    (found by an audit)."""
    result = subprocess.run(
        [*BRIDGE, "--duration", "1", "--ros-args", "-p", "bluprint:=navigation"],
        cwd=live.tmp,
        env=live.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "error: unknown ROS parameter 'bluprint' (did you mean 'blueprint'?)" in result.stderr
    assert "Traceback" not in result.stderr
