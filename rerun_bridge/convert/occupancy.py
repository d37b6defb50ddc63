"""Occupancy grids as pictures: RViz's palettes, the 2D image, and the textured plane cut into tiles.

A grid (``nav_msgs/OccupancyGrid``) becomes

* ``<entity>/image``: an RGBA ``Image`` of the coloured cells, the row of highest y on top (north up, as
  ``map_server`` saves maps), at the palette's own opacity (the ``alpha`` option is the plane's);
* ``<entity>/tiles/<row>_<col>``: the same colours on flat ``Mesh3D`` rectangles of ``tile_rows`` rows
  (default 256) by up to ``tile_cols`` columns (default 4096: most maps' whole width), an
  ``albedo_texture`` each, placed by the grid's origin pose in its header frame, each with that frame as
  its ``CoordinateFrame``; an ``alpha`` below 1 is the tiles' ``albedo_factor`` (white at that opacity:
  Rerun's viewer blends a mesh by its albedo factor and draws a texture's own alpha opaque, so a
  costmap's free cells there darken what lies below by ``alpha`` rather than vanish). A tile as wide
  as the map is a slice of the image's buffer, not a copy: that
  keeps a 4000 x 4000 map to one colouring pass.

The last grid of each topic is kept (:class:`MapState`, in the converter state of its topic), so that a
new grid of the same layout re-sends only the tiles whose cells changed, and ``map_msgs/OccupancyGridUpdate``
patches it and re-sends only the tiles under the patch. The 2D image is re-sent whole whenever any cell
changed (an image view cannot compose tiles); the ``image: false`` option leaves it out.

Palettes follow RViz's Map display (its "Color Scheme"): cells are bytes, -1 (unknown) is 255 and
-128..-2 are 128..254.

* ``map``: 0 (free) white to 100 (occupied) black, opaque.
* ``costmap``: 0 transparent, 1..98 blue to red, 99 (inscribed) cyan, 100 (lethal) magenta.
* both: -1 grey-green (112, 137, 134); values RViz calls illegal stand out: 101..127 green, -128..-2 red
  to yellow.
* ``raw``: the byte as grey, opaque.

Two more of RViz's Map display properties shape a palette (:class:`Palette`): ``alpha`` (0-1, RViz's
Alpha; default 1, and 0.3 for the costmap palette, as Nav2's RViz view shows costmaps over the map) is the
plane's opacity, and ``binary_threshold`` (RViz's "Binary representation" with its
threshold) draws the cells 0..100 at or above the threshold as occupied (the palette's 100) and the rest
as free (its 0); unknown and illegal values keep their colours.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import rerun as rr

from rerun_bridge.convert.common import quat_xyzw, sub_path, vec3
from rerun_bridge.convert.rotations import quaternions_to_matrices
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Batch, Row

#: A block of cells: row0, row1, col0, col1 (ends excluded).
Block = tuple[int, int, int, int]
PALETTES: Final = ("map", "costmap", "raw")
#: A palette's plane opacity when the options give none (others: 1).
DEFAULT_ALPHA: Final = {"costmap": 0.3}
DEFAULT_TILE_ROWS: Final = 256
#: Texture widths every GPU takes (Rerun's wgpu limit is 8192 on the weakest).
DEFAULT_TILE_COLS: Final = 4096
MIN_TILE_SIDE: Final = 2
#: Key of a topic's :class:`MapState` in its converter state.
MAP_STATE_KEY: Final = "occupancy_map"
_UNKNOWN_RGB: Final = (0x70, 0x89, 0x86)
#: Two triangles of a tile's square, counter-clockwise seen from +z.
_TILE_TRIANGLES: Final = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.uint32)
#: Texture coordinates of the corners (x0, y0), (x1, y0), (x1, y1), (x0, y1): texture row 0 is the
#: tile's highest y, as in the image.
_TILE_TEXCOORDS: Final = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]], dtype=np.float32)


#: Table lookups per block of :func:`colorize` (its index buffer: 2 MB).
_LOOKUPS_PER_BLOCK: Final = 1 << 18


class Palette(NamedTuple):
    """A palette by name, with RViz's Map display's alpha and binary threshold (None: off)."""

    name: str
    alpha: float = 1.0
    binary_threshold: int | None = None


@functools.cache
def palette_rgba(palette: str | Palette) -> npt.NDArray[np.uint8]:
    """The ``(256, 4)`` RGBA colours of a palette, indexed by the cell's byte (``int8`` read as ``uint8``);
    the palette's ``alpha`` is not in them (:func:`plane_albedo`)."""
    if isinstance(palette, str):
        palette = Palette(palette)
    table = _named_palette(palette.name).copy()
    if palette.binary_threshold is not None:
        occupied = np.arange(101) >= palette.binary_threshold
        table[:101] = np.where(occupied[:, None], table[100], table[0])
    return table


def plane_albedo(palette: Palette) -> npt.NDArray[np.uint8] | None:
    """The tiles' ``albedo_factor`` for the palette's ``alpha`` (None: opaque)."""
    if palette.alpha >= 1.0:
        return None
    return np.array([[255, 255, 255, round(255 * palette.alpha)]], dtype=np.uint8)


@functools.cache
def _named_palette(name: str) -> npt.NDArray[np.uint8]:
    if name not in PALETTES:
        raise ConversionError(f"unknown palette {name!r} (palettes: {', '.join(PALETTES)})")
    table = np.zeros((256, 4), dtype=np.uint8)
    table[:, 3] = 255
    values = np.arange(101)
    if name == "raw":
        table[:, :3] = np.arange(256)[:, None]
        return table
    if name == "map":
        table[:101, :3] = (255 - (255 * values) // 100)[:, None]
    else:
        red = (255 * values[1:99]) // 100
        table[1:99, 0], table[1:99, 2] = red, 255 - red
        table[0] = (0, 0, 0, 0)  # free space is see-through: the map below shows
        table[99, :3] = (0, 255, 255)
        table[100, :3] = (255, 0, 255)
    table[101:128, :3] = (0, 255, 0)
    shades = np.arange(128, 255)
    table[128:255, 0], table[128:255, 1] = 255, (255 * (shades - 128)) // (254 - 128)
    table[255, :3] = _UNKNOWN_RGB
    return table


@functools.cache
def _palette_words(palette: str | Palette) -> npt.NDArray[np.uint32]:
    """The palette as one 32-bit word per entry: colouring is then one lookup per cell."""
    return palette_rgba(palette).view(np.uint32).reshape(256)


@functools.cache
def _palette_pairs(palette: str | Palette) -> npt.NDArray[np.uint64]:
    """The colours of every pair of neighbouring cells (65536 entries, 512 kB): one lookup colours two
    cells, half the lookups of :func:`_palette_words` (about 1.5 times faster on a big grid)."""
    words = _palette_words(palette).astype(np.uint64)
    pair = np.arange(65536)
    pairs: npt.NDArray[np.uint64] = words[pair & 0xFF] | (words[pair >> 8] << np.uint64(32))
    return pairs


def colorize(cells: npt.NDArray[np.int8], palette: str | Palette) -> npt.NDArray[np.uint8]:
    """``(rows, cols)`` cells (any view: a map flipped north up is one) -> ``(rows, cols, 4)`` RGBA.

    Table lookups straight from the cells into the new image, a block of rows at a time: no copy of the
    cells, and numpy's index conversion (8 bytes per lookup) stays a small buffer reused block after block
    instead of a temporary four times the image's size."""
    rows, cols = cells.shape
    out = np.empty((rows, cols, 4), dtype=np.uint8)
    if not out.size:
        return out
    keys: npt.NDArray[Any]
    table: npt.NDArray[Any]
    words: npt.NDArray[Any]
    if cols % 2 == 0 and sys.byteorder == "little":
        # Two cells per lookup: the first cell is the low byte and the low word (little-endian).
        keys = (cells if cells.strides[1] == 1 else np.ascontiguousarray(cells)).view(np.uint16)
        table, words = _palette_pairs(palette), out.reshape(rows, cols * 4).view(np.uint64)
    else:
        keys = np.ascontiguousarray(cells).view(np.uint8).reshape(-1, 1)
        table, words = _palette_words(palette), out.reshape(-1, 4).view(np.uint32)
    step = max(1, _LOOKUPS_PER_BLOCK // keys.shape[1])
    for first in range(0, len(keys), step):
        np.take(table, keys[first : first + step], out=words[first : first + step], mode="clip")
    return out


@dataclass(frozen=True, slots=True)
class MapOptions:
    """The converter options of a map topic (``topics.<name>.options``)."""

    palette: Palette
    tile_rows: int
    tile_cols: int
    image: bool


def map_options(options: Mapping[str, Any], topic: str) -> MapOptions:
    """``palette`` (default ``costmap`` for topics whose name says costmap, else ``map``), ``alpha``
    (0-1, default :data:`DEFAULT_ALPHA` of the palette), ``binary_threshold`` (0-100, default none),
    ``tile_rows`` and ``tile_cols`` (cells), and ``image`` (default true)."""
    default_palette = "costmap" if "costmap" in topic else "map"
    name = str(options.get("palette", default_palette)).lower()
    palette = Palette(
        name, _number_in(options, "alpha", 0.0, 1.0, DEFAULT_ALPHA.get(name, 1.0)), _threshold(options)
    )
    palette_rgba(palette)  # an unknown name is an error here, said once per topic
    rows = _tile_side(options, "tile_rows", DEFAULT_TILE_ROWS)
    cols = _tile_side(options, "tile_cols", DEFAULT_TILE_COLS)
    return MapOptions(palette, rows, cols, bool(options.get("image", True)))


def _number_in(options: Mapping[str, Any], key: str, low: float, high: float, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConversionError(f"option {key} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def _threshold(options: Mapping[str, Any]) -> int | None:
    if options.get("binary_threshold") is None:
        return None
    return round(_number_in(options, "binary_threshold", 0, 100, 0))


def _tile_side(options: Mapping[str, Any], key: str, default: int) -> int:
    value = options.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < MIN_TILE_SIDE:
        raise ConversionError(f"option {key} must be an integer >= {MIN_TILE_SIDE}, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class GridLayout:
    """Where a grid's cells lie: its size, cell size, origin pose and frame."""

    width: int
    height: int
    resolution: float
    origin: tuple[float, ...]  # x, y, z, qx, qy, qz, qw
    frame: str

    def corners(self, col0: int, row0: int, col1: int, row1: int) -> npt.NDArray[np.float32]:
        """The header-frame corners (x0, y0), (x1, y0), (x1, y1), (x0, y1) of a block of cells."""
        local = np.array(
            [[col0, row0, 0.0], [col1, row0, 0.0], [col1, row1, 0.0], [col0, row1, 0.0]], dtype=np.float64
        )
        local[:, :2] *= self.resolution
        rotation = quaternions_to_matrices(self.origin[3:])[0]
        placed: npt.NDArray[np.float32] = (local @ rotation.T + np.asarray(self.origin[:3])).astype(
            np.float32
        )
        return placed


def grid_layout(info: Any, frame: str) -> GridLayout:
    """A ``nav_msgs/MapMetaData``'s layout; a non-finite or non-positive cell size is bad data."""
    resolution = float(info.resolution)
    origin = (*vec3(info.origin.position), *quat_xyzw(info.origin.orientation))
    if not np.isfinite(resolution) or resolution <= 0:
        raise ConversionError(f"map resolution {resolution} is not a positive number")
    if not np.isfinite(origin).all():
        raise ConversionError("map origin has NaN or infinite values")
    if int(info.width) == 0 or int(info.height) == 0:  # RViz's "Map is zero-sized" (found by an audit)
        raise ConversionError(f"map of {int(info.width)} x {int(info.height)} cells: nothing to draw")
    return GridLayout(int(info.width), int(info.height), resolution, tuple(float(v) for v in origin), frame)


def grid_cells(data: Any, width: int, height: int) -> npt.NDArray[np.int8]:
    """The cells as a ``(height, width)`` array that no one else changes: a read-only view of an
    immutable payload as it is (an update copies it before writing into it: :func:`apply_update`),
    anything else copied (the message's buffer may be reused)."""
    if isinstance(data, np.ndarray) and data.dtype == np.int8 and _of_immutable_bytes(data):
        cells = data.reshape(-1)
    elif isinstance(data, bytes):
        cells = np.frombuffer(data, dtype=np.int8)
    else:
        cells = np.array(data, dtype=np.int8).reshape(-1)
    if len(cells) != width * height:
        raise ConversionError(f"grid of {width} x {height} cells carries {len(cells)} values")
    return cells.reshape(height, width)


def _of_immutable_bytes(array: npt.NDArray[Any]) -> bool:
    """Whether ``array`` is a read-only view of a ``bytes`` object (a decoded payload)."""
    if array.flags.writeable:
        return False
    base = array.base
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return isinstance(base, bytes)


@dataclass(slots=True)
class MapState:
    """The last full grid of a map topic, with what was sent for it."""

    entity_path: str
    layout: GridLayout
    options: MapOptions
    cells: npt.NDArray[np.int8]
    #: Names of the tiles sent for this layout (tiles of an earlier, larger layout are emptied).
    tiles: set[str] = field(default_factory=set)
    #: The coloured image last sent (north up), when images are on: a change re-colours only its tiles.
    colored: npt.NDArray[np.uint8] | None = None


def tile_blocks(layout: GridLayout, options: MapOptions) -> Iterator[tuple[str, int, int, int, int]]:
    """``(name, row0, row1, col0, col1)`` of every tile, row by row from the origin."""
    rows, cols = options.tile_rows, options.tile_cols
    for row0 in range(0, layout.height, rows):
        for col0 in range(0, layout.width, cols):
            row1, col1 = min(row0 + rows, layout.height), min(col0 + cols, layout.width)
            yield f"{row0 // rows}_{col0 // cols}", row0, row1, col0, col1


def image_format(width: int, height: int) -> rr.components.ImageFormat:
    return rr.components.ImageFormat(
        width, height, color_model=rr.ColorModel.RGBA, channel_datatype=rr.ChannelDatatype.U8
    )


def image_row(state: MapState, north_up: npt.NDArray[np.uint8]) -> Row:
    """The whole grid as an RGBA image (``north_up``: coloured cells, highest y first)."""
    height, width = north_up.shape[:2]
    components: dict[str, Batch] = {"buffer": [north_up.reshape(-1)], "format": [image_format(width, height)]}
    return Row(sub_path(state.entity_path, "image"), "Image", components)


def tile_rows(name: str, state: MapState, block: Block, texture: npt.NDArray[Any]) -> list[Row]:
    """One tile: its textured square (``texture``: RGBA, highest y first) and its frame."""
    row0, row1, col0, col1 = block
    path = sub_path(state.entity_path, "tiles", name)
    components: dict[str, Batch] = {
        "vertex_positions": state.layout.corners(col0, row0, col1, row1),
        "triangle_indices": _TILE_TRIANGLES,
        "vertex_texcoords": _TILE_TEXCOORDS,
        "albedo_texture_buffer": [np.ascontiguousarray(texture).reshape(-1)],
        "albedo_texture_format": [image_format(col1 - col0, row1 - row0)],
    }
    albedo = plane_albedo(state.options.palette)
    if albedo is not None:
        components["albedo_factor"] = albedo
    rows = [Row(path, "Mesh3D", components)]
    if state.layout.frame:
        rows.append(Row(path, "CoordinateFrame", {"frame": [state.layout.frame]}))
    return rows


def empty_tile_row(state: MapState, name: str) -> Row:
    """A tile of an earlier layout that the new one lacks: an empty mesh, so nothing stays behind."""
    path = sub_path(state.entity_path, "tiles", name)
    return Row(path, "Mesh3D", {"vertex_positions": np.zeros((0, 3), dtype=np.float32)})


def changed_tiles(state: MapState, before: npt.NDArray[np.int8] | None) -> list[tuple[str, Block]]:
    """Tiles to send: all of them without ``before`` (the last grid), else those whose cells differ."""
    chosen = []
    for name, row0, row1, col0, col1 in tile_blocks(state.layout, state.options):
        block = (row0, row1, col0, col1)
        if before is None or not np.array_equal(
            before[row0:row1, col0:col1], state.cells[row0:row1, col0:col1]
        ):
            chosen.append((name, block))
    return chosen


def patched_tiles(state: MapState, region: Block, before: npt.NDArray[np.int8]) -> list[tuple[str, Block]]:
    """Tiles under ``region`` whose cells there differ from ``before`` (the region's old cells)."""
    chosen = []
    for name, row0, row1, col0, col1 in tile_blocks(state.layout, state.options):
        top, bottom = max(row0, region[0]), min(row1, region[1])
        left, right = max(col0, region[2]), min(col1, region[3])
        if top >= bottom or left >= right:
            continue
        old = before[top - region[0] : bottom - region[0], left - region[2] : right - region[2]]
        if not np.array_equal(old, state.cells[top:bottom, left:right]):
            chosen.append((name, (row0, row1, col0, col1)))
    return chosen


def map_rows(state: MapState, tiles: list[tuple[str, Block]]) -> list[Row]:
    """The image (when enabled) and the given tiles of the state's grid."""
    if not tiles:
        return []
    rows: list[Row] = []
    if state.options.image:
        north_up = recolored(state, [block for _name, block in tiles])
        rows.append(image_row(state, north_up))
        height = state.layout.height
        for name, (row0, row1, col0, col1) in tiles:  # a tile is a block of the image, rows reversed
            texture = north_up[height - row1 : height - row0, col0:col1]
            rows += tile_rows(name, state, (row0, row1, col0, col1), texture)
    else:
        for name, (row0, row1, col0, col1) in tiles:
            texture = colorize(state.cells[row0:row1, col0:col1][::-1], state.options.palette)
            rows += tile_rows(name, state, (row0, row1, col0, col1), texture)
    state.tiles.update(name for name, _block in tiles)
    return rows


def recolored(state: MapState, blocks: list[Block]) -> npt.NDArray[np.uint8]:
    """The grid coloured north up: the last coloured image with only ``blocks`` coloured again (a copy:
    rows already handed to the sinks keep pointing at the old one), or all of it the first time."""
    palette, height = state.options.palette, state.layout.height
    if state.colored is None:
        north_up = colorize(state.cells[::-1], palette)
    else:
        north_up = state.colored.copy()
        for row0, row1, col0, col1 in blocks:
            block = state.cells[row0:row1, col0:col1][::-1]
            north_up[height - row1 : height - row0, col0:col1] = colorize(block, palette)
    state.colored = north_up
    return north_up


def convert_grid(
    msg: Any, entity_path: str, options: MapOptions, previous: MapState | None
) -> tuple[MapState, list[Row]]:
    """A full grid: its state (to keep for the topic) and its rows, sending only the tiles that differ
    from ``previous`` when the layout and options are the same."""
    layout = grid_layout(msg.info, str(msg.header.frame_id).lstrip("/"))
    state = MapState(entity_path, layout, options, grid_cells(msg.data, layout.width, layout.height))
    same = previous is not None and previous.layout == layout and previous.options == options
    if same and previous is not None:
        state.colored = previous.colored
    rows = map_rows(state, changed_tiles(state, previous.cells if same and previous else None))
    if previous is not None and same:
        state.tiles |= previous.tiles
    elif previous is not None:
        rows += [empty_tile_row(state, name) for name in sorted(previous.tiles - state.tiles)]
    return state, rows


def apply_update(msg: Any, state: MapState) -> list[Row]:
    """``map_msgs/OccupancyGridUpdate``: its cells written into ``state``; the rows of what changed."""
    x, y, width, height = int(msg.x), int(msg.y), int(msg.width), int(msg.height)
    if x < 0 or y < 0 or x + width > state.layout.width or y + height > state.layout.height:
        raise ConversionError(
            f"update of {width} x {height} cells at ({x}, {y}) lies outside the "
            f"{state.layout.width} x {state.layout.height} map"
        )
    patch = grid_cells(msg.data, width, height)
    region = (y, y + height, x, x + width)
    before = state.cells[y : y + height, x : x + width].copy()
    if not state.cells.flags.writeable:  # still the full grid's payload: ours from the first update on
        state.cells = state.cells.copy()
    state.cells[y : y + height, x : x + width] = patch
    return map_rows(state, patched_tiles(state, region, before))
