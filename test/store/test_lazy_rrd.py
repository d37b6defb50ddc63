"""A .rrd opened through its index: chunks load on demand, unload under the budget, values as if eager."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.store.lazy_rrd import LazyRrd
from rerun_bridge.store.rrd_file import read_rrd_index
from rerun_bridge.viewer.sources import load_files, load_rrd, show_time
from test.conftest import verify_rrd

NS = 1_000_000_000
START = 1_700_000_000 * NS
CHUNKS = 30
ROWS_PER_CHUNK = 10
POINTS = 200
STEP = NS // 10  # 10 rows a second


def write_chunked_recording(path: Path) -> Path:
    """``CHUNKS`` chunks of clouds and of speeds (one ``send_columns`` each), a static name, and a pose
    logged only in the first second (its latest row then lies in a chunk that ends long before)."""
    import rerun as rr

    rec = rr.RecordingStream("lazy_rrd_test", recording_id="lazy_rrd_test")
    rec.save(str(path))
    rng = np.random.default_rng(7)
    for chunk in range(CHUNKS):
        rows = np.arange(chunk * ROWS_PER_CHUNK, (chunk + 1) * ROWS_PER_CHUNK)
        stamps = (START + rows * STEP).astype("datetime64[ns]")
        index = [rr.TimeColumn("log_time", timestamp=stamps)]
        positions = rng.normal(size=(ROWS_PER_CHUNK * POINTS, 3)).astype(np.float32)
        cloud = rr.Points3D.columns(positions=positions).partition([POINTS] * ROWS_PER_CHUNK)
        rr.send_columns("/cloud", indexes=index, columns=cloud, recording=rec)
        speeds = rr.Scalars.columns(scalars=rows.astype(np.float64) * 0.5)
        rr.send_columns("/speed", indexes=index, columns=speeds, recording=rec)
    first = [rr.TimeColumn("log_time", timestamp=np.array([START], dtype="datetime64[ns]"))]
    rr.send_columns(
        "/pose", indexes=first, columns=rr.Points3D.columns(positions=[[1.0, 2.0, 3.0]]), recording=rec
    )
    rec.log("/name", rr.TextDocument("lazy"), static=True)
    rec.flush()
    rec.disconnect()
    return path


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_chunked_recording(tmp_path_factory.mktemp("lazy") / "chunked.rrd")
    verify_rrd(path)
    return path


def values(store: ChunkStore, entity: str, time: int) -> dict[str, list[object]]:
    return {name: array.to_pylist() for name, array in store.latest_at(entity, "log_time", time).items()}


def test_index_describes_every_chunk_before_loading(recording: Path) -> None:
    index = read_rrd_index(recording)
    assert index is not None
    clouds = [entry for entry in index.chunks if entry.entity_path == "/cloud"]
    assert len(clouds) == CHUNKS
    first = min(clouds, key=lambda entry: entry.bounds["log_time"][0])
    assert first.bounds["log_time"] == (START, START + (ROWS_PER_CHUNK - 1) * STEP)
    assert first.component_bounds[("log_time", "Points3D:positions")] == first.bounds["log_time"]
    assert pa.types.is_timestamp(index.timeline_types["log_time"])


def test_lazy_store_knows_the_recording_before_loading_it(recording: Path) -> None:
    eager = load_files([recording]).store
    loaded = load_files([recording], memory_budget_bytes=1)
    lazy = loaded.lazy[0]
    assert lazy.loaded_chunks == 0  # no cloud in memory: only the static name and the series
    # Plots show whole histories: the speeds are all loaded at once, outside the budget.
    assert loaded.store.num_rows("/speed") == CHUNKS * ROWS_PER_CHUNK
    assert loaded.store.entities() == eager.entities()
    assert loaded.store.timelines() == eager.timelines()
    assert loaded.store.time_range("log_time") == eager.time_range("log_time")
    for entity in eager.entities():
        assert loaded.store.components(entity) == eager.components(entity)
    assert values(loaded.store, "/name", START) == values(eager, "/name", START)
    # Where data exists, for the time panel's strip, from the index alone.
    assert (
        loaded.store.coverage("log_time", STEP)
        == eager.coverage("log_time", STEP)
        == [(START, START + (CHUNKS * ROWS_PER_CHUNK - 1) * STEP)]
    )


def test_scrubbing_loads_on_demand_and_evicts_under_the_budget(recording: Path) -> None:
    eager = load_files([recording]).store
    one_cloud_chunk = ROWS_PER_CHUNK * POINTS * 3 * 4
    budget = 3 * one_cloud_chunk
    loaded = load_files([recording], memory_budget_bytes=budget)
    lazy = loaded.lazy[0]
    assert not lazy.fits_whole
    low, high = eager.time_range("log_time") or (0, 0)
    times = [*np.linspace(low, high, 23).astype(np.int64).tolist(), high, low, (low + high) // 2]
    for time in times:
        show_time(loaded, "log_time", time)
        for entity in eager.entities():
            assert values(loaded.store, entity, time) == values(eager, entity, time), (entity, time)
        # Past the budget only by what this time needs (per entity: the chunks before, at and after it).
        assert lazy.loaded_bytes <= budget + 3 * (one_cloud_chunk + 2 * 1024)
    assert lazy.counts.unloads > 0
    assert lazy.counts.loads > CHUNKS  # chunks came back after being unloaded
    assert lazy.counts.failures == 0
    # The pose logged once at the start is still found at the end (its chunk ends long before).
    show_time(loaded, "log_time", high)
    assert values(loaded.store, "/pose", high) == values(eager, "/pose", high)


def test_a_recording_within_the_budget_is_loaded_whole(recording: Path) -> None:
    eager = load_files([recording]).store
    loaded = load_files([recording], memory_budget_bytes=1 << 40)
    assert loaded.lazy[0].fits_whole
    assert loaded.store.num_chunks() == eager.num_chunks()
    assert not show_time(loaded, "log_time", START)


def test_a_file_cut_short_opens_with_what_it_has(recording: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.rrd"
    data = recording.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert read_rrd_index(cut) is None  # the footer is gone
    loaded = load_files([cut], memory_budget_bytes=1)
    assert not loaded.lazy
    assert any("no chunk index" in warning for warning in loaded.warnings)
    assert any("ends inside a message" in warning for warning in loaded.warnings)
    assert 0 < loaded.store.num_rows("/cloud") < CHUNKS * ROWS_PER_CHUNK
    progress: list[float] = []
    store = ChunkStore()
    load_rrd(cut, store, progress=progress.append)
    assert progress == sorted(progress)
    assert 0.5 < progress[-1] <= 1.0
    assert store.num_rows("/cloud") == loaded.store.num_rows("/cloud")


def test_a_chunk_that_cannot_be_read_is_named_once(recording: Path, tmp_path: Path) -> None:
    index = read_rrd_index(recording)
    assert index is not None
    broken = tmp_path / "broken.rrd"
    data = bytearray(recording.read_bytes())
    for entry in index.chunks:
        if entry.entity_path == "/speed":
            data[entry.offset : entry.offset + entry.size] = bytes(entry.size)  # zeroed: not a message
    broken.write_bytes(bytes(data))
    broken_index = read_rrd_index(broken)
    assert broken_index is not None
    lazy = LazyRrd(broken_index, ChunkStore(), budget_bytes=1)
    lazy.show("log_time", START + 5 * STEP)
    assert lazy.counts.failures > 0
    assert len(lazy.warnings) == 1
    assert lazy.store.latest_at("/cloud", "log_time", START + 5 * STEP)  # the rest still shows
    lazy.close()
