"""Which ROS 2 the live node runs on, checked before the node imports rclpy's newer modules.

The node needs rclpy's EventsExecutor (``rclpy.experimental.events_executor``, Jazzy's rclpy 7.1.4 and
newer) and the QoS event API of ``rclpy.event_handler`` (Iron and newer). Humble has neither (and Python
3.10, where rerun-sdk 0.41 does not install): on Humble, record with ``ros2 bag record`` and convert the
bag (``rerun-bridge convert``), or record live on Jazzy or newer. See docs/ros.md.
``bridge_node`` (the executable for ``ros2 run`` and the launch files) starts here.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable

#: The rclpy modules the node imports that not every distro has, and the distro that brought each.
REQUIRED_RCLPY_MODULES = {
    "rclpy.experimental.events_executor": "Jazzy",
    "rclpy.event_handler": "Iron",
}

SUPPORTED_DISTROS = "Jazzy and Kilted"


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a parent package is missing or fails to import
        return False


def unsupported_rclpy_reason(module_exists: Callable[[str], bool] = _module_exists) -> str | None:
    """Why the live node cannot run on this machine's rclpy, in one message; None when it can."""
    if not module_exists("rclpy"):
        return (
            "rclpy not found: source a ROS 2 install first (source /opt/ros/jazzy/setup.bash), "
            f"the live node supports {SUPPORTED_DISTROS}"
        )
    missing = [name for name in REQUIRED_RCLPY_MODULES if not module_exists(name)]
    if not missing:
        return None
    needs = ", ".join(f"{name} ({REQUIRED_RCLPY_MODULES[name]} or newer)" for name in missing)
    return (
        f"this rclpy lacks {needs}: the live node supports ROS 2 {SUPPORTED_DISTROS} (Humble is not "
        "supported). On Humble, record with `ros2 bag record` and convert the bag with "
        "`rerun-bridge convert BAG -o run.rrd`, or run the bridge on a Jazzy machine"
    )


def run_node(argv: list[str] | None = None) -> int:
    """Start the live node, or print why it cannot run here (exit code 2) instead of a traceback."""
    reason = unsupported_rclpy_reason()
    if reason is not None:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    from rerun_bridge.node import main

    return main(argv)


def bridge_node_main() -> int:
    """``bridge_node`` (``ros2 run rerun_bridge bridge_node``): ``rerun-bridge run`` named the ROS way."""
    return run_node(sys.argv[1:])
