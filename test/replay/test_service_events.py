"""rosbag2's service recordings: ``/<service>/_service_event`` topics of type ``<pkg>/srv/<Name>_Event``,
stored with their .srv text (request ``---`` response) as definition, decode and are kept as raw columns.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rerun_bridge.convert.raw import raw_archetype
from rerun_bridge.pipeline import Outcome, Pipeline, TopicKind
from rerun_bridge.replay import convert_bags
from rerun_bridge.sources.bag import open_bag
from test.conftest import ROSBAG2_RESOURCES, rrd_column, rrd_row_count, verify_rrd

TEST_RESOURCES = ROSBAG2_RESOURCES / "rosbag2_tests" / "resources"
CPP_BAGS = ROSBAG2_RESOURCES / "rosbag2_cpp" / "test" / "rosbag2_cpp" / "bags"

# (recording, {service event topic: messages it holds}); the sqlite3 bags file the .srv text under the
# service's name (pkg/srv/Name), the MCAP files under the topic's type (pkg/srv/Name_Event).
RECORDINGS = {
    "services_mcap": (
        TEST_RESOURCES / "mcap" / "bag_with_topics_and_service_events",
        {"/test_service1/_service_event": 4, "/test_service2/_service_event": 4},
    ),
    "services_sqlite": (
        TEST_RESOURCES / "sqlite3" / "bag_with_topics_and_service_events",
        {"/test_service1/_service_event": 4, "/test_service2/_service_event": 4},
    ),
    "topics_and_services_mcap": (
        CPP_BAGS / "topics_and_services.mcap",
        {"/add_two_ints/_service_event": 6, "/add_two_ints2/_service_event": 0},
    ),
    "topics_and_services_db3": (
        CPP_BAGS / "topics_and_services.db3",
        {"/add_two_ints/_service_event": 6, "/add_two_ints2/_service_event": 0},
    ),
}


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_service_event_topics_are_kept(name: str, tmp_path: Path) -> None:
    source, events = RECORDINGS[name]
    rrd = tmp_path / "out.rrd"
    warnings: list[str] = []
    summary = convert_bags([source], rrd, warn=warnings.append)
    verify_rrd(rrd)
    by_topic = {t.topic: t for t in summary.topics}
    for topic, count in events.items():
        stats = by_topic[topic]
        assert stats.type_name.endswith("_Event")
        assert "/srv/" in stats.type_name
        assert stats.kind is TopicKind.RAW, stats
        assert (stats.messages, stats.skipped, stats.errors, stats.reason) == (count, 0, 0, ""), stats
        column = f"{raw_archetype(stats.type_name)}:message"
        assert rrd_row_count(rrd, stats.entity_path, column) == count
    assert not [w for w in warnings if "skipped" in w or "\n" in w], warnings


def test_service_event_fields_hold_the_recorded_calls(tmp_path: Path) -> None:
    """add_two_ints served 1+3, 2+3, 3+3: each call a request event, then a response event."""
    rrd = tmp_path / "out.rrd"
    convert_bags([CPP_BAGS / "topics_and_services.mcap"], rrd)
    events = rrd_column(
        rrd, "/add_two_ints/_service_event", "example_interfaces.srv.AddTwoInts_Event:message"
    )
    flat = [row[0] for row in events]  # one instance per row
    requests = [(e["request"][0]["a"], e["request"][0]["b"]) for e in flat if e["request"]]
    sums = [e["response"][0]["sum"] for e in flat if e["response"]]
    assert requests == [(1, 3), (2, 3), (3, 3)]
    assert sums == [4, 5, 6]
    # service_msgs/ServiceEventInfo: REQUEST_RECEIVED (1) then RESPONSE_SENT (2), numbered per call.
    assert [(e["info"]["event_type"], e["info"]["sequence_number"]) for e in flat] == [
        (1, 1),
        (2, 1),
        (1, 2),
        (2, 2),
        (1, 3),
        (2, 3),
    ]
    # Numeric leaves outside sequences are plotted; the type's constants are not data.
    assert rrd_row_count(rrd, "/add_two_ints/_service_event/info/sequence_number", "Scalars:scalars") == 6
    assert rrd_row_count(rrd, "/add_two_ints/_service_event/info/REQUEST_SENT", "Scalars:scalars") == 0
    # The request and response (each [<=1]) are plotted at the events that carry them.
    plotted = {
        field: [row[0] for row in rrd_column(rrd, f"/add_two_ints/_service_event/{field}", "Scalars:scalars")]
        for field in ("request/a", "request/b", "response/sum")
    }
    assert plotted == {"request/a": [1, 2, 3], "request/b": [3, 3, 3], "response/sum": [4, 5, 6]}


def test_the_mcap_re_recording_keeps_the_service_events(tmp_path: Path) -> None:
    """From the sqlite3 bag (definition filed under the service's name) to an MCAP file that stores it
    under the topic's type, as rosbag2's MCAP files do: the re-recording converts the same."""
    mcap = tmp_path / "out.mcap"
    convert_bags([CPP_BAGS / "topics_and_services.db3"], tmp_path / "a.rrd", mcap)
    with open_bag(mcap) as bag:
        definitions = {t.name: t.definition for t in bag.topics()}
    stored = definitions["/add_two_ints/_service_event"]
    assert stored is not None
    assert "---" in stored.text
    summary = convert_bags([mcap], tmp_path / "b.rrd")
    stats = next(t for t in summary.topics if t.topic == "/add_two_ints/_service_event")
    assert (stats.kind, stats.messages, stats.errors) == (TopicKind.RAW, 6, 0)


def test_a_skipped_topic_is_warned_about_only_when_it_has_messages() -> None:
    """A topic without a definition is skipped; with no message it has nothing to lose: no warning."""
    warnings: list[str] = []
    pipeline = Pipeline([], warn=warnings.append)
    pipeline.add_topic("/unused", "my_msgs/msg/Unknown", skip_reason="the recording stores no definition")
    pipeline.add_topic("/used", "my_msgs/msg/Unknown", skip_reason="the recording stores no definition")
    for log_time in (1, 2):
        assert pipeline.process_raw("/used", b"", log_time, None) is Outcome.SKIPPED
    assert warnings == [
        "topic /used (my_msgs/msg/Unknown) skipped: the recording stores no definition"
    ]  # once, and none for /unused
    assert [(t.topic, t.messages, t.skipped, t.reason) for t in pipeline.topic_stats()] == [
        ("/unused", 0, 0, "the recording stores no definition"),
        ("/used", 2, 2, "the recording stores no definition"),
    ]


def test_a_topic_without_messages_gets_no_raw_columns_warning(tmp_path: Path) -> None:
    """rosbag2's /events/write_split and an unused service keep nothing: no "kept as raw columns" for them;
    a raw topic with messages gets it once."""
    warnings: list[str] = []
    convert_bags([CPP_BAGS / "topics_and_services.mcap"], tmp_path / "out.rrd", warn=warnings.append)
    raw_warnings = [w for w in warnings if "kept as raw columns" in w]
    assert raw_warnings == [
        "topic /add_two_ints/_service_event: no converter for example_interfaces/srv/AddTwoInts_Event; "
        "its fields are kept as raw columns, its 6 numbers plotted"
    ]
