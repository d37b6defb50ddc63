"""Maps through the real pipeline: RViz's palettes, tiles sent only when they change, OccupancyGridUpdate
patching the last full map of its map topic across messages, and Rerun's verdict on the written file.

Messages are built with rosbags' typestore, serialized to CDR and decoded by the decoder replay chooses;
``map_msgs`` (which no distro typestore has) comes with its definition, as a recording stores it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.convert.occupancy import Palette, colorize, map_options, palette_rgba, plane_albedo
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.records import MessageDefinition, TopicInfo
from rerun_bridge.model.rows import Row
from rerun_bridge.pipeline import Outcome, Pipeline
from rerun_bridge.sinks.rrd import RrdSink
from test.conftest import ListSink, rrd_chunks, verify_rrd

GRID = "nav_msgs/msg/OccupancyGrid"
UPDATE = "map_msgs/msg/OccupancyGridUpdate"
UPDATE_DEFINITION = """std_msgs/Header header
int32 x
int32 y
uint32 width
uint32 height
int8[] data
================================================================================
MSG: std_msgs/Header
builtin_interfaces/Time stamp
string frame_id
================================================================================
MSG: builtin_interfaces/Time
int32 sec
uint32 nanosec
"""
LOG_TIME = 1_700_000_000_000_000_000


class MapBag:
    """A map topic and its update topic, fed to a pipeline as CDR bytes."""

    def __init__(self, sinks: list[Any], options: Mapping[str, Any] | None = None) -> None:
        topics = [
            TopicInfo("/map", GRID),
            TopicInfo("/map_updates", UPDATE, definition=MessageDefinition("ros2msg", UPDATE_DEFINITION)),
        ]
        self.resolver = TypeResolver(topics, "jazzy")
        store = self.resolver.choose(UPDATE).typestore
        assert store is not None, "the update type's stored definition must be usable"
        self.store = store
        self.grid_store = get_typestore(Stores.ROS2_JAZZY)
        self.warnings: list[str] = []
        self.pipeline = Pipeline(sinks, warn=self.warnings.append)
        self.pipeline.add_topic("/map", GRID, options=options)
        self.pipeline.add_topic("/map_updates", UPDATE)
        self.time = LOG_TIME

    def _header(self, store: Any) -> Any:
        stamp = store.types["builtin_interfaces/msg/Time"](sec=1_700_000_000, nanosec=0)
        return store.types["std_msgs/msg/Header"](stamp=stamp, frame_id="map")

    def grid(self, cells: npt.NDArray[np.int8], resolution: float = 0.1, topic: str = "/map") -> Outcome:
        types = self.grid_store.types
        pose = types["geometry_msgs/msg/Pose"](
            position=types["geometry_msgs/msg/Point"](x=-1.0, y=-2.0, z=0.0),
            orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
        )
        info = types["nav_msgs/msg/MapMetaData"](
            map_load_time=types["builtin_interfaces/msg/Time"](sec=0, nanosec=0),
            resolution=resolution,
            width=cells.shape[1],
            height=cells.shape[0],
            origin=pose,
        )
        msg = types[GRID](header=self._header(self.grid_store), info=info, data=cells.reshape(-1))
        return self._feed(topic, GRID, self.grid_store.serialize_cdr(msg, GRID))

    def update(self, x: int, y: int, patch: npt.NDArray[np.int8]) -> Outcome:
        msg = self.store.types[UPDATE](
            header=self._header(self.store),
            x=x,
            y=y,
            width=patch.shape[1],
            height=patch.shape[0],
            data=patch.reshape(-1),
        )
        return self._feed("/map_updates", UPDATE, self.store.serialize_cdr(msg, UPDATE))

    def _feed(self, topic: str, type_name: str, payload: Any) -> Outcome:
        self.time += 100_000_000
        decoder = self.resolver.choose(type_name).decoder
        return self.pipeline.process_raw(topic, bytes(payload), self.time, decoder)


def texture(row: Row) -> npt.NDArray[np.uint8]:
    """A tile's texture as (rows, cols, 4), highest y first."""
    fmt = row.components["albedo_texture_format"][0]
    buffer = np.asarray(row.components["albedo_texture_buffer"][0])
    return buffer.reshape(fmt.height, fmt.width, 4)


def image(row: Row) -> npt.NDArray[np.uint8]:
    fmt = row.components["format"][0]
    return np.asarray(row.components["buffer"][0]).reshape(fmt.height, fmt.width, 4)


def meshes(rows: Sequence[Row]) -> dict[str, Row]:
    return {row.entity_path: row for row in rows if row.archetype == "Mesh3D"}


# ---- palettes --------------------------------------------------------------------------------------------


def test_map_palette_follows_rviz_semantics() -> None:
    palette = palette_rgba("map")
    assert tuple(palette[0]) == (255, 255, 255, 255)  # free
    assert tuple(palette[100]) == (0, 0, 0, 255)  # occupied
    assert tuple(palette[255]) == (0x70, 0x89, 0x86, 255)  # -1: unknown
    grey = palette[:101, 0].astype(int)
    assert np.all(np.diff(grey) <= 0)
    assert np.all(palette[:101, 0] == palette[:101, 1])
    assert np.all(palette[:, 3] == 255)  # the map palette is opaque


def test_costmap_palette_marks_free_inscribed_and_lethal() -> None:
    palette = palette_rgba("costmap")
    assert palette[0, 3] == 0  # free space is see-through
    assert tuple(palette[99]) == (0, 255, 255, 255)  # inscribed: cyan
    assert tuple(palette[100]) == (255, 0, 255, 255)  # lethal: magenta
    assert palette[1, 2] > palette[1, 0]
    assert palette[98, 0] > palette[98, 2]
    assert tuple(palette[255]) == (0x70, 0x89, 0x86, 255)
    assert np.all(palette[101:128, :3] == (0, 255, 0))  # illegal positive values stand out


def test_alpha_and_binary_threshold_shape_a_palette_as_rviz_does() -> None:
    costmap = palette_rgba("costmap")
    shaped = palette_rgba(Palette("costmap", alpha=0.3, binary_threshold=50))
    assert np.array_equal(shaped[:50, :3], np.repeat(costmap[:1, :3], 50, axis=0))  # below: free
    assert np.array_equal(shaped[50:101, :3], np.repeat(costmap[100:101, :3], 51, axis=0))  # occupied
    assert np.array_equal(shaped[101:, :3], costmap[101:, :3])  # unknown and illegal keep theirs
    binary = palette_rgba(Palette("costmap", binary_threshold=50))
    # The alpha is the plane's opacity (its albedo factor), not in the colours: the image stays as is.
    assert np.array_equal(binary, shaped)
    assert (shaped[100, 3], shaped[255, 3], shaped[0, 3]) == (255, 255, 0)
    assert plane_albedo(Palette("costmap", alpha=0.3)).tolist() == [[255, 255, 255, 76]]  # type: ignore[union-attr]
    assert plane_albedo(Palette("map")) is None
    cells = np.array([[0, 49, 50, 100], [-1, 101, -128, 7]], dtype=np.int8)
    half = Palette("map", 0.5)
    assert np.array_equal(colorize(cells, half), palette_rgba(half)[cells.view(np.uint8)])
    assert map_options({"alpha": 1, "binary_threshold": 65}, "/map").palette == Palette("map", 1.0, 65)
    # Costmaps default to Nav2's view's 0.3, maps to opaque; an explicit alpha wins.
    assert map_options({}, "/global_costmap/costmap").palette == Palette("costmap", 0.3)
    assert map_options({"palette": "costmap", "alpha": 1}, "/grid").palette == Palette("costmap", 1.0)
    assert map_options({}, "/map").palette == Palette("map", 1.0)
    for bad in ({"alpha": 1.5}, {"alpha": "half"}, {"binary_threshold": 101}, {"binary_threshold": True}):
        with pytest.raises(ConversionError, match=next(iter(bad))):
            map_options(bad, "/map")


@pytest.mark.parametrize("shape", [(16, 32), (3, 5)])
@pytest.mark.parametrize("palette", ["map", "costmap", "raw"])
def test_colouring_two_cells_at_a_time_equals_the_palette_cell_by_cell(
    shape: tuple[int, int], palette: str
) -> None:
    """Even cell counts are coloured a pair of cells per lookup, odd ones a cell per lookup."""
    values = np.random.default_rng(5).permutation(np.tile(np.arange(256, dtype=np.uint8), 2))
    cells = values[: shape[0] * shape[1]].view(np.int8).reshape(shape)
    expected = palette_rgba(palette)[cells.view(np.uint8)]
    assert np.array_equal(colorize(cells, palette), expected)
    assert np.array_equal(colorize(cells[::-1], palette), expected[::-1])  # a flipped view too


# ---- tiles and updates -------------------------------------------------------------------------------------


def test_update_patches_the_last_full_map_and_resends_only_its_tiles() -> None:
    sink = ListSink()
    bag = MapBag([sink], options={"tile_rows": 4, "tile_cols": 4})
    cells = np.zeros((8, 8), dtype=np.int8)
    assert bag.grid(cells) is Outcome.CONVERTED
    assert len(meshes(sink.rows)) == 4
    first_image = image(next(row for row in sink.rows if row.entity_path == "/map/image"))
    sink.rows.clear()

    # Cells (x 5..6, y 1) lie in tile row 0, column 1 only.
    assert bag.update(5, 1, np.array([[100, 100]], dtype=np.int8)) is Outcome.CONVERTED
    assert sorted(meshes(sink.rows)) == ["/map/tiles/0_1"]
    tile = texture(meshes(sink.rows)["/map/tiles/0_1"])
    black, white = [0, 0, 0, 255], [255, 255, 255, 255]
    # The tile covers y 0..3 and x 4..7, highest y first: y 1 is the third texture row.
    assert tile[2, 1].tolist() == black
    assert tile[2, 2].tolist() == black
    assert tile[2, 0].tolist() == white
    assert tile[1, 1].tolist() == white
    patched = image(next(row for row in sink.rows if row.entity_path == "/map/image"))
    assert patched[8 - 1 - 1, 5].tolist() == black
    assert patched[0, 0].tolist() == white
    # Rows already written keep what they showed: the update coloured a copy.
    assert first_image[8 - 1 - 1, 5].tolist() == white
    sink.rows.clear()

    # A second update builds on the first: the map keeps both patches.
    assert bag.update(0, 7, np.array([[100]], dtype=np.int8)) is Outcome.CONVERTED
    assert sorted(meshes(sink.rows)) == ["/map/tiles/1_0"]
    both = image(next(row for row in sink.rows if row.entity_path == "/map/image"))
    assert both[0, 0].tolist() == black
    assert both[6, 5].tolist() == black
    sink.rows.clear()

    # The same cells again change nothing: nothing is sent.
    assert bag.update(5, 1, np.array([[100, 100]], dtype=np.int8)) is Outcome.CONVERTED
    assert sink.rows == []
    assert bag.warnings == []


def test_update_outside_the_map_is_a_counted_error() -> None:
    sink = ListSink()
    bag = MapBag([sink])
    bag.grid(np.zeros((4, 4), dtype=np.int8))
    assert bag.update(3, 3, np.ones((2, 2), dtype=np.int8)) is Outcome.FAILED
    stats = bag.pipeline.stats_of("/map_updates")
    assert stats is not None
    assert stats.errors == 1
    assert "outside the 4 x 4 map" in bag.warnings[0]


def test_a_zero_sized_map_is_a_counted_error_and_the_next_map_converts() -> None:
    """RViz says "Map is zero-sized"; it was 'converted' with no rows and no word (found by an audit)."""
    sink = ListSink()
    bag = MapBag([sink])
    assert bag.grid(np.zeros((0, 0), dtype=np.int8)) is Outcome.FAILED
    assert bag.grid(np.zeros((2, 2), dtype=np.int8)) is Outcome.CONVERTED
    stats = bag.pipeline.stats_of("/map")
    assert stats is not None
    assert stats.errors == 1
    assert "map of 0 x 0 cells: nothing to draw" in bag.warnings[0]
    assert meshes(sink.rows)


def test_a_smaller_map_empties_the_tiles_it_no_longer_has() -> None:
    sink = ListSink()
    bag = MapBag([sink], options={"tile_rows": 2, "tile_cols": 2})
    bag.grid(np.zeros((4, 4), dtype=np.int8))
    sink.rows.clear()
    bag.grid(np.full((2, 2), 100, dtype=np.int8))
    tiles = meshes(sink.rows)
    assert sorted(tiles) == ["/map/tiles/0_0", "/map/tiles/0_1", "/map/tiles/1_0", "/map/tiles/1_1"]
    assert len(tiles["/map/tiles/0_0"].components["vertex_positions"]) == 4
    for name in ("0_1", "1_0", "1_1"):
        assert len(tiles[f"/map/tiles/{name}"].components["vertex_positions"]) == 0


def test_an_unknown_palette_is_reported_once() -> None:
    sink = ListSink()
    bag = MapBag([sink], options={"palette": "rainbow"})
    bag.grid(np.zeros((2, 2), dtype=np.int8))
    bag.grid(np.zeros((2, 2), dtype=np.int8))
    stats = bag.pipeline.stats_of("/map")
    assert stats is not None
    assert stats.errors == 2
    assert len(bag.warnings) == 1
    assert "unknown palette 'rainbow'" in bag.warnings[0]


def test_the_written_map_and_its_updates_pass_rerun_verify(tmp_path: Path) -> None:
    path = tmp_path / "map.rrd"
    with RrdSink(path) as rrd:
        bag = MapBag([rrd], options={"tile_rows": 16, "tile_cols": 16})
        cells = np.random.default_rng(3).integers(-1, 101, size=(40, 50)).astype(np.int8)
        bag.grid(cells)
        bag.update(10, 10, np.full((5, 5), 100, dtype=np.int8))
    verify_rrd(path)
    entities = {entity for entity, _static, _batch in rrd_chunks(path)}
    assert {"/map/image", "/map/tiles/0_0", "/map/tiles/2_2"} <= entities


@pytest.mark.parametrize("palette", ["map", "costmap", "raw"])
def test_tiles_and_image_show_the_same_colours(palette: str) -> None:
    sink = ListSink()
    bag = MapBag([sink], options={"tile_rows": 3, "tile_cols": 3, "palette": palette})
    cells = np.arange(-1, 34, dtype=np.int8).reshape(5, 7)
    bag.grid(cells)
    whole = image(next(row for row in sink.rows if row.entity_path == "/map/image"))
    expected = palette_rgba(palette)[cells[::-1].view(np.uint8)]
    assert np.array_equal(whole, expected)
    tile = texture(meshes(sink.rows)["/map/tiles/1_2"])  # rows 3..4, cols 6..6
    assert np.array_equal(tile, expected[0:2, 6:7])
