"""``sensor_msgs/Image`` pixel buffers decoded for Rerun, for every encoding of ROS's ``image_encodings.hpp``.

What each encoding becomes (Rerun 0.41 has BGR colour models and the YUY2 / NV12 / Y_U_V24 pixel formats,
so those pass through with at most a byte shuffle; the viewer converts on the GPU):

- ``rgb8 rgba8 bgr8 bgra8 mono8`` and their 16-bit forms: an ``Image`` with colour model RGB, RGBA, BGR,
  BGRA or L, pixels untouched (``mono16`` is an L image, not depth).
- OpenCV types ``{8U,8S,16U,16S,32S,32F,64F}C{1..4}``: one channel L, three BGR and four BGRA (OpenCV's
  channel order, as ``cv_bridge`` reads them); two channels have no colour model and become a ``Tensor``.
  ``16UC1`` (millimetres) and ``32FC1`` (metres) are depth: a ``DepthImage`` with ``meter`` 1000 and 1.
- ``bayer_{rggb,bggr,gbrg,grbg}{8,16}``: demosaiced here to RGB of the same depth, bilinearly (see
  :func:`demosaic_bilinear`). Rerun has 8-bit Bayer pixel formats but no 16-bit ones; demosaicing both
  here gives one behaviour and a colour image that any consumer understands.
- ``yuv422_yuy2`` (also ``yuyv``, ``yuy2``): pixel format YUY2 as is. ``yuv422`` (also ``uyvy``) is UYVY:
  swapping the two bytes of every 16-bit pair turns it into YUY2.
- ``nv12``: pixel format NV12 as is; ``nv21`` (VU order) becomes NV12 by the same pair swap in its chroma
  plane; ``nv24`` (full-resolution interleaved UV) is split into the planar Y_U_V24 format. These YUV
  layouts are taken as limited range (BT.601 video levels), the convention of cameras that emit them.

Rows of ``step`` bytes are honoured (padding dropped: one copy, only then), and multi-byte channels are
byte-swapped when ``is_bigendian`` differs from the host. Unknown encodings raise
:class:`~rerun_bridge.errors.ConversionError` naming the encoding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.buffers import byte_view
from rerun_bridge.errors import ConversionError

PixelArray = npt.NDArray[Any]
ImageArchetype = Literal["Image", "DepthImage", "Tensor"]


class DecodedImage(NamedTuple):
    """What to log for one image.

    ``pixels`` is C-contiguous in native byte order: (H, W) or (H, W, C) for colour models, depth and
    tensors, and the raw planes as 1-D uint8 for pixel formats (``pixel_format`` set).
    """

    archetype: ImageArchetype
    pixels: PixelArray
    width: int
    height: int
    #: Rerun colour model: "L", "RGB", "RGBA", "BGR" or "BGRA" (None for depth, tensors, pixel formats).
    color_model: str | None = None
    #: Rerun pixel format: "YUY2", "NV12" or "Y_U_V24_LimitedRange" (None otherwise).
    pixel_format: str | None = None
    #: Rerun channel datatype: "U8", "I8", "U16", "I16", "I32", "F32", "F64" (None for pixel formats).
    channel_datatype: str | None = None
    #: Depth units per metre, for depth images only.
    meter: float | None = None

    def buffer(self) -> npt.NDArray[np.uint8]:
        """The pixel bytes as a flat uint8 view (what ``Image:buffer`` holds)."""
        return self.pixels.reshape(-1).view(np.uint8)


class _ColorEncoding(NamedTuple):
    channels: int
    dtype: str
    color_model: str


_COLOR_ENCODINGS: Final[Mapping[str, _ColorEncoding]] = {
    "rgb8": _ColorEncoding(3, "u1", "RGB"),
    "rgba8": _ColorEncoding(4, "u1", "RGBA"),
    "rgb16": _ColorEncoding(3, "u2", "RGB"),
    "rgba16": _ColorEncoding(4, "u2", "RGBA"),
    "bgr8": _ColorEncoding(3, "u1", "BGR"),
    "bgra8": _ColorEncoding(4, "u1", "BGRA"),
    "bgr16": _ColorEncoding(3, "u2", "BGR"),
    "bgra16": _ColorEncoding(4, "u2", "BGRA"),
    "mono8": _ColorEncoding(1, "u1", "L"),
    "mono16": _ColorEncoding(1, "u2", "L"),
}
_OPENCV_TYPE: Final = re.compile(r"(8u|8s|16u|16s|32s|32f|64f)c([1-4])")
_OPENCV_DEPTHS: Final[Mapping[str, str]] = {
    "8u": "u1",
    "8s": "i1",
    "16u": "u2",
    "16s": "i2",
    "32s": "i4",
    "32f": "f4",
    "64f": "f8",
}
_OPENCV_COLOR_MODELS: Final[Mapping[int, str]] = {1: "L", 3: "BGR", 4: "BGRA"}
#: Depth encodings and their units per metre.
DEPTH_METERS: Final[Mapping[str, float]] = {"16uc1": 1000.0, "32fc1": 1.0}
_CHANNEL_DATATYPES: Final[Mapping[str, str]] = {
    "u1": "U8",
    "i1": "I8",
    "u2": "U16",
    "i2": "I16",
    "i4": "I32",
    "f4": "F32",
    "f8": "F64",
}
_BAYER: Final = re.compile(r"bayer_(rggb|bggr|gbrg|grbg)(8|16)")
_YUYV_NAMES: Final = frozenset({"yuv422_yuy2", "yuyv", "yuy2"})
_UYVY_NAMES: Final = frozenset({"yuv422", "uyvy"})


class _Raster(NamedTuple):
    """An image message's stored bytes and how to read them."""

    buffer: npt.NDArray[np.uint8]
    width: int
    height: int
    step: int
    is_bigendian: bool
    #: As the message spells it, for error messages.
    encoding: str

    def rows(
        self, count: int, row_bytes: int, step: int | None = None, skip: int = 0
    ) -> npt.NDArray[np.uint8]:
        """:func:`pixel_rows` of this buffer from byte ``skip`` on (rows of ``step``, default the image's)."""
        buffer = self.buffer[skip:] if skip else self.buffer
        return pixel_rows(buffer, count, row_bytes, self.step if step is None else step, self.encoding)


def decode_image(
    encoding: str, width: int, height: int, step: int, is_bigendian: bool, data: Any
) -> DecodedImage:
    """Decode one ``sensor_msgs/Image`` buffer (see the module docstring for what each encoding becomes)."""
    name = encoding.strip().lower()
    if width <= 0 or height <= 0:
        raise ConversionError(f"image with encoding {encoding!r} is empty ({width}x{height})")
    raster = _Raster(byte_view(data), width, height, step, is_bigendian, encoding)
    color = _COLOR_ENCODINGS.get(name)
    if color is not None:
        pixels = _typed_pixels(raster, color.channels, color.dtype)
        return DecodedImage(
            "Image", pixels, width, height, color.color_model, None, _CHANNEL_DATATYPES[color.dtype]
        )
    opencv = _OPENCV_TYPE.fullmatch(name)
    if opencv is not None:
        return _decode_opencv(raster, opencv)
    bayer = _BAYER.fullmatch(name)
    if bayer is not None:
        dtype = "u1" if bayer.group(2) == "8" else "u2"
        rgb = demosaic_bilinear(_typed_pixels(raster, 1, dtype), bayer.group(1))
        return DecodedImage("Image", rgb, width, height, "RGB", None, _CHANNEL_DATATYPES[dtype])
    if name in _YUYV_NAMES or name in _UYVY_NAMES:
        return _decode_yuv422(raster, swap_pairs=name in _UYVY_NAMES)
    if name in ("nv12", "nv21"):
        return _decode_nv12(raster, swap_chroma=name == "nv21")
    if name == "nv24":
        return _decode_nv24(raster)
    raise ConversionError(f"unsupported image encoding {encoding!r}")


def decode_image_msg(msg: Any) -> DecodedImage:
    """:func:`decode_image` on a ``sensor_msgs/Image`` message (rclpy, rosbags or mcap-ros2)."""
    return decode_image(
        str(msg.encoding), int(msg.width), int(msg.height), int(msg.step), bool(msg.is_bigendian), msg.data
    )


def _decode_opencv(raster: _Raster, match: re.Match[str]) -> DecodedImage:
    dtype = _OPENCV_DEPTHS[match.group(1)]
    channels = int(match.group(2))
    pixels = _typed_pixels(raster, channels, dtype)
    name, width, height = match.group(0), raster.width, raster.height
    if name in DEPTH_METERS:
        return DecodedImage(
            "DepthImage", pixels, width, height, None, None, _CHANNEL_DATATYPES[dtype], DEPTH_METERS[name]
        )
    color_model = _OPENCV_COLOR_MODELS.get(channels)
    if color_model is None:  # two channels (flow fields, complex values): no colour model fits
        return DecodedImage("Tensor", pixels, width, height, None, None, _CHANNEL_DATATYPES[dtype])
    return DecodedImage("Image", pixels, width, height, color_model, None, _CHANNEL_DATATYPES[dtype])


def pixel_rows(
    buffer: npt.NDArray[np.uint8], rows: int, row_bytes: int, step: int, encoding: str = ""
) -> npt.NDArray[np.uint8]:
    """``rows`` rows of ``row_bytes`` bytes, each starting ``step`` bytes after the previous one.

    A view of the buffer (rows may be strided when ``step`` pads them); raises when ``step`` is too short
    or the buffer ends early.
    """
    what = f"image with encoding {encoding!r}" if encoding else "image"
    if step < row_bytes:
        raise ConversionError(f"{what}: step {step} is shorter than a row of {row_bytes} bytes")
    needed = (rows - 1) * step + row_bytes
    if buffer.size < needed:
        raise ConversionError(
            f"{what}: data has {buffer.size} bytes, {rows} rows of step {step} need {needed}"
        )
    if step == row_bytes:
        return buffer[: rows * row_bytes].reshape(rows, row_bytes)
    return np.lib.stride_tricks.as_strided(buffer, shape=(rows, row_bytes), strides=(step, 1))


def _typed_pixels(raster: _Raster, channels: int, dtype: str) -> PixelArray:
    """(H, W) or (H, W, C) pixels of a numpy type, native order, C-contiguous (a view when possible)."""
    item = np.dtype(dtype)
    stored = item.newbyteorder(">" if raster.is_bigendian else "<") if item.itemsize > 1 else item
    width, height = raster.width, raster.height
    pixels = raster.rows(height, width * channels * item.itemsize).view(stored)
    if not stored.isnative:
        pixels = pixels.astype(stored.newbyteorder("="))  # the byte swap, one copy
    pixels = np.ascontiguousarray(pixels)  # a copy only when rows were padded
    shape = (height, width) if channels == 1 else (height, width, channels)
    return pixels.reshape(shape)


def _decode_yuv422(raster: _Raster, swap_pairs: bool) -> DecodedImage:
    """YUYV as Rerun's YUY2; UYVY (``U Y0 V Y1``) becomes YUY2 (``Y0 U Y1 V``) by swapping byte pairs."""
    width, height = raster.width, raster.height
    if width % 2:
        raise ConversionError(f"image with encoding {raster.encoding!r} needs an even width (got {width})")
    rows = raster.rows(height, width * 2)
    planes = rows.view(np.uint16).byteswap() if swap_pairs else np.ascontiguousarray(rows)
    return DecodedImage("Image", planes.reshape(-1).view(np.uint8), width, height, pixel_format="YUY2")


def _decode_nv12(raster: _Raster, swap_chroma: bool) -> DecodedImage:
    """NV12 as is; NV21 (VU pairs) becomes NV12 (UV pairs). Rows of ``step`` bytes in both planes."""
    width, height = raster.width, raster.height
    if width % 2 or height % 2:
        raise ConversionError(
            f"image with encoding {raster.encoding!r} needs even dimensions (got {width}x{height})"
        )
    rows = np.array(raster.rows(height + height // 2, width))  # always a copy
    if swap_chroma:
        chroma = rows[height:]
        chroma.view(np.uint16).byteswap(inplace=True)
    return DecodedImage("Image", rows.reshape(-1), width, height, pixel_format="NV12")


def _decode_nv24(raster: _Raster) -> DecodedImage:
    """NV24 (a Y plane, then full-resolution UV pairs in rows of ``2 * step`` bytes) as planar Y_U_V24."""
    width, height, step = raster.width, raster.height, raster.step
    luma = raster.rows(height, width)
    chroma = raster.rows(height, 2 * width, step=2 * step, skip=height * step).reshape(height, width, 2)
    planes = np.empty((3, height, width), dtype=np.uint8)
    planes[0] = luma
    planes[1] = chroma[..., 0]
    planes[2] = chroma[..., 1]
    return DecodedImage("Image", planes.reshape(-1), width, height, pixel_format="Y_U_V24_LimitedRange")


# ---- Bayer ---------------------------------------------------------------------------------------------

#: Row and column of the red and the blue sample in each 2x2 tile of a Bayer pattern.
_BAYER_RED_BLUE: Final[Mapping[str, tuple[tuple[int, int], tuple[int, int]]]] = {
    "rggb": ((0, 0), (1, 1)),
    "bggr": ((1, 1), (0, 0)),
    "gbrg": ((1, 0), (0, 1)),
    "grbg": ((0, 1), (1, 0)),
}
# Bilinear interpolation as normalized convolution: each channel's samples (zero elsewhere) convolved with
# a kernel, divided by the same convolution of the sample mask. Inside the image this is the textbook
# bilinear demosaic (a sample keeps its own value, a missing one is the mean of its nearest same-colour
# neighbours); at the borders it averages the neighbours that exist instead of inventing padding.
_RED_BLUE_KERNEL: Final = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]], dtype=np.float32)
_GREEN_KERNEL: Final = np.array([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]], dtype=np.float32)


def bayer_masks(height: int, width: int, pattern: str) -> npt.NDArray[np.bool_]:
    """(3, H, W) masks of where a Bayer pattern (``rggb``, ``bggr``, ``gbrg``, ``grbg``) samples R, G, B."""
    try:
        (red_row, red_col), (blue_row, blue_col) = _BAYER_RED_BLUE[pattern]
    except KeyError as err:
        raise ConversionError(f"unknown Bayer pattern {pattern!r}") from err
    masks = np.zeros((3, height, width), dtype=np.bool_)
    masks[0, red_row::2, red_col::2] = True
    masks[2, blue_row::2, blue_col::2] = True
    masks[1] = ~(masks[0] | masks[2])
    return masks


def demosaic_bilinear(mosaic: PixelArray, pattern: str) -> PixelArray:
    """Bilinear demosaic of an (H, W) Bayer mosaic to (H, W, 3) RGB of the same integer type."""
    height, width = mosaic.shape
    masks = bayer_masks(height, width, pattern)
    samples = mosaic.astype(np.float32)
    rgb = np.empty((height, width, 3), dtype=np.float32)
    for channel, kernel in enumerate((_RED_BLUE_KERNEL, _GREEN_KERNEL, _RED_BLUE_KERNEL)):
        mask = masks[channel].astype(np.float32)
        weighted = _convolve3x3(samples * mask, kernel)
        weights = _convolve3x3(mask, kernel)
        np.divide(weighted, weights, out=rgb[..., channel], where=weights > 0)
        rgb[..., channel][weights <= 0] = 0.0  # a 1-pixel image has no sample of some colours
    limit = np.iinfo(mosaic.dtype).max
    return np.clip(np.rint(rgb), 0, limit).astype(mosaic.dtype)


def _convolve3x3(image: npt.NDArray[np.float32], kernel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A 3x3 convolution with zeros outside the image, as nine shifted adds (the kernels are symmetric)."""
    height, width = image.shape
    padded = np.zeros((height + 2, width + 2), dtype=np.float32)
    padded[1:-1, 1:-1] = image
    out = np.zeros_like(image)
    for dy in range(3):
        for dx in range(3):
            weight = float(kernel[dy, dx])
            if weight:
                out += weight * padded[dy : dy + height, dx : dx + width]
    return out
