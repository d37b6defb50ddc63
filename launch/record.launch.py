"""Headless recording on a robot: ``ros2 launch rerun_bridge record.launch.py [rrd_path:=P] [mcap_path:=P]``.

Both files on by default, named by the start time; the viewer stays off (``viewer:=`` is an error here:
use bridge.launch.py to choose it). For watching from a laptop (docs/laptop-viewing.md): ``serve:=HOST:PORT``
and ``token:=T`` serve the network stream, ``connect:=rerun+http://LAPTOP:9876/proxy`` sends to a Rerun
viewer, ``summary:=true`` sends both the split-mode summary.
"""

from rerun_bridge.launch_support import bridge_launch_description


def generate_launch_description():  # type: ignore[no-untyped-def]
    return bridge_launch_description(
        defaults={"rrd_path": "recording_%Y%m%d_%H%M%S.rrd", "mcap_path": "recording_%Y%m%d_%H%M%S.mcap"},
        fixed={"viewer": False},
    )
