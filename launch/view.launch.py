"""The bridge with its embedded viewer: ``ros2 launch rerun_bridge view.launch.py blueprint:=navigation``."""

from rerun_bridge.launch_support import bridge_launch_description


def generate_launch_description():  # type: ignore[no-untyped-def]
    return bridge_launch_description(defaults={}, fixed={"viewer": True})
