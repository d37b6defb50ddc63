"""What an .rrd sink notes as it sends: each entity's time bounds per timeline, kept through a snapshot
(the Rerun viewer sink's process) and a merge (a split conversion's parts), as a store of the same rows
has them."""

from __future__ import annotations

import json
from pathlib import Path

from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.sinks.rrd import RrdSink
from rerun_bridge.sinks.sent_catalog import SentCatalog
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from test.convert.golden_harness import golden_cases
from test.convert.test_golden_rrd import feed


def _bounds(index: ChunkStore | SentCatalog) -> dict[tuple[str, str], tuple[int, int] | None]:
    times = index.times if isinstance(index, SentCatalog) else index
    return {
        (timeline, entity): times.time_range(timeline, entity)
        for timeline in ("log_time", "ros_time")
        for entity in times.entities()
    }


def test_time_bounds_noted_as_sent_are_a_stores_and_survive_a_snapshot_and_a_merge(tmp_path: Path) -> None:
    cases = [case for case in golden_cases() if case.name.startswith(("sensor_msgs/", "geometry_msgs/"))]
    halves = (cases[: len(cases) // 2], cases[len(cases) // 2 :])
    store = ChunkStore()
    sent: list[SentCatalog] = []
    for number, half in enumerate(halves):
        with RrdSink(tmp_path / f"part{number}.rrd", application_id="times") as sink:
            pipeline = Pipeline(
                [sink, StoreSink(store)], warn=lambda _text: None, converters=BUILTIN_CONVERTERS
            )
            for case in half:
                feed(case, pipeline)
            pipeline.finish()
            sent.append(sink.sent)
    store.flush()

    merged = SentCatalog.merged(*sent)
    expected = {key: value for key, value in _bounds(store).items() if value is not None}
    assert len(expected) > 40
    assert any(key[0] == "ros_time" for key in expected)
    assert {key: value for key, value in _bounds(merged).items() if value is not None} == expected
    assert merged.times.timelines() == ["log_time", "ros_time"]
    for timeline in ("log_time", "ros_time"):
        assert merged.times.time_range(timeline) == store.time_range(timeline)
    copied = SentCatalog.from_snapshot(json.loads(json.dumps(merged.snapshot())))
    assert _bounds(copied) == _bounds(merged)
