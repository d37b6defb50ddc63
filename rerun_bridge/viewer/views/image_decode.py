"""Image buffers as displayable pixels: Rerun's ``ImageFormat`` decoding, depth scaling, encoded images.

:func:`decode_image` reads an ``Image:buffer`` by its ``ImageFormat`` (``color_model`` + ``channel_datatype``
for plain pixels, ``pixel_format`` for YUV and Bayer layouts) into ``(H, W)`` or ``(H, W, 3|4)`` RGB(A)
arrays, with the display levels Rerun would pick. :func:`decode_encoded` decodes JPEG / PNG blobs with
Qt's image readers. Nothing here draws.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from rerun_bridge.errors import BridgeError
from rerun_bridge.viewer.component_values import ImageFormat

Pixels = npt.NDArray[Any]


class ImageDecodeError(BridgeError):
    """An image buffer does not match its format."""


class DisplayImage(NamedTuple):
    """Pixels, row-major ``(H, W)`` (one channel) or ``(H, W, C)`` RGB(A), and their display range."""

    pixels: Pixels
    levels: tuple[float, float]


# Rerun's enum values (``rr.ColorModel``, ``rr.ChannelDatatype``, ``rr.PixelFormat``).
COLOR_MODEL_CHANNELS: Final = {1: 1, 2: 3, 3: 4, 4: 3, 5: 4}  # L, RGB, RGBA, BGR, BGRA
_BGR_MODELS: Final = frozenset({4, 5})
CHANNEL_DTYPES: Final[dict[int, np.dtype[Any]]] = {
    6: np.dtype(np.uint8),
    7: np.dtype(np.int8),
    8: np.dtype(np.uint16),
    9: np.dtype(np.int16),
    10: np.dtype(np.uint32),
    11: np.dtype(np.int32),
    12: np.dtype(np.uint64),
    13: np.dtype(np.int64),
    33: np.dtype(np.float16),
    34: np.dtype(np.float32),
    35: np.dtype(np.float64),
}
_Y_U_V12_LIMITED, _NV12, _YUY2, _Y8_FULL = 20, 26, 27, 30
_Y_U_V24_LIMITED, _Y_U_V24_FULL, _Y8_LIMITED, _Y_U_V12_FULL = 39, 40, 41, 44
_Y_U_V16_LIMITED, _Y_U_V16_FULL = 49, 50
#: Row and column of the red sample in the 2x2 tile of each Bayer pattern (blue is the opposite corner).
_BAYER_RED: Final = {128: (0, 0), 129: (1, 1), 130: (1, 0), 131: (0, 1)}  # RGGB, BGGR, GBRG, GRBG
_FULL_RANGE_FORMATS: Final = frozenset({_Y8_FULL, _Y_U_V24_FULL, _Y_U_V12_FULL, _Y_U_V16_FULL})


def decode_image(buffer: npt.NDArray[np.uint8], image_format: ImageFormat) -> DisplayImage:
    """An ``Image`` (or the pixels of a depth / segmentation image) ready to show."""
    if image_format.pixel_format is not None:
        return DisplayImage(_decode_pixel_format(buffer, image_format), (0.0, 255.0))
    pixels = typed_pixels(buffer, image_format)
    if image_format.color_model in _BGR_MODELS:
        pixels = np.concatenate([pixels[..., 2::-1], pixels[..., 3:]], axis=-1)
    return DisplayImage(pixels, _color_levels(pixels))


def typed_pixels(buffer: npt.NDArray[np.uint8], image_format: ImageFormat) -> Pixels:
    """The buffer viewed as ``(H, W)`` or ``(H, W, C)`` of the format's channel type (no colour swaps)."""
    dtype = CHANNEL_DTYPES.get(
        image_format.channel_datatype if image_format.channel_datatype is not None else 6
    )
    if dtype is None:
        raise ImageDecodeError(f"unknown channel datatype {image_format.channel_datatype}")
    channels = COLOR_MODEL_CHANNELS.get(image_format.color_model or 1)
    if channels is None:
        raise ImageDecodeError(f"unknown color model {image_format.color_model}")
    width, height = image_format.width, image_format.height
    needed = width * height * channels * dtype.itemsize
    if buffer.size < needed:
        raise ImageDecodeError(
            f"a {width}x{height} image of {channels} {dtype} channels needs {needed} bytes, got {buffer.size}"
        )
    pixels = np.ascontiguousarray(buffer[:needed]).view(dtype)
    return pixels.reshape((height, width) if channels == 1 else (height, width, channels))


def _color_levels(pixels: Pixels) -> tuple[float, float]:
    """Rerun's defaults: the full range of 8-bit data, 0..1 for floats within it, else the data's range."""
    if pixels.dtype == np.uint8:
        return 0.0, 255.0
    finite = pixels[np.isfinite(pixels)] if pixels.dtype.kind == "f" else pixels
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if pixels.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        return 0.0, 1.0
    return (low, high) if high > low else (low, low + 1.0)


def depth_levels(pixels: Pixels, depth_range: tuple[float, float] | None) -> tuple[float, float]:
    """The range the colormap spans: the logged ``depth_range`` (in raw units), else 0..the farthest."""
    if depth_range is not None and depth_range[1] > depth_range[0]:
        return depth_range
    valid = pixels[np.isfinite(pixels)] if pixels.dtype.kind == "f" else pixels
    high = float(valid.max()) if valid.size else 1.0
    return 0.0, high if high > 0 else 1.0


def decode_encoded(data: bytes | npt.NDArray[np.uint8]) -> DisplayImage:
    """A JPEG / PNG (any format Qt reads) as ``(H, W, 4)`` RGBA bytes."""
    from PyQt6 import QtGui

    image = QtGui.QImage.fromData(bytes(data))
    if image.isNull():
        raise ImageDecodeError(f"cannot decode an encoded image of {len(data)} bytes")
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    height, width, stride = image.height(), image.width(), image.bytesPerLine()
    bits = image.constBits()
    if bits is None:
        raise ImageDecodeError("decoded image has no pixels")
    raw = np.frombuffer(bits.asstring(image.sizeInBytes()), dtype=np.uint8).reshape(height, stride)
    pixels = raw[:, : width * 4].reshape(height, width, 4).copy()
    return DisplayImage(pixels, (0.0, 255.0))


# ---- pixel formats ---------------------------------------------------------------------------------


def _decode_pixel_format(buffer: npt.NDArray[np.uint8], image_format: ImageFormat) -> Pixels:
    width, height, kind = image_format.width, image_format.height, image_format.pixel_format
    full_range = kind in _FULL_RANGE_FORMATS
    if kind in (_Y8_FULL, _Y8_LIMITED):
        luma = _plane(buffer, 0, height, width)
        return _expand_luma(luma, full_range)
    if kind in _BAYER_RED:
        return _demosaic(_plane(buffer, 0, height, width), _BAYER_RED[kind])
    if kind == _NV12:
        luma = _plane(buffer, 0, height, width)
        chroma = _plane(buffer, width * height, height // 2, width).reshape(height // 2, width // 2, 2)
        u, v = (_upsample(chroma[..., index], height, width) for index in (0, 1))
        return _yuv_to_rgb(luma, u, v, full_range=False)
    if kind == _YUY2:
        packed = _plane(buffer, 0, height, width * 2).reshape(height, width // 2, 4)
        luma = packed[..., [0, 2]].reshape(height, width)
        u = np.repeat(packed[..., 1], 2, axis=1)
        v = np.repeat(packed[..., 3], 2, axis=1)
        return _yuv_to_rgb(luma, u, v, full_range=False)
    planar = {
        _Y_U_V24_LIMITED: (1, 1),
        _Y_U_V24_FULL: (1, 1),
        _Y_U_V16_LIMITED: (1, 2),
        _Y_U_V16_FULL: (1, 2),
        _Y_U_V12_LIMITED: (2, 2),
        _Y_U_V12_FULL: (2, 2),
    }
    if kind in planar:
        row_div, col_div = planar[kind]
        chroma_h, chroma_w = height // row_div, width // col_div
        luma = _plane(buffer, 0, height, width)
        u = _plane(buffer, width * height, chroma_h, chroma_w)
        v = _plane(buffer, width * height + chroma_h * chroma_w, chroma_h, chroma_w)
        return _yuv_to_rgb(
            luma, _upsample(u, height, width), _upsample(v, height, width), full_range=full_range
        )
    raise ImageDecodeError(f"pixel format {kind} is not supported by the viewer")


def _plane(buffer: npt.NDArray[np.uint8], offset: int, rows: int, columns: int) -> npt.NDArray[np.uint8]:
    end = offset + rows * columns
    if buffer.size < end:
        raise ImageDecodeError(f"image buffer of {buffer.size} bytes ends before byte {end}")
    return buffer[offset:end].reshape(rows, columns)


def _upsample(plane: npt.NDArray[np.uint8], height: int, width: int) -> npt.NDArray[np.uint8]:
    rows = np.repeat(plane, max(1, height // plane.shape[0]), axis=0)
    return np.repeat(rows, max(1, width // plane.shape[1]), axis=1)[:height, :width]


def _expand_luma(luma: npt.NDArray[np.uint8], full_range: bool) -> npt.NDArray[np.uint8]:
    if full_range:
        return np.ascontiguousarray(luma)
    scaled = (luma.astype(np.float32) - 16.0) * (255.0 / 219.0)
    expanded: npt.NDArray[np.uint8] = np.clip(scaled, 0, 255).astype(np.uint8)
    return expanded


def _yuv_to_rgb(
    luma: npt.NDArray[np.uint8], u: npt.NDArray[np.uint8], v: npt.NDArray[np.uint8], *, full_range: bool
) -> npt.NDArray[np.uint8]:
    """BT.601, as Rerun decodes its YUV formats."""
    y = luma.astype(np.float32)
    cb = u.astype(np.float32) - 128.0
    cr = v.astype(np.float32) - 128.0
    if full_range:
        red, green, blue = y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb
    else:
        y = (y - 16.0) * 1.164383
        red, green, blue = y + 1.596027 * cr, y - 0.391762 * cb - 0.812968 * cr, y + 2.017232 * cb
    rgb: npt.NDArray[np.uint8] = np.clip(np.stack([red, green, blue], axis=-1), 0, 255).astype(np.uint8)
    return rgb


def _demosaic(raw: npt.NDArray[np.uint8], red_at: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Each 2x2 tile becomes one colour (red, mean of the greens, blue): coarse but honest."""
    height, width = raw.shape
    tiles = raw[: height - height % 2, : width - width % 2].reshape(height // 2, 2, width // 2, 2)
    red_row, red_col = red_at
    red = tiles[:, red_row, :, red_col].astype(np.float32)
    blue = tiles[:, 1 - red_row, :, 1 - red_col].astype(np.float32)
    green = (tiles[:, red_row, :, 1 - red_col].astype(np.float32) + tiles[:, 1 - red_row, :, red_col]) / 2
    rgb = np.stack([red, green, blue], axis=-1).astype(np.uint8)
    full = np.repeat(np.repeat(rgb, 2, axis=0), 2, axis=1)
    out = np.zeros((height, width, 3), dtype=np.uint8)
    out[: full.shape[0], : full.shape[1]] = full
    return out


def to_rgba8(display: DisplayImage) -> npt.NDArray[np.uint8]:
    """A decoded image as ``(H, W, 4)`` RGBA bytes over its display range (what a GL texture takes)."""
    pixels = np.asarray(display.pixels)
    low, high = display.levels
    if pixels.dtype != np.uint8 or (low, high) != (0.0, 255.0):
        scale = 255.0 / (high - low) if high > low else 0.0
        pixels = np.clip((pixels.astype(np.float32) - low) * scale, 0, 255).astype(np.uint8)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    if pixels.shape[2] == 3:
        alpha = np.full((*pixels.shape[:2], 1), 255, dtype=np.uint8)
        pixels = np.concatenate([pixels, alpha], axis=2)
    return np.ascontiguousarray(pixels[..., :4])
