"""sensor_msgs/Image decoding: every encoding from hand-built buffers, with row padding and byte order."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from rerun_bridge.convert.image_encoding import DecodedImage, bayer_masks, decode_image, demosaic_bilinear
from rerun_bridge.errors import ConversionError

PAD_BYTE = 0xCD
RNG = np.random.default_rng(7)


def encode(pixels: npt.NDArray[Any], padding: int = 0, big_endian: bool = False) -> tuple[bytes, int]:
    """(data, step) of an (H, W[, C]) array: rows in the given byte order, each followed by padding bytes."""
    stored = pixels.astype(pixels.dtype.newbyteorder(">" if big_endian else "<"))
    height = pixels.shape[0]
    rows = np.ascontiguousarray(stored).view(np.uint8).reshape(height, -1)
    step = rows.shape[1] + padding
    padded = np.full((height, step), PAD_BYTE, dtype=np.uint8)
    padded[:, : rows.shape[1]] = rows
    return padded.tobytes(), step


def random_pixels(shape: tuple[int, ...], dtype: type[Any] | np.dtype[Any]) -> npt.NDArray[Any]:
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return RNG.standard_normal(shape).astype(kind)
    info = np.iinfo(kind)
    return RNG.integers(info.min, info.max, size=shape, endpoint=True, dtype=kind)


def decode_array(
    encoding: str, pixels: npt.NDArray[Any], padding: int = 0, big_endian: bool = False
) -> DecodedImage:
    data, step = encode(pixels, padding, big_endian)
    height, width = pixels.shape[:2]
    return decode_image(encoding, width, height, step, big_endian, data)


COLOR_CASES = [
    ("rgb8", 3, np.uint8, "RGB", "U8"),
    ("rgba8", 4, np.uint8, "RGBA", "U8"),
    ("rgb16", 3, np.uint16, "RGB", "U16"),
    ("rgba16", 4, np.uint16, "RGBA", "U16"),
    ("bgr8", 3, np.uint8, "BGR", "U8"),
    ("bgra8", 4, np.uint8, "BGRA", "U8"),
    ("bgr16", 3, np.uint16, "BGR", "U16"),
    ("bgra16", 4, np.uint16, "BGRA", "U16"),
    ("mono8", 1, np.uint8, "L", "U8"),
    ("mono16", 1, np.uint16, "L", "U16"),
]


@pytest.mark.parametrize(("encoding", "channels", "dtype", "color_model", "datatype"), COLOR_CASES)
@pytest.mark.parametrize("padding", [0, 5])
@pytest.mark.parametrize("big_endian", [False, True])
def test_color_encodings(
    encoding: str,
    channels: int,
    dtype: type[Any],
    color_model: str,
    datatype: str,
    padding: int,
    big_endian: bool,
) -> None:
    shape = (3, 5) if channels == 1 else (3, 5, channels)
    pixels = random_pixels(shape, dtype)
    image = decode_array(encoding, pixels, padding, big_endian)
    assert image.archetype == "Image"
    assert (image.color_model, image.channel_datatype, image.pixel_format) == (color_model, datatype, None)
    assert (image.width, image.height) == (5, 3)
    assert image.pixels.dtype == np.dtype(dtype)  # native order whatever the message's
    assert image.pixels.flags.c_contiguous
    np.testing.assert_array_equal(image.pixels, pixels)  # BGR stays BGR: Rerun shows it as such
    assert image.buffer().tobytes() == pixels.tobytes()


OPENCV_DEPTHS = {
    "8U": np.uint8,
    "8S": np.int8,
    "16U": np.uint16,
    "16S": np.int16,
    "32S": np.int32,
    "32F": np.float32,
    "64F": np.float64,
}
DATATYPE_NAMES = {np.uint8: "U8", np.int8: "I8", np.uint16: "U16", np.int16: "I16"} | {
    np.int32: "I32",
    np.float32: "F32",
    np.float64: "F64",
}


@pytest.mark.parametrize("depth", sorted(OPENCV_DEPTHS))
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize(("padding", "big_endian"), [(0, False), (3, True)])
def test_opencv_type_encodings(depth: str, channels: int, padding: int, big_endian: bool) -> None:
    dtype = OPENCV_DEPTHS[depth]
    encoding = f"{depth}C{channels}"
    shape = (4, 3) if channels == 1 else (4, 3, channels)
    pixels = random_pixels(shape, dtype)
    image = decode_array(encoding, pixels, padding, big_endian)
    np.testing.assert_array_equal(image.pixels, pixels)
    assert image.pixels.dtype == np.dtype(dtype)
    assert image.channel_datatype == DATATYPE_NAMES[dtype]
    if encoding == "16UC1":
        assert (image.archetype, image.meter, image.color_model) == ("DepthImage", 1000.0, None)
    elif encoding == "32FC1":
        assert (image.archetype, image.meter, image.color_model) == ("DepthImage", 1.0, None)
    elif channels == 2:
        assert (image.archetype, image.color_model) == ("Tensor", None)
    else:
        expected_model = {1: "L", 3: "BGR", 4: "BGRA"}[channels]
        assert (image.archetype, image.color_model, image.meter) == ("Image", expected_model, None)


def test_encoding_names_are_case_insensitive() -> None:
    pixels = random_pixels((2, 2, 3), np.uint8)
    assert decode_array("BGR8", pixels).color_model == "BGR"
    assert decode_array("8uc3", pixels).color_model == "BGR"


def test_unpadded_buffer_is_not_copied() -> None:
    pixels = random_pixels((4, 6, 3), np.uint8)
    data = np.frombuffer(pixels.tobytes(), dtype=np.uint8)
    image = decode_image("rgb8", 6, 4, 18, False, data)
    assert np.shares_memory(image.pixels, data)


def test_bigendian_16bit_known_values_with_padding() -> None:
    # Two rows of two mono16 pixels, big-endian, 3 padding bytes per row.
    data = bytes([0x01, 0x02, 0xFF, 0x00, 9, 9, 9, 0x00, 0x01, 0x80, 0x00, 9, 9, 9])
    image = decode_image("mono16", 2, 2, 7, True, data)
    assert image.pixels.tolist() == [[0x0102, 0xFF00], [0x0001, 0x8000]]
    little = decode_image("16UC1", 2, 2, 7, False, data)
    assert little.pixels.tolist() == [[0x0201, 0x00FF], [0x0100, 0x0080]]


# ---- Bayer ---------------------------------------------------------------------------------------------

# The colour at (row % 2, col % 2) of each pattern, spelled out independently of the decoder's table.
PATTERN_TILES = {"rggb": "RGGB", "bggr": "BGGR", "gbrg": "GBRG", "grbg": "GRBG"}


def mosaic_of(rgb: npt.NDArray[Any], pattern: str) -> npt.NDArray[Any]:
    """What a Bayer sensor records of an (H, W, 3) scene."""
    tile = PATTERN_TILES[pattern]
    mosaic = np.empty(rgb.shape[:2], dtype=rgb.dtype)
    for row in range(2):
        for col in range(2):
            channel = "RGB".index(tile[2 * row + col])
            mosaic[row::2, col::2] = rgb[row::2, col::2, channel]
    return mosaic


@pytest.mark.parametrize("pattern", sorted(PATTERN_TILES))
@pytest.mark.parametrize(
    ("bits", "dtype", "color"), [(8, np.uint8, (200, 90, 30)), (16, np.uint16, (60000, 300, 7))]
)
@pytest.mark.parametrize(("height", "width"), [(4, 6), (5, 7), (1, 1)])
def test_bayer_uniform_colour(
    pattern: str, bits: int, dtype: type[Any], color: tuple[int, int, int], height: int, width: int
) -> None:
    scene = np.broadcast_to(np.array(color, dtype=dtype), (height, width, 3))
    mosaic = mosaic_of(scene, pattern)
    image = decode_array(f"bayer_{pattern}{bits}", mosaic, padding=2, big_endian=bits == 16)
    assert (image.archetype, image.color_model, image.channel_datatype) == ("Image", "RGB", f"U{bits}")
    assert image.pixels.shape == (height, width, 3)
    if height * width == 1:  # one sample: the other two colours are unknown (black)
        tile_channel = "RGB".index(PATTERN_TILES[pattern][0])
        assert image.pixels[0, 0, tile_channel] == color[tile_channel]
        return
    assert (image.pixels == np.array(color, dtype=dtype)).all()


@pytest.mark.parametrize("pattern", sorted(PATTERN_TILES))
def test_bayer_bilinear_keeps_samples_and_averages_neighbours(pattern: str) -> None:
    mosaic = random_pixels((6, 8), np.uint8)
    rgb = demosaic_bilinear(mosaic, pattern)
    masks = bayer_masks(6, 8, pattern)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel][masks[channel]], mosaic[masks[channel]])
    samples = mosaic.astype(float)
    # At an interior green sample, one colour is the mean of left and right, the other of above and below.
    tile = PATTERN_TILES[pattern]
    row, col = next((r, c) for r in (2, 3) for c in (2, 3) if tile[2 * (r % 2) + c % 2] == "G")
    horizontal = "RGB".index(tile[2 * (row % 2) + (col + 1) % 2])
    vertical = "RGB".index(tile[2 * ((row + 1) % 2) + col % 2])
    assert abs(int(rgb[row, col, horizontal]) - (samples[row, col - 1] + samples[row, col + 1]) / 2) <= 0.5
    assert abs(int(rgb[row, col, vertical]) - (samples[row - 1, col] + samples[row + 1, col]) / 2) <= 0.5
    # At a red sample, blue is the mean of the four diagonal neighbours and green of the four beside it.
    row, col = next((r, c) for r in (2, 3) for c in (2, 3) if tile[2 * (r % 2) + c % 2] == "R")
    diagonal = (samples[row - 1, col - 1] + samples[row - 1, col + 1] + samples[row + 1, col - 1]) + samples[
        row + 1, col + 1
    ]
    assert abs(int(rgb[row, col, 2]) - diagonal / 4) <= 0.5
    green = samples[row - 1, col] + samples[row + 1, col] + samples[row, col - 1] + samples[row, col + 1]
    assert abs(int(rgb[row, col, 1]) - green / 4) <= 0.5


# ---- YUV -----------------------------------------------------------------------------------------------


def test_uyvy_becomes_yuy2_by_swapping_pairs() -> None:
    # 4x2 pixels, two macropixels per row (U Y0 V Y1), one padding byte per row.
    rows = [[10, 20, 30, 40, 11, 21, 31, 41], [12, 22, 32, 42, 13, 23, 33, 43]]
    data = bytes(rows[0] + [PAD_BYTE] + rows[1] + [PAD_BYTE])
    for encoding in ("yuv422", "uyvy"):
        image = decode_image(encoding, 4, 2, 9, False, data)
        assert (image.archetype, image.pixel_format, image.color_model) == ("Image", "YUY2", None)
        assert image.buffer().tolist() == [20, 10, 40, 30, 21, 11, 41, 31, 22, 12, 42, 32, 23, 13, 43, 33]


@pytest.mark.parametrize("encoding", ["yuv422_yuy2", "yuyv", "yuy2"])
def test_yuyv_passes_through(encoding: str) -> None:
    data = bytes(range(16))
    image = decode_image(encoding, 4, 2, 8, False, data)
    assert image.pixel_format == "YUY2"
    assert image.buffer().tobytes() == data


def test_nv21_becomes_nv12_and_nv12_passes_through() -> None:
    luma = list(range(100, 108))  # 4x2
    vu = [1, 2, 3, 4]  # one chroma row: V0 U0 V1 U1
    nv21 = decode_image("nv21", 4, 2, 4, False, bytes(luma + vu))
    assert nv21.pixel_format == "NV12"
    assert nv21.buffer().tolist() == [*luma, 2, 1, 4, 3]
    nv12 = decode_image("nv12", 4, 2, 4, False, bytes(luma + vu))
    assert nv12.buffer().tolist() == luma + vu


def test_nv24_becomes_planar_yuv24() -> None:
    luma = [100, 101, 102, 103]  # 2x2
    uv = [1, 2, 3, 4, 5, 6, 7, 8]  # full resolution: U V per pixel
    image = decode_image("nv24", 2, 2, 2, False, bytes(luma + uv))
    assert image.pixel_format == "Y_U_V24_LimitedRange"
    assert image.buffer().tolist() == [*luma, 1, 3, 5, 7, 2, 4, 6, 8]


# ---- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "width", "height", "step", "size", "message"),
    [
        ("jpeg", 2, 2, 6, 12, "unsupported image encoding 'jpeg'"),
        ("rgb8", 2, 2, 6, 11, "need 12"),
        ("rgb8", 2, 2, 5, 12, "step 5 is shorter"),
        ("rgb8", 0, 2, 0, 0, "empty"),
        ("yuv422", 3, 1, 6, 6, "even width"),
        ("nv21", 3, 2, 3, 9, "even dimensions"),
        ("bayer_xyzw8", 2, 2, 2, 4, "unsupported"),
        ("8UC5", 2, 2, 10, 20, "unsupported"),
    ],
)
def test_bad_images_raise(encoding: str, width: int, height: int, step: int, size: int, message: str) -> None:
    with pytest.raises(ConversionError, match=message):
        decode_image(encoding, width, height, step, False, bytes(size))


def test_last_row_may_omit_its_padding() -> None:
    """Some drivers cut the data after the last pixel: step * (height - 1) + row bytes is enough."""
    pixels = random_pixels((2, 2), np.uint8)
    data, step = encode(pixels, padding=3)
    image = decode_image("mono8", 2, 2, step, False, data[:-3])
    np.testing.assert_array_equal(image.pixels, pixels)
