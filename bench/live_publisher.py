"""A reference robot load for ``bench/live_load.py``: one rclpy node publishing six sensor topics.

    .venv/bin/python bench/live_publisher.py [--scale 1] [--duration 20] [--best-effort-images]

At scale 1: two 1280x720 rgb8 cameras at 30 Hz, a 100 k-point lidar (x, y, z, intensity float32) at 10 Hz, an
IMU at 400 Hz, 20 TF frames at 100 Hz and 30 joints at 100 Hz; ``--scale`` multiplies every rate. Messages are
built once; each publish only restamps them. QoS as typical drivers: reliable, volatile, depth 10
(``--best-effort-images`` makes the cameras best effort).

One paced loop publishes every topic at ``start + k / rate``. A slot more than ``MAX_LAG_S`` late is skipped
and counted (a driver that cannot keep up loses frames). A publish that fails (Fast DDS gives up on a reliable
write when a slow subscriber keeps the writer's history full: "cannot publish data") is counted as ``failed``
and the loop goes on, as a driver would. So ``published`` is what really went out, and ``skipped``,
``failed`` and the time spent blocked in ``publish()`` show back-pressure or a publisher that is itself the
limit.

Stdout is JSON lines for the benchmark: ``{"event": "start"}`` when publishing begins (after every topic has a
subscriber), ``{"event": "end"}`` when it stops, then ``{"event": "result", ...}`` with the counts.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numpy as np

WIDTH: Final = 1280
HEIGHT: Final = 720
CLOUD_POINTS: Final = 100_000
TF_FRAMES: Final = 20
JOINTS: Final = 30
QOS_DEPTH: Final = 10
#: A slot later than this is skipped (and counted) rather than published in a catch-up burst.
MAX_LAG_S: Final = 0.25


class TopicSpec(NamedTuple):
    topic: str
    type_name: str
    rate_hz: float
    make: Callable[[np.random.Generator], Any]
    #: Whether ``--best-effort-images`` applies.
    image: bool = False


def stamp_message(msg: Any, now_ns: int) -> None:
    """Set ``header.stamp`` (every transform's, for a TFMessage) to ``now_ns``."""
    sec, nanosec = divmod(now_ns, 1_000_000_000)
    if hasattr(msg, "transforms"):
        for transform in msg.transforms:
            transform.header.stamp.sec = sec
            transform.header.stamp.nanosec = nanosec
        return
    msg.header.stamp.sec = sec
    msg.header.stamp.nanosec = nanosec


def make_image(rng: np.random.Generator) -> Any:
    """A 1280x720 rgb8 frame: smooth gradients plus a little sensor noise (neither flat nor random)."""
    from sensor_msgs.msg import Image

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    pixels = np.stack([x * 255 // WIDTH, y * 255 // HEIGHT, (x + y) % 256], axis=-1)
    pixels = pixels + rng.integers(0, 8, size=pixels.shape)
    msg = Image()
    msg.header.frame_id = "camera_optical_frame"
    msg.height, msg.width, msg.encoding, msg.step = HEIGHT, WIDTH, "rgb8", WIDTH * 3
    msg.data = np.clip(pixels, 0, 255).astype(np.uint8).tobytes()
    return msg


def make_cloud(rng: np.random.Generator) -> Any:
    """100 k points on a noisy cylinder around the sensor, x, y, z, intensity as float32 (16 bytes)."""
    from sensor_msgs.msg import PointCloud2, PointField

    angle = rng.uniform(0, 2 * np.pi, CLOUD_POINTS)
    distance = rng.uniform(2.0, 40.0, CLOUD_POINTS)
    points = np.empty((CLOUD_POINTS, 4), dtype=np.float32)
    points[:, 0] = distance * np.cos(angle)
    points[:, 1] = distance * np.sin(angle)
    points[:, 2] = rng.uniform(-2.0, 8.0, CLOUD_POINTS)
    points[:, 3] = rng.uniform(0.0, 255.0, CLOUD_POINTS)
    msg = PointCloud2()
    msg.header.frame_id = "lidar_link"
    msg.height, msg.width, msg.point_step, msg.row_step = 1, CLOUD_POINTS, 16, 16 * CLOUD_POINTS
    msg.fields = [
        PointField(name=name, offset=4 * i, datatype=PointField.FLOAT32, count=1)
        for i, name in enumerate(("x", "y", "z", "intensity"))
    ]
    msg.is_dense = True
    msg.data = points.tobytes()
    return msg


def make_imu(rng: np.random.Generator) -> Any:
    from sensor_msgs.msg import Imu

    msg = Imu()
    msg.header.frame_id = "imu_link"
    msg.orientation.w = 1.0
    msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = (
        float(v) for v in rng.normal(0, 0.1, 3)
    )
    msg.linear_acceleration.x, msg.linear_acceleration.y = (float(v) for v in rng.normal(0, 0.2, 2))
    msg.linear_acceleration.z = 9.81
    return msg


def make_tf(rng: np.random.Generator) -> Any:
    """A chain of 20 frames: odom -> base_link -> link_1 -> ... -> link_18."""
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage

    names = ["odom", "base_link", *(f"link_{i}" for i in range(1, TF_FRAMES - 1))]
    transforms = []
    for parent, child in zip(names, [*names[1:], f"link_{TF_FRAMES - 1}"], strict=True):
        transform = TransformStamped()
        transform.header.frame_id = parent
        transform.child_frame_id = child
        transform.transform.translation.x, transform.transform.translation.z = (
            float(v) for v in rng.uniform(-0.5, 0.5, 2)
        )
        transform.transform.rotation.w = 1.0
        transforms.append(transform)
    return TFMessage(transforms=transforms)


def make_joints(rng: np.random.Generator) -> Any:
    from sensor_msgs.msg import JointState

    msg = JointState()
    msg.name = [f"joint_{i}" for i in range(JOINTS)]
    msg.position = [float(v) for v in rng.uniform(-3.0, 3.0, JOINTS)]
    msg.velocity = [float(v) for v in rng.normal(0.0, 0.5, JOINTS)]
    msg.effort = [float(v) for v in rng.normal(0.0, 5.0, JOINTS)]
    return msg


#: The reference load at scale 1.
TOPICS: Final = (
    TopicSpec("/cam_left/image_raw", "sensor_msgs/msg/Image", 30.0, make_image, image=True),
    TopicSpec("/cam_right/image_raw", "sensor_msgs/msg/Image", 30.0, make_image, image=True),
    TopicSpec("/lidar/points", "sensor_msgs/msg/PointCloud2", 10.0, make_cloud),
    TopicSpec("/imu/data", "sensor_msgs/msg/Imu", 400.0, make_imu),
    TopicSpec("/tf", "tf2_msgs/msg/TFMessage", 100.0, make_tf),
    TopicSpec("/joint_states", "sensor_msgs/msg/JointState", 100.0, make_joints),
)


@dataclass(slots=True)
class _Slot:
    """One topic's publisher, message and pacing."""

    spec: TopicSpec
    publisher: Any
    msg: Any
    rate_hz: float
    index: int = 0
    published: int = 0
    skipped: int = 0
    failed: int = 0
    first_error: str = ""
    publish_ns: int = 0
    max_publish_ns: int = 0

    def due(self, start: float) -> float:
        return start + self.index / self.rate_hz


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def wait_for_subscribers(node: Any, slots: Sequence[_Slot], timeout_s: float, stop: threading.Event) -> bool:
    import rclpy

    deadline = time.monotonic() + timeout_s
    while not stop.is_set() and time.monotonic() < deadline:
        if all(slot.publisher.get_subscription_count() > 0 for slot in slots):
            return True
        rclpy.spin_once(node, timeout_sec=0.05)
    return False


def publish_loop(slots: Sequence[_Slot], duration_s: float, stop: threading.Event) -> tuple[float, float]:
    """Publish every slot on its schedule until ``duration_s`` has passed; (start, end) monotonic times."""
    start = time.monotonic()
    end = start + duration_s
    while not stop.is_set():
        slot = min(slots, key=lambda s: s.due(start))
        due = slot.due(start)
        if due >= end:
            break
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
            now = time.monotonic()
        lag = now - due
        if lag > MAX_LAG_S:
            missed = int(lag * slot.rate_hz)
            slot.index += missed
            slot.skipped += missed
            continue
        stamp_message(slot.msg, time.time_ns())
        before = time.perf_counter_ns()
        try:
            slot.publisher.publish(slot.msg)
        except Exception as err:  # rclpy's RCLError: the write timed out; a driver logs it and goes on
            slot.failed += 1
            slot.first_error = slot.first_error or str(err)
        else:
            slot.published += 1
        spent = time.perf_counter_ns() - before
        slot.publish_ns += spent
        slot.max_publish_ns = max(slot.max_publish_ns, spent)
        slot.index += 1
    return start, time.monotonic()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every rate (default 1)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of publishing (default 20)")
    parser.add_argument("--best-effort-images", action="store_true", help="cameras best effort")
    parser.add_argument("--wait", type=float, default=40.0, help="seconds to wait for subscribers")
    parser.add_argument("--linger", type=float, default=1.0, help="seconds to stay up after publishing")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.duration <= 0:
        parser.error("--scale and --duration must be > 0")

    import rclpy
    from rclpy.node import Node
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = Node("bench_robot_load")
    rng = np.random.default_rng(7)
    slots = []
    for spec in TOPICS:
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=QOS_DEPTH,
            reliability=ReliabilityPolicy.BEST_EFFORT
            if spec.image and args.best_effort_images
            else ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.VOLATILE,
        )
        msg = spec.make(rng)
        slots.append(
            _Slot(spec, node.create_publisher(type(msg), spec.topic, qos), msg, spec.rate_hz * args.scale)
        )
    try:
        matched = wait_for_subscribers(node, slots, args.wait, stop)
        if not matched:
            missing = [s.spec.topic for s in slots if s.publisher.get_subscription_count() == 0]
            print(
                f"no subscriber after {args.wait:.0f} s on {', '.join(missing)}; publishing anyway",
                file=sys.stderr,
            )
        time.sleep(0.5)  # let the subscriber finish matching the remaining endpoints
        cpu_before = time.process_time()
        emit("start")
        start, end = publish_loop(slots, args.duration, stop)
        emit("end")
        cpu_s = time.process_time() - cpu_before
        linger_end = time.monotonic() + args.linger
        while not stop.is_set() and time.monotonic() < linger_end:
            time.sleep(0.05)  # Fast DDS resends reliable data on its own threads
        emit(
            "result",
            scale=args.scale,
            best_effort_images=args.best_effort_images,
            matched=matched,
            elapsed_s=end - start,
            cpu_s=cpu_s,
            rate_hz={s.spec.topic: s.rate_hz for s in slots},
            expected={s.spec.topic: s.index for s in slots},
            published={s.spec.topic: s.published for s in slots},
            skipped={s.spec.topic: s.skipped for s in slots},
            failed={s.spec.topic: s.failed for s in slots},
            errors={s.spec.topic: s.first_error for s in slots if s.first_error},
            publish_ms_mean={
                s.spec.topic: s.publish_ns / max(s.published + s.failed, 1) / 1e6 for s in slots
            },
            publish_ms_max={s.spec.topic: s.max_publish_ns / 1e6 for s in slots},
        )
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
