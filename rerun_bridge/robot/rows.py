"""The rows that draw a robot model: each visual a static ``Mesh3D`` on its link's frame, each joint a
``Transform3D`` from its child link's frame to its parent's (static for fixed joints).

Entities, below the description's entity (``/robot_description``): ``links/<link>/visual_<i>`` and
``joints/<joint>``, one entity per joint so that each keeps its own latest transform.
"""

from __future__ import annotations

import functools
from collections.abc import Collection

import numpy as np

from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.rows import Batch, Row
from rerun_bridge.robot.description import RobotDescription, VisualShape
from rerun_bridge.robot.kinematics import JointModel, Pose


@functools.lru_cache(maxsize=4096)
def sub_path(entity_path: str, *parts: str) -> str:
    """Cached: every joint state asks for the same joint entities."""
    return str(EntityPath.parse(entity_path).join(*parts))


def visual_entity(entity_path: str, shape: VisualShape) -> str:
    return sub_path(entity_path, "links", shape.link, f"visual_{shape.index}")


def joint_entity(entity_path: str, joint: str) -> str:
    return sub_path(entity_path, "joints", joint)


def visual_rows(entity_path: str, shape: VisualShape) -> list[Row]:
    """A visual's mesh and the frame that places it, both static (a robot's shape does not change)."""
    path = visual_entity(entity_path, shape)
    geometry = shape.geometry
    components: dict[str, Batch] = {
        "vertex_positions": geometry.positions,
        "triangle_indices": geometry.triangles,
        "vertex_normals": geometry.normals,
    }
    if geometry.vertex_colors is not None:
        components["vertex_colors"] = geometry.vertex_colors
    else:
        components["albedo_factor"] = shape.color.reshape(1, 4)
    return [
        Row(path, "Mesh3D", components, static=True),
        Row(path, "CoordinateFrame", {"frame": [shape.link]}, static=True),
    ]


def joint_row(entity_path: str, joint: JointModel, pose: Pose, static: bool) -> Row:
    """The joint's transform (child link -> parent link) as a Rerun named-frame edge."""
    translation, rotation = pose
    components: dict[str, Batch] = {
        "translation": np.array([translation], dtype=np.float64),
        "quaternion": np.array([rotation], dtype=np.float64),
        "parent_frame": [joint.parent],
        "child_frame": [joint.child],
    }
    return Row(joint_entity(entity_path, joint.name), "Transform3D", components, static=static)


def description_rows(
    entity_path: str, description: RobotDescription, tf_children: Collection[str] = (), fixed: bool = True
) -> list[Row]:
    """Every visual, and (``fixed``) every fixed joint's transform whose child link TF does not carry
    (movable joints wait for joint states or TF): two entities giving one frame its parent is an error
    in Rerun's viewer."""
    rows = [row for shape in description.visuals for row in visual_rows(entity_path, shape)]
    if fixed:
        rows += fixed_joint_rows(entity_path, description, tf_children)
    return rows


def fixed_joint_rows(
    entity_path: str, description: RobotDescription, tf_children: Collection[str]
) -> list[Row]:
    """The static transforms of the fixed joints whose child link TF does not carry."""
    return [
        joint_row(entity_path, joint, joint.origin, static=True)
        for joint in description.joints.values()
        if joint.kind == "fixed" and joint.child not in tf_children
    ]
