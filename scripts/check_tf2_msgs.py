"""Check that tf2_msgs works in this Python: one TFMessage goes from a publisher process to this one.

Run with the venv's python after scripts/build_ros_interfaces.sh. This process subscribes; a child
process (same python) publishes over Fast DDS on a random ROS_DOMAIN_ID. Prints OK and exits 0 when a
TFMessage with the two expected transforms arrives, else exits 1 with a message, within 20 s.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time

TOPIC = "/check_tf2_msgs"
TIMEOUT_S = 20.0
FRAMES = (("world", "base_link", 1.5), ("base_link", "camera", -0.25))

PUBLISHER = f"""
import time
import rclpy
from geometry_msgs.msg import TransformStamped
from tf2_msgs.msg import TFMessage

rclpy.init()
node = rclpy.create_node("check_tf2_msgs_pub")
pub = node.create_publisher(TFMessage, {TOPIC!r}, 10)
msg = TFMessage()
for parent, child, x in {FRAMES!r}:
    t = TransformStamped()
    t.header.frame_id = parent
    t.header.stamp.sec = 42
    t.child_frame_id = child
    t.transform.translation.x = x
    t.transform.rotation.w = 1.0
    msg.transforms.append(t)
deadline = time.monotonic() + {TIMEOUT_S}
while time.monotonic() < deadline:  # until the parent kills us: discovery takes a moment
    pub.publish(msg)
    time.sleep(0.1)
"""


def fail(message: str) -> int:
    print(f"check_tf2_msgs: FAIL: {message}", file=sys.stderr)
    return 1


_children: list[subprocess.Popen[str]] = []


def watchdog() -> None:
    # Hard limit, even if a ROS call blocks: report, stop the publisher and leave.
    for child in _children:
        child.kill()
    print(f"check_tf2_msgs: FAIL: no result within {TIMEOUT_S:.0f} s", file=sys.stderr, flush=True)
    os._exit(1)


def main() -> int:
    start = time.monotonic()
    timer = threading.Timer(TIMEOUT_S, watchdog)
    timer.daemon = True
    timer.start()
    os.environ["ROS_DOMAIN_ID"] = str(random.randint(1, 200))
    os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    try:
        import rclpy
        from tf2_msgs.msg import TFMessage
    except ImportError as exc:
        return fail(f"cannot import rclpy / tf2_msgs in {sys.executable}: {exc}")

    received: list[TFMessage] = []
    rclpy.init()
    node = rclpy.create_node("check_tf2_msgs_sub")
    node.create_subscription(TFMessage, TOPIC, received.append, 10)
    # Same python and environment (so the same venv and ROS_DOMAIN_ID) for the publisher.
    pub = subprocess.Popen([sys.executable, "-c", PUBLISHER], stderr=subprocess.PIPE, text=True)
    _children.append(pub)
    try:
        while not received and time.monotonic() - start < TIMEOUT_S - 1.0:
            if pub.poll() is not None:
                err = pub.stderr.read() if pub.stderr else ""
                return fail(f"publisher exited with code {pub.returncode}:\n{err}")
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        pub.kill()
        pub.wait()
        node.destroy_node()
        rclpy.shutdown()

    if not received:
        return fail(
            f"no TFMessage received on {TOPIC} within {TIMEOUT_S:.0f} s "
            f"(ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']})"
        )
    got = [(t.header.frame_id, t.child_frame_id, t.transform.translation.x) for t in received[0].transforms]
    if got != [tuple(f) for f in FRAMES]:
        return fail(f"unexpected transforms: {got}")
    print(
        f"OK: TFMessage with {len(got)} transforms received over Fast DDS "
        f"(ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}, {time.monotonic() - start:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
