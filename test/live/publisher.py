"""A real ROS 2 publisher process for the live tests: publishes known values, then exits.

    python -m test.live.publisher KIND COUNT RATE_HZ [--best-effort] [--delay S] [--sim-time-base S]

Values are a function of the message index so the test can check what the bridge stored.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

BASE_STAMP_S = 1_700_000_000


def stamp(msg: Any, index: int, base_s: int = BASE_STAMP_S) -> None:
    msg.header.stamp.sec = base_s + index
    msg.header.stamp.nanosec = 500_000_000
    msg.header.frame_id = "base_link"


def make_image(index: int) -> Any:
    from sensor_msgs.msg import Image

    msg = Image()
    stamp(msg, index)
    msg.height, msg.width, msg.encoding, msg.step = 4, 6, "rgb8", 18
    msg.data = bytes(((np.arange(72) + index) % 256).astype(np.uint8))
    return msg


def make_camera_frame(index: int) -> Any:
    """A 1280x720 rgb8 frame (2.7 MB): bigger than Fast DDS's default shared-memory segment."""
    from sensor_msgs.msg import Image

    msg = Image()
    stamp(msg, index)
    msg.height, msg.width, msg.encoding, msg.step = 720, 1280, "rgb8", 1280 * 3
    msg.data = bytes(np.full(720 * 1280 * 3, index % 256, dtype=np.uint8))
    return msg


def make_small_frame(index: int) -> Any:
    """A 200x170 rgb8 frame (102 kB): fills a small test file system in a few seconds."""
    from sensor_msgs.msg import Image

    msg = Image()
    stamp(msg, index)
    msg.height, msg.width, msg.encoding, msg.step = 170, 200, "rgb8", 600
    msg.data = bytes(np.full(170 * 600, index % 256, dtype=np.uint8))
    return msg


def make_cloud(index: int) -> Any:
    from sensor_msgs.msg import PointCloud2, PointField

    msg = PointCloud2()
    stamp(msg, index)
    points = np.zeros((5, 3), dtype=np.float32)
    points[:, 0] = np.arange(5) + index
    msg.height, msg.width, msg.point_step, msg.row_step = 1, 5, 12, 60
    msg.fields = [
        PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1) for i, n in enumerate("xyz")
    ]
    msg.is_dense = True
    msg.data = points.tobytes()
    return msg


def make_imu(index: int) -> Any:
    from sensor_msgs.msg import Imu

    msg = Imu()
    stamp(msg, index)
    msg.angular_velocity.x = float(index)
    msg.linear_acceleration.z = 9.81
    msg.orientation.w = 1.0
    return msg


def make_joints(index: int) -> Any:
    from sensor_msgs.msg import JointState

    msg = JointState()
    stamp(msg, index)
    msg.name = ["shoulder", "elbow"]
    msg.position = [float(index), -float(index)]
    return msg


def make_tf(index: int) -> Any:
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage

    transform = TransformStamped()
    transform.header.stamp.sec = BASE_STAMP_S + index
    transform.header.frame_id = "odom"
    transform.child_frame_id = "base_link"
    transform.transform.translation.x = float(index)
    transform.transform.rotation.w = 1.0
    return TFMessage(transforms=[transform])


def make_tf_static(_index: int) -> Any:
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage

    transforms = []
    for child, z in (("camera_link", 0.5), ("lidar_link", 1.0)):
        transform = TransformStamped()
        transform.header.frame_id = "base_link"
        transform.child_frame_id = child
        transform.transform.translation.z = z
        transform.transform.rotation.w = 1.0
        transforms.append(transform)
    return TFMessage(transforms=transforms)


def make_string(index: int) -> Any:
    from std_msgs.msg import String

    return String(data=f"late {index}")


#: A two-joint arm whose joints are those of make_joints; its base mesh comes from the test's mesh root.
ROBOT_URDF = """<?xml version="1.0"?>
<robot name="live_arm">
  <link name="base_link"><visual><geometry><mesh filename="package://live_robot/meshes/base.stl"/></geometry>
    </visual></link>
  <link name="upper_arm"><visual><geometry><box size="0.1 0.1 0.5"/></geometry></visual></link>
  <link name="forearm"><visual><geometry><cylinder radius="0.04" length="0.4"/></geometry></visual></link>
  <joint name="shoulder" type="revolute"><parent link="base_link"/><child link="upper_arm"/>
    <origin xyz="0 0 0.2"/><axis xyz="0 0 1"/><limit lower="-9" upper="9" effort="1" velocity="1"/></joint>
  <joint name="elbow" type="continuous"><parent link="upper_arm"/><child link="forearm"/>
    <origin xyz="0 0 0.5"/><axis xyz="0 1 0"/></joint>
</robot>
"""


def make_robot_description(_index: int) -> Any:
    from std_msgs.msg import String

    return String(data=ROBOT_URDF)


def make_header(index: int) -> Any:
    """A type the bridge has no converter for."""
    from std_msgs.msg import Header

    msg = Header(frame_id="base_link")
    msg.stamp.sec = BASE_STAMP_S + index
    return msg


def make_map(_index: int) -> Any:
    """A 20 x 20 map, as a map server publishes it once, latched."""
    from nav_msgs.msg import OccupancyGrid

    msg = OccupancyGrid()
    msg.header.frame_id = "map"
    msg.header.stamp.sec = BASE_STAMP_S
    msg.info.resolution = 0.5
    msg.info.width = msg.info.height = 20
    msg.data = [100 if (row + column) % 5 == 0 else 0 for row in range(20) for column in range(20)]
    return msg


def make_clock(index: int) -> Any:
    from rosgraph_msgs.msg import Clock

    msg = Clock()
    msg.clock.sec = 5000 + index
    return msg


KINDS = {
    "image": ("/camera/image_raw", make_image),
    "camera_frame": ("/camera/hd/image_raw", make_camera_frame),
    "small_frame": ("/camera/small/image_raw", make_small_frame),
    "cloud": ("/lidar/points", make_cloud),
    "imu": ("/imu/data", make_imu),
    "joints": ("/joint_states", make_joints),
    "tf": ("/tf", make_tf),
    "tf_static": ("/tf_static", make_tf_static),
    "string": ("/late_topic", make_string),
    "clock": ("/clock", make_clock),
    "header": ("/stamps", make_header),
    "robot_description": ("/robot_description", make_robot_description),
    "map": ("/map", make_map),
}
LATCHED_KINDS = frozenset({"tf_static", "robot_description", "map"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("count", type=int)
    parser.add_argument("rate", type=float)
    parser.add_argument("--best-effort", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before the first message")
    parser.add_argument("--linger", type=float, default=1.0, help="seconds to stay up after the last message")
    parser.add_argument("--no-wait", action="store_true", help="publish without waiting for a subscriber")
    args = parser.parse_args()
    topic, make = KINDS[args.kind]
    rclpy.init()
    node = Node(f"test_publisher_{args.kind}")
    sample = make(0)
    latched = args.kind in LATCHED_KINDS
    qos = QoSProfile(
        depth=max(args.count, 1) if not latched else 1,
        reliability=ReliabilityPolicy.BEST_EFFORT if args.best_effort else ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )
    publisher = node.create_publisher(type(sample), topic, qos)
    time.sleep(args.delay)
    # Wait for the bridge to match, so that no message is published into the void.
    deadline = time.monotonic() + (0 if args.no_wait else 20)
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(0.3)
    for index in range(args.count):
        publisher.publish(make(index))
        time.sleep(1.0 / args.rate)
    end = time.monotonic() + args.linger
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
