"""The Rerun viewer sink against a real Rerun viewer process (``rerun --bind 127.0.0.1 --port P --save F``
receives like a viewer): data and blueprint arrive, an absent viewer costs bounded memory and counted drops,
and a viewer that is killed and comes back gets the data again (static first)."""

from __future__ import annotations

import signal
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rerun.chunk as rrc

from rerun_bridge.blueprint.file_layout import closing_layout
from rerun_bridge.errors import ConfigError
from rerun_bridge.model.rows import Row
from rerun_bridge.sinks.rerun_viewer import RerunViewerSink, ViewerSinkSettings, viewer_address
from rerun_bridge.sinks.rrd import RrdSink
from test.blueprint.rbl_reader import plain, rbl_tree, rbl_views, read_rbl
from test.network import Viewer, free_port, wait_for


@pytest.fixture
def viewers() -> Iterator[list[Viewer]]:
    started: list[Viewer] = []
    yield started
    for viewer in started:
        if viewer.process.poll() is None:
            viewer.stop(signal.SIGKILL)


def static_row() -> Row:
    return Row(
        "/tf_static/camera",
        "Transform3D",
        {"translation": np.array([[0.0, 0.0, 1.0]]), "child_frame": ["camera"], "parent_frame": ["base"]},
        static=True,
    )


def write_scalars(sink: RerunViewerSink, values: range) -> None:
    for value in values:
        sink.write(
            [Row("/imu", "Scalars", {"scalars": np.array([float(value)])})], {"log_time": value * 1000}
        )
    sink.flush()


def write_cloud(sink: RerunViewerSink, index: int, points: int = 100_000) -> None:
    # Random: rerun-sdk compresses what it sends, and a constant cloud would travel as a few bytes.
    positions = np.random.default_rng(index).uniform(-10, 10, (points, 3)).astype(np.float32)
    sink.write([Row("/lidar", "Points3D", {"positions": positions})], {"log_time": index * 1000})
    sink.flush()


def test_data_and_blueprint_arrive_in_a_running_viewer(tmp_path: Path, viewers: list[Viewer]) -> None:
    port = free_port()
    viewers.append(viewer := Viewer(port, tmp_path / "laptop.rrd"))
    sink = RerunViewerSink(
        f"rerun+http://127.0.0.1:{port}/proxy",
        ViewerSinkSettings(recording_id="run-1", blueprint="navigation"),
    )
    sink.write([static_row()], {})
    write_scalars(sink, range(40))
    assert wait_for(lambda: sink.counts().sent_chunks >= 2)
    sink.close()
    viewer.stop()
    chunks = viewer.chunks()
    assert [value for entity, _s, values in chunks if entity == "/imu" for value in values] == [
        float(i) for i in range(40)
    ]
    assert ("/tf_static/camera", True, []) in chunks
    assert viewer.blueprint_application_ids() == ["rerun_bridge"]
    assert sink.counts().dropped_chunks == 0


def test_without_a_scenario_the_viewer_gets_the_default_layout_of_what_was_sent(
    tmp_path: Path, viewers: list[Viewer]
) -> None:
    port = free_port()
    viewers.append(viewer := Viewer(port, tmp_path / "laptop.rrd"))
    sink = RerunViewerSink(f"rerun+http://127.0.0.1:{port}/proxy", ViewerSinkSettings(recording_id="run-2"))
    reference = RrdSink(tmp_path / "reference.rrd", closing_blueprint=closing_layout(None))
    for target in (sink, reference):
        target.write([static_row()], {})
        cloud = Row("/lidar", "Points3D", {"positions": np.zeros((10, 3), np.float32)})
        target.write([cloud, Row("/lidar", "CoordinateFrame", {"frame": ["lidar"]})], {"log_time": 0})
        for value in range(20):
            target.write([Row("/imu", "Scalars", {"scalars": np.array([float(value)])})], {"log_time": value})
        target.flush()
    reference.close()
    assert wait_for(lambda: sink.counts().sent_chunks >= 3)
    sink.close()
    viewer.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the viewer's --save file has no footer
        received = [
            read_rbl(viewer.output, store) for store in rrc.RrdReader(str(viewer.output)).blueprints()
        ]
    # A layout per change (the first may come before every row did); the last one is the layout a file of
    # the same rows gets (the viewer's process made it from the sink's catalog).
    expected = plain(rbl_tree(read_rbl(tmp_path / "reference.rrd").root))
    assert expected in [plain(rbl_tree(layout.root)) for layout in received]
    views = {(view.class_identifier, view.origin) for layout in received for view in rbl_views(layout.root)}
    assert {("3D", "/"), ("TimeSeries", "/imu")} <= views


def test_absent_viewer_bounds_memory_and_a_returning_viewer_gets_the_data(
    tmp_path: Path, viewers: list[Viewer]
) -> None:
    port = free_port()
    bound = 8 << 20
    sink = RerunViewerSink(f"rerun+http://127.0.0.1:{port}/proxy", ViewerSinkSettings(queue_bytes=bound))
    sink.write([static_row()], {})
    for index in range(30):  # 36 MB of clouds with no viewer listening
        write_cloud(sink, index)
        assert sink.counts().queued_bytes <= bound + 1_200_000
    counts = sink.counts()
    assert not counts.connected
    assert counts.dropped_chunks > 0
    assert counts.dropped_bytes > 20 << 20

    viewers.append(first := Viewer(port, tmp_path / "first.rrd"))
    assert wait_for(lambda: sink.counts().connected)
    write_scalars(sink, range(10))
    assert wait_for(lambda: sink.counts().queued_bytes == 0 and sink.counts().sent_chunks >= 3)
    first.stop(signal.SIGKILL)  # the laptop's lid closes
    for index in range(30, 36):
        write_cloud(sink, index)
        time.sleep(0.05)
    assert wait_for(lambda: not sink.counts().connected)

    viewers.append(second := Viewer(port, tmp_path / "second.rrd"))
    assert wait_for(lambda: sink.counts().connections == 2)
    write_scalars(sink, range(100, 110))
    assert wait_for(lambda: sink.counts().queued_bytes == 0)
    sink.close()
    second.stop()
    chunks = [chunk for chunk in second.chunks() if not chunk[0].startswith("/__")]  # Rerun's properties
    assert chunks[0][:2] == ("/tf_static/camera", True)  # static data again, first
    assert [v for entity, _s, values in chunks if entity == "/imu" for v in values] == [
        float(i) for i in range(100, 110)
    ]


def test_a_viewer_address_that_is_not_one_is_named() -> None:
    assert viewer_address("rerun+http://laptop:9000/proxy") == ("laptop", 9000)
    assert viewer_address("rerun+http://laptop/proxy") == ("laptop", 9876)
    with pytest.raises(ConfigError, match="rerun\\+http://HOST:PORT/proxy"):
        viewer_address("http://laptop:9876")


def test_a_stalled_viewer_costs_counted_drops_and_bounded_memory(
    tmp_path: Path, viewers: list[Viewer]
) -> None:
    port = free_port()
    viewers.append(viewer := Viewer(port, tmp_path / "stalled.rrd"))
    bound = 8 << 20
    sink = RerunViewerSink(f"rerun+http://127.0.0.1:{port}/proxy", ViewerSinkSettings(queue_bytes=bound))
    try:
        write_scalars(sink, range(5))
        assert wait_for(lambda: sink.counts().sent_chunks >= 1)
        viewer.process.send_signal(signal.SIGSTOP)  # the laptop hangs: its port still accepts, nothing reads
        for index in range(60):  # 72 MB of clouds
            write_cloud(sink, index)
            assert sink.counts().queued_bytes <= bound + 1_200_000
        assert wait_for(lambda: sink.counts().dropped_bytes > 40 << 20)
        sink.close()  # returns although the viewer still holds the connection (rerun-sdk alone would wait)
        assert not sink.counts().connected
    finally:
        viewer.process.send_signal(signal.SIGCONT)


def test_a_steady_stream_counts_as_sent_while_it_flows(tmp_path: Path, viewers: list[Viewer]) -> None:
    """Chunks every 10 ms never leave the sink's queue empty: they must still be confirmed (by age), or a
    viewer killed later would take everything since the connection with it, counted as dropped."""
    port = free_port()
    viewers.append(Viewer(port, tmp_path / "laptop.rrd"))
    sink = RerunViewerSink(f"rerun+http://127.0.0.1:{port}/proxy", ViewerSinkSettings(live_flush_s=0.0))
    try:
        sent_while_flowing = 0
        for value in range(400):
            write_scalars(sink, range(value, value + 1))
            time.sleep(0.01)
            sent_while_flowing = sink.counts().sent_chunks
        assert sent_while_flowing > 0
    finally:
        sink.close()
