"""What the launch files share: one node, the executable ``bridge_node``, parameters as arguments.

Imported only by ``launch/*.launch.py`` on a machine with ROS 2's launch installed. The node's parameter
names and descriptions come from :data:`rerun_bridge.parameters.PARAMETERS`, so the two cannot drift apart.

Launch arguments are text (``duration:=4``); launch_ros would hand them to the node typed the YAML way
(``4`` an integer where the node declares a double). So the node is made in an OpaqueFunction that
converts every argument to its parameter's declared type first, and a value that cannot be converted
stops the launch with one error naming the argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rerun_bridge.parameters import PARAMETERS, ParameterTypeError, ParameterValue, typed_value

#: Launch arguments that are ROS's own parameters, with their (typed) defaults.
ROS_ARGUMENTS: dict[str, tuple[ParameterValue, str]] = {
    "use_sim_time": (False, "take time from /clock"),
}

#: Launch arguments that are not parameters: where the node lives in the ROS graph.
NODE_ARGUMENTS: dict[str, tuple[str, str]] = {
    "node_name": ("rerun_bridge", "the node's name"),
    "namespace": ("", "the node's namespace (empty: the root, or the namespace an including file pushed)"),
}


class FixedArgumentError(ParameterTypeError):
    """A launch argument given for a parameter that this launch file fixes."""


def _launch_text(default: ParameterValue) -> str:
    # How a typed default reads as a launch argument (False -> "false", as users type it).
    return str(default).lower() if isinstance(default, bool) else str(default)


def bridge_launch_description(
    defaults: Mapping[str, str], fixed: Mapping[str, ParameterValue] | None = None
) -> Any:
    """A LaunchDescription that declares every bridge parameter as an argument (``defaults`` override the
    node's defaults), except the parameters in ``fixed``, which this launch file sets itself (typed
    values). Giving a fixed parameter as an argument is an error, never silently ignored."""
    from launch import LaunchDescription  # type: ignore[attr-defined, unused-ignore]
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    fixed = dict(fixed or {})
    unknown = set(defaults) - set(PARAMETERS) - set(ROS_ARGUMENTS) - set(NODE_ARGUMENTS)
    if unknown or set(fixed) - set(PARAMETERS):
        raise ValueError(f"not bridge parameters: {sorted(unknown | (set(fixed) - set(PARAMETERS)))}")
    offered: dict[str, tuple[ParameterValue, str]] = {
        **{name: spec for name, spec in PARAMETERS.items() if name not in fixed},
        **ROS_ARGUMENTS,
        **NODE_ARGUMENTS,
    }
    arguments = [
        DeclareLaunchArgument(name, default_value=defaults.get(name, _launch_text(default)), description=text)
        for name, (default, text) in offered.items()
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_bridge_node, args=[fixed])])


def typed_parameters(
    arguments: Mapping[str, str], fixed: Mapping[str, ParameterValue]
) -> dict[str, ParameterValue]:
    """The node's parameters from launch arguments as text: each converted to its declared type, the
    fixed ones as given. Raises ParameterTypeError naming the first argument that does not convert, and
    FixedArgumentError for an argument this launch file does not offer."""
    for name in fixed:
        if name in arguments:
            raise FixedArgumentError(
                f"launch argument '{name}' is not offered by this launch file: it always runs with "
                f"{name}:={_launch_text(fixed[name])} (use bridge.launch.py to choose {name})"
            )
    parameters: dict[str, ParameterValue] = dict(fixed)
    for name, (default, _text) in {**PARAMETERS, **ROS_ARGUMENTS}.items():
        if name not in fixed:
            parameters[name] = typed_value(name, arguments[name], default, kind="launch argument")
    return parameters


def _bridge_node(context: Any, fixed: Mapping[str, ParameterValue]) -> list[Any]:
    from launch_ros.actions import Node

    arguments = dict(context.launch_configurations)
    return [
        Node(
            package="rerun_bridge",
            executable="bridge_node",
            name=arguments["node_name"],
            # None, not "": the node then takes the namespace an including launch file pushed.
            namespace=arguments["namespace"] or None,
            parameters=[typed_parameters(arguments, fixed)],
            output="screen",
        )
    ]
