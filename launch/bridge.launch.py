"""Start the bridge beside a robot stack: ``ros2 launch rerun_bridge bridge.launch.py [name:=value ...]``.

Arguments: config_file, rrd_path, mcap_path, blueprint, viewer, duration, serve, token, connect, summary,
use_sim_time, node_name, namespace; each converted to its parameter's type (``duration:=4`` is 4.0 s).
Thin on purpose: it starts ``bridge_node``, the node ``rerun-bridge run`` starts.
"""

from rerun_bridge.launch_support import bridge_launch_description


def generate_launch_description():  # type: ignore[no-untyped-def]
    return bridge_launch_description(defaults={})
