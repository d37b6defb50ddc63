"""Maps: a 4000 x 4000 OccupancyGrid converted, updated, and drawn by the embedded viewer's 3D view.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python bench/maps.py [--runs 7]

Needs an X display with OpenGL for part 2 (Xvfb gives Mesa's software llvmpipe). Each number is printed
beside the same run's reference and its target; nothing fails on a missed target.

1. Conversion: the grid's CDR bytes through the pipeline's conversion step (decode, palette, image and
   tiles; rows handed to a sink that drops them), a fresh topic each run so the whole grid is converted.
   References: a 4000 x 4000 mono8 ``sensor_msgs/Image`` through the same step (its pixels go on
   without a copy: next to nothing), and the bare colouring pass (numpy, one palette lookup per cell).
   Also: the same grid again (nothing changed: nothing sent), a 200 x 200 ``OccupancyGridUpdate``, and
   the grid written to an .rrd.
2. Frame time at 1280x720 of a 3D view showing the map's tiles while the camera turns (set the time,
   render, read the picture back). Reference: the same view with nothing in it. The first frame, which
   uploads the textures, is printed apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rosbags.typesys import Stores, get_typestore  # noqa: E402  (after the path fix above)

from rerun_bridge.cdr.decoding import TypeResolver  # noqa: E402
from rerun_bridge.convert.occupancy import palette_rgba  # noqa: E402
from rerun_bridge.model.records import MessageDefinition, TopicInfo  # noqa: E402
from rerun_bridge.model.rows import ColumnRows, Row  # noqa: E402
from rerun_bridge.pipeline import Outcome, Pipeline, RowSink  # noqa: E402
from test.convert.test_maps import UPDATE_DEFINITION  # noqa: E402  (the map_msgs definition)

SIDE: Final = 4000
SIZE: Final = (1280, 720)
FRAMES: Final = 30
GRID: Final = "nav_msgs/msg/OccupancyGrid"
IMAGE: Final = "sensor_msgs/msg/Image"
UPDATE: Final = "map_msgs/msg/OccupancyGridUpdate"
TARGET_CONVERT_MS: Final = 50.0
TARGET_FRAME_MS: Final = 60.0
STORE = get_typestore(Stores.ROS2_JAZZY)


class DroppingSink:
    """Takes rows and keeps nothing: what is timed is the conversion."""

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        """Dropped."""

    def write_columns(self, columns: ColumnRows) -> None:
        """Dropped."""

    def flush(self, wait: bool = True) -> None:
        """Nothing is queued."""

    def close(self) -> None:
        """Nothing to release."""


def building_map(side: int) -> npt.NDArray[np.int8]:
    """A plausible map: free rooms, 3-cell walls every 80 cells with doors, unknown outside a disc."""
    cells = np.zeros((side, side), dtype=np.int8)
    cells[::80, :] = 100
    cells[1::80, :] = 100
    cells[:, ::80] = 100
    cells[:, 40::80][::7] = 0  # doors
    rows, cols = np.ogrid[:side, :side]
    outside = (rows - side / 2) ** 2 + (cols - side / 2) ** 2 > (0.48 * side) ** 2
    cells[outside] = -1
    return cells


def _header(store: Any, frame: str) -> Any:
    stamp = store.types["builtin_interfaces/msg/Time"](sec=1_700_000_000, nanosec=0)
    return store.types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame)


def grid_payload(cells: npt.NDArray[np.int8]) -> bytes:
    types = STORE.types
    origin = types["geometry_msgs/msg/Pose"](
        position=types["geometry_msgs/msg/Point"](x=-100.0, y=-100.0, z=0.0),
        orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
    )
    info = types["nav_msgs/msg/MapMetaData"](
        map_load_time=types["builtin_interfaces/msg/Time"](sec=0, nanosec=0),
        resolution=0.05,
        width=cells.shape[1],
        height=cells.shape[0],
        origin=origin,
    )
    message = types[GRID](header=_header(STORE, "map"), info=info, data=cells.reshape(-1))
    return bytes(STORE.serialize_cdr(message, GRID))


def image_payload(side: int) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, size=side * side, dtype=np.uint8)
    message = STORE.types[IMAGE](
        header=_header(STORE, "camera"),
        height=side,
        width=side,
        encoding="mono8",
        is_bigendian=0,
        step=side,
        data=pixels,
    )
    return bytes(STORE.serialize_cdr(message, IMAGE))


def update_payload(store: Any, x: int, y: int, side: int) -> bytes:
    patch = np.full(side * side, 100, dtype=np.int8)
    message = store.types[UPDATE](header=_header(store, "map"), x=x, y=y, width=side, height=side, data=patch)
    return bytes(store.serialize_cdr(message, UPDATE))


def resolver() -> TypeResolver:
    topics = [
        TopicInfo("/map", GRID),
        TopicInfo("/camera", IMAGE),
        TopicInfo("/map_updates", UPDATE, definition=MessageDefinition("ros2msg", UPDATE_DEFINITION)),
    ]
    return TypeResolver(topics, "jazzy")


def timed_ms(step: Callable[[], Any], runs: int, setup: Callable[[], Any] | None = None) -> float:
    """Median wall time of ``step`` over ``runs`` runs (``setup`` before each, not timed)."""
    timings = []
    for _ in range(runs):
        if setup is not None:
            setup()
        began = time.perf_counter()
        step()
        timings.append(1000 * (time.perf_counter() - began))
    return statistics.median(timings)


def convert_once(
    types: TypeResolver, topic: str, type_name: str, payload: bytes, sinks: list[RowSink]
) -> None:
    pipeline = Pipeline(sinks)
    pipeline.add_topic(topic, type_name)
    outcome = pipeline.process_raw(topic, payload, 1, types.choose(type_name).decoder)
    assert outcome is Outcome.CONVERTED, outcome


def conversion(runs: int) -> None:
    types = resolver()
    cells = building_map(SIDE)
    grid = grid_payload(cells)
    image = image_payload(SIDE)
    palette = palette_rgba("map").view(np.uint32).reshape(256)
    floor = timed_ms(lambda: np.take(palette, cells.view(np.uint8)), runs)
    convert_once(types, "/map", GRID, grid, [DroppingSink()])  # warm-up: imports, palette tables
    convert_once(types, "/camera", IMAGE, image, [DroppingSink()])
    ours = timed_ms(lambda: convert_once(types, "/map", GRID, grid, [DroppingSink()]), runs)
    peer = timed_ms(lambda: convert_once(types, "/camera", IMAGE, image, [DroppingSink()]), runs)
    verdict = "ok" if ours <= TARGET_CONVERT_MS else "MISSED"
    print(f"1. converting a {SIDE}x{SIDE} OccupancyGrid (image + textured tiles), median of {runs}")
    print(
        f"   map {ours:.1f} ms, {SIDE}x{SIDE} mono8 Image {peer:.1f} ms (ratio {ours / peer:.2f})"
        f"   target <= {TARGET_CONVERT_MS:.0f} ms: {verdict}"
    )
    pipeline = Pipeline([DroppingSink()])
    pipeline.add_topic("/map", GRID)
    pipeline.add_topic("/map_updates", UPDATE)
    grid_decoder, update_decoder = types.choose(GRID).decoder, types.choose(UPDATE).decoder
    pipeline.process_raw("/map", grid, 1, grid_decoder)
    again = timed_ms(lambda: pipeline.process_raw("/map", grid, 2, grid_decoder), runs)
    store = types.choose(UPDATE).typestore
    updates = [update_payload(store, 100 + 13 * index, 2000, 200) for index in range(runs)]
    pending = iter(updates)
    patch = timed_ms(lambda: pipeline.process_raw("/map_updates", next(pending), 3, update_decoder), runs)
    print(
        f"   (the bare colouring pass, one numpy palette lookup per cell: {floor:.1f} ms;"
        f" map {ours / floor:.2f}x)"
    )
    print(f"   the same map again {again:.1f} ms (nothing sent); a 200x200 update {patch:.1f} ms")
    with tempfile.TemporaryDirectory() as folder:
        from rerun_bridge.sinks.rrd import RrdSink

        def to_rrd() -> None:
            with RrdSink(Path(folder) / "map.rrd") as rrd:
                convert_once(types, "/map", GRID, grid, [rrd])

        def image_to_rrd() -> None:
            with RrdSink(Path(folder) / "image.rrd") as rrd:
                convert_once(types, "/camera", IMAGE, image, [rrd])

        written = timed_ms(to_rrd, max(3, runs // 2))
        image_written = timed_ms(image_to_rrd, max(3, runs // 2))
    print(f"   converted and written to an .rrd: map {written:.0f} ms, image {image_written:.0f} ms")


def frame_times(store: Any, frames: int) -> tuple[float, list[float]]:
    """The first frame, then per frame: set the time, turn the camera by a degree, render and read back."""
    from PyQt6 import QtCore

    from rerun_bridge.viewer.app import ensure_application
    from rerun_bridge.viewer.transforms import SceneTransforms
    from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView

    application = ensure_application()
    settings = {"camera_distance": 260.0, "camera_elevation": 60.0, "grid": False, "frames": False}
    view = Spatial3DView(store, SceneTransforms(store), settings=settings)
    view.resize(*SIZE)
    view.show()
    application.processEvents()
    began = time.perf_counter()
    view.set_time("log_time", 10)
    view.canvas.picture()
    first = 1000 * (time.perf_counter() - began)
    timings = []
    for frame in range(frames):
        began = time.perf_counter()
        view.set_time("log_time", 10 + frame)
        view.gl_view.orbit(1.0, 0.0)
        view.canvas.picture()
        timings.append(1000 * (time.perf_counter() - began))
    view.close()
    view.deleteLater()  # now, while Qt is whole: its GL context goes with it (offscreen_gl)
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    return first, timings


def drawing() -> None:
    from rerun_bridge.sinks.store import StoreSink
    from rerun_bridge.store.chunk_store import ChunkStore

    types = resolver()
    store = ChunkStore()
    pipeline = Pipeline([StoreSink(store)])
    pipeline.add_topic("/map", GRID)
    pipeline.process_raw("/map", grid_payload(building_map(SIDE)), 5, types.choose(GRID).decoder)
    store.flush()
    first, timings = frame_times(store, FRAMES)
    _empty_first, empty = frame_times(ChunkStore(), FRAMES)
    ours, peer = statistics.median(timings), statistics.median(empty)
    verdict = "ok" if ours <= TARGET_FRAME_MS else "MISSED"
    print(f"2. frame time at {SIZE[0]}x{SIZE[1]}, a 3D view of the {SIDE}x{SIDE} map, median of {FRAMES}")
    print(
        f"   map {ours:.1f} ms/frame, empty view {peer:.1f} ms/frame"
        f"   target <= {TARGET_FRAME_MS:.0f} ms: {verdict}"
        f"   (first frame, uploading the tiles: {first:.0f} ms)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--runs", type=int, default=7, help="runs per conversion timing")
    args = parser.parse_args(argv)
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: timings scale with it)")
    conversion(args.runs)
    drawing()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
