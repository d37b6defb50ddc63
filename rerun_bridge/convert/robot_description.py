"""The robot description: a URDF in a ``std_msgs/String`` drawn as the robot model (docs/robot-model.md).

A String is a robot description when its topic is named ``robot_description`` (any namespace), or when its
text starts like XML and parses as a URDF with links. On a ``robot_description`` topic a text that is no
URDF is an error of that message; elsewhere XML that is no URDF (an SRDF, a launch file) stays text.
"""

from __future__ import annotations

from typing import Any, Final

from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Row
from rerun_bridge.robot.description import DescriptionError
from rerun_bridge.robot.state import RobotModelState

DESCRIPTION_TOPIC_NAME: Final = "robot_description"
_XML_STARTS: Final = ("<?xml", "<robot")
#: Archetypes a robot description becomes.
ARCHETYPES: Final = ("Mesh3D", "CoordinateFrame", "Transform3D")


def is_description_topic(topic: str) -> bool:
    return topic.rsplit("/", 1)[-1] == DESCRIPTION_TOPIC_NAME


def convert_robot_description(msg: Any, ctx: ConvertContext) -> list[Row] | None:
    """The rows of the robot model, or None when this String is no robot description (plain text)."""
    text = str(msg.data)
    by_topic = is_description_topic(ctx.topic)
    if not by_topic and not text.lstrip()[:16].startswith(_XML_STARTS):
        return None
    model = ctx.shared.get(RobotModelState)
    if model.file is not None:
        # The file the user gave wins (found by an audit: the topic's description was drawn over it,
        # so a file meant to replace a stale description did nothing, and its warnings misled).
        note = f"topic {ctx.topic}: its robot description is not drawn: the file {model.file} draws the robot"
        if note not in model.problems:
            model.problems.add(note)
            ctx.shared.warn(note)
        return []
    try:
        return model.load(
            text,
            f"topic {ctx.topic}",
            ctx.entity_path,
            ctx.shared.warn,
            tf_children=ctx.shared.tf_children,
            defer_fixed_to=ctx.topic if ctx.shared.whole_history else None,
        )
    except DescriptionError as err:
        if by_topic:
            raise ConversionError(f"robot description is no URDF: {err}") from err
        return None
