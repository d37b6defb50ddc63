"""stereo_msgs: a ``DisparityImage`` as the metric depth it stands for."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert.common import header_frame, with_frame
from rerun_bridge.convert.image_encoding import DecodedImage, decode_image_msg
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.convert.sensor_msgs import image_plane_frame, image_row
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Row


def convert_disparity_image(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``DepthImage`` (float32, ``meter`` 1) of depth = f * T / d on the camera's image plane, with the
    focal length ``f`` (pixels), baseline ``t`` (metres) and ``delta_d`` as extra columns.

    Disparities that are not finite, not positive or below ``min_disparity`` (how stereo matchers mark
    pixels without a match) become depth 0, which Rerun draws as "no depth". Only single-channel float
    disparity (32FC1, as the message requires) is accepted: anything else is a ConversionError.
    """
    decoded = decode_image_msg(msg.image)
    disparity = decoded.pixels
    if disparity.dtype != np.float32 or disparity.ndim != 2:
        raise ConversionError(f"DisparityImage encoding {msg.image.encoding!r} is not 32FC1")
    focal, baseline = float(msg.f), float(msg.t)
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = np.isfinite(disparity) & (disparity > 0) & (disparity >= float(msg.min_disparity))
        depth = np.where(valid, np.float32(focal * baseline) / disparity, np.float32(0.0)).astype(np.float32)
    image = DecodedImage(
        "DepthImage", depth, decoded.width, decoded.height, channel_datatype="F32", meter=1.0
    )
    row = image_row(ctx.entity_path, image)
    row.extra = {
        "f": np.array([focal], dtype=np.float32),
        "t": np.array([baseline], dtype=np.float32),
        "delta_d": np.array([float(msg.delta_d)], dtype=np.float32),
    }
    frame = header_frame(msg) or header_frame(msg.image)
    return with_frame([row], ctx.entity_path, image_plane_frame(frame))


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("stereo_msgs/msg/DisparityImage", convert_disparity_image, ("DepthImage", "CoordinateFrame")),
)
