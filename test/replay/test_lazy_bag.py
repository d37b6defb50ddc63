"""An MCAP bag opened through its chunk index: chunks converted on demand, unloaded under a small memory
budget while scrubbing, and the same values as the bag converted whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcap_ros2.writer import Writer
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.demo.sample_bag import SampleSpec, write_sample
from rerun_bridge.replay.lazy_bag import LazyBag, lazy_bag_candidate
from rerun_bridge.sinks.mcap import McapSink
from rerun_bridge.sources.bag import open_bag
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_files, show_time

SPEC = SampleSpec(
    duration_s=3.0,
    name="lazy",
    cloud_count=30,
    cloud_points=2048,
    image_count=30,
    image_width=160,
    image_height=120,
    imu_hz=50.0,
    tf_hz=20.0,
    joint_hz=20.0,
    odom_hz=10.0,
    log_lines=4,
)
CHUNK_BYTES = 256 << 10
BUDGET_BYTES = 1 << 20
#: Recorded latched (transient_local) here: found through its QoS, loaded at open and kept.
LATCHED_BY_QOS = "/camera/camera_info"
#: The odometry trail remembers earlier messages: lazily it holds those of the chunks loaded (docs).
STATEFUL = {"/odom/trail"}
LATCHED_QOS = "- history: keep_last\n  depth: 1\n  reliability: reliable\n  durability: transient_local\n"


@pytest.fixture(scope="module")
def chunked_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_chunked_bag(tmp_path_factory.mktemp("lazy_bag"))


def write_chunked_bag(folder: Path) -> Path:
    """The sample recording re-written into small MCAP chunks (many chunks from a small bag)."""
    sample = write_sample(folder / "sample", SPEC)
    target = folder / "chunked.mcap"
    with open_bag(sample) as bag, McapSink(target, chunk_size=CHUNK_BYTES) as sink:
        channels = {}
        for info in bag.topics():
            assert info.definition is not None
            qos = LATCHED_QOS if info.name == LATCHED_BY_QOS else info.qos_profiles
            channels[info.name] = sink.add_topic(info.name, info.type_name, info.definition, qos)
        for message in bag.messages():
            sink.write(channels[message.topic], message.log_time_ns, message.publish_time_ns, message.data)
    return target


@pytest.fixture(scope="module")
def eager_store(chunked_bag: Path) -> ChunkStore:
    return load_files([chunked_bag]).store


def open_lazily(path: Path) -> tuple[LazyBag, ChunkStore]:
    bag = lazy_bag_candidate(path, BUDGET_BYTES)
    assert bag is not None, "a bag bigger than the budget with a chunk index opens lazily"
    store = ChunkStore()
    return LazyBag(bag, store, BUDGET_BYTES), store


def differing_entities(eager: ChunkStore, lazy: ChunkStore, timeline: str, time: int) -> list[str]:
    differing = []
    for entity in eager.entities():
        expected, got = eager.latest_at(entity, timeline, time), lazy.latest_at(entity, timeline, time)
        if set(expected) != set(got) or any(not expected[key].equals(got[key]) for key in expected):
            differing.append(entity)
    return differing


def test_the_index_shows_the_whole_recording_before_it_is_loaded(
    chunked_bag: Path, eager_store: ChunkStore
) -> None:
    lazy, store = open_lazily(chunked_bag)
    chunks = len(lazy.chunk_indexes)
    assert chunks >= 8
    assert lazy.loaded_chunks < chunks // 2  # the probe: each topic in its first chunk
    assert store.time_range("log_time") == eager_store.time_range("log_time")
    # The time panel's strip: where data exists, from the message indexes, as the loaded bag has it.
    tenth_second = 100_000_000
    assert store.coverage("log_time", tenth_second) == eager_store.coverage("log_time", tenth_second)
    # Entities whose later chunks are not loaded still span the whole recording, with their components.
    for entity in ("/lidar/points", "/camera/image_raw", "/imu/data"):
        assert store.time_range("log_time", entity) == eager_store.time_range("log_time", entity)
        assert set(store.components(entity)) == set(eager_store.components(entity))
    # Static data: /tf_static by name, camera_info by its transient_local QoS, every message of it.
    assert any(entity.startswith("/tf_static/") for entity in store.entities())
    assert store.num_rows(LATCHED_BY_QOS) == eager_store.num_rows(LATCHED_BY_QOS)
    lazy.close()


def test_scrubbing_loads_and_unloads_chunks_with_the_eager_values(
    chunked_bag: Path, eager_store: ChunkStore
) -> None:
    lazy, store = open_lazily(chunked_bag)
    start, end = eager_store.time_range("log_time") or (0, 0)
    fractions = np.random.default_rng(4).permutation(np.linspace(0.0, 1.0, 13))
    largest_needed = 0
    for fraction in fractions:
        time = start + round(float(fraction) * (end - start))
        lazy.show("log_time", time)
        assert set(differing_entities(eager_store, store, "log_time", time)) <= STATEFUL
        assert set(differing_entities(eager_store, store, "ros_time", time)) <= STATEFUL
        largest_needed = max(largest_needed, len({number for number, _ in lazy.needed("log_time", time)}))
    assert lazy.counts.unloads > 0, "a small budget unloads chunks while scrubbing"
    assert lazy.counts.failures == 0
    assert lazy.loaded_chunks < len(lazy.chunk_indexes)
    # Past the budget only what the last time needs stays (it is never unloaded).
    assert lazy.loaded_bytes <= BUDGET_BYTES or lazy.loaded_chunks <= largest_needed
    # Static data is kept whatever was unloaded.
    assert store.num_rows(LATCHED_BY_QOS) == eager_store.num_rows(LATCHED_BY_QOS)
    lazy.close()


def test_the_viewer_opens_a_big_bag_lazily_on_log_time(chunked_bag: Path, eager_store: ChunkStore) -> None:
    loaded = load_files([chunked_bag], memory_budget_bytes=BUDGET_BYTES)
    assert len(loaded.lazy) == 1
    assert loaded.default_timeline == "log_time"
    start, end = eager_store.time_range("log_time") or (0, 0)
    time = (start + end) // 2
    assert show_time(loaded, "log_time", time)  # the middle was not loaded at open
    assert set(differing_entities(eager_store, loaded.store, "log_time", time)) <= STATEFUL
    # A budget the bag fits in: converted whole, as before.
    whole = load_files([chunked_bag], memory_budget_bytes=1 << 30)
    assert not whole.lazy
    assert whole.default_timeline is None
    for lazy in loaded.lazy:
        lazy.close()


def write_marker_bag(path: Path, redraw: bool) -> Path:
    """A MarkerArray topic in many small chunks, one array every 0.1 s: slam_toolbox's pattern (DELETEALL,
    then the whole set, moved each time), or an incremental publisher (each array adds one cube)."""
    messages = []
    for step in range(MARKER_ARRAYS):
        ids = range(40) if redraw else [step]
        markers: list[dict[str, object]] = [{"action": 3}] if redraw else []
        markers += [_cube(marker_id, float(marker_id + step)) for marker_id in ids]
        messages.append((MARKER_T0 + step * 100_000_000, {"markers": markers}))
    return _write_bag(path, "/markers", "visualization_msgs/msg/MarkerArray", messages, 2 << 10)


def _write_bag(
    path: Path, topic: str, name: str, messages: list[tuple[int, dict[str, Any]]], chunk_size: int
) -> Path:
    """An MCAP of one topic, its (log time, message) pairs in chunks of ``chunk_size`` bytes."""
    typestore = get_typestore(Stores.ROS2_JAZZY)
    with path.open("wb") as stream:
        writer = Writer(stream, chunk_size=chunk_size)
        schema = writer.register_msgdef(name, typestore.generate_msgdef(name, ros_version=2)[0])
        for log_time, message in messages:
            writer.write_message(topic, schema, message, log_time=log_time)
        writer.finish()  # type: ignore[no-untyped-call]
    return path


MARKER_ARRAYS = 60
MARKER_T0 = 1_700_000_000_000_000_000


def _cube(marker_id: int, x: float) -> dict[str, object]:
    return {
        "header": {"frame_id": "map"},
        "ns": "p",
        "id": marker_id,
        "type": 1,
        "pose": {"position": {"x": x}, "orientation": {"w": 1.0}},
        "scale": {"x": 0.1, "y": 0.1, "z": 0.1},
        "color": {"r": 1.0, "a": 1.0},
    }


def _cube_xs(store: ChunkStore, time: int) -> list[float]:
    found = store.latest_at("/markers/p/CUBE", "log_time", time).get("Boxes3D:centers")
    return [] if found is None else [center[0] for center in found.to_pylist()]


def _opened_both_ways(bag: Path) -> tuple[LazyBag, ChunkStore, ChunkStore]:
    """``bag`` opened lazily (in chunks of 8 kB: at least four) with its store, and loaded whole."""
    eager = load_files([bag]).store
    opened = lazy_bag_candidate(bag, 8 << 10)
    assert opened is not None
    store = ChunkStore()
    lazy = LazyBag(opened, store, 8 << 10)
    assert len(lazy.chunk_indexes) >= 4
    return lazy, store, eager


@pytest.mark.parametrize("redraw", [True, False])
def test_marker_arrays_load_chunk_by_chunk_whatever_was_loaded_before(tmp_path: Path, redraw: bool) -> None:
    """Each load starts the topic's live markers empty: slam_toolbox's arrays draw exactly what the whole
    bag draws; an incremental publisher's group holds the markers of the chunk loaded (a subset), never a
    marker of a chunk loaded before but published later."""
    bag = write_marker_bag(tmp_path / "markers.mcap", redraw)
    lazy, store, eager = _opened_both_ways(bag)
    # Said at opening: a publisher of changes shows fewer markers than converted whole (audit).
    (note,) = [warning for warning in lazy.warnings if "/markers show the markers of the chunk" in warning]
    assert "--memory-budget 1 or more converts the bag whole" in note
    steps = [MARKER_ARRAYS - 1, MARKER_ARRAYS // 2, 3, MARKER_ARRAYS - 5, 10]  # late chunks first
    for step in steps:
        time = MARKER_T0 + step * 100_000_000
        lazy.show("log_time", time)
        expected, got = _cube_xs(eager, time), _cube_xs(store, time)
        assert got
        if redraw:
            assert got == expected
        else:
            assert set(got) <= set(expected)
            assert got == sorted(got)
            assert max(got) == 2.0 * step  # the cube this very array added
    lazy.close()


SIM_T0_NS = 1_700_000_000_000_000_000
SIM_MESSAGES = 400


def write_sim_time_bag(path: Path) -> Path:
    """A Gazebo-style bag: IMU header stamps in sim time (from 5 s), receive times today, small chunks."""
    messages = []
    for step in range(SIM_MESSAGES):
        sim_ns = 5_000_000_000 + step * 100_000_000
        message = {
            "header": {"stamp": {"sec": sim_ns // 10**9, "nanosec": sim_ns % 10**9}, "frame_id": "imu"},
            "orientation": {"w": 1.0},
            "linear_acceleration": {"x": float(step)},
        }
        messages.append((SIM_T0_NS + step * 100_000_000, message))
    return _write_bag(path, "/imu", "sensor_msgs/msg/Imu", messages, 4 << 10)


def test_a_sim_time_bag_scrubbed_on_ros_time_loads_the_chunks_of_that_moment(tmp_path: Path) -> None:
    """Opened lazily, the abitobot (Gazebo) bag on ros_time loaded the chunks at the log time equal to
    the sim time (1970: the first chunk) whatever the time shown: every view stayed on its first seconds."""
    bag = write_sim_time_bag(tmp_path / "sim.mcap")
    lazy, store, eager = _opened_both_ways(bag)
    start, end = eager.time_range("ros_time") or (0, 0)
    # Before anything past the probe is loaded, ros_time spans the whole recording (it spanned the
    # probe's first chunk: a 0.2 s timeline for a 10 s bag, audit).
    assert store.time_range("ros_time") == (start, end)
    for fraction in (0.9, 0.5, 0.2, 1.0):
        time = start + round(fraction * (end - start))
        lazy.show("ros_time", time)
        assert not differing_entities(eager, store, "ros_time", time), fraction
    lazy.close()


def _grid(step: int) -> dict[str, Any]:
    """A 40 x 40 costmap, one cell per step lethal (each grid differs from the others)."""
    data = [0] * 1600
    data[step] = 100
    return {
        "header": {"frame_id": "odom"},
        "info": {"resolution": 0.05, "width": 40, "height": 40, "origin": {"orientation": {"w": 1.0}}},
        "data": data,
    }


def test_a_map_chunk_loaded_again_is_drawn_again(tmp_path: Path) -> None:
    """A topic's converter state (a map's last grid) starts afresh with each load: the probe's load of the
    first costmap, unloaded at the recording's start (before its first message) and loaded again half a
    second in, sent nothing, the same grid again, so no costmap showed there (found by an audit)."""
    messages = [(MARKER_T0 + 1_000 + step * 1_000_000_000, _grid(step)) for step in range(12)]
    bag = _write_bag(
        tmp_path / "costmap.mcap", "/local_costmap", "nav_msgs/msg/OccupancyGrid", messages, 2 << 10
    )
    lazy, store, eager = _opened_both_ways(bag)
    tile = "/local_costmap/tiles/0_0"
    for time in (MARKER_T0, MARKER_T0 + 500_000_000, MARKER_T0 + 5_500_000_000, MARKER_T0 + 500_000_000):
        lazy.show("log_time", time)
        expected = eager.latest_at(tile, "log_time", time)
        got = store.latest_at(tile, "log_time", time)
        assert set(got) == set(expected), time
        assert all(got[key].equals(expected[key]) for key in expected), time
    assert expected  # the last time shown has a costmap
    lazy.close()


def test_a_marker_lifetime_ends_in_a_bag_opened_lazily(tmp_path: Path) -> None:
    """A marker published once with a lifetime stayed drawn for the rest of the recording in a bag opened
    lazily: its Clear waited for a later message of its topic or the stream's end, and a chunk's load is
    neither (audit). Each load now writes what the topic's state holds for later with its messages."""
    typestore = get_typestore(Stores.ROS2_JAZZY)
    path = tmp_path / "lifetime.mcap"
    with path.open("wb") as stream:
        writer = Writer(stream, chunk_size=1 << 10)
        schemas = {
            name: writer.register_msgdef(name, typestore.generate_msgdef(name, ros_version=2)[0])
            for name in ("visualization_msgs/msg/Marker", "visualization_msgs/msg/MarkerArray")
        }
        marker = {**_cube(0, 1.0), "lifetime": {"sec": 1, "nanosec": 0}}
        writer.write_message("/marker", schemas["visualization_msgs/msg/Marker"], marker, log_time=MARKER_T0)
        for step in range(1, MARKER_ARRAYS):  # another topic, so that the recording spans many chunks
            markers = {"markers": [_cube(step, 0.0)]}
            time = MARKER_T0 + step * 100_000_000
            writer.write_message(
                "/markers", schemas["visualization_msgs/msg/MarkerArray"], markers, log_time=time
            )
        writer.finish()  # type: ignore[no-untyped-call]
    lazy, store, eager = _opened_both_ways(path)
    for step in (3, 30, 5):  # within its lifetime, long after it, within it again (loaded anew)
        time = MARKER_T0 + step * 100_000_000
        lazy.show("log_time", time)
        lazily = store.latest_at("/marker/p/0", "log_time", time).get("Boxes3D:centers")
        whole = eager.latest_at("/marker/p/0", "log_time", time).get("Boxes3D:centers")
        assert (lazily is None) == (whole is None) == (step > 10), step
    lazy.close()
