"""The viewer store's sink batched (the live node) against row by row: the same rows, values and Clears."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.model.rows import Row
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.sinks.store import LIVE_BATCH_ROWS, StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from test.convert.golden_harness import golden_cases
from test.convert.test_golden_rrd import feed
from test.convert.test_marker_columns import LINE_STRIP, cdr, decoder, marker


def _rounded(value: Any) -> Any:
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def _latest(store: ChunkStore, entity: str) -> dict[tuple[str, str], pa.Array]:
    latest: dict[tuple[str, str], pa.Array] = {}
    for timeline in store.timelines():
        extent = store.time_range(timeline, entity)
        if extent is not None:
            for component, array in store.latest_at(entity, timeline, extent[1]).items():
                latest[(timeline, component)] = array
    return latest


def test_a_batched_store_sink_stores_what_row_by_row_does_for_every_golden_case() -> None:
    by_row, batched = ChunkStore(), ChunkStore()
    batched_sink = StoreSink(batched, batch_rows=LIVE_BATCH_ROWS)
    pipeline = Pipeline(
        [StoreSink(by_row), batched_sink], warn=lambda _text: None, converters=BUILTIN_CONVERTERS
    )
    cases = golden_cases()
    for case in cases:
        feed(case, pipeline)
    pipeline.finish()
    batched_sink.close()
    by_row.flush()
    batched.flush()
    assert len(cases) > 100
    assert batched.entities() == by_row.entities()
    compared = 0
    by_row_rows, batched_rows = _temporal_rows(by_row), _temporal_rows(batched)
    for entity in by_row.entities():
        # Temporal rows all stored; static ones: the batcher keeps each entity's last static value
        # (the row-by-row sink stores every copy of it).
        assert batched_rows.get(entity, 0) == by_row_rows.get(entity, 0), entity
        batched_latest, by_row_latest = _latest(batched, entity), _latest(by_row, entity)
        assert batched_latest.keys() == by_row_latest.keys(), entity
        # Batched rows take Rerun's types, as in an .rrd (float32 vectors, packed colours, column-major
        # matrices; the viewer reads both layouts): values are compared where the types agree, to float32's
        # precision, NaN equal to NaN.
        same_type = [key for key in by_row_latest if batched_latest[key].type == by_row_latest[key].type]
        for key in same_type:
            expected = repr(_rounded(by_row_latest[key].to_pylist()))
            assert repr(_rounded(batched_latest[key].to_pylist())) == expected, (entity, key)
        compared += len(same_type)
    assert compared > 500


def test_batched_rows_are_seen_at_a_flush_and_a_clear_keeps_its_order() -> None:
    store = ChunkStore()
    sink = StoreSink(store, batch_rows=LIVE_BATCH_ROWS)
    sink.write([Row("/markers/a", "Points3D", {"positions": np.zeros((1, 3), np.float32)})], {"log_time": 1})
    assert store.num_rows("/markers/a") == 0  # batched: not yet
    sink.flush()
    assert store.num_rows("/markers/a") == 1
    # A Clear in the same batch as a later row of its entity: the row after it stays, as row by row.
    sink.write([Row("/markers/a", "Clear", {"is_recursive": np.array([True])})], {"log_time": 2})
    sink.write([Row("/markers/a", "Points3D", {"positions": np.ones((1, 3), np.float32)})], {"log_time": 2})
    sink.close()
    latest = store.latest_at("/markers/a", "log_time", 2)
    assert latest["Points3D:positions"].to_pylist() == [[1.0, 1.0, 1.0]]
    sink.write([Row("/markers/b", "Points3D", {"positions": np.zeros((1, 3), np.float32)})], {"log_time": 3})
    assert "/markers/b" not in store.entities()  # closed: takes no more


def test_line_strips_of_different_lengths_reach_the_viewer_store_by_row_and_batched() -> None:
    """A MarkerArray of LINE_STRIPs of 2, 3 and 6 points (paths, trajectories): the viewer's store took
    such a row only when every strip had the same length (`view BAG` stopped with an Arrow error)."""
    array = decoder()(
        cdr(
            [
                marker("paths", 1, LINE_STRIP, points=2),
                marker("paths", 2, LINE_STRIP, points=3),
                marker("paths", 3, LINE_STRIP, points=6),
            ]
        )
    )
    by_row, batched = ChunkStore(), ChunkStore()
    batched_sink = StoreSink(batched, batch_rows=LIVE_BATCH_ROWS)
    collected: list[Row] = []

    class Collecting:
        def write(self, rows: list[Row], default_times: dict[str, int]) -> None:
            collected.extend(rows)

        def write_columns(self, columns: Any) -> None:
            collected.extend(columns.to_rows())

    pipeline = Pipeline(
        [StoreSink(by_row), batched_sink, Collecting()],  # type: ignore[list-item]
        warn=lambda _text: None,
        converters=BUILTIN_CONVERTERS,
    )
    pipeline.add_topic("/paths", "visualization_msgs/msg/MarkerArray")
    pipeline.process("/paths", array, 1_000_000_000)
    batched_sink.close()
    by_row.flush()
    strips_rows = [row for row in collected if row.archetype == "LineStrips3D"]
    assert len(strips_rows) == 1
    expected = [np.asarray(strip, dtype=np.float32).tolist() for strip in strips_rows[0].components["strips"]]
    assert [len(strip) for strip in expected] == [2, 3, 6]
    entity = strips_rows[0].entity_path
    for store in (by_row, batched):
        stored = _latest(store, entity)[("log_time", "LineStrips3D:strips")]
        assert stored.to_pylist() == expected


def _temporal_rows(store: ChunkStore) -> dict[str, int]:
    rows: dict[str, int] = {}
    for chunk in store.iter_chunks():
        if not chunk.static:
            rows[chunk.entity_path] = rows.get(chunk.entity_path, 0) + chunk.batch.num_rows
    return rows
