"""The golden cases' rows through the real sinks: one .rrd that Rerun verifies, and the viewer's store.

The golden files pin what converters write; this checks that Rerun and our store take it (a component of a
type Rerun cannot read, or a batch the store cannot lay out, fails here, not in a user's viewer).
"""

from __future__ import annotations

from pathlib import Path

from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.sinks.rrd import RrdSink
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from test.conftest import rrd_chunks, verify_rrd
from test.convert.golden_harness import GoldenCase, _prepare, golden_cases

#: The packages whose cases are checked here (geometry_msgs' and nav_msgs' include empty polygons and
#: paths: zero-length strips, which once stopped the store with a division by zero in Arrow).
PACKAGES = (
    "action_msgs", "diagnostic_msgs", "geometry_msgs", "lifecycle_msgs", "nav_msgs", "raw",
    "rcl_interfaces", "rosgraph_msgs", "sensor_msgs", "statistics_msgs", "std_msgs", "stereo_msgs",
    "trajectory_msgs", "vision_msgs",
)  # fmt: skip


def feed(case: GoldenCase, pipeline: Pipeline) -> str:
    """The case's messages into ``pipeline`` under an entity of its own; returns that entity."""
    prepared = _prepare(case)
    entity = f"/{case.name}"
    pipeline.add_topic(case.name, prepared.type_name, entity_path=entity, raw_type=prepared.raw_type)
    for payload, log_time in zip(prepared.payloads, prepared.log_times.tolist(), strict=True):
        pipeline.process_raw(case.name, payload, log_time, prepared.decoder)
    return entity


def test_golden_rows_make_a_valid_rrd_and_load_into_the_viewer_store(tmp_path: Path) -> None:
    cases = [case for case in golden_cases() if case.name.split("/", 1)[0] in PACKAGES]
    store = ChunkStore()
    rrd = tmp_path / "golden.rrd"
    entities = []
    with RrdSink(rrd, application_id="golden") as sink:
        pipeline = Pipeline([sink, StoreSink(store)], warn=lambda _text: None, converters=BUILTIN_CONVERTERS)
        entities = [feed(case, pipeline) for case in cases]
        pipeline.finish()
        converted = {f"/{stats.topic}" for stats in pipeline.topic_stats() if stats.rows > 0}
    store.flush()
    verify_rrd(rrd)
    written = {entity for entity, _static, _batch in rrd_chunks(rrd)}
    # Every case with rows wrote them under its own entity (the empty-only cases write frame rows at least;
    # a case of bad data only, such as a transform without a child frame, writes none).
    missing = [
        entity
        for entity in entities
        if entity in converted and not any(w == entity or w.startswith(f"{entity}/") for w in written)
    ]
    assert not missing, missing
    assert len(cases) > 60
