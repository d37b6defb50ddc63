"""Start the bridge beside a robot stack: ``ros2 launch rerun_bridge bridge.launch.py [name:=value ...]``.

Arguments: config_file, rrd_path, mcap_path, blueprint, viewer, duration, use_sim_time. Thin on purpose:
it starts the executable ``rerun-bridge run`` starts, so everything behind it is tested without launch.
"""

from rerun_bridge.launch_support import bridge_launch_description


def generate_launch_description():  # type: ignore[no-untyped-def]
    return bridge_launch_description(defaults={})
