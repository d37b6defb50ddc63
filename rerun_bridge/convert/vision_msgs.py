"""vision_msgs: 2D and 3D detections as boxes labelled with their best hypothesis.

rosbags has no typestore for vision_msgs, so these convert when the recording carries the definitions
(MCAP schemas, newer sqlite3 bags) or ``--msg-path`` supplies them (docs/custom-types.md). The layout is
vision_msgs 3 and later (ROS 2 Humble on): ``results[].hypothesis.class_id`` (a string) and ``score``.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert.common import header_frame, quat_xyzw, vec3, with_frame
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.convert.sensor_msgs import image_plane_frame
from rerun_bridge.model.rows import Batch, Row


def detection_label(detection: Any) -> str:
    """``class score`` of the best hypothesis (``person 0.93``), with the tracking ``id`` in front when set;
    the id alone when there is no hypothesis."""
    results = list(detection.results)
    tracking = str(getattr(detection, "id", ""))
    if not results:
        return tracking
    best = max(results, key=lambda result: float(result.hypothesis.score))
    text = f"{best.hypothesis.class_id} {float(best.hypothesis.score):.2f}"
    return f"{tracking}: {text}" if tracking else text


def best_class_ids(detections: list[Any]) -> list[str]:
    """Each detection's best class id ('' without a hypothesis): kept as an extra column to filter on."""
    out = []
    for detection in detections:
        results = list(detection.results)
        best = max(results, key=lambda result: float(result.hypothesis.score)) if results else None
        out.append(str(best.hypothesis.class_id) if best is not None else "")
    return out


def convert_detection_2d_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Boxes2D`` (``centers``, ``half_sizes`` in pixels) labelled ``class score`` on the camera's image
    plane (``<frame_id>_image_plane``, where its images lie), the best ``class_id`` and ``score`` as extra
    columns. A box's rotation (``center.theta``) cannot be drawn by Boxes2D: it is kept as the column
    ``theta``."""
    detections = list(msg.detections)
    centers = np.array(
        [[d.bbox.center.position.x, d.bbox.center.position.y] for d in detections], dtype=np.float32
    ).reshape(-1, 2)
    half_sizes = np.array(
        [[d.bbox.size_x / 2.0, d.bbox.size_y / 2.0] for d in detections], dtype=np.float32
    ).reshape(-1, 2)
    components: dict[str, Batch] = {
        "centers": centers,
        "half_sizes": half_sizes,
        "labels": [detection_label(d) for d in detections],
    }
    extra: dict[str, Batch] = {
        "class_id": best_class_ids(detections),
        "score": best_scores(detections),
        "theta": np.array([float(d.bbox.center.theta) for d in detections], dtype=np.float32),
    }
    rows = [Row(ctx.entity_path, "Boxes2D", components, extra=extra)]
    return with_frame(rows, ctx.entity_path, image_plane_frame(header_frame(msg)))


def best_scores(detections: list[Any]) -> Any:
    scores = [
        max((float(result.hypothesis.score) for result in d.results), default=float("nan"))
        for d in detections
    ]
    return np.array(scores, dtype=np.float64)


def convert_detection_3d_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Boxes3D`` (``centers``, ``half_sizes``, ``quaternions`` from each ``bbox``) labelled ``class
    score`` in the header frame, the best ``class_id`` and ``score`` as extra columns."""
    detections = list(msg.detections)
    centers = np.array([vec3(d.bbox.center.position) for d in detections], dtype=np.float32).reshape(-1, 3)
    half_sizes = np.array([vec3(d.bbox.size) / 2.0 for d in detections], dtype=np.float32).reshape(-1, 3)
    quaternions = np.array(
        [quat_xyzw(d.bbox.center.orientation) for d in detections], dtype=np.float32
    ).reshape(-1, 4)
    components: dict[str, Batch] = {
        "centers": centers,
        "half_sizes": half_sizes,
        "quaternions": quaternions,
        "labels": [detection_label(d) for d in detections],
    }
    extra: dict[str, Batch] = {"class_id": best_class_ids(detections), "score": best_scores(detections)}
    rows = [Row(ctx.entity_path, "Boxes3D", components, extra=extra)]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("vision_msgs/msg/Detection2DArray", convert_detection_2d_array, ("Boxes2D", "CoordinateFrame")),
    Converter("vision_msgs/msg/Detection3DArray", convert_detection_3d_array, ("Boxes3D", "CoordinateFrame")),
)
