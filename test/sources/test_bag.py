"""rosbag2 reading on the official fixtures and on damaged / variant copies of them."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from rosbags.highlevel import AnyReader

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.errors import BagError
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.replay import convert_bags
from rerun_bridge.sinks.mcap import McapSink
from rerun_bridge.sources.bag import open_bag
from test.conftest import GPS_BAG, NEATO_BAG, RERUN_SUPPORTED_MCAP, ROSBAG2_RESOURCES

PY_RESOURCES = ROSBAG2_RESOURCES / "rosbag2_py" / "test" / "resources"
TEST_RESOURCES = ROSBAG2_RESOURCES / "rosbag2_tests" / "resources"
STORAGES = ["mcap", "sqlite3"]


def decoded(bag_path: Path, topic: str) -> list[object]:
    with open_bag(bag_path) as bag:
        resolver = TypeResolver(bag.topics(), bag.ros_distro)
        info = next(t for t in bag.topics() if t.name == topic)
        decoder = resolver.choose(info.type_name).decoder
        assert decoder is not None
        return [decoder(m.data) for m in bag.messages({topic})]


@pytest.mark.parametrize("storage", STORAGES)
def test_talker_contents(storage: str) -> None:
    bag_path = PY_RESOURCES / storage / "talker"
    strings = [m.data for m in decoded(bag_path, "/topic")]  # type: ignore[attr-defined]
    assert strings == [f"Hello, world! {i}" for i in range(10)]
    logs = decoded(bag_path, "/rosout")
    assert len(logs) == 10
    assert all(log.msg.startswith("Publishing: 'Hello, world!") for log in logs)  # type: ignore[attr-defined]


def test_mcap_channels_matched_on_topic_not_qos() -> None:
    """rosbag2's talker MCAP stores QoS text that differs from metadata.yaml: we still read everything."""
    with open_bag(PY_RESOURCES / "mcap" / "talker") as bag:
        assert bag.metadata is not None
        yaml_qos = {t.name: t.qos_profiles for t in bag.metadata.topics}
        mcap_qos = {t.name: t.qos_profiles for t in bag.topics()}
        assert yaml_qos["/topic"] != mcap_qos["/topic"]
        assert sum(1 for _ in bag.messages()) == 20
    with open_bag(PY_RESOURCES / "mcap" / "convert_a") as bag:
        assert sum(1 for _ in bag.messages()) == 150


@pytest.mark.parametrize("storage", STORAGES)
def test_split_bag_merges_in_time_then_file_order(storage: str) -> None:
    bag_path = PY_RESOURCES / storage / "wbag"
    with open_bag(bag_path) as bag:
        assert len(bag.storages) == 5
        counts = {t.name: t.message_count for t in bag.topics()}
        assert sum(counts.values()) == 6074
        assert counts["AAA"] == 804
        times = [m.log_time_ns for m in bag.messages()]
    assert times == sorted(times)
    assert len(times) == 6074
    # Each payload is 'Hello, world! <tick> - <index within tick>': the merge keeps both orders,
    # across the file boundaries that share a tick (1821 and 2623) too.
    keys = []
    for topic in sorted(counts):
        keys += [(m.data, topic) for m in decoded(bag_path, topic)]  # type: ignore[attr-defined]
    with open_bag(bag_path) as bag:
        resolver = TypeResolver(bag.topics())
        decoder = resolver.choose("std_msgs/msg/String").decoder
        assert decoder is not None
        ordered = [decoder(m.data).data for m in bag.messages()]
    parsed = [tuple(int(x) for x in re.findall(r"\d+", text)) for text in ordered]
    assert parsed == sorted(parsed)
    assert len(keys) == 6074


@pytest.mark.parametrize("storage", STORAGES)
def test_cdr_test_counts_and_duration(storage: str) -> None:
    with open_bag(TEST_RESOURCES / storage / "cdr_test") as bag:
        counts = {t.name: t.message_count for t in bag.topics()}
        assert counts == {"/array_topic": 4, "/test_topic": 3}
        bounds = bag.time_bounds()
    assert bounds == (1586406456763032325, 1586406456763032325 + 151137181)
    basic = decoded(TEST_RESOURCES / storage / "cdr_test", "/test_topic")
    assert len(basic) == 3
    assert all(hasattr(m, "float64_value") for m in basic)


def test_empty_bag() -> None:
    with open_bag(ROSBAG2_RESOURCES / "ros2bag" / "test" / "resources" / "empty_bag") as bag:
        assert list(bag.messages()) == []
        assert bag.time_bounds() is None


@pytest.mark.parametrize("suffix", [".mcap", ".db3"])
def test_single_files_without_metadata(suffix: str) -> None:
    path = (
        ROSBAG2_RESOURCES / "rosbag2_cpp" / "test" / "rosbag2_cpp" / "bags" / f"topics_and_services{suffix}"
    )
    with open_bag(path) as bag:
        assert bag.metadata is None
        assert bag.topics()
        assert sum(1 for _ in bag.messages()) == sum(t.message_count for t in bag.topics())


def test_folder_without_metadata(tmp_path: Path) -> None:
    shutil.copy(RERUN_SUPPORTED_MCAP, tmp_path / "recording.mcap")
    with open_bag(tmp_path) as bag:
        assert len(bag.topics()) > 20


def test_files_holding_fewer_messages_than_the_metadata_lists_are_a_problem(tmp_path: Path) -> None:
    # A .db3 copied without its -wal file read as a shorter recording, converted so without a word.
    shutil.copytree(NEATO_BAG, tmp_path / "bag")
    metadata_path = tmp_path / "bag" / "metadata.yaml"
    metadata = yaml.safe_load(metadata_path.read_text())
    info = metadata["rosbag2_bagfile_information"]
    listed = info["message_count"]
    with open_bag(tmp_path / "bag") as bag:
        bag.topics()
        assert not bag.problems  # as recorded: nothing said
    info["message_count"] = listed + 10
    metadata_path.write_text(yaml.safe_dump(metadata))
    with open_bag(tmp_path / "bag") as bag:
        assert sum(topic.message_count for topic in bag.topics()) == listed
        assert bag.problems == [
            f"{metadata_path}: lists {listed + 10} messages, its files hold {listed}: 10 lost "
            "(a file cut short, or a .db3 copied without its -wal file?)"
        ]


def _neato_listing(tmp_path: Path, extra: str, more_messages: int = 0) -> tuple[Path, dict[str, Any], str]:
    """The Neato bag copied to ``tmp_path/bag``, its metadata.yaml listing ``extra`` after its own file (and
    ``more_messages`` more): the metadata's path, its contents and the bag's own file name."""
    shutil.copytree(NEATO_BAG, tmp_path / "bag")
    metadata_path = tmp_path / "bag" / "metadata.yaml"
    metadata = yaml.safe_load(metadata_path.read_text())
    info = metadata["rosbag2_bagfile_information"]
    (listed,) = info["relative_file_paths"]
    info["relative_file_paths"] = [listed, extra]
    info["message_count"] += more_messages
    metadata_path.write_text(yaml.safe_dump(metadata))
    return metadata_path, metadata, listed


def test_files_metadata_lists_but_the_folder_lacks(tmp_path: Path) -> None:
    """A listed file that is gone loses its messages, said; where none of the listed files is there but the
    folder holds others (renamed by a copy or an upload tool), those are read instead, said."""
    metadata_path, metadata, listed = _neato_listing(tmp_path, "gone_1.db3")
    info = metadata["rosbag2_bagfile_information"]
    with open_bag(tmp_path / "bag") as bag:
        assert (
            f"{metadata_path}: lists files that do not exist: gone_1.db3 (their messages are lost)"
            in bag.problems
        )
    info["relative_file_paths"] = ["renamed_0.db3"]
    metadata_path.write_text(yaml.safe_dump(metadata))
    with open_bag(tmp_path / "bag") as bag:
        assert sum(topic.message_count for topic in bag.topics()) == info["message_count"]
        absent = f"{metadata_path}: lists files that do not exist: renamed_0.db3"
        assert bag.problems == [f"{absent}; reading the folder's {listed} instead"]


def test_humble_bag_custom_types_are_undecodable_not_fatal() -> None:
    with open_bag(NEATO_BAG) as bag:
        resolver = TypeResolver(bag.topics(), bag.ros_distro)
        reasons = {t.name: resolver.choose(t.type_name).reason for t in bag.topics()}
    assert reasons["/bump"]
    assert reasons["/accel"]
    assert reasons["/scan"] == ""
    assert reasons["/odom"] == ""


def test_time_and_topic_filters_at_the_storage() -> None:
    with open_bag(GPS_BAG) as bag:
        bounds = bag.time_bounds()
        assert bounds is not None
        start, end = bounds[0] + 10_000_000_000, bounds[0] + 20_000_000_000
        messages = list(bag.messages({"/gps"}, start, end))
    assert messages
    assert all(start <= m.log_time_ns <= end and m.topic == "/gps" for m in messages)


def _talker_copy_with_metadata(tmp_path: Path, version: int) -> Path:
    source = PY_RESOURCES / "mcap" / "talker"
    target = tmp_path / f"talker_v{version}"
    shutil.copytree(source, target)
    document = yaml.safe_load((target / "metadata.yaml").read_text())
    info = document["rosbag2_bagfile_information"]
    info["version"] = version
    if version >= 5:
        info["files"] = [{"path": "talker.mcap", "message_count": 20}]
    if version >= 6:
        info["custom_data"] = {"note": "test"}
    if version >= 8:
        info["ros_distro"] = "jazzy"
    if version >= 9:
        for entry in info["topics_with_message_count"]:
            entry["topic_metadata"]["offered_qos_profiles"] = [{"history": "keep_last", "depth": 10}]
            entry["topic_metadata"]["type_description_hash"] = "RIHS01_00"
    (target / "metadata.yaml").write_text(yaml.safe_dump(document))
    return target


@pytest.mark.parametrize("version", range(4, 10))
def test_metadata_versions(tmp_path: Path, version: int) -> None:
    with open_bag(_talker_copy_with_metadata(tmp_path, version)) as bag:
        assert bag.metadata is not None
        assert bag.metadata.version == version
        assert sum(1 for _ in bag.messages()) == 20
        if version >= 8:
            assert bag.ros_distro == "jazzy"
        if version >= 9:
            assert "keep_last" in bag.metadata.topics[0].qos_profiles


def test_unsupported_metadata_version_is_named_and_the_files_still_read(tmp_path: Path) -> None:
    target = _talker_copy_with_metadata(tmp_path, 9)
    text = (target / "metadata.yaml").read_text().replace("version: 9", "version: 42")
    (target / "metadata.yaml").write_text(text)
    with open_bag(target) as bag:
        assert any(re.search(r"metadata.yaml.*version 42", problem) for problem in bag.problems)
        assert sum(1 for _ in bag.messages()) == 20


def test_truncated_mcap_keeps_what_was_readable(tmp_path: Path) -> None:
    """A recorder killed mid-write leaves a file with no summary and a cut chunk: read what is whole."""
    whole = tmp_path / "whole.mcap"
    with open_bag(PY_RESOURCES / "mcap" / "wbag") as bag, McapSink(whole, chunk_size=4096) as sink:
        channels = {
            t.name: sink.add_topic(t.name, t.type_name, MessageDefinition("ros2msg", "string data"))
            for t in bag.topics()
        }
        for message in bag.messages():
            sink.write(channels[message.topic], message.log_time_ns, message.publish_time_ns, message.data)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[: len(data) * 6 // 10])
    with open_bag(cut) as bag:
        assert {t.name for t in bag.topics()} == set(channels)
        count = sum(1 for _ in bag.messages())
        assert 1000 < count < 6074
        assert any("cut.mcap" in problem for problem in bag.problems)


def test_not_a_bag_names_the_file(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mcap"
    bogus.write_text("hello")
    with pytest.raises(BagError, match=r"notes\.mcap"), open_bag(bogus) as bag:
        list(bag.messages())
    with pytest.raises(BagError, match="no such file"):
        open_bag(tmp_path / "missing")


@pytest.mark.parametrize("compression", ["none", "zstd"])
def test_messages_kept_past_their_chunk_read_back_unchanged(tmp_path: Path, compression: str) -> None:
    """The chunk reader maps the file and drops each chunk's pages once its messages are handed out;
    messages still held afterwards (views into an uncompressed chunk) must read the same bytes."""
    path = tmp_path / f"{compression}.mcap"
    payloads = [bytes([index % 251]) * (100 + index * 37 % 5000) for index in range(400)]
    with McapSink(path, compression=compression, chunk_size=16 << 10) as sink:
        channel = sink.add_topic("/blob", "std_msgs/msg/String", MessageDefinition("ros2msg", "string data"))
        for index, payload in enumerate(payloads):
            sink.write(channel, 1000 + index, 1000 + index, payload)
    with open_bag(path) as bag:
        held = [message.data for message in bag.messages()]
        assert not bag.problems
    assert [bytes(data) for data in held] == payloads


@pytest.mark.parametrize(
    "listed",
    ["../outside/talker.mcap", "{outside}/talker.mcap", "escape.mcap", "inner/../../outside/talker.mcap"],
)
def test_metadata_never_makes_the_bag_read_files_outside_its_folder(tmp_path: Path, listed: str) -> None:
    """metadata.yaml comes with the recording: a listed file outside the bag folder (by '..', an absolute
    path or a symlink) is refused and named; the folder's own files are still read."""
    target = _talker_copy_with_metadata(tmp_path, 9)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(target / "talker.mcap", outside / "talker.mcap")
    (target / "escape.mcap").symlink_to(outside / "talker.mcap")
    document = yaml.safe_load((target / "metadata.yaml").read_text())
    info = document["rosbag2_bagfile_information"]
    info["relative_file_paths"] = ["talker.mcap", listed.format(outside=outside)]
    (target / "metadata.yaml").write_text(yaml.safe_dump(document))
    with open_bag(target) as bag:
        assert any("outside the bag folder" in problem for problem in bag.problems)
        assert [storage.path for storage in bag.storages] == [target / "talker.mcap"]
        assert sum(1 for _ in bag.messages()) == 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rosbag2_bagfile_information: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)),
            "nodes through aliases",
        ),
        ("rosbag2_bagfile_information: !!python/object/apply:os.system ['true']\n", "constructor"),
        ("\x00\x01", "cannot read metadata"),
    ],
    ids=["billion-laughs", "python-tag", "binary"],
)
def test_a_hostile_metadata_yaml_is_named_and_the_files_still_read(
    tmp_path: Path, text: str, expected: str
) -> None:
    target = _talker_copy_with_metadata(tmp_path, 9)
    (target / "metadata.yaml").write_text(text)
    with open_bag(target) as bag:
        assert any(expected in problem for problem in bag.problems), bag.problems
        assert sum(1 for _ in bag.messages()) == 20


def test_a_type_without_fields_has_a_definition(tmp_path: Path) -> None:
    """rosbag2 stores a type without fields (test_msgs/msg/Empty, a custom trigger) as a ros2msg
    definition with no text, and a type it could not find as encoding 'unknown' with no text. The empty
    text was read as no definition: convert_a's 100 a_empty messages were skipped ("stores no definition")
    and left out of the --mcap re-recording."""
    convert_a = PY_RESOURCES / "mcap" / "convert_a"
    with open_bag(convert_a) as bag:
        topics = {t.name: t for t in bag.topics()}
        assert topics["a_empty"].definition == MessageDefinition("ros2msg", "")
        assert TypeResolver(bag.topics(), bag.ros_distro).choose("test_msgs/msg/Empty").decoder is not None
    summary = convert_bags([convert_a], tmp_path / "a.rrd", tmp_path / "a.mcap", warn=lambda _: None)
    stats = {t.topic: t for t in summary.topics}
    assert (stats["a_empty"].messages, stats["a_empty"].skipped, stats["a_empty"].errors) == (100, 0, 0)
    assert summary.mcap_messages == 150
    with AnyReader([tmp_path / "a.mcap"]) as reader:
        counts = Counter(connection.topic for connection, _time, _raw in reader.messages())
    assert counts == {"a_empty": 100, "b_basictypes": 50}
    # The same in sqlite3 (Jazzy's message_definitions table), beside a type rosbag2 did not find.
    db3 = tmp_path / "services.db3"
    shutil.copy(
        TEST_RESOURCES
        / "sqlite3"
        / "bag_with_topics_and_service_events"
        / "bag_with_topics_and_service_events.db3",
        db3,
    )
    with sqlite3.connect(db3) as database:
        for topic_id, name, type_name, encoding in (
            (10, "/trigger", "custom_msgs/msg/Trigger", "ros2msg"),
            (11, "/unfound", "custom_msgs/msg/Unfound", "unknown"),
        ):
            database.execute(
                "INSERT INTO topics VALUES (?, ?, ?, 'cdr', '', '')", (topic_id, name, type_name)
            )
            database.execute(
                "INSERT INTO message_definitions (topic_type, encoding, encoded_message_definition, "
                "type_description_hash) VALUES (?, ?, '', '')",
                (type_name, encoding),
            )
            database.execute(
                "INSERT INTO messages (topic_id, timestamp, data) VALUES (?, 1699345836100000000, ?)",
                (topic_id, b"\x00\x01\x00\x00\x00"),  # CDR: an empty struct is one byte
            )
    with open_bag(db3) as bag:
        resolver = TypeResolver(bag.topics(), bag.ros_distro)
        trigger = resolver.choose("custom_msgs/msg/Trigger").decoder
        assert trigger is not None
        assert [trigger(m.data) for m in bag.messages({"/trigger"})]
        assert resolver.choose("custom_msgs/msg/Unfound").decoder is None


def test_a_missing_split_file_is_said_once_and_a_renamed_one_beside_it_named(tmp_path: Path) -> None:
    """A listed part gone gave a second warning with a wrong cause ("a file cut short, or a .db3 copied
    without its -wal file?"); a renamed part in the folder went unnamed; an empty folder's error
    contradicted itself (audits)."""
    metadata_path, _metadata, listed = _neato_listing(tmp_path, "part_1.db3", more_messages=100)
    shutil.copy(tmp_path / "bag" / listed, tmp_path / "bag" / "renamed_1.db3.bak")  # not a storage file
    (tmp_path / "bag" / "renamed_1.mcap").write_bytes(b"")
    with open_bag(tmp_path / "bag") as bag:
        bag.topics()
        assert bag.problems[0] == (
            f"{metadata_path}: lists files that do not exist: part_1.db3 (their messages are lost; "
            "the folder also holds renamed_1.mcap, which it does not list)"
        )
        assert not any("cut short, or a .db3 copied" in problem for problem in bag.problems)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagError, match=r"holds no metadata\.yaml and no \.mcap or \.db3 file: not a rosbag2"):
        open_bag(tmp_path / "empty")
