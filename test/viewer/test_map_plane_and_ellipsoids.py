"""The 3D view draws what the map and covariance converters write, checked by pixels: a map's tiles as a
textured plane where its origin puts it (cells in their palette colours, the right way round), updated by
OccupancyGridUpdate and back when scrubbing, and covariance ellipsoids as rings of their size.

The rows come from real CDR through the real pipeline into the viewer's store (StoreSink).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from pytestqt.qtbot import QtBot

from rerun_bridge.sinks.rrd import RrdSink
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from test.convert.test_covariance_and_trail import POSE_COV, STORE, _header, _pose
from test.convert.test_maps import GRID, MapBag
from test.viewer.conftest import orbit_pixel, qimage_rgb

pytestmark = pytest.mark.gui

CAMERA: dict[str, Any] = {
    "camera_center": (0.0, 0.0, 0.0),
    "camera_distance": 12.0,
    "camera_azimuth": -90.0,
    "camera_elevation": 80.0,
    "camera_fov": 60.0,
}
WIDTH, HEIGHT = 640, 480
BACKGROUND = (0, 0, 0)
BLACK, WHITE, UNKNOWN = (0, 0, 0), (255, 255, 255), (0x70, 0x89, 0x86)


def project(point: npt.ArrayLike, width: int, height: int) -> tuple[int, int]:
    column, row = orbit_pixel(point, CAMERA, width, height)
    return round(column), round(row)


def make_view(qtbot: QtBot, store: ChunkStore) -> Spatial3DView:
    settings = {**CAMERA, "grid": False, "frames": False, "background": BACKGROUND}
    view = Spatial3DView(store, SceneTransforms(store), settings=settings)
    qtbot.addWidget(view)
    view.resize(WIDTH, HEIGHT)
    view.show()
    qtbot.waitExposed(view)
    return view


def pixel_at(view: Spatial3DView, point: tuple[float, float, float]) -> tuple[int, int, int]:
    frame = qimage_rgb(view.canvas.picture())
    column, row = project(point, frame.shape[1], frame.shape[0])
    red, green, blue = (int(channel) for channel in frame[row, column])
    return red, green, blue


def map_store(options: Mapping[str, Any]) -> tuple[ChunkStore, MapBag]:
    store = ChunkStore()
    return store, MapBag([StoreSink(store)], options=options)


def flush(store: ChunkStore) -> ChunkStore:
    store.flush()
    return store


def test_map_tiles_are_a_textured_plane_placed_by_the_origin(qtbot: QtBot) -> None:
    # 4 x 4 cells of 1 m from the origin (-1, -2): columns 0-1 occupied, 2-3 free, the top row unknown.
    cells = np.zeros((4, 4), dtype=np.int8)
    cells[:, :2] = 100
    cells[3, :] = -1
    store, bag = map_store({"tile_rows": 2})
    bag.grid(cells, resolution=1.0)
    view = make_view(qtbot, flush(store))
    view.set_time("log_time", bag.time)
    assert sorted(view.extras.textured) == ["/map/tiles/0_0", "/map/tiles/1_0"]
    # Cell centres, world = origin + (col + 0.5, row + 0.5).
    assert pixel_at(view, (-0.5, -1.5, 0.0)) == BLACK  # row 0, column 0
    assert pixel_at(view, (2.5, -1.5, 0.0)) == WHITE  # row 0, column 3
    assert pixel_at(view, (2.5, 1.5, 0.0)) == UNKNOWN  # row 3, column 3
    assert pixel_at(view, (0.5, 0.5, 0.0)) == BLACK  # row 2, column 1
    assert pixel_at(view, (3.5, 0.5, 0.0)) == BACKGROUND  # beyond the map's edge
    assert not view.meshes or not any(item.visible() for item in view.meshes.values())


def test_a_map_written_to_an_rrd_and_read_back_draws_the_same(qtbot: QtBot, tmp_path: Path) -> None:
    """Through Rerun's own file: the tiles' textures and formats as Rerun stores them."""
    cells = np.zeros((4, 4), dtype=np.int8)
    cells[:, :2] = 100
    cells[3, :] = -1
    path = tmp_path / "map.rrd"
    with RrdSink(path) as rrd:
        bag = MapBag([rrd], options={"tile_rows": 2})
        bag.grid(cells, resolution=1.0)
    store = ChunkStore()
    load_files([path], store)
    view = make_view(qtbot, flush(store))
    view.set_time("log_time", bag.time)
    assert pixel_at(view, (-0.5, -1.5, 0.0)) == BLACK
    assert pixel_at(view, (2.5, -1.5, 0.0)) == WHITE
    assert pixel_at(view, (2.5, 1.5, 0.0)) == UNKNOWN


def test_an_update_recolours_its_cells_and_scrubbing_back_restores_them(qtbot: QtBot) -> None:
    store, bag = map_store({"tile_rows": 2, "palette": "costmap", "alpha": 1})
    bag.grid(np.full((4, 4), 99, dtype=np.int8), resolution=1.0)  # all inscribed: cyan
    before = bag.time
    bag.update(3, 0, np.array([[100]], dtype=np.int8))  # one lethal cell: magenta
    view = make_view(qtbot, flush(store))
    lethal_cell = (2.5, -1.5, 0.0)
    view.set_time("log_time", bag.time)
    assert pixel_at(view, lethal_cell) == (255, 0, 255)
    assert pixel_at(view, (1.5, -1.5, 0.0)) == (0, 255, 255)
    view.set_time("log_time", before)
    assert pixel_at(view, lethal_cell) == (0, 255, 255)


def test_costmap_free_cells_are_see_through(qtbot: QtBot) -> None:
    # A costmap is drawn at 0.3 opacity by default (Nav2's RViz view): lethal magenta over the black
    # background is a dark magenta; free cells are not drawn at all.
    cells = np.zeros((4, 4), dtype=np.int8)
    cells[0, 0] = 100
    store, bag = map_store({"palette": "costmap"})
    bag.grid(cells, resolution=1.0)
    view = make_view(qtbot, flush(store))
    view.set_time("log_time", bag.time)
    lethal = pixel_at(view, (-0.5, -1.5, 0.0))
    assert all(abs(got - want) <= 3 for got, want in zip(lethal, (76, 0, 76), strict=True)), lethal
    assert pixel_at(view, (1.5, 0.5, 0.0)) == BACKGROUND


def test_a_costmap_shows_over_the_map_in_its_plane(qtbot: QtBot) -> None:
    # Nav2 publishes its costmaps in the map's plane: the translucent costmap is drawn over the opaque map
    # (not hidden by it), blended at 0.3; its free cells leave the map as it is.
    map_cells = np.zeros((4, 4), dtype=np.int8)
    map_cells[:, :2] = 100
    cost_cells = np.zeros((4, 4), dtype=np.int8)
    cost_cells[0, 3] = 100
    store, bag = map_store({})
    bag.pipeline.add_topic("/global_costmap/costmap", GRID)
    bag.grid(map_cells, resolution=1.0)
    bag.grid(cost_cells, resolution=1.0, topic="/global_costmap/costmap")
    view = make_view(qtbot, flush(store))
    view.set_time("log_time", bag.time)
    over_free = pixel_at(view, (2.5, -1.5, 0.0))  # row 0, column 3: lethal over a free (white) cell
    expected = (255, round(255 * 0.7), 255)  # magenta at 0.3 over white
    assert all(abs(got - want) <= 3 for got, want in zip(over_free, expected, strict=True)), over_free
    assert pixel_at(view, (1.5, -1.5, 0.0)) == WHITE  # a free costmap cell over a free map cell
    assert pixel_at(view, (-0.5, -1.5, 0.0)) == BLACK  # no cost over an occupied cell


def test_grid_cells_in_the_maps_plane_are_drawn_over_it(qtbot: QtBot) -> None:
    """Navigation overlays in the map's plane (GridCells, z = 0) were hidden under the opaque map; RViz
    and Rerun's viewer draw them (audit)."""
    store, bag = map_store({"tile_rows": 2})
    bag.grid(np.zeros((4, 4), dtype=np.int8), resolution=1.0)  # all free: white, from (-1, -2) to (3, 2)
    store.append_row(
        "/grid_cells",
        {"log_time": bag.time},
        {
            "Boxes3D:half_sizes": np.array([[0.5, 0.5, 0.0]], dtype=np.float32),
            "Boxes3D:centers": np.array([[0.5, -0.5, 0.0]], dtype=np.float32),
            "Boxes3D:colors": np.array([0x19FF00FF], dtype=np.uint32),
            "CoordinateFrame:frame": ["map"],
        },
    )
    view = make_view(qtbot, flush(store))
    view.set_time("log_time", bag.time)
    frame = qimage_rgb(view.canvas.picture())
    green = (frame[..., 1] > 200) & (frame[..., 0] < 80) & (frame[..., 2] < 80)
    column, row = project((0.0, -0.5, 0.0), frame.shape[1], frame.shape[0])  # the cell's left edge
    assert green[row - 3 : row + 4, column - 3 : column + 4].any()
    assert pixel_at(view, (2.5, 1.5, 0.0)) == WHITE  # the map itself still drawn


def test_a_translucent_map_blends_with_what_is_behind_it(qtbot: QtBot) -> None:
    """RViz's Map alpha (the ``alpha`` option) over the black background: white cells at alpha 0.5 are
    mid grey, black ones stay black; a binary threshold of 60 draws a 70 cell as occupied."""
    cells = np.zeros((4, 4), dtype=np.int8)
    cells[:, :2] = 100
    cells[0, 3] = 70
    store, bag = map_store({"alpha": 0.5, "binary_threshold": 60})
    bag.grid(cells, resolution=1.0)
    view = make_view(qtbot, flush(store))
    view.set_time("log_time", bag.time)
    grey = pixel_at(view, (1.5, -0.5, 0.0))  # row 1, column 2: free, white at half opacity
    assert all(abs(channel - 128) <= 3 for channel in grey), grey
    assert pixel_at(view, (-0.5, -1.5, 0.0)) == BLACK
    assert pixel_at(view, (2.5, -1.5, 0.0)) == BLACK  # row 0, column 3: 70 >= 60, occupied


def test_covariance_ellipsoid_is_drawn_as_rings_of_its_size(qtbot: QtBot) -> None:
    store = ChunkStore()
    bag = MapBag([StoreSink(store)])  # only for its pipeline
    bag.pipeline.add_topic("/amcl_pose", POSE_COV)
    covariance = np.zeros((6, 6))
    covariance[0, 0], covariance[1, 1], covariance[2, 2] = 9.0, 1.0, 0.01  # sigmas 3, 1, 0.1
    message = STORE.types[POSE_COV](header=_header(), pose=_pose(0.0, 0.0, covariance))
    decoder = bag.resolver.choose(POSE_COV).decoder
    bag.pipeline.process_raw("/amcl_pose", bytes(STORE.serialize_cdr(message, POSE_COV)), 1_000, decoder)
    view = make_view(qtbot, flush(store))
    view.set_time("log_time", 1_000)
    assert sorted(view.extras.ellipsoids.items) == ["/amcl_pose/covariance"]
    frame = qimage_rgb(view.canvas.picture())
    lit = np.any(frame != BACKGROUND, axis=2)
    lit[:, :] &= ~_points_mask(frame)  # the pose's own point is not the ellipsoid

    def lit_near(point: tuple[float, float, float]) -> bool:
        column, row = project(point, frame.shape[1], frame.shape[0])
        return bool(lit[row - 3 : row + 4, column - 3 : column + 4].any())

    assert lit_near((3.0, 0.0, 0.0))
    assert lit_near((-3.0, 0.0, 0.0))
    assert lit_near((0.0, 1.0, 0.0))
    assert lit_near((0.0, -1.0, 0.0))
    assert not lit_near((4.0, 0.0, 0.0))  # nothing beyond its size
    assert not lit_near((1.5, 0.5, 0.0))  # a wireframe: its inside is empty


def test_a_velocity_covariance_is_drawn_at_its_arrows_tip(qtbot: QtBot) -> None:
    """A DVL's TwistWithCovarianceStamped: 2 m/s along y, standard deviations 1 m/s along x and 0.5 m/s
    along y: rings of those sizes around the linear arrow's tip (0, 2), none around the frame's origin."""
    twist_type = "geometry_msgs/msg/TwistWithCovarianceStamped"
    types = STORE.types
    store = ChunkStore()
    bag = MapBag([StoreSink(store)])  # only for its pipeline
    bag.pipeline.add_topic("/dvl/twist", twist_type)
    covariance = np.zeros((6, 6))
    covariance[0, 0], covariance[1, 1], covariance[2, 2] = 1.0, 0.25, 0.0001
    twist = types["geometry_msgs/msg/Twist"](
        linear=types["geometry_msgs/msg/Vector3"](x=0.0, y=2.0, z=0.0),
        angular=types["geometry_msgs/msg/Vector3"](x=0.0, y=0.0, z=0.0),
    )
    with_covariance = types["geometry_msgs/msg/TwistWithCovariance"](
        twist=twist, covariance=covariance.reshape(-1)
    )
    message = types[twist_type](header=_header(), twist=with_covariance)
    decoder = bag.resolver.choose(twist_type).decoder
    bag.pipeline.process_raw("/dvl/twist", bytes(STORE.serialize_cdr(message, twist_type)), 1_000, decoder)
    view = make_view(qtbot, flush(store))
    view.set_time("log_time", 1_000)
    assert sorted(view.extras.ellipsoids.items) == ["/dvl/twist/covariance"]
    frame = qimage_rgb(view.canvas.picture())
    lit = np.any(frame != BACKGROUND, axis=2)

    def lit_near(point: tuple[float, float, float]) -> bool:
        column, row = project(point, frame.shape[1], frame.shape[0])
        return bool(lit[row - 3 : row + 4, column - 3 : column + 4].any())

    assert lit_near((-1.0, 2.0, 0.0))
    assert lit_near((1.0, 2.0, 0.0))
    assert lit_near((-0.707, 2.354, 0.0))  # 45 degrees round the ring, clear of the arrow
    assert not lit_near((-1.6, 2.0, 0.0))  # nothing beyond its size
    assert not lit_near((-1.0, 0.0, 0.0))  # not around the origin: at the tip


def _points_mask(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Pixels of the pose's point at the origin (a small dot in the middle)."""
    mask = np.zeros(frame.shape[:2], dtype=np.bool_)
    column, row = project((0.0, 0.0, 0.0), frame.shape[1], frame.shape[0])
    mask[row - 6 : row + 7, column - 6 : column + 7] = True
    return mask
