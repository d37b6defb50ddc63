"""vision_msgs: 2D and 3D detections as boxes labelled with their best hypothesis.

rosbags has no typestore for vision_msgs, so these convert when the recording carries the definitions
(MCAP schemas, newer sqlite3 bags) or ``--msg-path`` supplies them (docs/custom-types.md). The layout is
vision_msgs 3 and later (ROS 2 Humble on): ``results[].hypothesis.class_id`` (a string) and ``score``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np

from rerun_bridge.convert.common import header_frame, quat_xyzw, vec3, with_frame
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.convert.sensor_msgs import image_plane_frame
from rerun_bridge.errors import PartialConversionError
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


def best_scores(detections: list[Any]) -> Any:
    """Each detection's best score (NaN without a hypothesis)."""
    scores = [
        max((float(result.hypothesis.score) for result in d.results), default=float("nan"))
        for d in detections
    ]
    return np.array(scores, dtype=np.float64)


def boxes_2d(bboxes: list[Any]) -> tuple[dict[str, Batch], dict[str, Batch]]:
    """``BoundingBox2D`` list -> ``Boxes2D`` components (``centers``, ``half_sizes`` in pixels) and the
    rotation ``theta`` as an extra column (Boxes2D cannot draw it)."""
    centers = np.array([[b.center.position.x, b.center.position.y] for b in bboxes], dtype=np.float32)
    half_sizes = np.array([[b.size_x / 2.0, b.size_y / 2.0] for b in bboxes], dtype=np.float32)
    components: dict[str, Batch] = {
        "centers": centers.reshape(-1, 2),
        "half_sizes": half_sizes.reshape(-1, 2),
    }
    theta = np.array([float(b.center.theta) for b in bboxes], dtype=np.float32)
    return components, {"theta": theta}


def boxes_3d(bboxes: list[Any]) -> dict[str, Batch]:
    """``BoundingBox3D`` list -> ``Boxes3D`` components (``centers``, ``half_sizes``, ``quaternions``)."""
    return {
        "centers": np.array([vec3(b.center.position) for b in bboxes], dtype=np.float32).reshape(-1, 3),
        "half_sizes": np.array([vec3(b.size) / 2.0 for b in bboxes], dtype=np.float32).reshape(-1, 3),
        "quaternions": np.array([quat_xyzw(b.center.orientation) for b in bboxes], dtype=np.float32).reshape(
            -1, 4
        ),
    }


def hypothesis_columns(detections: list[Any]) -> tuple[list[str], dict[str, Batch]]:
    """The labels and the extra columns (best ``class_id``, ``score``) of detections."""
    labels = [detection_label(d) for d in detections]
    return labels, {"class_id": best_class_ids(detections), "score": best_scores(detections)}


def detections_2d_rows(detections: list[Any], msg: Any, ctx: ConvertContext) -> list[Row]:
    components, extra = boxes_2d([d.bbox for d in detections])
    labels, hypotheses = hypothesis_columns(detections)
    components["labels"] = labels
    rows = [Row(ctx.entity_path, "Boxes2D", components, extra={**hypotheses, **extra})]
    return with_frame(rows, ctx.entity_path, image_plane_frame(header_frame(msg)))


def detections_3d_rows(detections: list[Any], msg: Any, ctx: ConvertContext) -> list[Row]:
    components = boxes_3d([d.bbox for d in detections])
    labels, hypotheses = hypothesis_columns(detections)
    components["labels"] = labels
    rows = [Row(ctx.entity_path, "Boxes3D", components, extra=hypotheses)]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def _size_2d(box: Any) -> list[float]:
    return [float(box.size_x), float(box.size_y)]


def _size_3d(box: Any) -> list[float]:
    return [float(value) for value in vec3(box.size)]


def _well_sized(items: list[Any], size: Callable[[Any], list[float]], what: str) -> tuple[list[Any], str]:
    """The items whose box size is finite and not negative, and what was left out ('' for none): bad
    data, said and counted (an audit found a negative size drawn as a box, its extent turned)."""
    good = [item for item in items if all(np.isfinite(value) and value >= 0 for value in size(item))]
    if len(good) == len(items):
        return items, ""
    return (
        good,
        f"{len(items) - len(good)} of {len(items)} {what} have a negative or non-finite size: left out",
    )


def _checked(rows: list[Row], problem: str) -> list[Row]:
    if problem:
        raise PartialConversionError(problem, rows)
    return rows


def convert_detection_2d_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Boxes2D`` labelled ``class score`` on the camera's image plane (``<frame_id>_image_plane``, where
    its images lie), the best ``class_id`` and ``score`` as extra columns (:func:`boxes_2d`)."""
    detections, problem = _well_sized(list(msg.detections), lambda d: _size_2d(d.bbox), "detections")
    return _checked(detections_2d_rows(detections, msg, ctx), problem)


def convert_detection_2d(msg: Any, ctx: ConvertContext) -> list[Row]:
    """One detection as :func:`convert_detection_2d_array` draws each."""
    detections, problem = _well_sized([msg], lambda d: _size_2d(d.bbox), "detections")
    return _checked(detections_2d_rows(detections, msg, ctx), problem)


def convert_detection_3d_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Boxes3D`` labelled ``class score`` in the header frame, the best ``class_id`` and ``score`` as
    extra columns (:func:`boxes_3d`)."""
    detections, problem = _well_sized(list(msg.detections), lambda d: _size_3d(d.bbox), "detections")
    return _checked(detections_3d_rows(detections, msg, ctx), problem)


def convert_detection_3d(msg: Any, ctx: ConvertContext) -> list[Row]:
    """One detection as :func:`convert_detection_3d_array` draws each."""
    detections, problem = _well_sized([msg], lambda d: _size_3d(d.bbox), "detections")
    return _checked(detections_3d_rows(detections, msg, ctx), problem)


def convert_bounding_box_2d_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Unlabelled ``Boxes2D`` on the image plane of the header's camera (:func:`boxes_2d`)."""
    boxes, problem = _well_sized(list(msg.boxes), _size_2d, "boxes")
    components, extra = boxes_2d(boxes)
    rows = [Row(ctx.entity_path, "Boxes2D", components, extra=extra)]
    return _checked(with_frame(rows, ctx.entity_path, image_plane_frame(header_frame(msg))), problem)


def convert_bounding_box_3d_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Unlabelled ``Boxes3D`` in the header frame (:func:`boxes_3d`)."""
    boxes, problem = _well_sized(list(msg.boxes), _size_3d, "boxes")
    rows = [Row(ctx.entity_path, "Boxes3D", boxes_3d(boxes))]
    return _checked(with_frame(rows, ctx.entity_path, header_frame(msg)), problem)


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("vision_msgs/msg/Detection2DArray", convert_detection_2d_array, ("Boxes2D", "CoordinateFrame")),
    Converter("vision_msgs/msg/Detection2D", convert_detection_2d, ("Boxes2D", "CoordinateFrame")),
    Converter("vision_msgs/msg/Detection3DArray", convert_detection_3d_array, ("Boxes3D", "CoordinateFrame")),
    Converter("vision_msgs/msg/Detection3D", convert_detection_3d, ("Boxes3D", "CoordinateFrame")),
    Converter(
        "vision_msgs/msg/BoundingBox2DArray", convert_bounding_box_2d_array, ("Boxes2D", "CoordinateFrame")
    ),
    Converter(
        "vision_msgs/msg/BoundingBox3DArray", convert_bounding_box_3d_array, ("Boxes3D", "CoordinateFrame")
    ),
)
