"""Custom types end to end: ``--msg-path`` definitions for a bag that stores none (the neato's /accel and
/bump), numeric leaves plotted PlotJuggler-style, and declarative mappings from a config, through
convert_bags / the CLI into real .rrd files that Rerun verifies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from mcap.reader import make_reader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from rerun_bridge.cli import main
from rerun_bridge.config import load_config
from rerun_bridge.config_custom_types import CustomTypesConfig
from rerun_bridge.convert.arrow_schema import arrow_type_for
from rerun_bridge.convert.pointcloud import colormap_colors
from rerun_bridge.convert.raw import raw_archetype, raw_converter
from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.custom_types import type_support
from rerun_bridge.errors import ConfigError
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.pipeline import TopicKind
from rerun_bridge.replay import TopicSelection, convert_bags
from rerun_bridge.sinks.mcap import McapSink
from test.conftest import NEATO_BAG, RERUN_SUPPORTED_MCAP, rrd_column, verify_rrd
from test.convert.golden_harness import build_message

NEATO_TOPICS = TopicSelection(include=re.compile(r"^/(accel|bump)$"))
# neato2_interfaces as the Neato driver defines them (accelerations in G, bump switches as 0 / 1).
NEATO_DEFINITIONS = {
    "Accel": "float32 accel_x # in G\nfloat32 accel_y\nfloat32 accel_z\n",
    "Bump": "uint8 left_front\nuint8 left_side\nuint8 right_front\nuint8 right_side\n",
}
NEATO_MESSAGES = 166


def write_neato_definitions(root: Path) -> Path:
    folder = root / "neato2_interfaces" / "msg"
    folder.mkdir(parents=True)
    for name, text in NEATO_DEFINITIONS.items():
        (folder / f"{name}.msg").write_text(text, encoding="utf-8")
    return root


def scalars(rrd: Path, entity: str) -> np.ndarray[Any, Any]:
    return np.array(rrd_column(rrd, entity, "Scalars:scalars"), dtype=np.float64).ravel()


def test_neato_custom_types_are_skipped_without_definitions(tmp_path: Path) -> None:
    summary = convert_bags([NEATO_BAG], tmp_path / "out.rrd", selection=NEATO_TOPICS)
    assert {t.topic: t.kind for t in summary.topics} == {
        "/accel": TopicKind.SKIPPED,
        "/bump": TopicKind.SKIPPED,
    }


def test_msg_path_decodes_the_neato_accel_and_bump(tmp_path: Path) -> None:
    types = type_support(CustomTypesConfig(), [write_neato_definitions(tmp_path / "msgs")])
    rrd = tmp_path / "out.rrd"
    summary = convert_bags([NEATO_BAG], rrd, selection=NEATO_TOPICS, types=types)
    for stats in summary.topics:
        assert (stats.kind, stats.messages, stats.errors, stats.skipped) == (
            TopicKind.RAW,
            NEATO_MESSAGES,
            0,
            0,
        )
    verify_rrd(rrd)
    # Raw columns as before, and every numeric field as its own plot.
    assert len(rrd_column(rrd, "/accel", "neato2_interfaces.msg.Accel:message")) == NEATO_MESSAGES
    accel_z = scalars(rrd, "/accel/accel_z")
    assert accel_z.size == NEATO_MESSAGES
    assert 0.9 < float(np.median(accel_z)) < 1.1  # gravity, in G, on a robot standing on the floor
    for field in ("left_front", "left_side", "right_front", "right_side"):
        assert set(scalars(rrd, f"/bump/{field}").tolist()) <= {0.0, 1.0}


def test_the_mcap_re_recording_keeps_topics_nobody_defines(tmp_path: Path) -> None:
    """--mcap left out the neato's /accel and /bump (no definition: skipped for conversion), 332 of its
    1545 messages, without a word (audit). They are re-recorded with a schema of their type's name and no
    encoding or text (no definition): a later conversion with --msg-path draws them."""
    mcap = tmp_path / "neato.mcap"
    summary = convert_bags([NEATO_BAG], tmp_path / "out.rrd", mcap, warn=lambda _: None)
    assert summary.mcap_messages == 1545
    with mcap.open("rb") as stream:
        reader = make_reader(stream)
        counts = dict.fromkeys(("/accel", "/bump"), 0)
        for schema, channel, _message in reader.iter_messages(topics=list(counts)):
            assert schema is not None
            assert (schema.name, schema.encoding, schema.data) == (
                f"neato2_interfaces/msg/{channel.topic[1:].capitalize()}",
                "",
                b"",
            )
            counts[channel.topic] += 1
    assert counts == {"/accel": NEATO_MESSAGES, "/bump": NEATO_MESSAGES}
    types = type_support(CustomTypesConfig(), [write_neato_definitions(tmp_path / "msgs")])
    again = convert_bags([mcap], tmp_path / "again.rrd", selection=NEATO_TOPICS, types=types)
    assert {(t.topic, t.kind, t.errors) for t in again.topics} == {
        ("/accel", TopicKind.RAW, 0),
        ("/bump", TopicKind.RAW, 0),
    }


def test_cli_convert_takes_msg_path_and_the_config_leaf_limit(tmp_path: Path) -> None:
    msgs = write_neato_definitions(tmp_path / "msgs")
    config = tmp_path / "bridge.yaml"
    config.write_text("custom_types:\n  leaf_scalars: 2\n", encoding="utf-8")
    rrd = tmp_path / "out.rrd"
    args = ["convert", str(NEATO_BAG), "-o", str(rrd), "-q", "--topics", "^/bump$"]
    assert main([*args, "--msg-path", str(msgs), "--config", str(config)]) == 0
    assert scalars(rrd, "/bump/left_front").size == NEATO_MESSAGES
    assert scalars(rrd, "/bump/left_side").size == NEATO_MESSAGES
    assert rrd_column(rrd, "/bump/right_front", "Scalars:scalars") == []


@pytest.mark.parametrize(
    ("limit", "note"),
    [
        (1, ", 1 of its 2 numbers plotted (custom_types.leaf_scalars plots more)"),
        (32, ", its 2 numbers plotted"),
    ],
)
def test_the_raw_topic_warning_says_which_of_its_numbers_are_plotted(
    tmp_path: Path, limit: int, note: str
) -> None:
    """The warning said "up to 32 of its numbers plotted" of a type with none, and nothing of those
    left out past the limit (audit): it now counts the first message's numbers."""
    config = tmp_path / "bridge.yaml"
    config.write_text(f"custom_types:\n  leaf_scalars: {limit}\n", encoding="utf-8")
    types = type_support(load_config(config).custom_types, source=str(config))
    warnings: list[str] = []
    convert_bags(
        [write_obstacles(tmp_path / "obstacles.mcap")],
        tmp_path / "out.rrd",
        types=types,
        warn=warnings.append,
    )
    raw = [warning for warning in warnings if "kept as raw columns" in warning]
    # status's battery and mode: the header is not plotted, the points are a sequence.
    assert raw == [
        f"topic /obstacles: no converter for {OBSTACLES}; its fields are kept as raw columns{note}"
    ]


def test_a_mapped_header_less_type_takes_the_topics_frame_option(tmp_path: Path) -> None:
    """The neato's /accel has no header: `topics./accel.options.frame` was accepted and ignored for its
    mapping, its arrows left frameless (audit); built-in header-less types take it."""
    msgs = write_neato_definitions(tmp_path / "msgs")
    config = tmp_path / "bridge.yaml"
    config.write_text(
        "custom_types:\n  mappings:\n    neato2_interfaces/msg/Accel:\n      archetype: Arrows3D\n"
        "      fields: {vectors: accel_x/accel_y/accel_z}\n"
        "topics:\n  /accel:\n    options: {frame: base_link}\n",
        encoding="utf-8",
    )
    rrd = tmp_path / "out.rrd"
    args = ["convert", str(NEATO_BAG), "-o", str(rrd), "-q", "--topics", "^/accel$"]
    assert main([*args, "--msg-path", str(msgs), "--config", str(config)]) == 0
    frames = rrd_column(rrd, "/accel", "CoordinateFrame:frame")
    assert frames
    assert frames[0] == ["base_link"]


BUMP_IDL = """
module neato2_interfaces {
  module msg {
    struct Bump {
      uint8 left_front;
      uint8 left_side;
      uint8 right_front;
      uint8 right_side;
    };
  };
};
"""


def test_msg_path_takes_idl_definitions(tmp_path: Path) -> None:
    folder = tmp_path / "idl"
    folder.mkdir()
    (folder / "Bump.idl").write_text(BUMP_IDL, encoding="utf-8")
    types = type_support(CustomTypesConfig(), [folder])
    selection = TopicSelection(include=re.compile(r"^/bump$"))
    summary = convert_bags([NEATO_BAG], tmp_path / "out.rrd", selection=selection, types=types)
    (stats,) = summary.topics
    assert (stats.kind, stats.messages, stats.errors) == (TopicKind.RAW, NEATO_MESSAGES, 0)
    assert scalars(tmp_path / "out.rrd", "/bump/right_side").size == NEATO_MESSAGES


def test_info_with_msg_path_no_longer_skips_the_neato_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    msgs = write_neato_definitions(tmp_path / "msgs")
    assert main(["info", str(NEATO_BAG)]) == 0
    before = capsys.readouterr().out
    assert main(["info", str(NEATO_BAG), "--msg-path", str(msgs)]) == 0
    after = capsys.readouterr().out

    def accel_line(output: str) -> str:
        return next(line for line in output.splitlines() if line.startswith("/accel "))

    assert accel_line(before).endswith("skipped (no definition)")
    assert accel_line(after).endswith("raw")


def test_a_definition_that_does_not_parse_is_named_and_the_rest_still_decode(tmp_path: Path) -> None:
    msgs = write_neato_definitions(tmp_path / "msgs")
    broken = msgs / "neato2_interfaces" / "msg" / "Broken.msg"
    broken.write_text("float32[ nonsense\n", encoding="utf-8")
    warnings: list[str] = []
    types = type_support(CustomTypesConfig(), [msgs])
    summary = convert_bags([NEATO_BAG], None, selection=NEATO_TOPICS, types=types, warn=warnings.append)
    (said,) = [w for w in warnings if "Broken.msg" in w and "does not parse" in w]
    assert "\n" not in said  # one line, not rosbags' dump of the whole definition (audit)
    assert "cannot parse at 'float32[ nonsense'" in said
    assert all(t.kind is TopicKind.RAW for t in summary.topics)


def test_a_field_of_a_type_nobody_defines_leaves_its_type_out_with_one_warning_and_the_rest_converts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in a field's type (``unit8``) parses, so it used to reach the decoder and the re-recording's
    schema, and stopped the whole conversion with a traceback."""
    msgs = write_neato_definitions(tmp_path / "msgs")
    folder = msgs / "neato2_interfaces" / "msg"
    bump = folder / "Bump.msg"
    bump.write_text(NEATO_DEFINITIONS["Bump"].replace("uint8 left_side", "unit8 left_side"), encoding="utf-8")
    # A type using the broken one is left out too; one using ROS 2's own types is kept.
    (folder / "Bumps.msg").write_text("std_msgs/Header header\nBump[] bumps\n", encoding="utf-8")
    (folder / "Stamped.msg").write_text("std_msgs/Header header\nAccel accel\n", encoding="utf-8")
    rrd, recording = tmp_path / "out.rrd", tmp_path / "out.mcap"
    args = [
        "convert",
        str(NEATO_BAG),
        "-o",
        str(rrd),
        "--mcap",
        str(recording),
        "--topics",
        "^/(accel|bump)$",
    ]
    assert main([*args, "--msg-path", str(msgs)]) == 0
    err = capsys.readouterr().err
    assert (
        f"warning: {bump}: neato2_interfaces/msg/Bump left out: field 'left_side' has type "
        "'neato2_interfaces/msg/unit8', which no .msg file or ROS 2 release defines"
    ) in err
    assert (
        "neato2_interfaces/msg/Bumps left out: field 'bumps' has type 'neato2_interfaces/msg/Bump', " in err
    )
    assert "Stamped" not in err
    # Skipped for that reason, not "the recording stores no definition" (audit).
    assert (
        f"warning: topic /bump (neato2_interfaces/msg/Bump) skipped: its supplied definition ({bump}) was "
        "left out: field 'left_side' has type"
    ) in err
    verify_rrd(rrd)
    assert scalars(rrd, "/accel/accel_z").size == NEATO_MESSAGES
    supplied = type_support(CustomTypesConfig(), [msgs]).definitions
    assert sorted(supplied) == ["neato2_interfaces/msg/Accel", "neato2_interfaces/msg/Stamped"]


def test_a_field_named_twice_leaves_its_type_out_and_the_rest_converts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rosbags parses a .msg with a field named twice but cannot make a type of it: registering it with
    the others stopped every conversion and ``info`` of the bag with a traceback (audit)."""
    msgs = write_neato_definitions(tmp_path / "msgs")
    accel = msgs / "neato2_interfaces" / "msg" / "Accel.msg"
    accel.write_text("float32 accel_x\nfloat32 accel_x\nfloat32 accel_z\n", encoding="utf-8")
    rrd = tmp_path / "out.rrd"
    args = ["--topics", "^/(accel|bump)$", "--msg-path", str(msgs)]
    assert main(["convert", str(NEATO_BAG), "-o", str(rrd), *args]) == 0
    err = capsys.readouterr().err
    assert f"warning: {accel}: neato2_interfaces/msg/Accel left out: " in err
    assert "conflicting Python names" in err
    assert (
        f"topic /accel (neato2_interfaces/msg/Accel) skipped: its supplied definition ({accel}) was left out"
        in err
    )
    verify_rrd(rrd)
    assert scalars(rrd, "/bump/left_front").size == NEATO_MESSAGES
    assert main(["info", str(NEATO_BAG), "--msg-path", str(msgs)]) == 0


def test_a_type_defined_differently_in_two_folders_is_said_and_the_first_kept(tmp_path: Path) -> None:
    first = write_neato_definitions(tmp_path / "first")
    second = write_neato_definitions(tmp_path / "second")
    wider = second / "neato2_interfaces" / "msg" / "Accel.msg"
    wider.write_text(NEATO_DEFINITIONS["Accel"].replace("float32", "float64"), encoding="utf-8")
    types = type_support(CustomTypesConfig(), [first, second])
    (said,) = types.problems
    kept = first / "neato2_interfaces" / "msg" / "Accel.msg"
    assert said == (
        f"{wider}: neato2_interfaces/msg/Accel is defined differently in {kept}; "
        f"the definition in {kept} is used"
    )
    summary = convert_bags([NEATO_BAG], None, selection=NEATO_TOPICS, types=types)
    assert {(t.topic, t.errors) for t in summary.topics} == {("/accel", 0), ("/bump", 0)}
    # The same definition in both folders says nothing.
    assert not type_support(
        CustomTypesConfig(), [first, write_neato_definitions(tmp_path / "third")]
    ).problems


def test_an_idl_that_does_not_parse_is_the_reason_its_topic_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "idl" / "neato2_interfaces" / "msg"
    folder.mkdir(parents=True)
    broken = folder / "Bump.idl"
    broken.write_text(BUMP_IDL.replace(";", "", 1), encoding="utf-8")
    assert (
        main(
            [
                "convert",
                str(NEATO_BAG),
                "-o",
                str(tmp_path / "out.rrd"),
                "--topics",
                "^/bump$",
                "--msg-path",
                str(tmp_path / "idl"),
            ]
        )
        == 1  # nothing else to convert
    )
    err = capsys.readouterr().err
    assert (
        f"topic /bump (neato2_interfaces/msg/Bump) skipped: its supplied definition ({broken}) does not parse"
        in err
    )
    assert "the recording stores no definition" not in err


def test_a_missing_msg_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        type_support(CustomTypesConfig(), [tmp_path / "nowhere"])


def test_config_msg_folders_and_mappings_are_reported_together_naming_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bridge.yaml"
    config.write_text(
        "custom_types:\n  msg_path: [msgs, nowhere]\n  mappings:\n    my_robot/msg/T:\n"
        "      archetype: Pointz3D\n      fields: {positions: a.x/y/z}\n",
        encoding="utf-8",
    )
    (tmp_path / "msgs").mkdir()
    monkeypatch.chdir(tmp_path)  # msg folders are relative to the working directory
    with pytest.raises(ConfigError) as caught:
        type_support(load_config(config).custom_types, source=str(config))
    assert str(caught.value).splitlines() == [
        f"{config}: custom_types.mappings.my_robot/msg/T.archetype: 'Pointz3D' is not a Rerun archetype "
        "(did you mean 'Points3D'?)",
        f"{config}: custom_types.msg_path[1]: 'nowhere' is not a folder",
    ]


def test_a_config_reports_its_syntax_and_its_custom_type_problems_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad leaf_scalars hid a missing msg folder and an unknown archetype, and an entry's bad entity hid
    its bad field path, until each was fixed (audit): every problem of the file is said at once."""
    config = tmp_path / "bridge.yaml"
    config.write_text(
        "custom_types:\n  leaf_scalars: -1\n  msg_path: [nowhere]\n  mappings:\n    my_robot/msg/T:\n"
        "      - {archetype: Pointz3D, fields: {positions: a.x/y/z}}\n"
        "      - {archetype: Scalars, entity: 'a//b', fields: {scalars: 'single..v'}}\n"
        "    sensor_msgs/msg/LaserScan:\n"  # converted already: hidden behind the others (audit)
        "      - {archetype: Points3D, fields: {positions: ranges}}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["convert", str(NEATO_BAG), "-o", str(tmp_path / "out.rrd"), "--config", str(config)]) == 2
    said = capsys.readouterr().err
    key = f"{config}: custom_types"
    for problem in (
        f"{key}.leaf_scalars: expected an integer >= 0, got -1",
        f"{key}.msg_path[0]: 'nowhere' is not a folder",
        f"{key}.mappings.my_robot/msg/T[0].archetype: 'Pointz3D' is not a Rerun archetype "
        "(did you mean 'Points3D'?)",
        f"{key}.mappings.my_robot/msg/T[1].entity: expected a path below the topic's entity",
        f"{key}.mappings.my_robot/msg/T[1].fields.scalars: ",
        f"{key}.mappings.sensor_msgs/msg/LaserScan: the bridge converts this type already",
    ):
        assert problem in said, problem


# ---- declarative mappings ------------------------------------------------------------------------------

ROBOT_MSGS = {
    "Status": "float32 battery\nuint8 mode\n",
    "Obstacle": "float64 x\nfloat64 y\nfloat64 z\nfloat32 intensity\nstring label\nuint32 rgba\n",
    "Obstacles": (
        "std_msgs/Header header\nmy_robot/Status status\nmy_robot/Obstacle[] points\nfloat32[] ranges\n"
    ),
}
OBSTACLES = "my_robot/msg/Obstacles"
MAPPING_CONFIG = """
custom_types:
  mappings:
    my_robot/msg/Obstacles:
      - archetype: Points3D
        fields:
          positions: points[].x/y/z
          colors: {path: "points[].intensity", colormap: gray}
          labels: points[].label
      - archetype: Scalars
        entity: battery
        fields: {scalars: status.battery}
"""


def obstacle_messages() -> list[dict[str, Any]]:
    header = {"stamp": {"sec": 1700000000, "nanosec": 0}, "frame_id": "base_link"}
    return [
        {
            "header": header,
            "status": {"battery": 0.75, "mode": 2},
            "points": [
                {"x": 1.0, "y": 2.0, "z": 0.0, "intensity": 0.0, "label": "cone"},
                {"x": -1.0, "y": 0.5, "z": 0.25, "intensity": 1.0, "label": "wall"},
            ],
        },
        {"header": header, "status": {"battery": 0.5}, "points": []},
    ]


def write_obstacles(path: Path, messages: list[dict[str, Any]] | None = None) -> Path:
    store = get_typestore(Stores.ROS2_JAZZY)
    for name, text in ROBOT_MSGS.items():
        store.register(get_types_from_msg(text, f"my_robot/msg/{name}"))
    text, _digest = store.generate_msgdef(OBSTACLES, ros_version=2)
    with McapSink(path) as sink:
        channel = sink.add_topic("/obstacles", OBSTACLES, MessageDefinition("ros2msg", text))
        for index, fields in enumerate(messages or obstacle_messages()):
            data = bytes(store.serialize_cdr(build_message(store, OBSTACLES, fields), OBSTACLES))
            log_time = 1700000000_000000000 + index * 100_000_000
            sink.write(channel, log_time, log_time, data)
    return path


def convert_with_config(
    tmp_path: Path, config_text: str, messages: list[dict[str, Any]] | None = None
) -> tuple[Path, Any]:
    config_path = tmp_path / "bridge.yaml"
    config_path.write_text(config_text, encoding="utf-8")
    types = type_support(load_config(config_path).custom_types, source=str(config_path))
    rrd = tmp_path / "out.rrd"
    recording = write_obstacles(tmp_path / "obstacles.mcap", messages)
    return rrd, convert_bags([recording], rrd, types=types)


def test_mapped_type_is_drawn_by_its_field_paths(tmp_path: Path) -> None:
    rrd, summary = convert_with_config(tmp_path, MAPPING_CONFIG)
    (stats,) = summary.topics
    assert (stats.kind, stats.messages, stats.errors) == (TopicKind.CONVERTED, 2, 0)
    assert stats.produced == {"Points3D", "Scalars", "CoordinateFrame"}
    verify_rrd(rrd)
    positions = rrd_column(rrd, "/obstacles", "Points3D:positions")
    np.testing.assert_allclose(positions[0], [[1.0, 2.0, 0.0], [-1.0, 0.5, 0.25]])
    assert positions[1] == []
    assert rrd_column(rrd, "/obstacles", "Points3D:labels")[0] == ["cone", "wall"]
    expected = colormap_colors(np.array([0.0, 1.0], dtype=np.float32), "gray")
    packed = [int.from_bytes(bytes(color), "big") for color in expected]
    assert rrd_column(rrd, "/obstacles", "Points3D:colors")[0] == packed
    np.testing.assert_allclose(scalars(rrd, "/obstacles/battery"), [0.75, 0.5])
    assert rrd_column(rrd, "/obstacles", "CoordinateFrame:frame")[0] == ["base_link"]


def test_a_message_without_the_mapped_field_is_a_counted_error_naming_the_path(tmp_path: Path) -> None:
    config = MAPPING_CONFIG.replace("scalars: status.battery", "scalars: 'points[1].intensity'")
    rrd, summary = convert_with_config(tmp_path, config)
    (stats,) = summary.topics
    # The second message has no points[1]: one error naming the path, the first message still drawn.
    assert (stats.messages, stats.errors) == (2, 1)
    assert stats.first_error.endswith(
        f"{tmp_path / 'bridge.yaml'}: custom_types.mappings.my_robot/msg/Obstacles[1].fields.scalars: "
        "field path 'points[1].intensity': points[1] does not exist"
    )
    np.testing.assert_allclose(scalars(rrd, "/obstacles/battery"), [1.0])


def test_a_failing_mapping_entry_leaves_the_others_rows_and_every_failure_is_named(tmp_path: Path) -> None:
    """A typo in one entry (status.batery) lost every entry of the type: the Points3D of a right path
    too, the topic "no data" (audit). Each entry now converts on its own: the message counts one error,
    naming every entry that failed, and the others' rows are written."""
    config = MAPPING_CONFIG.replace("scalars: status.battery", "scalars: status.batery")
    rrd, summary = convert_with_config(tmp_path, config)
    (stats,) = summary.topics
    assert (stats.messages, stats.errors, stats.kind) == (2, 2, TopicKind.CONVERTED)
    assert "Obstacles[1].fields.scalars: field path 'status.batery'" in stats.first_error
    verify_rrd(rrd)
    positions = rrd_column(rrd, "/obstacles", "Points3D:positions")
    np.testing.assert_allclose(positions[0], [[1.0, 2.0, 0.0], [-1.0, 0.5, 0.25]])
    assert len(positions) == 2
    assert rrd_column(rrd, "/obstacles", "CoordinateFrame:frame")[0] == ["base_link"]

    both = config.replace("positions: points[].x/y/z", "positions: points[].x/y/zz")
    _rrd, summary = convert_with_config(tmp_path, both)
    (stats,) = summary.topics
    # The first message fails in both entries: its error names both (a fix used to show the next typo).
    assert (stats.messages, stats.errors) == (2, 2)
    assert "Obstacles[0].fields.positions: field path 'points[].x/y/zz'" in stats.first_error
    assert "Obstacles[1].fields.scalars: field path 'status.batery'" in stats.first_error


def test_a_mapping_that_maps_nothing_of_a_message_keeps_it_as_raw_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in the only entry's path lost the topic: no rows at all, where without the mapping its raw
    column and plots were written (audit). The message is kept as an unmapped type's, its error
    counted."""
    config = (
        "custom_types:\n  mappings:\n    my_robot/msg/Obstacles:\n"
        "      {archetype: Scalars, fields: {scalars: status.batery}}\n"
    )
    rrd, summary = convert_with_config(tmp_path, config)
    (stats,) = summary.topics
    assert (stats.messages, stats.errors) == (2, 2)
    assert stats.first_error.endswith("the message is kept as raw columns")
    assert "field path 'status.batery'" in stats.first_error
    verify_rrd(rrd)
    assert len(rrd_column(rrd, "/obstacles", f"{raw_archetype(OBSTACLES)}:message")) == 2
    np.testing.assert_allclose(scalars(rrd, "/obstacles/status/battery"), [0.75, 0.5])


def test_errors_of_another_kind_in_later_messages_are_said_too(tmp_path: Path) -> None:
    """Only a topic's first error was said: a mapping's second mistake, met in a later message only,
    stayed unnamed (audit). Each kind of error is said once (a few per topic); the rest are counted."""
    config = MAPPING_CONFIG.replace("scalars: status.battery", "scalars: 'points[1].intensity'")
    messages = obstacle_messages()
    messages.append({**messages[1]})  # the same error again: counted, not said again
    warnings: list[str] = []
    config_path = tmp_path / "bridge.yaml"
    config_path.write_text(config.replace("labels: points[].label", "radii: ranges"), encoding="utf-8")
    types = type_support(load_config(config_path).custom_types, source=str(config_path))
    messages[0]["ranges"] = [0.1, 0.2, 0.3]  # three radii for two points: an error of the first message
    recording = write_obstacles(tmp_path / "obstacles.mcap", messages)
    summary = convert_bags([recording], tmp_path / "out.rrd", types=types, warn=warnings.append)
    (stats,) = summary.topics
    assert stats.errors == 3
    said = [w for w in warnings if w.startswith("topic /obstacles")]
    assert len(said) == 2
    assert "radii has 3 values for 2 positions" in said[0]
    assert said[0].endswith("(further errors on this topic are counted)")
    assert "also: " in said[1]
    assert "points[1] does not exist" in said[1]


@pytest.mark.parametrize(
    ("archetype", "component", "path", "message"),
    [
        # One number where Rerun wants (N, 3): Rerun only warned, and writing the file then failed.
        ("Points3D", "positions", "status.battery", " gives numbers of shape (1,), which Points3D.positions"),
        # Numbers as text: Rerun warned and the rows were written without their text, uncounted.
        ("TextLog", "text", "status.battery", " gives numbers of shape (1,), which TextLog.text"),
        ("Points3D", "positions", "status.battery[].x/y/z", ": battery is not a sequence"),
    ],
)
def test_values_the_component_does_not_take_are_counted_errors_naming_key_and_path(
    tmp_path: Path, archetype: str, component: str, path: str, message: str
) -> None:
    config = MAPPING_CONFIG.replace(
        "      - archetype: Scalars\n        entity: battery\n        fields: {scalars: status.battery}\n",
        f"      - archetype: {archetype}\n        fields: {{{component}: '{path}'}}\n",
    )
    rrd, summary = convert_with_config(tmp_path, config)
    (stats,) = summary.topics
    assert (stats.messages, stats.errors) == (2, 2)
    key = f"{tmp_path / 'bridge.yaml'}: custom_types.mappings.my_robot/msg/Obstacles[1].fields.{component}"
    assert f"{key}: field path {path!r}{message}" in stats.first_error
    verify_rrd(rrd)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            "positions: points[x].y",
            r"custom_types\.mappings\.my_robot/msg/Obstacles\.fields\.positions: bad part 'points\[x\]'",
        ),
        ("positions: ''", r"fields\.positions: empty field path"),
        ("positions: {path: 'points[].x/y/z', shade: 1}", r"fields\.positions\.shade: unknown key"),
    ],
)
def test_a_field_path_that_does_not_parse_fails_at_load_naming_key_and_path(
    tmp_path: Path, fields: str, message: str
) -> None:
    config = tmp_path / "bridge.yaml"
    config.write_text(
        f"custom_types:\n  mappings:\n    my_robot/msg/Obstacles:\n      archetype: Points3D\n"
        f"      fields:\n        {fields}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_fractional_colours_without_a_colormap_are_an_error_naming_the_fix(tmp_path: Path) -> None:
    """`colors: points[].intensity` (0..1) was written as packed 0xRRGGBBAA colours: black and transparent,
    invisible, without a word (audit). Fractional numbers for colors without a colormap are an error
    that names the fix; whole numbers (a packed uint32 field) stay colours."""
    config = MAPPING_CONFIG.replace(
        'colors: {path: "points[].intensity", colormap: gray}', "colors: status.battery"
    )
    rrd, summary = convert_with_config(tmp_path, config)
    (stats,) = summary.topics
    assert stats.errors == 2  # battery 0.75 and 0.5
    assert "fields.colors: field path 'status.battery' gives fractional numbers" in stats.first_error
    assert "colormap: turbo" in stats.first_error
    np.testing.assert_allclose(scalars(rrd, "/obstacles/battery"), [0.75, 0.5])  # the other entry flows
    whole = MAPPING_CONFIG.replace(
        'colors: {path: "points[].intensity", colormap: gray}', "colors: status.mode"
    )
    _rrd, summary = convert_with_config(tmp_path, whole)
    assert summary.topics[0].errors == 0


def test_packed_colours_keep_every_bit_whatever_their_count(tmp_path: Path) -> None:
    """A uint32 rgba field mapped to colors was written as float32: opaque red (0xFF0000FF, past 2^24)
    lost its low byte and turned transparent, and Rerun read three or four floats of a row as one colour,
    which failed the whole conversion at the file's writing (audit). They stay uint32 now."""
    config = MAPPING_CONFIG.replace(
        'colors: {path: "points[].intensity", colormap: gray}', "colors: points[].rgba"
    )
    header = {"stamp": {"sec": 1700000000, "nanosec": 0}, "frame_id": "base_link"}
    packed = [0xFF0000FF, 0x808080FF, 0x00FF0080]
    point = {"x": 1.0, "y": 2.0, "z": 0.0, "label": "p"}
    messages = [
        {"header": header, "status": {"battery": 0.5}, "points": [{**point, "rgba": rgba} for rgba in packed]}
        for _ in range(3)
    ]
    rrd, summary = convert_with_config(tmp_path, config, messages)
    assert summary.topics[0].errors == 0
    verify_rrd(rrd)
    assert rrd_column(rrd, "/obstacles", "Points3D:colors") == [packed] * 3


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("points[].x/y/label", "label is text, not a number"),
        ("header/status", "header is a message, not a number"),
        ("points/points/points", "points is a sequence, not a number"),
    ],
)
def test_a_stack_of_other_than_numbers_is_a_counted_error_and_the_other_entries_flow(
    tmp_path: Path, path: str, message: str
) -> None:
    """A leaf of an x/y/z stack that is text, a struct or a sequence raised numpy's ValueError or
    TypeError, which named no key or path and lost the type's other entries (audit)."""
    config = MAPPING_CONFIG.replace("positions: points[].x/y/z", f"positions: '{path}'")
    rrd, summary = convert_with_config(tmp_path, config)
    (stats,) = summary.topics
    assert (stats.messages, stats.errors) == (2, 2) if "points[]" not in path else (2, 1)
    key = f"{tmp_path / 'bridge.yaml'}: custom_types.mappings.my_robot/msg/Obstacles[0].fields.positions"
    assert f"{key}: field path {path!r}: {message}, so it cannot be stacked" in stats.first_error
    np.testing.assert_allclose(scalars(rrd, "/obstacles/battery"), [0.75, 0.5])


def test_components_of_other_instance_counts_are_written_and_counted(tmp_path: Path) -> None:
    """Positions of 2 points with 3 radii (a mapping of the wrong field) were drawn without a word;
    Rerun pairs instances by index. Written as they are, and said, naming the key and the counts."""
    config = MAPPING_CONFIG.replace("labels: points[].label", "radii: ranges")
    messages = obstacle_messages()
    messages[0]["ranges"] = [0.1, 0.2, 0.3]
    messages[1]["ranges"] = [0.1]
    rrd, summary = convert_with_config(tmp_path, config, messages)
    (stats,) = summary.topics
    assert (stats.messages, stats.errors) == (2, 1)  # the second message has no points: one radius is fine
    key = f"{tmp_path / 'bridge.yaml'}: custom_types.mappings.my_robot/msg/Obstacles[0].fields"
    assert f"{key}: radii has 3 values for 2 positions: Rerun pairs" in stats.first_error
    assert len(rrd_column(rrd, "/obstacles", "Points3D:positions")[0]) == 2
    np.testing.assert_allclose(scalars(rrd, "/obstacles/battery"), [0.75, 0.5])


def test_a_mapping_of_a_type_no_topic_has_is_said(tmp_path: Path) -> None:
    """A typo in a mapping's type (Obstacle for Obstacles) left the topic raw without a word (audit)."""
    config = MAPPING_CONFIG.replace("    my_robot/msg/Obstacles:\n", "    my_robot/msg/Obstacle:\n")
    _rrd, summary = convert_with_config(tmp_path, config)
    key = f"{tmp_path / 'bridge.yaml'}: custom_types.mappings.my_robot/msg/Obstacle"
    unused = f"{key}: no topic of the recordings has this type, so the mapping draws nothing"
    assert unused in summary.warnings
    _rrd, summary = convert_with_config(tmp_path, MAPPING_CONFIG)
    assert not [warning for warning in summary.warnings if "no topic of the recordings" in warning]


def test_an_entity_below_the_topic_may_have_several_parts(tmp_path: Path) -> None:
    """``entity: power/battery`` was one escaped part (``/obstacles/power\\/battery``)."""
    rrd, summary = convert_with_config(
        tmp_path, MAPPING_CONFIG.replace("entity: battery", "entity: power/battery")
    )
    assert summary.topics[0].errors == 0
    np.testing.assert_allclose(scalars(rrd, "/obstacles/power/battery"), [0.75, 0.5])


def test_an_entry_with_empty_fields_is_an_error_naming_it(tmp_path: Path) -> None:
    """`fields: {}` dropped its entry without a word, and later errors then named the wrong entry."""
    config = tmp_path / "bridge.yaml"
    config.write_text(
        MAPPING_CONFIG.replace("fields: {scalars: status.battery}", "fields: {}"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"Obstacles\[1\]\.fields: required: at least one component"):
        load_config(config)


@pytest.mark.parametrize("entity", ["/abs/path", "a//b", "b/", "''", "[1]"])
def test_an_entity_that_is_no_path_below_the_topic_fails_at_load(tmp_path: Path, entity: str) -> None:
    config = tmp_path / "bridge.yaml"
    config.write_text(MAPPING_CONFIG.replace("entity: battery", f"entity: {entity}"), encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"Obstacles\[1\]\.entity: expected a path below the topic's entity"
    ):
        load_config(config)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            "archetype: Pointz3D\n      fields: {positions: a.x/y/z}",
            r"\.archetype: 'Pointz3D' is not a Rerun archetype \(did you mean 'Points3D'\?\)",
        ),
        (
            "archetype: Points3D\n      fields: {position: a.x/y/z}",
            r"\.fields\.position: Points3D has no component 'position'",
        ),
        (
            "archetype: Points3D\n      fields: {colors: {path: a.i, colormap: rainbow}}",
            r"\.fields\.colors\.colormap: unknown colormap 'rainbow'",
        ),
    ],
)
def test_a_mapping_rerun_cannot_take_fails_before_converting(
    tmp_path: Path, mapping: str, message: str
) -> None:
    config = tmp_path / "bridge.yaml"
    config.write_text(
        f"custom_types:\n  mappings:\n    my_robot/msg/Obstacles:\n      {mapping}\n", encoding="utf-8"
    )
    with pytest.raises(
        ConfigError, match=r"bridge\.yaml: custom_types\.mappings\.my_robot/msg/Obstacles" + message
    ):
        type_support(load_config(config).custom_types, source=str(config))


def test_a_mapping_key_that_is_no_type_or_a_type_twice_is_an_error(tmp_path: Path) -> None:
    """Either would otherwise be silently unused (a mapping for a type no topic can have, or the first of
    two spellings of one type)."""
    config = tmp_path / "bridge.yaml"
    entry = "      archetype: Scalars\n      fields: {scalars: status.battery}\n"
    config.write_text(
        f"custom_types:\n  mappings:\n    Obstacles:\n{entry}    my_robot/Obstacles:\n{entry}"
        f"    my_robot/msg/Obstacles:\n{entry}",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value).splitlines() == [
        f"{config}: custom_types.mappings.Obstacles: expected a ROS type name like 'my_robot/msg/Status', "
        "got 'Obstacles'",
        f"{config}: custom_types.mappings.my_robot/msg/Obstacles: same type as "
        "custom_types.mappings.my_robot/Obstacles",
    ]


def test_mapping_a_type_the_bridge_converts_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "bridge.yaml"
    config.write_text(
        "custom_types:\n  mappings:\n    sensor_msgs/msg/Imu:\n      archetype: Scalars\n"
        "      fields: {scalars: linear_acceleration.x}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"custom_types\.mappings\.sensor_msgs/msg/Imu: the bridge converts"
    ):
        type_support(load_config(config).custom_types, source=str(config))


def test_convert_config_topic_options_reach_the_converter(tmp_path: Path) -> None:
    """A RegionOfInterest has no header: ``camera_frame`` puts its box on that camera's image plane."""
    config = tmp_path / "bridge.yaml"
    config.write_text(
        "topics:\n  /region_of_interest:\n    options: {camera_frame: camera}\n", encoding="utf-8"
    )
    rrd = tmp_path / "out.rrd"
    args = ["convert", str(RERUN_SUPPORTED_MCAP), "-o", str(rrd), "-q", "--topics", "^/region_of_interest$"]
    assert main([*args, "--config", str(config)]) == 0
    assert rrd_column(rrd, "/region_of_interest", "CoordinateFrame:frame", timed=True) == [
        ["camera_image_plane"]
    ]
    assert len(rrd_column(rrd, "/region_of_interest", "Boxes2D:centers")) == 1


def test_a_config_type_the_recording_contradicts_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config declaring /region_of_interest an Image was taken without a word (audit): the recording's
    type converts, and the contradiction is named with the config key."""
    config = tmp_path / "bridge.yaml"
    config.write_text("topics:\n  /region_of_interest:\n    type: sensor_msgs/msg/Image\n", encoding="utf-8")
    args = ["convert", str(RERUN_SUPPORTED_MCAP), "-o", str(tmp_path / "out.rrd"), "-q"]
    assert main([*args, "--topics", "^/region_of_interest$", "--config", str(config)]) == 0
    assert (
        "topic /region_of_interest is sensor_msgs/msg/RegionOfInterest in the recording, but the config's "
        "topics./region_of_interest.type says sensor_msgs/msg/Image: converted as the recording's"
    ) in capsys.readouterr().err


def test_the_placeholder_member_of_a_type_without_fields_is_not_plotted() -> None:
    # rosidl gives a type without fields (std_msgs/Empty, test_msgs/Empty, a custom trigger) one member,
    # structure_needs_at_least_one_member, which was plotted as a flat-zero curve, alone or nested.
    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(get_types_from_msg("std_msgs/Empty trigger\nfloat64 level", "pkg/msg/Holder"))
    empty = store.types["std_msgs/msg/Empty"](structure_needs_at_least_one_member=0)
    holder = store.types["pkg/msg/Holder"](trigger=empty, level=2.5)
    convert = raw_converter()
    alone = convert(empty, ConvertContext("/empty", "std_msgs/msg/Empty", "/empty"))
    assert [row.archetype for row in alone] == [raw_archetype("std_msgs/msg/Empty")]
    nested = convert(holder, ConvertContext("/holder", "pkg/msg/Holder", "/holder"))
    assert [row.entity_path for row in nested if row.archetype == "Scalars"] == ["/holder/level"]


def test_fields_named_like_python_keywords_keep_their_ros_names() -> None:
    """rosbags names a field ``class`` ``class_``: it was null in the raw column (typed by the definition's
    names) and plotted as ``/detection/class_`` (audit)."""
    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(get_types_from_msg("uint8 class\nfloat32 from\nfloat32 score", "pkg/msg/Tagged"))
    message = store.types["pkg/msg/Tagged"](class_=3, from_=1.5, score=0.5)
    raw_type = arrow_type_for(store, "pkg/msg/Tagged")
    context = ConvertContext("/detection", "pkg/msg/Tagged", "/detection", raw_type=raw_type)
    rows = raw_converter()(message, context)
    (raw,) = [row for row in rows if row.archetype == raw_archetype("pkg/msg/Tagged")]
    message_column = raw.extra["message"]
    assert isinstance(message_column, pa.Array)
    assert message_column.to_pylist() == [{"class": 3, "from": 1.5, "score": 0.5}]
    plotted = [row.entity_path for row in rows if row.archetype == "Scalars"]
    assert plotted == ["/detection/class", "/detection/from", "/detection/score"]
