"""A synthetic robot recording, written deterministically as a rosbag2 MCAP bag.

A four-wheeled robot drives a circle of 3 m radius in a 12 m x 12 m walled room with three pillars. It carries
a 16-ring lidar (``/lidar/points``, ``/scan``), a camera (``/camera/image_raw`` + ``/camera/camera_info``), an
IMU, a GPS receiver and wheel encoders, and publishes TF, odometry, log lines and one custom message type
(``sample_msgs/msg/Status``) whose definition exists only in the recording's MCAP schema.

The output is what ``ros2 bag record -s mcap`` writes on Jazzy: a folder with ``<name>_0.mcap`` (CDR messages,
``ros2msg`` schemas, QoS in the channel metadata) and a version 9 ``metadata.yaml``. Header stamps equal the
log times, on a simulated clock that starts at :attr:`SampleSpec.start_ns`. The same spec always gives the
same bytes.

Messages are produced lazily and merged in log-time order, so even :meth:`SampleSpec.benchmark` (over 1 GB)
streams to disk with a small, constant memory footprint. Lidar clouds are ray-cast against the room with
numpy (about a millisecond for 30 k points), images are a precomputed background plus a moving square.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.sinks.mcap import McapSink

NS: Final = 1_000_000_000

STATUS_TYPE: Final = "sample_msgs/msg/Status"
STATUS_DEFINITION: Final = "string name\nfloat64 value\nuint8 level\n"

#: Topic name -> ROS type of every topic a sample holds.
TOPICS: Final[dict[str, str]] = {
    "/tf": "tf2_msgs/msg/TFMessage",
    "/tf_static": "tf2_msgs/msg/TFMessage",
    "/lidar/points": "sensor_msgs/msg/PointCloud2",
    "/scan": "sensor_msgs/msg/LaserScan",
    "/camera/image_raw": "sensor_msgs/msg/Image",
    "/camera/camera_info": "sensor_msgs/msg/CameraInfo",
    "/imu/data": "sensor_msgs/msg/Imu",
    "/joint_states": "sensor_msgs/msg/JointState",
    "/gps/fix": "sensor_msgs/msg/NavSatFix",
    "/odom": "nav_msgs/msg/Odometry",
    "/rosout": "rcl_interfaces/msg/Log",
    "/diagnostics_custom": STATUS_TYPE,
}

_IMAGE_CHANNELS: Final = {"rgb8": 3, "bgr8": 3, "mono8": 1}
_LIDAR_RINGS: Final = 16


@dataclass(frozen=True)
class SampleSpec:
    """What a sample recording holds. Rates in Hz; counts are spread evenly over ``duration_s``."""

    duration_s: float = 10.0
    #: Simulated clock at the first message (ns since the epoch): 2023-11-14T22:13:20Z.
    start_ns: int = 1_700_000_000 * NS
    #: Stem of the storage file: ``<name>_0.mcap``.
    name: str = "sample"
    cloud_count: int = 100
    #: Points per cloud, a multiple of the 16 lidar rings (the cloud is organized: height 16).
    cloud_points: int = 2048
    #: Add a packed ``rgb`` float32 field (point_step 20 instead of 16).
    cloud_rgb: bool = False
    image_count: int = 50
    image_width: int = 160
    image_height: int = 120
    image_encoding: str = "rgb8"
    #: Amplitude of per-pixel sensor noise (0: clean images that compress well).
    image_noise: int = 0
    scan_hz: float = 10.0
    scan_beams: int = 360
    imu_hz: float = 100.0
    tf_hz: float = 50.0
    joint_count: int = 4
    joint_hz: float = 50.0
    odom_hz: float = 20.0
    gps_hz: float = 1.0
    #: GPS position of the circle's centre: latitude, longitude (degrees), altitude (m). ETH Zurich.
    gps_origin: tuple[float, float, float] = (47.376887, 8.541694, 408.0)
    status_hz: float = 1.0
    log_lines: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not self.duration_s > 0:
            problems.append(f"duration_s must be > 0 (got {self.duration_s})")
        for spec_field in fields(self):
            value = getattr(self, spec_field.name)
            if spec_field.name.endswith(("_count", "_hz", "_lines", "_beams", "_noise")) and value < 0:
                problems.append(f"{spec_field.name} must be >= 0 (got {value})")
        if self.cloud_points <= 0 or self.cloud_points % _LIDAR_RINGS:
            problems.append(
                f"cloud_points must be a positive multiple of {_LIDAR_RINGS} (got {self.cloud_points})"
            )
        if self.image_width <= 0 or self.image_height <= 0:
            problems.append(f"image size must be positive (got {self.image_width}x{self.image_height})")
        if self.image_encoding not in _IMAGE_CHANNELS:
            problems.append(
                f"image_encoding must be one of {', '.join(_IMAGE_CHANNELS)} (got {self.image_encoding!r})"
            )
        if not 0 <= self.image_noise <= 64:
            problems.append(f"image_noise must be within 0..64 (got {self.image_noise})")
        if not self.name or "/" in self.name:
            problems.append(f"name must be a plain file stem (got {self.name!r})")
        if problems:
            raise ValueError("invalid SampleSpec: " + "; ".join(problems))

    @classmethod
    def benchmark(cls) -> SampleSpec:
        """The large recording of ``bench/convert.py``: 200 s, about 1.5 GB on disk."""
        return cls(
            duration_s=200.0,
            name="benchmark",
            cloud_count=2000,
            cloud_points=30_000,
            cloud_rgb=True,
            image_count=300,
            image_width=640,
            image_height=480,
            image_noise=32,
            imu_hz=200.0,
            tf_hz=100.0,
        )

    @classmethod
    def camera_lidar(cls) -> SampleSpec:
        """The camera + lidar only recording of ``bench/convert.py`` (no small topics but one tf_static
        message and a camera_info per image): 120 s, 1200 coloured 30 k-point clouds and 600 noisy VGA
        images, about 1.3 GB on disk."""
        return cls(
            duration_s=120.0,
            name="camera_lidar",
            cloud_count=1200,
            cloud_points=30_000,
            cloud_rgb=True,
            image_count=600,
            image_width=640,
            image_height=480,
            image_noise=32,
            scan_hz=0.0,
            imu_hz=0.0,
            tf_hz=0.0,
            joint_hz=0.0,
            odom_hz=0.0,
            gps_hz=0.0,
            status_hz=0.0,
            log_lines=0,
        )

    def rate_count(self, hz: float) -> int:
        """Messages of a stream at ``hz`` over the duration (the first at the start)."""
        return math.floor(self.duration_s * hz + 1e-9)

    def message_counts(self) -> dict[str, int]:
        """Topic -> number of messages :func:`write_sample` writes."""
        return {
            "/tf": self.rate_count(self.tf_hz),
            "/tf_static": 1,
            "/lidar/points": self.cloud_count,
            "/scan": self.rate_count(self.scan_hz),
            "/camera/image_raw": self.image_count,
            "/camera/camera_info": self.image_count,
            "/imu/data": self.rate_count(self.imu_hz),
            "/joint_states": self.rate_count(self.joint_hz),
            "/gps/fix": self.rate_count(self.gps_hz),
            "/odom": self.rate_count(self.odom_hz),
            "/rosout": self.log_lines,
            "/diagnostics_custom": self.rate_count(self.status_hz),
        }


# --- the robot and its world ----------------------------------------------------------------------------

_CIRCLE_RADIUS: Final = 3.0
_CIRCLE_PERIOD_S: Final = 20.0
_OMEGA: Final = 2 * math.pi / _CIRCLE_PERIOD_S
_SPEED: Final = _OMEGA * _CIRCLE_RADIUS
_WHEEL_RADIUS: Final = 0.1
_WHEEL_BASE: Final = 0.3  # front to rear axle
_TRACK: Final = 0.4  # left to right wheel
_LIDAR_OFFSET: Final = (0.1, 0.0, 0.25)  # base_link -> lidar_link
_ROOM_HALF: Final = 6.0
_WALL_HEIGHT: Final = 2.5
_PILLARS: Final = ((4.5, 0.5, 0.3), (-4.5, 2.0, 0.3), (0.5, 4.6, 0.4))  # x, y, radius
_LIDAR_MAX_RANGE: Final = 20.0
_EARTH_RADIUS: Final = 6_378_137.0


class _Pose(NamedTuple):
    x: float
    y: float
    yaw: float


def _pose(t_s: float) -> _Pose:
    """The robot on its circle around the odom origin, counter-clockwise, starting at (0, -R) facing +x."""
    theta = _OMEGA * t_s - math.pi / 2
    return _Pose(_CIRCLE_RADIUS * math.cos(theta), _CIRCLE_RADIUS * math.sin(theta), _OMEGA * t_s)


def _wheel_names(count: int) -> list[str]:
    standard = ["front_left", "front_right", "rear_left", "rear_right"]
    return [standard[i] if i < len(standard) else f"extra_{i}" for i in range(count)]


def _wheel_angles(t_s: float, count: int) -> list[float]:
    """Wheel rotation (rad): inner (left) wheels roll the inner circle, outer ones the outer circle."""
    left = _OMEGA * (_CIRCLE_RADIUS - _TRACK / 2) * t_s / _WHEEL_RADIUS
    right = _OMEGA * (_CIRCLE_RADIUS + _TRACK / 2) * t_s / _WHEEL_RADIUS
    return [(left if i % 2 == 0 else right) % (2 * math.pi) for i in range(count)]


def _wheel_offset(index: int) -> tuple[float, float, float]:
    front = index % 4 < 2
    return (
        _WHEEL_BASE / 2 if front else -_WHEEL_BASE / 2,
        _TRACK / 2 if index % 2 == 0 else -_TRACK / 2,
        0.0,
    )


def _yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


class _Lidar:
    """A 16-ring spinning lidar, ray-cast against walls, floor and pillars with numpy (float32)."""

    SURFACE_INTENSITY = np.array([0.0, 80.0, 20.0, 180.0], dtype=np.float32)  # miss, wall, floor, pillar
    SURFACE_RGB = np.array([[0, 0, 0], [180, 180, 200], [90, 110, 70], [220, 90, 40]], dtype=np.float32)

    def __init__(self, points: int, rgb: bool, rng: np.random.Generator) -> None:
        width = points // _LIDAR_RINGS
        elevation = np.radians(np.linspace(-15.0, 15.0, _LIDAR_RINGS, dtype=np.float64))[:, None]
        azimuth = np.linspace(-math.pi, math.pi, width, endpoint=False)[None, :]
        self.height = _LIDAR_RINGS
        self.width = width
        self.dirs = np.stack(
            [
                (np.cos(elevation) * np.cos(azimuth)).ravel(),
                (np.cos(elevation) * np.sin(azimuth)).ravel(),
                np.broadcast_to(np.sin(elevation), (_LIDAR_RINGS, width)).ravel(),
            ]
        ).astype(np.float32)
        self.rgb = rgb
        self.point_step = 20 if rgb else 16
        self.rng = rng

    def cloud(self, t_s: float) -> npt.NDArray[np.uint8]:
        """The PointCloud2 data of one sweep: x, y, z, intensity (and rgb) as little-endian float32."""
        ranges, surface = _ray_cast(t_s, self.dirs)
        n = ranges.size
        ranges += self.rng.standard_normal(n, dtype=np.float32) * np.float32(0.01)
        ranges[self.rng.random(n, dtype=np.float32) < 0.01] = np.nan  # dropouts
        out = np.empty((n, self.point_step // 4), dtype=np.float32)
        np.multiply(self.dirs, ranges, out=out[:, :3].T)
        out[:, 3] = self.SURFACE_INTENSITY[surface] * np.exp(np.float32(-0.05) * np.nan_to_num(ranges))
        if self.rgb:
            out[:, 4] = self._colors(ranges, surface).view(np.float32)
        return out.view(np.uint8).ravel()

    def _colors(
        self, ranges: npt.NDArray[np.float32], surface: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.uint32]:
        """Packed 0x00RRGGBB as a camera would colour the points: surface colour, shading, texture noise."""
        shade = np.float32(0.55) + np.float32(0.45) * np.exp(np.float32(-0.1) * np.nan_to_num(ranges))
        texture = self.rng.integers(-20, 21, size=(ranges.size, 3), dtype=np.int16)
        rgb = np.clip(self.SURFACE_RGB[surface] * shade[:, None] + texture, 0, 255).astype(np.uint32)
        packed: npt.NDArray[np.uint32] = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
        return packed


def _ray_cast(
    t_s: float, dirs: npt.NDArray[np.float32], max_range: float = _LIDAR_MAX_RANGE
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.intp]]:
    """Ranges (NaN: no hit within range) and surface ids (0 miss, 1 wall, 2 floor, 3 pillar) of rays
    given in the lidar frame (3, n), from the lidar's pose at ``t_s``."""
    pose = _pose(t_s)
    cos_yaw, sin_yaw = math.cos(pose.yaw), math.sin(pose.yaw)
    ox = pose.x + cos_yaw * _LIDAR_OFFSET[0] - sin_yaw * _LIDAR_OFFSET[1]
    oy = pose.y + sin_yaw * _LIDAR_OFFSET[0] + cos_yaw * _LIDAR_OFFSET[1]
    oz = _WHEEL_RADIUS + _LIDAR_OFFSET[2]
    wx = cos_yaw * dirs[0] - sin_yaw * dirs[1]
    wy = sin_yaw * dirs[0] + cos_yaw * dirs[1]
    wz = dirs[2]
    inf = np.float32(np.inf)
    hits = np.full((4, wx.size), inf, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_wall = np.minimum(
            (np.copysign(np.float32(_ROOM_HALF), wx) - np.float32(ox)) / wx,
            (np.copysign(np.float32(_ROOM_HALF), wy) - np.float32(oy)) / wy,
        )
        z_wall = np.float32(oz) + t_wall * wz
        hits[1] = np.where((z_wall >= 0) & (z_wall <= _WALL_HEIGHT), t_wall, inf)
        hits[2] = np.where(wz < 0, np.float32(-oz) / wz, inf)
        a = wx * wx + wy * wy
        for cx, cy, radius in _PILLARS:
            px, py = np.float32(ox - cx), np.float32(oy - cy)
            b = wx * px + wy * py  # half of the usual b
            c = np.float32(px * px + py * py - radius * radius)
            disc = b * b - a * c
            t_pillar = (-b - np.sqrt(np.maximum(disc, 0))) / a
            z_pillar = np.float32(oz) + t_pillar * wz
            hit = (disc >= 0) & (t_pillar > 0) & (z_pillar <= _WALL_HEIGHT)
            np.minimum(hits[3], np.where(hit, t_pillar, inf), out=hits[3])
    surface = np.argmin(hits, axis=0)
    ranges = hits[surface, np.arange(wx.size)]
    miss = ranges > max_range
    surface[miss] = 0
    ranges[miss] = np.nan
    return ranges, surface


class _Camera:
    """A gradient background with a square moving around it; optional precomputed sensor noise."""

    def __init__(self, spec: SampleSpec, rng: np.random.Generator) -> None:
        w, h = spec.image_width, spec.image_height
        span = 255 - spec.image_noise
        x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
        y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        rgb = np.stack(
            np.broadcast_arrays(x * span, y * span, (1 - x) * 0.5 * span + 0.25 * span * np.ones_like(y)),
            axis=-1,
        ).astype(np.uint8)
        self.base = self._encode(rgb, spec.image_encoding)
        self.noise = [
            rng.integers(0, spec.image_noise + 1, size=self.base.shape, dtype=np.uint8)
            for _ in range(4 if spec.image_noise else 0)
        ]
        self.square = max(2, min(w, h) // 5)
        color = np.array([[[250, 40, 40]]], dtype=np.uint8)
        self.color = self._encode(color, spec.image_encoding)[0, 0]
        self.spec = spec

    @staticmethod
    def _encode(rgb: npt.NDArray[np.uint8], encoding: str) -> npt.NDArray[np.uint8]:
        if encoding == "bgr8":
            return np.ascontiguousarray(rgb[..., ::-1])
        if encoding == "mono8":
            mono: npt.NDArray[np.uint8] = rgb.mean(axis=-1, dtype=np.float32).astype(np.uint8)
            return mono[..., None]
        return rgb

    def image(self, index: int, t_s: float) -> npt.NDArray[np.uint8]:
        img = self.base + self.noise[index % len(self.noise)] if self.noise else self.base.copy()
        h, w = img.shape[:2]
        phase = 2 * math.pi * t_s / 4.0
        col = int((w - self.square) * (0.5 + 0.5 * math.cos(phase)))
        row = int((h - self.square) * (0.5 + 0.5 * math.sin(2 * phase)))
        img[row : row + self.square, col : col + self.square] = self.color
        return img.reshape(-1)


# --- messages -----------------------------------------------------------------------------------------


class _Factory:
    """Builds rosbags message objects and serializes them to CDR."""

    def __init__(self, spec: SampleSpec) -> None:
        self.spec = spec
        self.store = get_typestore(Stores.ROS2_JAZZY)
        self.store.register(get_types_from_msg(STATUS_DEFINITION, STATUS_TYPE))
        self.t = self.store.types
        self.rng = np.random.default_rng(spec.seed)

    def serialize(self, msg: Any, type_name: str) -> bytes | memoryview:
        data: bytes | memoryview = self.store.serialize_cdr(msg, type_name)
        return data

    def definition(self, type_name: str) -> MessageDefinition:
        text, _digest = self.store.generate_msgdef(type_name, ros_version=2)
        return MessageDefinition("ros2msg", text)

    def type_hash(self, type_name: str) -> str:
        return str(self.store.hash_rihs01(type_name))

    # small building blocks

    def header(self, t_ns: int, frame_id: str) -> Any:
        return self.t["std_msgs/msg/Header"](stamp=self.stamp(t_ns), frame_id=frame_id)

    def stamp(self, t_ns: int) -> Any:
        return self.t["builtin_interfaces/msg/Time"](sec=t_ns // NS, nanosec=t_ns % NS)

    def vector3(self, x: float, y: float, z: float) -> Any:
        return self.t["geometry_msgs/msg/Vector3"](x=x, y=y, z=z)

    def quaternion(self, q: tuple[float, float, float, float]) -> Any:
        return self.t["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3])

    def transform(
        self,
        t_ns: int,
        parent: str,
        child: str,
        xyz: tuple[float, float, float],
        q: tuple[float, float, float, float],
    ) -> Any:
        return self.t["geometry_msgs/msg/TransformStamped"](
            header=self.header(t_ns, parent),
            child_frame_id=child,
            transform=self.t["geometry_msgs/msg/Transform"](
                translation=self.vector3(*xyz), rotation=self.quaternion(q)
            ),
        )

    def tf_message(self, transforms: list[Any]) -> Any:
        return self.t["tf2_msgs/msg/TFMessage"](transforms=transforms)


Stream = Iterator[tuple[int, bytes | memoryview]]


def _times(spec: SampleSpec, count: int) -> Iterator[tuple[int, int]]:
    """(index, log time ns) of ``count`` messages spread evenly from the start."""
    duration_ns = round(spec.duration_s * NS)
    for index in range(count):
        yield index, spec.start_ns + index * duration_ns // count


def _seconds(spec: SampleSpec, t_ns: int) -> float:
    return (t_ns - spec.start_ns) / NS


def _tf_static(f: _Factory) -> Stream:
    t_ns = f.spec.start_ns
    transforms = [
        f.transform(t_ns, "base_link", "camera_link", (0.2, 0.0, 0.3), (0.0, 0.0, 0.0, 1.0)),
        # The usual optical rotation: z forward, x right, y down (rpy -pi/2, 0, -pi/2).
        f.transform(t_ns, "camera_link", "camera_optical_frame", (0.0, 0.0, 0.0), (-0.5, 0.5, -0.5, 0.5)),
        f.transform(t_ns, "base_link", "lidar_link", _LIDAR_OFFSET, (0.0, 0.0, 0.0, 1.0)),
        f.transform(t_ns, "base_link", "imu_link", (0.0, 0.0, 0.05), (0.0, 0.0, 0.0, 1.0)),
        f.transform(t_ns, "base_link", "gps_link", (-0.1, 0.0, 0.4), (0.0, 0.0, 0.0, 1.0)),
    ]
    yield t_ns, f.serialize(f.tf_message(transforms), "tf2_msgs/msg/TFMessage")


def _tf(f: _Factory) -> Stream:
    spec = f.spec
    names = _wheel_names(spec.joint_count)
    for _i, t_ns in _times(spec, spec.rate_count(spec.tf_hz)):
        t_s = _seconds(spec, t_ns)
        pose = _pose(t_s)
        transforms = [
            f.transform(t_ns, "odom", "base_link", (pose.x, pose.y, _WHEEL_RADIUS), _yaw_quaternion(pose.yaw))
        ]
        for index, angle in enumerate(_wheel_angles(t_s, spec.joint_count)):
            q = (0.0, math.sin(angle / 2), 0.0, math.cos(angle / 2))
            transforms.append(
                f.transform(t_ns, "base_link", f"{names[index]}_wheel_link", _wheel_offset(index), q)
            )
        yield t_ns, f.serialize(f.tf_message(transforms), "tf2_msgs/msg/TFMessage")


def _clouds(f: _Factory) -> Stream:
    spec = f.spec
    lidar = _Lidar(spec.cloud_points, spec.cloud_rgb, np.random.default_rng(spec.seed + 1))
    point_field = f.t["sensor_msgs/msg/PointField"]
    float32 = 7  # PointField.FLOAT32
    names = ["x", "y", "z", "intensity", "rgb"] if spec.cloud_rgb else ["x", "y", "z", "intensity"]
    point_fields = [point_field(name=n, offset=4 * i, datatype=float32, count=1) for i, n in enumerate(names)]
    for _i, t_ns in _times(spec, spec.cloud_count):
        msg = f.t["sensor_msgs/msg/PointCloud2"](
            header=f.header(t_ns, "lidar_link"),
            height=lidar.height,
            width=lidar.width,
            fields=point_fields,
            is_bigendian=False,
            point_step=lidar.point_step,
            row_step=lidar.point_step * lidar.width,
            data=lidar.cloud(_seconds(spec, t_ns)),
            is_dense=False,
        )
        yield t_ns, f.serialize(msg, "sensor_msgs/msg/PointCloud2")


def _scans(f: _Factory) -> Stream:
    spec = f.spec
    beams = max(spec.scan_beams, 1)
    angles = np.linspace(-math.pi, math.pi, beams, endpoint=False)
    dirs = np.stack([np.cos(angles), np.sin(angles), np.zeros(beams)]).astype(np.float32)
    rng = np.random.default_rng(spec.seed + 2)
    range_max = 12.0
    for _i, t_ns in _times(spec, spec.rate_count(spec.scan_hz)):
        ranges, surface = _ray_cast(_seconds(spec, t_ns), dirs, max_range=range_max)
        ranges += rng.standard_normal(beams, dtype=np.float32) * np.float32(0.01)
        ranges[np.isnan(ranges)] = np.inf
        msg = f.t["sensor_msgs/msg/LaserScan"](
            header=f.header(t_ns, "lidar_link"),
            angle_min=float(angles[0]),
            angle_max=float(angles[-1]),
            angle_increment=2 * math.pi / beams,
            time_increment=1.0 / (spec.scan_hz * beams),
            scan_time=1.0 / spec.scan_hz,
            range_min=0.1,
            range_max=range_max,
            ranges=ranges,
            intensities=_Lidar.SURFACE_INTENSITY[surface],
        )
        yield t_ns, f.serialize(msg, "sensor_msgs/msg/LaserScan")


def _camera_info(f: _Factory, t_ns: int) -> Any:
    spec = f.spec
    w, h = spec.image_width, spec.image_height
    focal = 100.0 * w / 160.0
    cx, cy = w / 2.0, h / 2.0
    return f.t["sensor_msgs/msg/CameraInfo"](
        header=f.header(t_ns, "camera_optical_frame"),
        height=h,
        width=w,
        distortion_model="plumb_bob",
        d=np.zeros(5),
        k=np.array([focal, 0.0, cx, 0.0, focal, cy, 0.0, 0.0, 1.0]),
        r=np.eye(3).ravel(),
        p=np.array([focal, 0.0, cx, 0.0, 0.0, focal, cy, 0.0, 0.0, 0.0, 1.0, 0.0]),
        binning_x=0,
        binning_y=0,
        roi=f.t["sensor_msgs/msg/RegionOfInterest"](
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
        ),
    )


def _images(f: _Factory) -> Stream:
    spec = f.spec
    camera = _Camera(spec, np.random.default_rng(spec.seed + 3))
    channels = _IMAGE_CHANNELS[spec.image_encoding]
    for index, t_ns in _times(spec, spec.image_count):
        msg = f.t["sensor_msgs/msg/Image"](
            header=f.header(t_ns, "camera_optical_frame"),
            height=spec.image_height,
            width=spec.image_width,
            encoding=spec.image_encoding,
            is_bigendian=0,
            step=spec.image_width * channels,
            data=camera.image(index, _seconds(spec, t_ns)),
        )
        yield t_ns, f.serialize(msg, "sensor_msgs/msg/Image")


def _camera_infos(f: _Factory) -> Stream:
    for _i, t_ns in _times(f.spec, f.spec.image_count):
        yield t_ns, f.serialize(_camera_info(f, t_ns), "sensor_msgs/msg/CameraInfo")


def _imu(f: _Factory) -> Stream:
    spec = f.spec
    rng = np.random.default_rng(spec.seed + 4)
    count = spec.rate_count(spec.imu_hz)
    noise = rng.normal(0.0, 0.02, size=(count, 6))
    covariance = np.diag([4e-4, 4e-4, 4e-4]).ravel()
    for index, t_ns in _times(spec, count):
        pose = _pose(_seconds(spec, t_ns))
        gyro, accel = noise[index, :3] * 0.1, noise[index, 3:]
        msg = f.t["sensor_msgs/msg/Imu"](
            header=f.header(t_ns, "imu_link"),
            orientation=f.quaternion(_yaw_quaternion(pose.yaw)),
            orientation_covariance=np.diag([1e-4, 1e-4, 1e-3]).ravel(),
            angular_velocity=f.vector3(gyro[0], gyro[1], _OMEGA + gyro[2]),
            angular_velocity_covariance=covariance,
            # Centripetal acceleration points to the circle's centre: the robot's +y (left).
            linear_acceleration=f.vector3(accel[0], _SPEED * _OMEGA + accel[1], 9.80665 + accel[2]),
            linear_acceleration_covariance=covariance,
        )
        yield t_ns, f.serialize(msg, "sensor_msgs/msg/Imu")


def _joint_states(f: _Factory) -> Stream:
    spec = f.spec
    names = [f"{name}_wheel_joint" for name in _wheel_names(spec.joint_count)]
    left = _OMEGA * (_CIRCLE_RADIUS - _TRACK / 2) / _WHEEL_RADIUS
    right = _OMEGA * (_CIRCLE_RADIUS + _TRACK / 2) / _WHEEL_RADIUS
    velocity = np.array([left if i % 2 == 0 else right for i in range(spec.joint_count)])
    effort = np.full(spec.joint_count, 0.8)
    for _i, t_ns in _times(spec, spec.rate_count(spec.joint_hz)):
        msg = f.t["sensor_msgs/msg/JointState"](
            header=f.header(t_ns, "base_link"),
            name=names,
            position=np.array(_wheel_angles(_seconds(spec, t_ns), spec.joint_count)),
            velocity=velocity,
            effort=effort,
        )
        yield t_ns, f.serialize(msg, "sensor_msgs/msg/JointState")


def _gps(f: _Factory) -> Stream:
    spec = f.spec
    lat0, lon0, alt0 = spec.gps_origin
    status = f.t["sensor_msgs/msg/NavSatStatus"](status=0, service=1)  # STATUS_FIX, SERVICE_GPS
    for _i, t_ns in _times(spec, spec.rate_count(spec.gps_hz)):
        pose = _pose(_seconds(spec, t_ns))
        msg = f.t["sensor_msgs/msg/NavSatFix"](
            header=f.header(t_ns, "gps_link"),
            status=status,
            latitude=lat0 + math.degrees(pose.y / _EARTH_RADIUS),
            longitude=lon0 + math.degrees(pose.x / (_EARTH_RADIUS * math.cos(math.radians(lat0)))),
            altitude=alt0,
            position_covariance=np.diag([0.25, 0.25, 1.0]).ravel(),
            position_covariance_type=2,  # COVARIANCE_TYPE_DIAGONAL_KNOWN
        )
        yield t_ns, f.serialize(msg, "sensor_msgs/msg/NavSatFix")


def _odometry(f: _Factory) -> Stream:
    spec = f.spec
    t = f.t
    covariance = np.diag([0.01, 0.01, 0.01, 0.01, 0.01, 0.02]).ravel()
    twist = t["geometry_msgs/msg/TwistWithCovariance"](
        twist=t["geometry_msgs/msg/Twist"](
            linear=f.vector3(_SPEED, 0.0, 0.0), angular=f.vector3(0.0, 0.0, _OMEGA)
        ),
        covariance=covariance,
    )
    for _i, t_ns in _times(spec, spec.rate_count(spec.odom_hz)):
        pose = _pose(_seconds(spec, t_ns))
        msg = t["nav_msgs/msg/Odometry"](
            header=f.header(t_ns, "odom"),
            child_frame_id="base_link",
            pose=t["geometry_msgs/msg/PoseWithCovariance"](
                pose=t["geometry_msgs/msg/Pose"](
                    position=t["geometry_msgs/msg/Point"](x=pose.x, y=pose.y, z=_WHEEL_RADIUS),
                    orientation=f.quaternion(_yaw_quaternion(pose.yaw)),
                ),
                covariance=covariance,
            ),
            twist=twist,
        )
        yield t_ns, f.serialize(msg, "nav_msgs/msg/Odometry")


_LOG_LINES: Final = (
    (20, "robot_driver", "Driving a circle of 3.0 m radius at 0.94 m/s"),
    (10, "lidar_driver", "Sweep configured: 16 rings, 10 Hz"),
    (30, "camera_driver", "Exposure at its upper limit; image may be dark"),
    (20, "gps_driver", "RTK fix acquired"),
    (40, "planner", "Goal unreachable: path blocked by pillar"),
    (50, "battery_monitor", "Battery critically low: shutting down motors"),
)


def _rosout(f: _Factory) -> Stream:
    for index, t_ns in _times(f.spec, f.spec.log_lines):
        level, node, text = _LOG_LINES[index % len(_LOG_LINES)]
        msg = f.t["rcl_interfaces/msg/Log"](
            stamp=f.stamp(t_ns),
            level=level,
            name=node,
            msg=text,
            file=f"{node}.cpp",
            function="on_timer",
            line=100 + index,
        )
        yield t_ns, f.serialize(msg, "rcl_interfaces/msg/Log")


def _status(f: _Factory) -> Stream:
    spec = f.spec
    count = spec.rate_count(spec.status_hz)
    for index, t_ns in _times(spec, count):
        fraction = index / max(count, 1)
        level = 0 if fraction < 0.6 else 1 if fraction < 0.9 else 2  # OK, WARN, ERROR
        msg = f.t[STATUS_TYPE](name="battery_voltage", value=25.2 - 3.0 * fraction, level=level)
        yield t_ns, f.serialize(msg, STATUS_TYPE)


_STREAMS: Final[dict[str, Callable[[_Factory], Stream]]] = {
    "/tf": _tf,
    "/tf_static": _tf_static,
    "/lidar/points": _clouds,
    "/scan": _scans,
    "/camera/image_raw": _images,
    "/camera/camera_info": _camera_infos,
    "/imu/data": _imu,
    "/joint_states": _joint_states,
    "/gps/fix": _gps,
    "/odom": _odometry,
    "/rosout": _rosout,
    "/diagnostics_custom": _status,
}

_LATCHED: Final = frozenset({"/tf_static", "/rosout"})


def _qos(topic: str) -> list[dict[str, Any]]:
    """rosbag2 (Jazzy)'s record of one publisher's offered QoS."""
    forever = {"sec": 9223372036, "nsec": 854775807}
    return [
        {
            "history": "unknown",
            "depth": 0,
            "reliability": "reliable",
            "durability": "transient_local" if topic in _LATCHED else "volatile",
            "deadline": dict(forever),
            "lifespan": dict(forever),
            "liveliness": "automatic",
            "liveliness_lease_duration": dict(forever),
            "avoid_ros_namespace_conventions": False,
        }
    ]


# --- writing ------------------------------------------------------------------------------------------


def write_sample(folder: str | Path, spec: SampleSpec = SampleSpec()) -> Path:
    """Write the recording described by ``spec`` as a rosbag2 MCAP bag into ``folder``; return the folder.

    The folder is created if needed; an existing ``<name>_0.mcap`` and ``metadata.yaml`` in it are replaced.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    storage_name = f"{spec.name}_0.mcap"
    factory = _Factory(spec)
    counts = dict.fromkeys(TOPICS, 0)
    first_ns: int | None = None
    last_ns = spec.start_ns
    with McapSink(folder / storage_name) as sink:
        channels = {
            topic: sink.add_topic(topic, type_name, factory.definition(type_name), _to_yaml(_qos(topic)))
            for topic, type_name in TOPICS.items()
        }
        streams = [_tagged(topic, _STREAMS[topic](factory)) for topic in TOPICS]
        for t_ns, topic, data in heapq.merge(*streams, key=lambda item: item[0]):
            sink.write(channels[topic], t_ns, t_ns, data)
            counts[topic] += 1
            first_ns = t_ns if first_ns is None else first_ns
            last_ns = t_ns
    start_ns = first_ns if first_ns is not None else spec.start_ns
    _write_metadata(folder / "metadata.yaml", storage_name, start_ns, last_ns - start_ns, counts, factory)
    return folder


def _tagged(topic: str, stream: Stream) -> Iterator[tuple[int, str, bytes | memoryview]]:
    for t_ns, data in stream:
        yield t_ns, topic, data


def _write_metadata(
    path: Path, storage_name: str, start_ns: int, duration_ns: int, counts: dict[str, int], factory: _Factory
) -> None:
    total = sum(counts.values())
    document = {
        "rosbag2_bagfile_information": {
            "version": 9,
            "storage_identifier": "mcap",
            "duration": {"nanoseconds": duration_ns},
            "starting_time": {"nanoseconds_since_epoch": start_ns},
            "message_count": total,
            "topics_with_message_count": [
                {
                    "topic_metadata": {
                        "name": topic,
                        "type": type_name,
                        "serialization_format": "cdr",
                        "offered_qos_profiles": _qos(topic),
                        "type_description_hash": factory.type_hash(type_name),
                    },
                    "message_count": counts[topic],
                }
                for topic, type_name in TOPICS.items()
            ],
            "compression_format": "",
            "compression_mode": "",
            "relative_file_paths": [storage_name],
            "files": [
                {
                    "path": storage_name,
                    "starting_time": {"nanoseconds_since_epoch": start_ns},
                    "duration": {"nanoseconds": duration_ns},
                    "message_count": total,
                }
            ],
            "custom_data": None,
            "ros_distro": "jazzy",
        }
    }
    path.write_text(_to_yaml(document) + "\n")


_PLAIN_SCALAR: Final = re.compile(r"[A-Za-z_/][A-Za-z0-9_/.\-]*")
_YAML_WORDS: Final = frozenset({"true", "false", "yes", "no", "on", "off", "null", "~"})


def _yaml_scalar(value: object) -> str:
    if isinstance(value, list | dict):  # only empty ones get here
        return "[]" if isinstance(value, list) else "{}"
    if value is None:
        return "~"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN_SCALAR.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)


def _to_yaml(value: object, indent: int = 0) -> str:
    """Block-style YAML as rosbag2 writes it (list items indented under their key).

    Written by hand rather than with PyYAML so that the layout is rosbag2's and fixed: rosbags compares
    the QoS parsed from ``metadata.yaml`` with the one in the MCAP channels.
    """
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.append(_to_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                nested = _to_yaml(item, indent + 2)
                lines.append(f"{pad}- {nested[indent + 2 :]}")
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        lines.append(pad + _yaml_scalar(value))
    return "\n".join(lines)
