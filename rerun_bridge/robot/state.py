"""The robot model one pipeline knows, shared by the converters of several topics.

The URDF arrives on one topic (``/robot_description``) or from the config's file; joint states arrive on
another. A :class:`RobotModelState` (one per pipeline, through
:class:`~rerun_bridge.convert.registry.SharedState`) keeps the last description, so that the joint-state
converter can turn joint values into joint transforms, as robot_state_publisher does, for every movable
joint whose child link TF does not carry.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.model.rows import ColumnBatch, ColumnRows, Cycled, Row
from rerun_bridge.robot.description import DescriptionError, RobotDescription, parse_description
from rerun_bridge.robot.kinematics import joint_columns, joint_values
from rerun_bridge.robot.rows import description_rows, fixed_joint_rows, joint_entity, joint_row
from rerun_bridge.robot.uris import MeshRoots

#: Where a robot model from a file is drawn (the same entity as the usual topic's).
DEFAULT_ENTITY: Final = "/robot_description"


class RobotModelState:
    """The last robot description seen, where its rows went, and the mesh roots it may read."""

    def __init__(self) -> None:
        self.roots = MeshRoots()
        self.description: RobotDescription | None = None
        self.entity_path = DEFAULT_ENTITY
        #: Mesh problems reported so far (each said once, however often the description is re-sent).
        self.problems: set[str] = set()
        #: Where fixed joints wait for the stream's end (:meth:`at_stream_end`): the description's topic,
        #: and the links TF carried (the pipeline's set, filled as TF arrives). None: written at once.
        self._deferred: tuple[str, Collection[str]] | None = None
        #: The URDF file given (``--urdf``, ``robot_model.urdf_file``) when it loaded: it draws the robot,
        #: and a description on a topic is not drawn over it (said once, naming the file).
        self.file: Path | None = None

    def load(
        self,
        text: str,
        source: str,
        entity_path: str,
        warn: Callable[[str], None],
        base_dir: Path | None = None,
        tf_children: Collection[str] = (),
        defer_fixed_to: str | None = None,
    ) -> list[Row]:
        """Parse a URDF and return the rows that draw it (``tf_children``: the links TF carries, whose
        joints are left to it); :class:`DescriptionError` when it is none.

        ``defer_fixed_to``: where the whole stream is converted (a file), the fixed joints wait for its end
        and are written (under that topic) only where TF never carried their child links: written with
        the description, a joint that /tf_static carries later (robot_state_publisher puts every fixed
        joint there) gave the link a second parent, an error in Rerun's viewer, static rows being for all
        times."""
        description = parse_description(text, self.roots, base_dir)
        for problem in description.problems:
            message = f"robot model from {source}: {problem}"
            if message not in self.problems:
                self.problems.add(message)
                warn(message)
        self.description, self.entity_path = description, entity_path
        self._deferred = (defer_fixed_to, tf_children) if defer_fixed_to is not None else None
        return description_rows(entity_path, description, tf_children, fixed=defer_fixed_to is None)

    def due_everywhere(self, now: Mapping[str, int]) -> dict[str, list[Row]]:
        """Nothing is due before the stream ends (:class:`~rerun_bridge.convert.registry.PendingRows`)."""
        return {}

    def at_stream_end(self) -> dict[str, list[Row]]:
        """The fixed joints that waited for the stream's end, whose child links TF never carried."""
        if self._deferred is None or self.description is None:
            return {}
        topic, tf_children = self._deferred
        self._deferred = None
        rows = fixed_joint_rows(self.entity_path, self.description, tf_children)
        return {topic: rows} if rows else {}

    def at_topic_end(self, topic: str) -> list[Row]:
        """Nothing: the fixed joints wait for TF of the whole stream, whichever topic ends."""
        return []

    def load_file(
        self,
        path: Path,
        warn: Callable[[str], None],
        tf_children: Collection[str] = (),
        defer_fixed: bool = False,
    ) -> list[Row]:
        """The robot model of a URDF file (the config's ``robot_model.urdf_file``); a file that cannot be
        read or parsed is one warning naming it, and no rows. ``defer_fixed``: see :meth:`load`."""
        try:
            text = path.read_text(encoding="utf-8")
            rows = self.load(
                text,
                f"file {path}",
                DEFAULT_ENTITY,
                warn,
                base_dir=path.resolve().parent,
                tf_children=tf_children,
                defer_fixed_to=DEFAULT_ENTITY if defer_fixed else None,
            )
            self.file = path
            return rows
        except (OSError, UnicodeDecodeError, DescriptionError) as err:
            warn(f"robot model file {path}: {err}")
            return []

    def joint_rows(
        self, names: Sequence[str], positions: npt.NDArray[np.float64], tf_children: Collection[str]
    ) -> list[Row]:
        """Transforms of the movable joints a joint state gives values for (mimic joints included),
        except those whose child link TF carries (robot_state_publisher's own output wins)."""
        description = self.description
        if description is None or len(positions) != len(names):
            return []
        values = joint_values(description.joints, list(names), positions)
        return [
            joint_row(self.entity_path, joint, joint.pose(values[joint.name]), static=False)
            for joint in description.movable_joints
            if joint.name in values and joint.child not in tf_children
        ]

    def joint_column_rows(
        self,
        names: list[str],
        positions: npt.NDArray[np.float64],
        times: Mapping[str, npt.NDArray[np.int64]],
        tf_children: Collection[str],
    ) -> list[ColumnRows] | None:
        """:meth:`joint_rows` for a batch of joint states of the same names, ``positions`` (N, joints);
        None when a value is not finite (those messages then go one by one, each keeping what it has)."""
        description = self.description
        if description is None or positions.shape[1] != len(names):
            return []
        if not np.all(np.isfinite(positions)):
            return None
        columns = joint_columns(description.joints, names, positions)
        count = len(positions)
        rows = []
        for joint in description.movable_joints:
            if joint.name not in columns or joint.child in tf_children:
                continue
            translations, quaternions = joint.poses(columns[joint.name])
            components: dict[str, ColumnBatch] = {
                "translation": translations.reshape(count, 1, 3),
                "quaternion": quaternions.reshape(count, 1, 4),
                "parent_frame": Cycled([[joint.parent]], count),
                "child_frame": Cycled([[joint.child]], count),
            }
            rows.append(
                ColumnRows(joint_entity(self.entity_path, joint.name), "Transform3D", times, components)
            )
        return rows
