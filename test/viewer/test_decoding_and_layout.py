"""Pure parts of the viewer: image decoding, component values, entity filters and the default layout."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import rerun as rr

from rerun_bridge.blueprint.heuristic import default_blueprint_of
from rerun_bridge.blueprint.model import Container, ContainerKind, ContentRule, View, ViewKind
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.component_values import ImageFormat, colors_rgba, describe, image_format
from rerun_bridge.viewer.views.base import EntityFilter
from rerun_bridge.viewer.views.image_decode import ImageDecodeError, decode_image, depth_levels

U8, U16, F32 = 6, 8, 34
L, RGB, BGRA = 1, 2, 5
NV12, YUY2, Y8_FULL = 26, 27, 30


def fmt(
    width: int, height: int, color_model: int | None, datatype: int | None, pixel_format: int | None = None
) -> ImageFormat:
    return ImageFormat(width, height, pixel_format, color_model, datatype)


def test_bgra_becomes_rgba() -> None:
    bgra = np.array([[[10, 20, 30, 40], [50, 60, 70, 80]]], dtype=np.uint8)
    shown = decode_image(bgra.reshape(-1), fmt(2, 1, BGRA, U8))
    np.testing.assert_array_equal(shown.pixels, [[[30, 20, 10, 40], [70, 60, 50, 80]]])
    assert shown.levels == (0.0, 255.0)


def test_u16_and_float_levels() -> None:
    mono = np.array([[100, 4000]], dtype=np.uint16)
    shown = decode_image(mono.view(np.uint8).reshape(-1), fmt(2, 1, L, U16))
    assert shown.pixels.dtype == np.uint16
    assert shown.levels == (100.0, 4000.0)
    unit = np.array([[[0.0, 0.5, 1.0]]], dtype=np.float32)
    assert decode_image(unit.view(np.uint8).reshape(-1), fmt(1, 1, RGB, F32)).levels == (0.0, 1.0)


def test_short_buffers_are_an_error() -> None:
    with pytest.raises(ImageDecodeError, match="needs 12 bytes, got 3"):
        decode_image(np.zeros(3, np.uint8), fmt(2, 2, RGB, U8))


def test_yuv_formats_decode_grey_to_grey() -> None:
    width, height = 4, 2
    luma = np.full(width * height, 126, dtype=np.uint8)  # limited range: (126 - 16) * 1.164 = 128
    chroma = np.full(width * height // 2, 128, dtype=np.uint8)
    nv12 = decode_image(np.concatenate([luma, chroma]), fmt(width, height, None, None, NV12)).pixels
    assert nv12.shape == (height, width, 3)
    assert np.all(np.abs(nv12.astype(int) - 128) <= 1)
    yuy2 = np.tile(np.array([126, 128, 126, 128], dtype=np.uint8), width * height // 2)
    assert np.all(
        np.abs(decode_image(yuy2, fmt(width, height, None, None, YUY2)).pixels.astype(int) - 128) <= 1
    )
    y8 = decode_image(np.arange(8, dtype=np.uint8), fmt(width, height, None, None, Y8_FULL)).pixels
    np.testing.assert_array_equal(y8, np.arange(8).reshape(height, width))


def test_depth_levels_follow_the_logged_range_else_the_data() -> None:
    depth = np.array([[0, 500, 3000]], dtype=np.uint16)
    assert depth_levels(depth, (100.0, 2000.0)) == (100.0, 2000.0)
    assert depth_levels(depth, None) == (0.0, 3000.0)


def test_colors_from_both_layouts() -> None:
    packed = pa.array([0xFF000080], type=pa.uint32())
    broadcast = colors_rgba(packed, 3)
    assert broadcast is not None
    np.testing.assert_allclose(broadcast, np.array([[1, 0, 0, 128 / 255]] * 3))  # one colour for all
    bytes4 = pa.FixedSizeListArray.from_arrays(pa.array([0, 255, 0, 255, 0, 0, 255, 255], pa.uint8()), 4)
    per_point = colors_rgba(bytes4, 2)
    assert per_point is not None
    np.testing.assert_allclose(per_point, np.array([[0, 1, 0, 1], [0, 0, 1, 1]], dtype=np.float32))
    assert colors_rgba(None, 5) is None


def test_image_format_and_describe() -> None:
    formats = rr.components.ImageFormatBatch(
        [rr.components.ImageFormat(width=4, height=2, color_model="RGB", channel_datatype="U8")]
    ).as_arrow_array()
    assert image_format(formats) == ImageFormat(4, 2, None, RGB, U8)
    assert describe(pa.array([1.5, 2.25])) == "1.5, 2.25"
    assert describe(pa.array(["a"] * 10)) == "'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', … (10 instances)"


def test_entity_filter_patterns() -> None:
    under_camera = EntityFilter("/camera")
    assert under_camera.matches("/camera")
    assert under_camera.matches("/camera/image")
    assert not under_camera.matches("/cameras")
    assert not under_camera.matches("/lidar")
    chosen = EntityFilter("/", include=["/scan", "/tf/**"], exclude=["/tf/private/**"])
    assert chosen.matches("/scan")
    assert not chosen.matches("/scan/extra")
    assert chosen.matches("/tf/a")
    assert not chosen.matches("/tf/private/b")
    assert not EntityFilter("/").matches("/__properties")
    # Rerun's rule: the most specific pattern wins, whatever its sign.
    nested = EntityFilter("/", include=["/**", "/tf/keep"], exclude=["/tf/**"])
    assert nested.matches("/scan")
    assert not nested.matches("/tf/drop")
    assert nested.matches("/tf/keep")
    assert not nested.matches("/tf/keep/child")


def test_default_blueprint_of_an_empty_store_is_empty() -> None:
    assert list(default_blueprint_of(ChunkStore()).views()) == []


def test_default_blueprint_of_a_store_groups_scalars_by_first_path_part() -> None:
    store = ChunkStore()
    for entity in ("/arm/joint1", "/arm/joint2", "/battery"):
        store.append_row(entity, {"log_time": 1}, {"Scalars:scalars": [1.0]})
    store.append_row("/points", {"log_time": 1}, {"Points3D:positions": np.zeros((1, 3), np.float32)})
    store.append_row("/__properties", {}, {"RecordingInfo:name": ["hidden"]}, static=True)
    layout = default_blueprint_of(store).root
    assert isinstance(layout, Container)
    assert layout.kind is ContainerKind.VERTICAL
    views = list(default_blueprint_of(store).views())
    assert views[0] == View(
        ViewKind.SPATIAL3D, name="Scene", origin="/", contents=(ContentRule("/points", recursive=True),)
    )
    plots = [(view.origin, view.contents) for view in views if view.kind is ViewKind.TIME_SERIES]
    assert plots == [
        ("/arm", View(ViewKind.TIME_SERIES).contents),
        ("/battery", View(ViewKind.TIME_SERIES).contents),
    ]
    plot_of = {path: [view.origin for view in views if view.includes(path)] for path in store.entities()}
    assert plot_of == {
        "/arm/joint1": ["/arm"],
        "/arm/joint2": ["/arm"],
        "/battery": ["/battery"],
        "/points": ["/"],
        "/__properties": [],
    }
