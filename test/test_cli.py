"""The command line as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import rerun.chunk as rrc

from rerun_bridge.cli import main
from test.blueprint.rbl_reader import rbl_views, read_rbl
from test.conftest import GPS_BAG, NEATO_BAG, ROSBAG2_RESOURCES, verify_rrd

CLI = Path(sys.executable).parent / "rerun-bridge"
TALKER = ROSBAG2_RESOURCES / "rosbag2_py" / "test" / "resources" / "mcap" / "talker"


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )


def test_info_lists_topics_with_converters() -> None:
    result = run_cli("info", NEATO_BAG)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("/")}
    assert "sensor_msgs/msg/LaserScan" in lines["/scan"]
    assert "Points3D" in lines["/scan"]
    assert " 153 " in lines["/scan"]
    assert "skipped" in lines["/bump"]
    assert "Hz" in lines["/odom"]


def test_types_lists_supported_types() -> None:
    result = run_cli("types")
    assert result.returncode == 0
    types = {line.split()[0] for line in result.stdout.splitlines()}
    assert {"sensor_msgs/msg/Image", "tf2_msgs/msg/TFMessage", "rcl_interfaces/msg/Log"} <= types


def test_convert_writes_both_files_and_a_summary(tmp_path: Path) -> None:
    rrd, mcap = tmp_path / "run.rrd", tmp_path / "run.mcap"
    result = run_cli("convert", NEATO_BAG, "-o", rrd, "--mcap", mcap)
    assert result.returncode == 0, result.stderr
    verify_rrd(rrd)
    assert mcap.stat().st_size > 0
    summary = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.startswith("/")}
    assert summary["/scan"][2:4] == ["converted", "153"]
    assert summary["/bump"][2] == "skipped"
    assert "neato2_interfaces/msg/Bump" in result.stderr  # the warning names topic and type


def test_several_bags_into_one_recording(tmp_path: Path) -> None:
    sqlite_talker = ROSBAG2_RESOURCES / "rosbag2_py" / "test" / "resources" / "sqlite3" / "talker"
    assert main(["convert", str(TALKER), str(sqlite_talker), "-o", str(tmp_path / "two.rrd"), "-q"]) == 0
    verify_rrd(tmp_path / "two.rrd")


def test_exit_codes(tmp_path: Path) -> None:
    assert run_cli("convert", tmp_path / "missing", "-o", tmp_path / "x.rrd").returncode == 2
    assert run_cli("convert", NEATO_BAG, "-o", tmp_path / "x.rrd", "--topics", "(").returncode == 2
    nothing = run_cli("convert", NEATO_BAG, "-o", tmp_path / "y.rrd", "--topics", "^/bump$")
    assert nothing.returncode == 1
    assert "nothing could be converted" in nothing.stderr
    assert run_cli("bogus").returncode == 2


def test_nothing_converted_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A bare "nothing could be converted" after a --topics typo or a window past the end read as a broken bag.
    empty_bag = ROSBAG2_RESOURCES / "ros2bag" / "test" / "resources" / "empty_bag"
    cases: list[tuple[list[str], str]] = [
        (
            [str(NEATO_BAG), "--topics", "^/nomatch$"],
            "no topic of the recordings matches --topics / --exclude",
        ),
        (
            [str(NEATO_BAG), "--start", "100"],
            "no message of the selected topics lies between --start and --end"
            " (the recording spans 0 to 32.448 s",
        ),
        ([str(empty_bag)], "the recordings hold no messages"),
    ]
    for index, (arguments, reason) in enumerate(cases):
        assert main(["convert", *arguments, "-o", str(tmp_path / f"{index}.rrd"), "-q"]) == 1
        assert f"error: nothing could be converted: {reason}" in capsys.readouterr().err


def test_start_after_end_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reversed.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(out), "--start", "10", "--end", "5", "-q"]) == 2
    assert "error: --start 10 is after --end 5" in capsys.readouterr().err
    assert not out.exists()


def test_a_mesh_root_that_is_no_folder_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "robot.rrd"
    result = run_cli("convert", NEATO_BAG, "-o", out, "--mesh-root", tmp_path / "meshs")
    assert result.returncode == 2
    assert "--mesh-root" in result.stderr
    assert "meshs' is not a folder" in result.stderr
    assert not out.exists()


def test_start_end_offsets(tmp_path: Path) -> None:
    out = tmp_path / "part.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(out), "--start", "5", "--end", "10", "-q"]) == 0
    verify_rrd(out)


def test_blueprint_export_and_convert_with_a_blueprint(tmp_path: Path) -> None:
    result = run_cli("blueprint", "export", "navigation", "-o", tmp_path / "nav.rbl")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "nav.rbl").stat().st_size > 0
    unknown = run_cli("blueprint", "export", "nonsense", "-o", tmp_path / "x.rbl")
    assert unknown.returncode == 2
    assert "perception" in unknown.stderr  # the error lists the available names
    assert (
        main(["convert", str(NEATO_BAG), "-o", str(tmp_path / "b.rrd"), "--blueprint", "navigation", "-q"])
        == 0
    )
    verify_rrd(tmp_path / "b.rrd")


def test_convert_embeds_the_default_layout_unless_told_none(tmp_path: Path) -> None:
    default, none = tmp_path / "default.rrd", tmp_path / "none.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(default), "-q"]) == 0
    assert main(["convert", str(NEATO_BAG), "-o", str(none), "--blueprint", "none", "-q"]) == 0
    verify_rrd(default)
    verify_rrd(none)
    origins = {(view.class_identifier, view.origin) for view in rbl_views(read_rbl(default).root)}
    assert ("3D", "/") in origins
    assert ("TimeSeries", "/odom") in origins
    assert rrc.RrdReader(str(none)).blueprints() == []


def test_the_default_layout_opens_on_the_timeline_the_embedded_viewer_chooses(tmp_path: Path) -> None:
    """On ros_time the neato's /cmd_vel (no header) would leave its plot empty, and the GPS bag's clock runs
    two months behind: both open on log_time. Without /cmd_vel the neato's stamps span the recording."""
    opened_on = {}
    for name, bag, options in (
        ("neato", NEATO_BAG, []),
        ("gps", GPS_BAG, []),
        ("stamped", NEATO_BAG, ["--exclude", "^/cmd_vel$"]),
    ):
        out = tmp_path / f"{name}.rrd"
        assert main(["convert", str(bag), "-o", str(out), "-q", *options]) == 0
        opened_on[name] = read_rbl(out).time_panel["TimePanelBlueprint:timeline"]
    assert opened_on == {"neato": ["log_time"], "gps": ["log_time"], "stamped": ["ros_time"]}


def test_blueprint_from_rviz(tmp_path: Path) -> None:
    rviz = NEATO_BAG.parent.parent / "rviz" / "nav2_default_view.rviz"
    out, topics = tmp_path / "nav2.yaml", tmp_path / "bridge.yaml"
    result = run_cli("blueprint", "from-rviz", rviz, "-o", out, "--bridge-config", topics)
    assert result.returncode == 0, result.stderr
    assert "Fixed frame: map" in result.stdout
    assert "Unsupported" in result.stdout
    assert run_cli("blueprint", "export", out, "-o", tmp_path / "nav2.rbl").returncode == 0
    assert "/scan" in topics.read_text()


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    """`rerun-bridge info BAG | head`: the pipe closes before the table is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: every write fails with a broken pipe
    try:
        result = subprocess.run(
            [str(CLI), "info", str(NEATO_BAG)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
