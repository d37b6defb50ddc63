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
from test.conftest import GPS_BAG, NEATO_BAG, ROSBAG2_RESOURCES, rrd_chunks, verify_rrd

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
        out, err = capsys.readouterr()
        assert f"error: nothing could be converted: {reason}" in err
        # The file is written (its summary says why), and the line saying so says it holds nothing else.
        assert f"{index}.rrd in " in out
        assert out.rstrip().endswith(": no data, only the conversion's summary")


def test_start_after_end_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reversed.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(out), "--start", "10", "--end", "5", "-q"]) == 2
    assert "error: --start 10 is after --end 5" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "name", "said"),
    [
        ("--mesh-root", "meshs", "meshs' is not a folder"),
        ("--urdf", "robot.urdf", "robot.urdf' is not a file"),
    ],
)
def test_a_robot_model_path_that_is_not_there_is_a_usage_error(
    tmp_path: Path, option: str, name: str, said: str
) -> None:
    """--urdf naming no file was a warning and exit 0 (the recording silently without its robot; README
    audit)."""
    out = tmp_path / "robot.rrd"
    result = run_cli("convert", NEATO_BAG, "-o", out, option, tmp_path / name)
    assert result.returncode == 2
    assert option in result.stderr
    assert said in result.stderr
    assert not out.exists()


def test_an_mcap_named_output_is_a_usage_error(tmp_path: Path) -> None:
    """`-o run.mcap` wrote an .rrd under that name (README audit)."""
    named = tmp_path / "run.mcap"
    result = run_cli("convert", NEATO_BAG, "-o", named)
    assert result.returncode == 2
    assert f"error: -o {named}: -o writes an .rrd; an .mcap is --mcap's" in result.stderr
    assert not named.exists()


def test_a_bad_pattern_or_time_names_the_option_and_every_accepted_form(tmp_path: Path) -> None:
    """`--topics '('` said "bad regular expression" without naming the option; `--start garbage` listed
    epoch seconds and ISO 8601 but not the offsets from the start the help lists first (README audit)."""
    out = tmp_path / "x.rrd"
    result = run_cli("convert", NEATO_BAG, "-o", out, "--exclude", "(")
    assert result.returncode == 2
    assert "error: --exclude '(': bad regular expression" in result.stderr
    result = run_cli("convert", NEATO_BAG, "-o", out, "--start", "garbage")
    assert result.returncode == 2
    assert "seconds from the recording's start, seconds since the epoch or an ISO 8601" in result.stderr
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


def test_a_layout_without_a_timeline_opens_rerun_on_the_datas(tmp_path: Path) -> None:
    """An imported RViz layout names no timeline: Rerun's viewer opened the neato on ros_time, where its
    header-less /cmd_vel has no samples, while the embedded viewer showed log_time (audit)."""
    layout = tmp_path / "plain.yaml"
    layout.write_text("name: plain\nroot:\n  view: spatial3d\n", encoding="utf-8")
    out = tmp_path / "neato.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(out), "-q", "--blueprint", str(layout)]) == 0
    assert read_rbl(out).time_panel["TimePanelBlueprint:timeline"] == ["log_time"]


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


def test_the_bounds_info_prints_select_every_message_with_start_and_end(tmp_path: Path) -> None:
    """`info` printed the bounds through a float (to ~240 ns: "start 1701720350.948319435" for a first
    message at ...586) and --start / --end read epoch seconds as a float: the exact start read as ...744
    and left the first message out, the printed end came before the last message."""
    result = run_cli("info", GPS_BAG)
    assert result.returncode == 0, result.stderr
    # The bag's first and last receive times, to the ns (its sqlite3 rows).
    assert "start 1701720350.948319586  end 1701720465.220631631" in result.stdout
    start, end = result.stdout.splitlines()[1].split()[1::2]
    every = tmp_path / "every.mcap"
    assert main(["convert", str(GPS_BAG), "-o", str(tmp_path / "every.rrd"), "--mcap", str(every), "-q"]) == 0

    def window(start: str, end: str) -> int:
        """Messages in the --mcap of a conversion of the GPS bag from ``start`` to ``end``."""
        mcap = tmp_path / f"{start}-{end}.mcap"
        arguments = ["convert", str(GPS_BAG), "-o", str(tmp_path / "window.rrd"), "--mcap", str(mcap)]
        assert main([*arguments, "--start", start, "--end", end, "-q"]) == 0
        return _mcap_count(mcap)

    assert window(start, end) == _mcap_count(every) == 5348  # the 1034 of no definition too
    # Both ends are inclusive to the ns: one ns inside them leaves out the first and the last message.
    assert window("1701720350.948319587", "1701720465.220631630") == 5346


def _mcap_count(path: Path) -> int:
    from mcap.reader import make_reader

    with path.open("rb") as file:
        summary = make_reader(file).get_summary()
    assert summary is not None
    assert summary.statistics is not None
    return summary.statistics.message_count


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--start", "inf", "error: --start inf: not a time"),
        ("--start", "nan", "error: --start nan: not a time"),
        ("--end", "1e400", "error: --end 1e400: out of range"),
        ("--end", "tomorrow", "error: --end: not a time: 'tomorrow'"),
        ("--min-free-mb", "-5", "argument --min-free-mb: expected a number of megabytes >= 0, got '-5'"),
        ("--min-free-mb", "nan", "argument --min-free-mb: expected a number of megabytes >= 0, got 'nan'"),
    ],
)
def test_a_wrong_option_value_is_one_error_naming_it(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    """Infinite times and a negative or NaN disk reserve ended in tracebacks (exit code 1)."""
    out = tmp_path / "x.rrd"
    result = run_cli("convert", TALKER, "-o", out, f"{option}={value}")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_an_output_that_is_an_input_is_refused_before_it_is_written(tmp_path: Path) -> None:
    """`convert run.mcap -o run.rrd --mcap run.mcap` wrote the re-recording over the recording while it
    was being read (0 messages, the input gone); -o and --mcap naming one file wrote both formats into it."""
    recording = tmp_path / "run.mcap"
    recording.write_bytes(next(TALKER.glob("*.mcap")).read_bytes())
    original = recording.read_bytes()
    cases: list[list[str | Path]] = [
        ["-o", tmp_path / "run.rrd", "--mcap", recording],
        ["-o", recording],
        ["-o", tmp_path / "." / "run.mcap"],
    ]
    for arguments in cases:
        result = run_cli("convert", recording, *arguments)
        assert result.returncode == 2
        assert f"error: {arguments[-1]} is a file of the recording {recording}" in result.stderr
    bag = tmp_path / "bag"
    bag.mkdir()
    (bag / "talker.mcap").write_bytes(original)
    (bag / "metadata.yaml").write_bytes((TALKER / "metadata.yaml").read_bytes())
    into_bag = run_cli("convert", bag, "-o", tmp_path / "bag.rrd", "--mcap", bag / "talker.mcap")
    assert into_bag.returncode == 2
    assert "is a file of the recording" in into_bag.stderr
    same = run_cli("convert", recording, "-o", tmp_path / "both", "--mcap", tmp_path / "both")
    assert same.returncode == 2
    assert "-o and --mcap name the same file" in same.stderr
    assert not (tmp_path / "both").exists()
    assert recording.read_bytes() == original
    assert (bag / "talker.mcap").read_bytes() == original


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("127.0.0.1:notaport", "expected 'host:port'"),
        ("127.0.0.1", "expected 'host:port'"),  # gRPC would have tried port 443
        ("http://127.0.0.1:9877", "expected HOST:PORT or grpc://HOST:PORT"),
    ],
)
def test_receive_from_a_malformed_address_is_a_wrong_argument(
    tmp_path: Path, address: str, message: str
) -> None:
    """A malformed stream address ended `receive` in a pyarrow traceback (exit 1): it is a wrong argument."""
    result = run_cli("receive", address, "-o", tmp_path / "laptop.rrd")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {address}: not a bridge stream address: "), result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "laptop.rrd").exists()


def test_receive_with_a_missing_ca_certificate_is_a_wrong_argument(tmp_path: Path) -> None:
    result = run_cli(
        "receive", "127.0.0.1:9", "--tls-root-cert", tmp_path / "ca.pem", "-o", tmp_path / "l.rrd"
    )
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr == f"error: {tmp_path / 'ca.pem'}: no such file (the CA certificate, --tls-root-cert)\n"
    )


def test_a_window_keeps_the_static_frames_recorded_before_it(tmp_path: Path) -> None:
    """The neato's two /tf_static messages (11 edges: base_link to base_laser_link, ...) are recorded in its
    first second: `--start 5` left them out, so the window's scans and clouds had no static frames to be
    placed by. Latched topics whose rows are static come along from before --start, in both outputs."""
    rrd, mcap = tmp_path / "window.rrd", tmp_path / "window.mcap"
    arguments = [
        "convert",
        str(NEATO_BAG),
        "-o",
        str(rrd),
        "--mcap",
        str(mcap),
        "--start",
        "5",
        "--end",
        "10",
    ]
    assert main([*arguments, "-q"]) == 0
    verify_rrd(rrd)
    static_edges = {
        entity for entity, static, _batch in rrd_chunks(rrd) if static and entity.startswith("/tf_static/")
    }
    assert len(static_edges) == 10  # 11 edges, one child frame given twice
    assert "/tf_static/base_laser_link" in static_edges
    from mcap.reader import make_reader

    with mcap.open("rb") as file:
        topics = [channel.topic for _schema, channel, _message in make_reader(file).iter_messages()]
    assert topics.count("/tf_static") == 2
    assert topics.count("/scan") == 25  # the window itself is unchanged
    assert topics[:2] == ["/tf_static", "/tf_static"]


@pytest.mark.parametrize("duration", ["-1", "0", "nan", "soon"])
def test_receive_with_a_duration_that_is_no_time_is_a_wrong_argument(tmp_path: Path, duration: str) -> None:
    # `receive ... --duration -1` stopped after the first chunk it got.
    result = run_cli("receive", "127.0.0.1:9", "--duration", duration, "-o", tmp_path / "l.rrd")
    assert result.returncode == 2, result.stderr
    assert f"--duration: expected a number of seconds > 0, got '{duration}'" in result.stderr
    assert not (tmp_path / "l.rrd").exists()


def test_info_rates_are_over_each_topics_own_span(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rates were taken over the whole recording: a topic that starts late or stops early read as slow
    (the GPS bag's 20 Hz odometry as 18.7 Hz; a 10 Hz topic of 1 s in a 10 s bag as 0.9 Hz), and two
    /tf_static messages 25 us apart as 0.0 Hz (audit)."""
    from mcap_ros2.writer import Writer
    from rosbags.typesys import Stores, get_typestore

    typestore = get_typestore(Stores.ROS2_JAZZY)
    bag = tmp_path / "spans.mcap"
    with bag.open("wb") as stream:
        writer = Writer(stream)
        name = "std_msgs/msg/Float64"
        schema = writer.register_msgdef(name, typestore.generate_msgdef(name, ros_version=2)[0])
        start = 1_700_000_000_000_000_000
        for step in range(11):  # 1 Hz over 10 s
            writer.write_message("/slow", schema, {"data": 0.0}, log_time=start + step * 1_000_000_000)
        for step in range(11):  # 10 Hz over 1 s, from 4 s
            writer.write_message("/burst", schema, {"data": 0.0}, log_time=start + 4 * 10**9 + step * 10**8)
        for step in range(2):  # two latched messages 25 us apart
            writer.write_message("/tf_static", schema, {"data": 0.0}, log_time=start + step * 25_000)
        writer.finish()  # type: ignore[no-untyped-call]
    for path, expected in (
        (bag, {"/slow": "1.0 Hz", "/burst": "10.0 Hz", "/tf_static": "-"}),
        (GPS_BAG, {"/odometry": "20.0 Hz", "/vehicle_pose": "20.0 Hz", "/gps": "1.0 Hz"}),
    ):
        assert main(["info", str(path)]) == 0
        rows = {
            line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line[:1] == "/"
        }
        for topic, rate in expected.items():
            assert " ".join(rows[topic][3 : 3 + len(rate.split())]) == rate, (path.name, topic)


def test_convert_with_a_blueprint_names_the_views_nothing_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The viewer named the views of a layout nothing in the data matches; convert --blueprint wrote
    them into the file without a word (audit)."""
    layout = tmp_path / "layout.yaml"
    layout.write_text(
        "name: mine\nroot:\n  container: horizontal\n  children:\n"
        "  - view: spatial3d\n    name: Scene\n    origin: /\n"
        "  - view: time_series\n    name: Sonar\n    origin: /range\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(out), "-q", "--blueprint", str(layout)]) == 0
    said = capsys.readouterr().err
    # Named by the paths it shows, as the viewer names it (it said "Log (/)" where the viewer said
    # "Log (/rosout)": audit).
    assert "note: nothing in the data for Sonar (/range/**): rename the layout's paths to your topics" in said
    assert "Scene" not in said


def test_info_says_why_a_topic_cannot_be_decoded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A topic in another message encoding, and one whose schema is a JSON schema, read "skipped (no
    definition)" and "does not parse" where convert said the real reason (audit)."""
    from mcap.writer import Writer

    bag = tmp_path / "encodings.mcap"
    with bag.open("wb") as stream:
        writer = Writer(stream)
        writer.start(profile="ros2")
        for topic, schema_encoding, message_encoding in (
            ("/proto", "ros2msg", "protobuf"),
            ("/json_schema", "jsonschema", "cdr"),
        ):
            schema = writer.register_schema(f"my_pkg/msg/{topic[1:]}", schema_encoding, b'{"type": "object"}')
            channel = writer.register_channel(topic, message_encoding, schema)
            writer.add_message(channel, log_time=1, publish_time=1, data=b"\x00\x01\x00\x00")
        writer.finish()  # type: ignore[no-untyped-call]
    assert main(["info", str(bag)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line[:1] == "/"}
    assert rows["/proto"].endswith("skipped (not CDR)")
    assert rows["/json_schema"].endswith("skipped (definition not ros2msg / ros2idl)")


def test_topics_given_twice_both_count(tmp_path: Path) -> None:
    """`--topics scan --topics odom` kept only /odom, silently (audit): any of them matches now."""
    out = tmp_path / "two.rrd"
    assert (
        main(["convert", str(NEATO_BAG), "-o", str(out), "-q", "--topics", "^/scan$", "--topics", "^/odom$"])
        == 0
    )
    with_rows = {
        entity for entity, _static, _batch in rrd_chunks(out) if not entity.startswith("/rerun_bridge")
    }
    assert {"/scan", "/odom"} <= with_rows
    assert "/cmd_vel" not in with_rows
    assert (
        main(
            [
                "convert",
                str(NEATO_BAG),
                "-o",
                str(tmp_path / "x.rrd"),
                "-q",
                "--exclude",
                "scan",
                "--exclude",
                "(",
            ]
        )
        == 2
    )
