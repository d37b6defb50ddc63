"""The raw MCAP re-recording is lossless and readable by the mcap library and by rosbags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.highlevel import AnyReader

from rerun_bridge.replay import TopicSelection, convert_bags
from rerun_bridge.sources.bag import open_bag
from test.conftest import GPS_BAG, NEATO_BAG, RERUN_SUPPORTED_MCAP


def bag_payloads(path: Path, topics: set[str]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    with open_bag(path) as bag:
        for message in bag.messages(topics):
            out.setdefault(message.topic, []).append(bytes(message.data))
    return out


@pytest.mark.parametrize("source", [RERUN_SUPPORTED_MCAP, GPS_BAG], ids=["mcap", "sqlite3"])
def test_mcap_output_is_lossless(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mcap"
    summary = convert_bags([source], None, out)
    # Every topic is re-recorded, also those without a definition (skipped for conversion).
    original = bag_payloads(source, {t.topic for t in summary.topics})
    with out.open("rb") as stream:
        copied: dict[str, list[bytes]] = {}
        for _schema, channel, message in make_reader(stream).iter_messages():
            copied.setdefault(channel.topic, []).append(message.data)
    assert copied == original
    decodable = [t.topic for t in summary.topics if t.reason == "" and t.topic in original]
    with out.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        decoded = sum(ros_msg is not None for *_, ros_msg in reader.iter_decoded_messages(topics=decodable))
    assert decoded == sum(len(original[topic]) for topic in decodable)


def test_mcap_output_reads_with_rosbags(tmp_path: Path) -> None:
    out_dir = tmp_path / "rec"
    out_dir.mkdir()
    summary = convert_bags([NEATO_BAG], None, out_dir / "rec.mcap")
    expected = {t.topic: t.messages for t in summary.topics}
    undefined = {t.topic for t in summary.topics if t.reason}
    assert undefined == {"/accel", "/bump"}  # no definition: kept, with an empty schema rosbags reads
    with AnyReader([out_dir / "rec.mcap"]) as reader:
        counts: dict[str, int] = {}
        for connection, _time, raw in reader.messages():
            if connection.topic not in undefined:
                reader.deserialize(raw, connection.msgtype)
            counts[connection.topic] = counts.get(connection.topic, 0) + 1
    assert counts == {topic: n for topic, n in expected.items() if n}


def test_filters_select_topics_and_time(tmp_path: Path) -> None:
    with open_bag(GPS_BAG) as bag:
        bounds = bag.time_bounds()
    assert bounds is not None
    start, end = bounds[0] + 5_000_000_000, bounds[0] + 15_000_000_000
    selection = TopicSelection(re.compile("^/(gps|odometry)$"), re.compile("odometry"), start, end)
    out = tmp_path / "f.mcap"
    convert_bags([GPS_BAG], tmp_path / "f.rrd", out, selection=selection)
    with out.open("rb") as stream:
        messages = list(make_reader(stream).iter_messages())
    assert messages
    assert {channel.topic for _s, channel, _m in messages} == {"/gps"}
    assert all(start <= m.log_time <= end for _s, _c, m in messages)
