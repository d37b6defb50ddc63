"""What the launch files share: one node, the executable ``rerun-bridge run``, parameters as arguments.

Imported only by ``launch/*.launch.py`` on a machine with ROS 2's launch installed. The node's parameter
names and descriptions come from :data:`rerun_bridge.node.PARAMETERS`, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Launch arguments that are not bridge parameters but ROS's own.
ROS_ARGUMENTS = {"use_sim_time": ("false", "take time from /clock")}


def bridge_launch_description(defaults: Mapping[str, str], fixed: Mapping[str, str] | None = None) -> Any:
    """A LaunchDescription declaring every bridge parameter as an argument (``defaults`` override the
    node's defaults), plus parameters fixed by the launch file itself (not arguments)."""
    from launch import LaunchDescription  # type: ignore[attr-defined, unused-ignore]
    from launch.actions import DeclareLaunchArgument
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from rerun_bridge.node import PARAMETERS

    described = {name: (str(default), text) for name, (default, text) in PARAMETERS.items()}
    described.update(ROS_ARGUMENTS)
    arguments = [
        DeclareLaunchArgument(name, default_value=defaults.get(name, default), description=text)
        for name, (default, text) in described.items()
    ]
    parameters: dict[str, Any] = {name: LaunchConfiguration(name) for name in described}
    parameters.update(fixed or {})
    node = Node(
        package="rerun_bridge",
        executable="rerun-bridge",
        name="rerun_bridge",
        arguments=["run"],
        parameters=[parameters],
        output="screen",
    )
    return LaunchDescription([*arguments, node])
