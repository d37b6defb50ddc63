"""ChunkStore: sealing, Rerun's latest-at / range semantics, eviction, RRD import/export, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rerun_bridge.model.rows import Row
from rerun_bridge.store.chunk_store import ChunkStore, StoreError
from rerun_bridge.store.columns import ENTITY_PATH_KEY, to_instances

POSITIONS = "Points3D:positions"
COLORS = "Points3D:colors"
SCALARS = "Scalars:scalars"
TEXT = "TextLog:text"


def values_of(result: Mapping[str, pa.Array]) -> dict[str, list[Any]]:
    return {name: array.to_pylist() for name, array in result.items()}


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows of a range result as dicts, times as plain integers (no pandas for ns timestamps)."""
    columns: dict[str, list[Any]] = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        is_time = pa.types.is_timestamp(field.type) or pa.types.is_duration(field.type)
        columns[field.name] = (column.cast(pa.int64()) if is_time else column).to_pylist()
    return [{name: values[row] for name, values in columns.items()} for row in range(table.num_rows)]


def scalar_rows(store: ChunkStore, entity: str, times: Sequence[int], timeline: str = "log_time") -> None:
    for time in times:
        store.append_row(entity, {timeline: time}, {SCALARS: np.array([float(time)])})


# -- conversion and layout ---------------------------------------------------------------------------


def test_numpy_and_list_batches_convert_like_rerun() -> None:
    positions = to_instances(np.zeros((4, 3), dtype=np.float32))
    assert positions.type == pa.list_(pa.field("item", pa.float32(), nullable=False), 3)
    assert len(positions) == 4
    assert to_instances(np.arange(5, dtype=np.uint16)).type == pa.uint16()
    assert to_instances(np.float64(2.5)).to_pylist() == [2.5]  # a scalar: one instance
    assert to_instances(np.array(7)).to_pylist() == [7]
    assert to_instances("one").to_pylist() == ["one"]
    assert to_instances(["INFO", "WARN"]).type == pa.string()
    blobs = to_instances([b"\x89PNG", bytearray(b"ab")])
    assert blobs.type == pa.list_(pa.field("item", pa.uint8(), nullable=False))
    assert blobs.to_pylist() == [[0x89, 0x50, 0x4E, 0x47], [97, 98]]
    assert to_instances([np.frombuffer(b"xyz", dtype=np.uint8)]).to_pylist() == [[120, 121, 122]]
    matrices = to_instances(np.arange(8, dtype=np.float64).reshape(2, 2, 2))
    assert matrices.to_pylist() == [[[0, 1], [2, 3]], [[4, 5], [6, 7]]]
    assert to_instances([1.0, 2.0]).type == pa.float64()
    assert to_instances([[1, 2, 3]]).type.list_size == 3
    assert to_instances([{"a": 1}]).type == pa.struct([("a", pa.int64())])
    structured = np.array([(1, 2.0)], dtype=[("ring", np.uint16), ("t", np.float32)])
    assert to_instances(structured).to_pylist() == [{"ring": 1, "t": 2.0}]
    assert to_instances(np.array(["a", "bc"])).to_pylist() == ["a", "bc"]
    given_array = pa.array([1, 2], type=pa.int8())
    assert to_instances(given_array) is given_array


def test_chunk_layout_matches_rerun() -> None:
    store = ChunkStore()
    store.append_row("/robot/cloud", {"ros_time": 5, "frame": 1}, {POSITIONS: np.ones((2, 3), np.float32)})
    (batch,) = store.chunks()
    assert batch.schema.metadata[ENTITY_PATH_KEY] == b"/robot/cloud"
    assert batch.schema.names == ["frame", "ros_time", POSITIONS]
    assert batch.schema.field("ros_time").type == pa.timestamp("ns")
    assert batch.schema.field("frame").type == pa.int64()
    field = batch.schema.field(POSITIONS)
    assert field.type == pa.list_(pa.list_(pa.field("item", pa.float32(), nullable=False), 3))
    assert field.metadata == {
        b"rerun:kind": b"data",
        b"rerun:archetype": b"rerun.archetypes.Points3D",
        b"rerun:component": POSITIONS.encode(),
    }
    assert batch.schema.field("ros_time").metadata[b"rerun:kind"] == b"index"


# -- appending and sealing ---------------------------------------------------------------------------


def test_buffers_seal_at_max_rows() -> None:
    store = ChunkStore(max_rows_per_chunk=3)
    scalar_rows(store, "/s", range(7))
    assert store.num_chunks("/s") == 2
    assert store.num_rows("/s") == 7  # the open row counts too
    assert [batch.num_rows for batch in store.chunks("/s")] == [3, 3, 1]
    assert store.num_chunks() == 3


def test_buffers_seal_at_max_bytes() -> None:
    store = ChunkStore(max_bytes_per_chunk=1000)
    for time in range(5):
        store.append_row("/s", {"log_time": time}, {SCALARS: np.zeros(100)})  # 800 bytes each
    assert store.num_chunks("/s") == 2
    store.append_row("/big", {"log_time": 0}, {SCALARS: np.zeros(1000)})  # alone above the limit
    assert store.num_chunks("/big") == 1
    assert [batch.num_rows for batch in store.chunks()] == [2, 2, 1, 1]


def test_rows_with_other_components_or_timelines_go_to_other_chunks() -> None:
    store = ChunkStore()
    store.append_row("/e", {"log_time": 1}, {SCALARS: np.array([1.0])})
    store.append_row("/e", {"log_time": 2}, {SCALARS: np.array([1], np.int32)})
    store.append_row("/e", {"log_time": 3, "frame": 0}, {SCALARS: np.array([3.0])})
    store.append_row("/e", {"log_time": 4}, {SCALARS: np.array([4.0])})
    assert sorted(batch.num_rows for batch in store.chunks()) == [1, 1, 2]


def test_append_rows_takes_converter_rows() -> None:
    store = ChunkStore()
    rows = [
        Row(
            "/scan", "Points3D", {"positions": np.zeros((2, 3), np.float32)}, extra={"ring": np.array([1, 2])}
        ),
        Row("/tf", "Transform3D", {"translation": np.array([[1.0, 2.0, 3.0]])}, times={"ros_time": 7}),
        Row("/urdf", "TextDocument", {"text": ["<robot/>"]}, static=True),
    ]
    store.append_rows(rows, default_times={"log_time": 100, "ros_time": 50})
    assert store.components("/scan") == [POSITIONS, "Points3D:ring"]
    assert values_of(store.latest_at("/tf", "ros_time", 7)) == {"Transform3D:translation": [[1.0, 2.0, 3.0]]}
    assert store.latest_at("/tf", "ros_time", 6) == {}  # the row's own stamp replaced the default 50
    assert values_of(store.latest_at("/urdf", "log_time", -(10**18))) == {"TextDocument:text": ["<robot/>"]}
    assert store.entities() == ["/scan", "/tf", "/urdf"]
    assert store.timelines() == ["log_time", "ros_time"]


@pytest.mark.parametrize(
    ("times", "components", "static", "message"),
    [
        ({"log_time": 1}, {}, False, "at least one component"),
        ({}, {SCALARS: [1.0]}, False, "needs a time"),
        ({"log_time": 1}, {"scalars": [1.0]}, False, "Archetype:field"),
        ({"a:b": 1}, {SCALARS: [1.0]}, False, "must not contain"),
        ({"log_time": 2**70}, {SCALARS: [1.0]}, False, "int64"),
    ],
)
def test_bad_rows_are_refused(
    times: dict[str, int], components: dict[str, Any], static: bool, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        ChunkStore().append_row("/e", times, components, static=static)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(StoreError):
        ChunkStore(max_rows_per_chunk=0)
    with pytest.raises(StoreError):
        ChunkStore(memory_budget_bytes=-1)


# -- latest-at ---------------------------------------------------------------------------------------


def test_latest_at_exact_between_and_before() -> None:
    store = ChunkStore(max_rows_per_chunk=2)
    scalar_rows(store, "/s", [10, 20, 30, 40, 50])
    assert values_of(store.latest_at("/s", "log_time", 30)) == {SCALARS: [30.0]}
    assert values_of(store.latest_at("/s", "log_time", 39)) == {SCALARS: [30.0]}
    assert values_of(store.latest_at("/s", "log_time", 10**12)) == {SCALARS: [50.0]}
    assert store.latest_at("/s", "log_time", 9) == {}
    assert store.latest_at("/s", "other_timeline", 30) == {}
    assert store.latest_at("/unknown", "log_time", 30) == {}


def test_latest_at_resolves_components_independently() -> None:
    store = ChunkStore(max_rows_per_chunk=2)
    store.append_row("/p", {"log_time": 10}, {POSITIONS: np.zeros((1, 3), np.float32), COLORS: [[255, 0, 0]]})
    store.append_row("/p", {"log_time": 20}, {POSITIONS: np.ones((2, 3), np.float32)})
    store.append_row("/p", {"log_time": 30}, {COLORS: np.array([[0, 255, 0]], np.uint8)})
    assert values_of(store.latest_at("/p", "log_time", 25)) == {
        COLORS: [[255, 0, 0]],
        POSITIONS: [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]],
    }
    assert values_of(store.latest_at("/p", "log_time", 30))[COLORS] == [[0, 255, 0]]


def test_static_data_overrides_temporal_data() -> None:
    store = ChunkStore(max_rows_per_chunk=2)
    scalar_rows(store, "/s", [10, 20, 30])
    store.append_row("/s", {}, {SCALARS: np.array([-1.0])}, static=True)
    store.append_row("/s", {}, {TEXT: ["first"]}, static=True)
    store.append_row("/s", {"log_time": 99}, {TEXT: ["temporal"]}, static=True)  # times are ignored
    assert values_of(store.latest_at("/s", "log_time", 5)) == {SCALARS: [-1.0], TEXT: ["temporal"]}
    assert values_of(store.latest_at("/s", "log_time", 30)) == {SCALARS: [-1.0], TEXT: ["temporal"]}
    # range() keeps the temporal rows: static data is not repeated per row.
    assert [row["log_time"] for row in table_rows(store.range("/s", "log_time", 0, 100))] == [10, 20, 30]


def test_latest_at_on_several_timelines_and_out_of_order_appends() -> None:
    store = ChunkStore(max_rows_per_chunk=3)
    # frame counts down while log_time counts up: one of the two is always out of order.
    for step, log_time in enumerate([50, 10, 40, 20, 30, 60, 5]):
        store.append_row(
            "/e", {"log_time": log_time, "frame": 100 - step}, {SCALARS: np.array([float(step)])}
        )
    assert values_of(store.latest_at("/e", "log_time", 35)) == {SCALARS: [4.0]}  # log_time 30
    assert values_of(store.latest_at("/e", "log_time", 7)) == {SCALARS: [6.0]}  # log_time 5 (still open)
    assert values_of(store.latest_at("/e", "frame", 97)) == {SCALARS: [3.0]}
    assert values_of(store.latest_at("/e", "frame", 1000)) == {SCALARS: [0.0]}
    assert store.time_range("log_time") == (5, 60)
    assert store.time_range("frame", "/e") == (94, 100)
    assert store.time_range("frame", "/nothing") is None


def test_same_time_later_append_wins_across_chunks() -> None:
    store = ChunkStore(max_rows_per_chunk=2)
    scalar_rows(store, "/s", [10, 20])  # sealed
    store.append_row("/s", {"log_time": 20}, {SCALARS: np.array([-20.0])})  # open, same time
    assert values_of(store.latest_at("/s", "log_time", 20)) == {SCALARS: [-20.0]}
    store.flush()
    assert values_of(store.latest_at("/s", "log_time", 25)) == {SCALARS: [-20.0]}


# -- range -------------------------------------------------------------------------------------------


def test_range_is_inclusive_sorted_and_fills_missing_components_with_null() -> None:
    store = ChunkStore(max_rows_per_chunk=2)
    scalar_rows(store, "/e", [40, 10, 30])
    store.append_row("/e", {"log_time": 20}, {TEXT: ["twenty"]})
    store.append_row("/e", {"log_time": 20, "frame": 3}, {TEXT: ["again"]})
    rows = table_rows(store.range("/e", "log_time", 20, 40))
    assert rows == [
        {"frame": None, "log_time": 20, SCALARS: None, TEXT: ["twenty"]},
        {"frame": 3, "log_time": 20, SCALARS: None, TEXT: ["again"]},
        {"frame": None, "log_time": 30, SCALARS: [30.0], TEXT: None},
        {"frame": None, "log_time": 40, SCALARS: [40.0], TEXT: None},
    ]
    table = store.range("/e", "log_time", 20, 40)
    assert table.schema.field("frame").nullable
    assert table.schema.metadata[ENTITY_PATH_KEY] == b"/e"


def test_empty_range_keeps_the_columns() -> None:
    store = ChunkStore()
    scalar_rows(store, "/e", [10])
    assert store.range("/e", "log_time", 11, 20).schema.names == ["log_time", SCALARS]
    assert store.range("/missing", "ros_time", 0, 1).schema.names == ["ros_time"]
    assert store.range("/missing", "ros_time", 0, 1).num_rows == 0


# -- memory budget -----------------------------------------------------------------------------------


def fill_for_budget(store: ChunkStore) -> None:
    for entity, first in (("/late", 1000), ("/early", 0)):  # the older data is appended last
        for time in range(first, first + 10):
            store.append_row(entity, {"log_time": time}, {SCALARS: np.zeros(10)})
    store.append_row("/cfg", {}, {TEXT: ["static"]}, static=True)
    store.flush()


def test_budget_evicts_oldest_log_time_first_and_keeps_static() -> None:
    unbounded = ChunkStore(max_rows_per_chunk=10)
    fill_for_budget(unbounded)
    chunk_bytes = unbounded.chunks("/late")[0].nbytes
    bounded = ChunkStore(max_rows_per_chunk=10, memory_budget_bytes=chunk_bytes + chunk_bytes // 2)
    fill_for_budget(bounded)
    assert bounded.evicted_chunks == 1
    assert bounded.evicted_rows == 10
    assert bounded.num_rows("/early") == 0  # sealed last, but older by log_time
    assert bounded.latest_at("/early", "log_time", 10**6) == {}
    assert bounded.num_rows("/late") == 10
    assert values_of(bounded.latest_at("/cfg", "log_time", 0)) == {TEXT: ["static"]}
    assert bounded.entities() == ["/cfg", "/late"]
    assert bounded.total_bytes == unbounded.total_bytes - chunk_bytes


def test_budget_without_log_time_evicts_in_sealing_order() -> None:
    store = ChunkStore(max_rows_per_chunk=5, memory_budget_bytes=0)
    scalar_rows(store, "/f", range(12), timeline="frame")
    assert store.evicted_chunks == 2
    assert store.evicted_rows == 10
    assert values_of(store.latest_at("/f", "frame", 100)) == {SCALARS: [11.0]}  # still open
    store.flush()
    assert store.num_rows("/f") == 0
    assert store.total_bytes == 0


# -- Rerun's own files -------------------------------------------------------------------------------


@pytest.fixture
def rerun_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def write_rerun_recording(path: Path) -> None:
    import rerun as rr

    rec = rr.RecordingStream("chunk_store_test", recording_id="chunk_store_test")
    rec.save(str(path))
    stamps = np.array([1_000, 2_000, 3_000], dtype="datetime64[ns]")
    positions = np.arange(18, dtype=np.float32).reshape(6, 3)
    rr.send_columns(
        "/robot/points",
        indexes=[rr.TimeColumn("ros_time", timestamp=stamps)],
        columns=rr.Points3D.columns(positions=positions).partition([2, 1, 3]),
        recording=rec,
    )
    rr.send_columns(
        "/robot/speed",
        indexes=[rr.TimeColumn("ros_time", timestamp=stamps)],
        columns=rr.Scalars.columns(scalars=[0.5, 1.5, 2.5]),
        recording=rec,
    )
    rr.log("/robot/name", rr.TextLog("neato"), static=True, recording=rec)
    rec.flush()


def test_import_of_rerun_chunks(rerun_home: Path) -> None:
    from rerun.chunk import RrdReader

    path = rerun_home / "points.rrd"
    write_rerun_recording(path)
    store = ChunkStore()
    for chunk in RrdReader(str(path)).stream().to_chunks():
        store.append_chunk(str(chunk.entity_path), chunk.to_record_batch())
    assert values_of(store.latest_at("/robot/points", "ros_time", 2_500)) == {POSITIONS: [[6.0, 7.0, 8.0]]}
    assert values_of(store.latest_at("/robot/points", "ros_time", 3_000))[POSITIONS][-1] == [15.0, 16.0, 17.0]
    assert store.latest_at("/robot/points", "ros_time", 999) == {}
    assert values_of(store.latest_at("/robot/speed", "ros_time", 2_000)) == {SCALARS: [1.5]}
    assert values_of(store.latest_at("/robot/name", "ros_time", 0)) == {TEXT: ["neato"]}
    assert store.time_range("ros_time") == (1_000, 3_000)
    assert "rerun.controls.RowId" not in store.chunks("/robot/speed")[0].schema.names
    # Our own rows on the same timeline share the imported column type.
    store.append_row("/robot/speed", {"ros_time": 4_000}, {SCALARS: np.array([3.5])})
    speeds = table_rows(store.range("/robot/speed", "ros_time", 0, 10_000))
    assert [(row["ros_time"], row[SCALARS]) for row in speeds] == [
        (1_000, [0.5]),
        (2_000, [1.5]),
        (3_000, [2.5]),
        (4_000, [3.5]),
    ]


def test_rerun_reads_our_chunks_back(rerun_home: Path) -> None:
    from rerun.chunk import Chunk, LazyChunkStream, RrdReader

    store = ChunkStore(max_rows_per_chunk=2)
    for time in range(5):
        store.append_row(
            "/cloud", {"log_time": time, "frame": time}, {POSITIONS: np.full((2, 3), time, np.float32)}
        )
    store.append_row("/image", {"log_time": 3}, {"EncodedImage:blob": [b"\x89PNG"]})
    store.append_row("/cloud", {}, {"Points3D:radii": np.array([0.1], np.float32)}, static=True)
    chunks = [
        rerun_chunk
        for stored in store.iter_chunks()
        for rerun_chunk in Chunk.from_record_batch(stored.batch, **({"index": None} if stored.static else {}))
    ]
    path = rerun_home / "ours.rrd"
    LazyChunkStream.from_iter(chunks).write_rrd(str(path), application_id="test", recording_id="test")
    again = ChunkStore()
    for chunk in RrdReader(str(path)).stream().to_chunks():
        if str(chunk.entity_path) in ("/cloud", "/image"):
            again.append_chunk(str(chunk.entity_path), chunk.to_record_batch())
    for entity in ("/cloud", "/image"):
        for time in range(-1, 6):
            assert values_of(again.latest_at(entity, "log_time", time)) == values_of(
                store.latest_at(entity, "log_time", time)
            )


def test_imported_nulls_are_skipped_and_row_ids_order_ties() -> None:
    # A RowId is a TUID: 8 bytes of time, then an 8-byte counter, both big-endian; here they count down.
    row_ids = [bytes(8) + (2 - row).to_bytes(8, "big") for row in range(3)]
    batch = pa.record_batch(
        {
            "rerun.controls.RowId": pa.array(row_ids, pa.binary(16)),
            "frame": pa.array([5, 5, 1], pa.int64()),
            SCALARS: pa.array([[1.0], None, [3.0]], pa.list_(pa.float64())),
            TEXT: pa.array([["a"], ["b"], ["c"]], pa.list_(pa.string())),
        }
    )
    store = ChunkStore()
    store.append_chunk("/e", batch)
    # Rows 0 and 1 share frame 5; row 0 has the larger RowId, so it was logged last and wins.
    assert values_of(store.latest_at("/e", "frame", 5)) == {SCALARS: [1.0], TEXT: ["a"]}
    with pytest.raises(StoreError, match="static"):
        store.append_chunk("/e", batch, static=True)
    with pytest.raises(StoreError, match="nulls"):
        store.append_chunk(
            "/e", pa.record_batch({"frame": pa.array([1, None]), SCALARS: pa.array([1.0, 2.0])})
        )


def test_imported_plain_columns_and_static_batches() -> None:
    store = ChunkStore()
    store.append_row("/e", {"log_time": 0}, {SCALARS: [0.0]})
    store.append_chunk("/e", pa.record_batch({"log_time": pa.array([1, 2]), SCALARS: pa.array([1.0, None])}))
    assert values_of(store.latest_at("/e", "log_time", 2)) == {SCALARS: [1.0]}
    # int64 times join the timestamp column the store already has for log_time.
    assert [batch.schema.field("log_time").type for batch in store.chunks("/e")] == [pa.timestamp("ns")] * 2
    assert [row["log_time"] for row in table_rows(store.range("/e", "log_time", 0, 2))] == [0, 1, 2]
    store.append_chunk("/cfg", pa.record_batch({TEXT: pa.array([["old"], ["new"]])}))  # no timeline: static
    assert values_of(store.latest_at("/cfg", "log_time", 0)) == {TEXT: ["new"]}


# -- against a reference model ----------------------------------------------------------------------

ENTITIES = ("/a", "/b")
TIMELINES = ("log_time", "frame")
COMPONENTS = ("A:x", "A:y")

appends = st.tuples(
    st.sampled_from(ENTITIES),
    st.dictionaries(st.sampled_from(TIMELINES), st.integers(0, 20), min_size=1),
    st.dictionaries(st.sampled_from(COMPONENTS), st.lists(st.integers(-5, 5), max_size=2), min_size=1),
    st.sampled_from([False, False, False, True]),  # static now and then
)
operations = st.lists(st.one_of(appends, st.just("flush")), max_size=25)


class ReferenceStore:
    """The semantics, spelled out row by row."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, int], dict[str, list[int]], bool]] = []

    def latest_at(self, entity: str, timeline: str, time: int) -> dict[str, list[int]]:
        result: dict[str, tuple[int, int, list[int]]] = {}
        statics: dict[str, list[int]] = {}
        for order, (row_entity, times, components, static) in enumerate(self.rows):
            if row_entity != entity:
                continue
            if static:
                statics.update(components)
                continue
            if timeline not in times or times[timeline] > time:
                continue
            for name, value in components.items():
                if name not in result or (times[timeline], order) > result[name][:2]:
                    result[name] = (times[timeline], order, value)
        latest = {name: value for name, (_, _, value) in result.items()}
        latest.update(statics)
        return latest

    def range(self, entity: str, timeline: str, start: int, end: int) -> list[dict[str, Any]]:
        selected = [
            (times[timeline], order, {**times, **components})
            for order, (row_entity, times, components, static) in enumerate(self.rows)
            if row_entity == entity and not static and timeline in times and start <= times[timeline] <= end
        ]
        return [row for _, _, row in sorted(selected, key=lambda item: item[:2])]


def check_against_reference(store: ChunkStore, reference: ReferenceStore) -> None:
    for entity in ENTITIES:
        for timeline in TIMELINES:
            for time in range(-1, 22):
                assert values_of(store.latest_at(entity, timeline, time)) == reference.latest_at(
                    entity, timeline, time
                ), (entity, timeline, time)
            for start, end in ((0, 20), (3, 3), (5, 12), (15, 2)):
                got = [
                    {name: value for name, value in row.items() if value is not None}
                    for row in table_rows(store.range(entity, timeline, start, end))
                ]
                assert got == reference.range(entity, timeline, start, end), (entity, timeline, start, end)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(max_rows=st.integers(1, 4), ops=operations)
def test_queries_match_the_reference_model(max_rows: int, ops: list[Any]) -> None:
    store = ChunkStore(max_rows_per_chunk=max_rows)
    reference = ReferenceStore()
    for step, op in enumerate(ops):
        if op == "flush":
            store.flush()
        else:
            entity, times, components, static = op
            store.append_row(
                entity, times, {name: np.array(value, np.int64) for name, value in components.items()}, static
            )
            reference.rows.append((entity, {} if static else times, components, static))
        if step == len(ops) // 2:
            check_against_reference(store, reference)
    check_against_reference(store, reference)


# -- concurrency -------------------------------------------------------------------------------------


def test_concurrent_writer_and_readers_see_consistent_prefixes() -> None:
    store = ChunkStore(max_rows_per_chunk=16)
    total = 1500
    done = threading.Event()
    errors: list[BaseException] = []
    reads: list[int] = []

    def write() -> None:
        try:
            for step in range(total):
                for entity in ("/e0", "/e1"):
                    store.append_row(
                        entity,
                        {"log_time": step},
                        {SCALARS: np.array([float(step)]), POSITIONS: np.full((1, 3), step, np.float32)},
                    )
        except BaseException as err:  # re-raised in the test thread
            errors.append(err)
        finally:
            done.set()

    def read() -> None:
        try:
            last_rows = last_value = 0
            count = 0
            while not done.is_set() or count == 0:
                count += 1
                rows_before = store.num_rows("/e0")
                assert rows_before >= last_rows
                latest = store.latest_at("/e0", "log_time", total)
                if latest:
                    value = latest[SCALARS].to_pylist()[0]
                    assert value >= last_value
                    assert latest[POSITIONS].to_pylist() == [[value] * 3]  # both from the same row
                    last_value = value
                table = store.range("/e0", "log_time", 0, total)
                times = table.column("log_time").cast(pa.int64()).to_pylist()
                assert times == list(range(len(times)))
                if times:
                    assert [values[0] for values in table.column(SCALARS).to_pylist()] == times
                assert len(times) >= rows_before
                last_rows = rows_before
            reads.append(count)
        except BaseException as err:  # re-raised in the test thread
            errors.append(err)

    threads = [threading.Thread(target=write), *(threading.Thread(target=read) for _ in range(3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    assert len(reads) == 3
    assert store.num_rows("/e0") == store.num_rows("/e1") == total
    assert values_of(store.latest_at("/e1", "log_time", total)) == {
        POSITIONS: [[total - 1.0] * 3],
        SCALARS: [total - 1.0],
    }


def test_column_rows_append_as_one_chunk_with_the_rows_values() -> None:
    from rerun_bridge.model.rows import ColumnRows, Cycled

    times = np.array([30, 10, 20, 40], dtype=np.int64)
    columns = ColumnRows(
        "/imu",
        "Points3D",
        {"ros_time": times, "log_time": times + 5},
        {
            "positions": np.arange(4 * 2 * 3, dtype=np.float32).reshape(4, 2, 3),  # two instances a row
            "radii": np.array([0.1, 0.2, 0.3, 0.4]),  # one instance a row
            "labels": Cycled([["a", "b"]], 4),  # the same names in every row
        },
        extra={"blobs": [b"x", b"yy", b"", b"zzz"]},
    )
    by_rows, by_columns = ChunkStore(), ChunkStore()
    by_rows.append_rows(columns.to_rows(), {})
    assert by_columns.append_columns(columns) is not None
    assert by_columns.num_chunks("/imu") == 1
    for timeline in ("ros_time", "log_time"):
        for time in (9, 10, 25, 30, 100):
            expected = by_rows.latest_at("/imu", timeline, time)
            got = by_columns.latest_at("/imu", timeline, time)
            assert set(got) == set(expected)
            assert all(got[name].equals(expected[name]) for name in expected), (timeline, time)
    assert by_columns.append_columns(ColumnRows("/empty", "Points3D", {}, {})) is None
