"""tf2_msgs: every TF edge becomes a ``Transform3D`` between Rerun named frames.

Dynamic edges (``/tf``) are rows on the topic's entity, one per transform, each at its own header stamp, as
Rerun's own importer logs them. Static edges (``/tf_static``) are static rows on one entity per child frame,
``/tf_static/<child>``, because static data keeps only the last row of an entity.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.common import sub_path
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.errors import ConversionError, PartialConversionError
from rerun_bridge.model.rows import Batch, ColumnBatch, ColumnRows, Cycled, Row
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME, stamp_to_ns

#: How far a quaternion's norm may be from 1 before tf2 ignores the transform (BufferCore::setTransform).
QUATERNION_NORM_TOLERANCE: Final = 0.01


def transform_row(transform: Any, entity_path: str, static: bool) -> Row:
    """One ``geometry_msgs/TransformStamped`` as a Transform3D row from child to parent frame; a transform
    tf2 ignores (an empty frame id, a frame its own parent, a value that is not a number, a quaternion far
    from unit length) is a ConversionError naming it (they were written as they were: audit)."""
    parent = str(transform.header.frame_id).lstrip("/")
    child = str(transform.child_frame_id).lstrip("/")
    if not parent or not child:
        raise ConversionError(f"transform with an empty frame id (parent {parent!r}, child {child!r})")
    # One (1, 3) / (1, 4) array each, built directly: TF is the commonest row of a recording.
    translation, rotation = transform.transform.translation, transform.transform.rotation
    offset = np.array([[translation.x, translation.y, translation.z]], dtype=np.float64)
    quaternion = np.array([[rotation.x, rotation.y, rotation.z, rotation.w]], dtype=np.float64)
    components: dict[str, Batch] = {
        "translation": offset,
        "quaternion": quaternion,
        "parent_frame": [parent],
        "child_frame": [child],
    }
    problem = edge_problem(parent, child, offset, quaternion)
    if problem:
        raise ConversionError(f"transform {parent} -> {child} {problem}: ignored, as tf2 ignores it")
    if static:
        return Row(sub_path(entity_path, child), "Transform3D", components, static=True)
    return Row(entity_path, "Transform3D", components, times={ROS_TIME: stamp_to_ns(transform.header.stamp)})


def _not_finite(translation: np.ndarray, quaternion: np.ndarray) -> bool:
    """Whether any edge holds a value that is not a number (tf2 ignores it)."""
    return not (np.isfinite(translation).all() and np.isfinite(quaternion).all())


def _off_unit(quaternion: np.ndarray) -> bool:
    """Whether any edge's rotation quaternion (along the last axis) is too far from unit length for tf2."""
    return bool((np.abs(np.linalg.norm(quaternion, axis=-1) - 1.0) > QUATERNION_NORM_TOLERANCE).any())


def edge_problem(parent: str, child: str, translation: np.ndarray, quaternion: np.ndarray) -> str:
    """Why tf2 would ignore an edge ("" when it takes it)."""
    if parent == child:
        return "has its frame as its own parent"
    if _not_finite(translation, quaternion):
        return "holds a value that is not a number"
    if _off_unit(quaternion):
        return f"has a rotation quaternion of norm {float(np.linalg.norm(quaternion)):.3g}, not 1"
    return ""


def convert_tf_message(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Every transform's row; one tf2 would ignore is left out and the message counts one error naming
    it, the others written (one bad edge lost the whole message's)."""
    rows: list[Row] = []
    problems: list[str] = []
    for transform in msg.transforms:
        try:
            rows.append(transform_row(transform, ctx.entity_path, ctx.static))
        except ConversionError as err:
            problems.append(str(err))
    # The robot model leaves the joints whose child link TF carries to TF (robot_state_publisher's output).
    ctx.shared.tf_children.update(row.components["child_frame"][0] for row in rows)
    if problems and rows:
        raise PartialConversionError("; ".join(problems), rows)
    if problems:
        raise ConversionError("; ".join(problems))
    return rows


def tf_message_columns(msgs: MessageColumns, ctx: ConvertContext) -> list[ColumnRows] | None:
    """:func:`convert_tf_message` for a batch of ``/tf`` messages: their transforms, message after
    message; declined for static TF (one entity per child) and for empty frame ids (an error per message)."""
    edges = msgs.length("transforms")
    if ctx.static:
        return None
    parents, children = [], []
    for index in range(edges):
        parent = msgs.frame(f"transforms[{index}].header")
        child = msgs.string(f"transforms[{index}].child_frame_id").lstrip("/")
        if not parent or not child:
            return None
        parents.append([parent])
        children.append([child])
    if edges == 0:
        return []
    ctx.shared.tf_children.update(child[0] for child in children)
    count = len(msgs)
    translation = np.stack(
        [
            msgs.floats(*(f"transforms[{i}].transform.translation.{axis}" for axis in "xyz"))
            for i in range(edges)
        ],
        axis=1,
    )
    quaternion = np.stack(
        [
            msgs.floats(*(f"transforms[{i}].transform.rotation.{axis}" for axis in "xyzw"))
            for i in range(edges)
        ],
        axis=1,
    )
    if (
        any(parent == child for parent, child in zip(parents, children, strict=True))
        or _not_finite(translation, quaternion)
        or _off_unit(quaternion)
    ):
        return None  # edges tf2 ignores (edge_problem's rules): message by message, each an error of its own
    stamps = np.stack([msgs.stamps(f"transforms[{i}].header.stamp") for i in range(edges)], axis=1)
    log_times = np.repeat(msgs.log_times, edges)
    edge_stamps = stamps.reshape(-1)
    # An edge stamped 0 (never set) sits at its receive time, as the pipeline places one-by-one messages.
    times = {LOG_TIME: log_times, ROS_TIME: np.where(edge_stamps == 0, log_times, edge_stamps)}
    components: dict[str, ColumnBatch] = {
        "translation": translation.reshape(count * edges, 1, 3),
        "quaternion": quaternion.reshape(count * edges, 1, 4),
        "parent_frame": Cycled(parents, count * edges),
        "child_frame": Cycled(children, count * edges),
    }
    return [ColumnRows(ctx.entity_path, "Transform3D", times, components)]


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("tf2_msgs/msg/TFMessage", convert_tf_message, ("Transform3D",), columns=tf_message_columns),
)
