"""The live bridge against real publishers in separate processes, over Fast DDS."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import rerun.chunk as rrc
import trimesh
import yaml

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.sources.bag import open_bag
from test.blueprint.rbl_reader import rbl_views, read_rbl
from test.conftest import rrd_chunks, rrd_column, rrd_row_count, verify_rrd
from test.live.conftest import ROOT, LiveEnv, read_until, stop, wait_all
from test.robot.recording import RrdRows

pytestmark = pytest.mark.xdist_group("live")

BASE_STAMP_NS = 1_700_000_000 * 1_000_000_000


def mcap_counts(path: Path) -> dict[str, int]:
    with open_bag(path) as bag:
        counts: dict[str, int] = {}
        for message in bag.messages():
            counts[message.topic] = counts.get(message.topic, 0) + 1
        return counts


def test_records_sensor_topics_to_rrd_and_mcap(live: LiveEnv) -> None:
    bridge = live.bridge("--rrd", "out.rrd", "--mcap", "out.mcap")
    publishers = [
        live.publish("image", 20, 20),
        live.publish("cloud", 20, 20),
        live.publish("imu", 50, 50),
        live.publish("joints", 30, 30),
        live.publish("tf", 30, 30),
        live.publish("tf_static", 1, 1, "--linger", "2"),
    ]
    wait_all(publishers)
    time.sleep(0.5)
    out, err = stop(bridge)
    assert bridge.returncode == 0, err
    rrd, mcap = live.tmp / "out.rrd", live.tmp / "out.mcap"
    verify_rrd(rrd)

    assert rrd_row_count(rrd, "/camera/image_raw", "Image:buffer") == 20
    buffers = rrd_column(rrd, "/camera/image_raw", "Image:buffer")
    assert bytes(buffers[3][0]) == bytes(((np.arange(72) + 3) % 256).astype(np.uint8))
    positions = rrd_column(rrd, "/lidar/points", "Points3D:positions")
    assert len(positions) == 20
    assert [p[0] for p in positions[4]] == [4.0, 5.0, 6.0, 7.0, 8.0]
    imu = rrd_column(rrd, "/imu/data", "Scalars:scalars")
    assert len(imu) == 50
    assert [row[0] for row in imu] == [float(i) for i in range(50)]
    joints = rrd_column(rrd, "/joint_states/position", "Scalars:scalars")
    assert joints[7] == [7.0, -7.0]
    translations = rrd_column(rrd, "/tf", "Transform3D:translation")
    assert [t[0][0] for t in translations] == [float(i) for i in range(30)]
    static = {
        entity for entity, is_static, _b in rrd_chunks(rrd) if is_static and entity.startswith("/tf_static")
    }
    assert static == {"/tf_static/camera_link", "/tf_static/lidar_link"}
    # ros_time is the header stamp of each message.
    stamps = [
        t
        for entity, _s, batch in rrd_chunks(rrd)
        if entity == "/imu/data"
        and "ros_time" in batch.schema.names
        and "Scalars:scalars" in batch.schema.names
        for t in batch.column("ros_time").cast(pa.int64()).to_pylist()
    ]
    assert sorted(stamps) == [BASE_STAMP_NS + i * 1_000_000_000 + 500_000_000 for i in range(50)]
    # The file carries the bridge's default layout, written as it closed: Rerun's viewer shows it.
    views = {(view.class_identifier, view.origin) for view in rbl_views(read_rbl(rrd).root)}
    assert {("2D", "/camera/image_raw"), ("TimeSeries", "/imu")} <= views
    assert "3D" in {kind for kind, _origin in views}

    counts = mcap_counts(mcap)
    assert counts["/camera/image_raw"] == 20
    assert counts["/imu/data"] == 50
    assert counts["/tf"] == 30
    assert counts["/tf_static"] == 1
    with open_bag(mcap) as bag:
        resolver = TypeResolver(bag.topics())
        decoder = resolver.choose("sensor_msgs/msg/JointState").decoder
        assert decoder is not None
        first = next(iter(bag.messages({"/joint_states"})))
        assert list(decoder(first.data).position) == [0.0, -0.0]
    assert "/imu/data" in out
    assert "received" in out


def test_topic_that_appears_later_is_recorded(live: LiveEnv) -> None:
    bridge = live.bridge("--rrd", "late.rrd")
    time.sleep(2.5)  # the bridge is up and has done its first discovery before the topic exists
    wait_all([live.publish("string", 10, 20)])
    time.sleep(0.3)
    stop(bridge)
    texts = rrd_column(live.tmp / "late.rrd", "/late_topic", "TextLog:text")
    assert texts == [[f"late {i}"] for i in range(10)]


def test_a_topic_listed_with_its_type_is_subscribed_before_a_publisher_appears(live: LiveEnv) -> None:
    """docs/config.md: `topics.<topic>.type` lets the node subscribe before a publisher appears (the key
    was read and then ignored: the node waited for a publisher, and missed a late one's first messages);
    a publisher of another type than the declared one is named in a warning instead of silence."""
    config = live.tmp / "typed.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "topics": {
                    "/late_topic": {"type": "std_msgs/msg/String"},
                    "/stamps": {"type": "std_msgs/String"},  # its publisher publishes std_msgs/msg/Header
                }
            }
        )
    )
    bridge = live.bridge("--config", str(config), "--rrd", "typed.rrd")
    try:
        # Before any publisher exists.
        found, lines = read_until(bridge.stderr, "bridging /late_topic", timeout=60)
        assert found, "".join(lines)
        # Best effort: it matches reliable and best-effort publishers alike (sensor drivers publish best
        # effort; a reliable subscription would receive nothing of theirs).
        assert "[best_effort, volatile, depth 100]" in lines[-1], lines[-1]
        # The Header publisher lingers 4 s: discovery rounds to see it.
        wait_all(
            [
                live.publish("string", 10, 20, "--best-effort"),
                live.publish("header", 3, 20, "--no-wait", "--linger", "4"),
            ]
        )
    finally:
        _out, err = stop(bridge)  # also when the test failed: no bridge left running
    assert bridge.returncode == 0, err
    texts = rrd_column(live.tmp / "typed.rrd", "/late_topic", "TextLog:text")
    assert texts == [[f"late {i}"] for i in range(10)]
    expected = (
        "topic /stamps: the bridge config declares type std_msgs/msg/String (topics./stamps.type), its "
        "publishers publish std_msgs/msg/Header; nothing is received until the two agree"
    )
    assert sum(expected in line for line in [*lines, *err.splitlines()]) == 1, err


def test_mcap_offered_qos_is_what_rosbag2_and_rosbags_read(live: LiveEnv) -> None:
    """The live .mcap's channels carry rosbag2's whole offered_qos_profiles record: with only history,
    depth, reliability and durability, rosbags (and rosbag2's QoS decoder) failed to open the file."""
    from rosbags.highlevel import AnyReader
    from rosbags.interfaces import ConnectionExtRosbag2, QosDurability, QosReliability

    bridge = live.bridge("--mcap", "qos.mcap")
    wait_all([live.publish("imu", 10, 20, "--best-effort"), live.publish("tf_static", 1, 1, "--linger", "2")])
    time.sleep(0.5)
    _out, err = stop(bridge)
    assert bridge.returncode == 0, err
    with AnyReader([live.tmp / "qos.mcap"]) as reader:
        connections = {c.topic: c for c in reader.connections}
        assert sum(1 for _ in reader.messages(connections=[connections["/imu/data"]])) == 10
        imu_ext, tf_static_ext = connections["/imu/data"].ext, connections["/tf_static"].ext
        assert isinstance(imu_ext, ConnectionExtRosbag2)
        assert isinstance(tf_static_ext, ConnectionExtRosbag2)
        (imu,) = imu_ext.offered_qos_profiles
        (tf_static,) = tf_static_ext.offered_qos_profiles
    assert imu.reliability is QosReliability.BEST_EFFORT
    assert imu.durability is QosDurability.VOLATILE
    assert tf_static.reliability is QosReliability.RELIABLE
    assert tf_static.durability is QosDurability.TRANSIENT_LOCAL
    assert (imu.deadline.sec, imu.deadline.nsec) == (9223372036, 854775807)  # infinite, as rosbag2 writes


def test_a_topic_without_converter_is_named_once_not_skipped_silently(live: LiveEnv) -> None:
    bridge = live.bridge("--rrd", "plain.rrd")
    wait_all([live.publish("header", 10, 20)])
    time.sleep(0.5)
    _out, err = stop(bridge)
    expected = (
        "topic /stamps: no converter for std_msgs/msg/Header; not bridged "
        "(raw_unknown_types: true records it as raw columns)"
    )
    assert err.count(expected) == 1, err
    assert rrd_row_count(live.tmp / "plain.rrd", "/stamps", "std_msgs.msg.Header:message") == 0


def test_best_effort_publisher_is_received(live: LiveEnv) -> None:
    bridge = live.bridge("--rrd", "be.rrd")
    wait_all([live.publish("imu", 30, 30, "--best-effort")])
    time.sleep(0.3)
    _out, err = stop(bridge)
    assert "best_effort" in err  # the chosen QoS is logged
    assert (
        rrd_row_count(live.tmp / "be.rrd", "/imu/data", "Scalars:scalars") >= 25
    )  # best effort may lose a few


def test_sim_time_from_clock_drives_log_time(live: LiveEnv) -> None:
    config = live.tmp / "sim.yaml"
    config.write_text(yaml.safe_dump({"use_sim_time": True}))
    bridge = live.bridge("--config", str(config), "--rrd", "sim.rrd")
    clock = live.publish("clock", 200, 20)
    time.sleep(2.0)
    wait_all([live.publish("string", 10, 10)])
    clock.kill()
    clock.wait()
    stop(bridge)
    times = [
        t
        for entity, _s, batch in rrd_chunks(live.tmp / "sim.rrd")
        if entity == "/late_topic"
        for t in batch.column("log_time").cast(pa.int64()).to_pylist()
    ]
    assert len(times) == 10
    assert all(5000e9 <= t <= 5200e9 for t in times), times


def test_diagnostics_are_published_and_recorded(live: LiveEnv) -> None:
    bridge = live.bridge("--rrd", "diag.rrd")
    publisher = live.publish("imu", 100, 50)
    listener = subprocess.run(
        [
            sys.executable,
            "-m",
            "test.live.listener",
            "/rerun_bridge/diagnostics",
            "20",
            "rerun_bridge: /imu/data",
        ],
        cwd=ROOT,
        env=live.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    wait_all([publisher])
    stop(bridge)
    statuses = {s["name"]: s for s in json.loads(listener.stdout.strip().splitlines()[-1])}
    imu = statuses["rerun_bridge: /imu/data"]
    assert set(imu["values"]) >= {"received", "rate_hz", "bytes_per_s", "dropped", "conversion_errors"}
    assert int(imu["values"]["received"]) > 0
    rates = rrd_column(live.tmp / "diag.rrd", "/rerun_bridge/diagnostics/imu/data", "Scalars:scalars")
    assert rates, "diagnostics are logged into the recording"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_writes_valid_files(live: LiveEnv, signum: int) -> None:
    bridge = live.bridge("--rrd", "s.rrd", "--mcap", "s.mcap")
    wait_all([live.publish("imu", 40, 40)])
    stop(bridge, signum)
    assert bridge.returncode == 0
    verify_rrd(live.tmp / "s.rrd")
    with (live.tmp / "s.mcap").open("rb") as stream:
        from mcap.reader import make_reader

        summary = make_reader(stream).get_summary()
    assert summary is not None
    assert summary.statistics is not None
    assert summary.statistics.message_count >= 40


def test_sigkill_leaves_files_readable_up_to_the_last_flush(live: LiveEnv) -> None:
    bridge = live.bridge("--rrd", "k.rrd", "--mcap", "k.mcap")
    publisher = live.publish("imu", 150, 50)  # 3 s of data
    wait_all([publisher])
    time.sleep(1.5)  # more than one flush period after the last message
    bridge.kill()
    bridge.wait()
    chunks = list(rrc.RrdReader(str(live.tmp / "k.rrd")).stream().to_chunks())
    rows = sum(
        c.to_record_batch().num_rows
        for c in chunks
        if str(c.entity_path) == "/imu/data" and "Scalars:scalars" in c.to_record_batch().schema.names
    )
    assert rows == 150
    assert mcap_counts(live.tmp / "k.mcap")["/imu/data"] == 150


def test_config_filters_tf_frames_and_limits_rates(live: LiveEnv) -> None:
    config = live.tmp / "bridge.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "tf": {"deny_frames": ["^lidar"]},
                "topics": {"/imu/data": {"rate_limit_hz": 5}},
            }
        )
    )
    bridge = live.bridge("--config", str(config), "--rrd", "f.rrd")
    wait_all([live.publish("tf_static", 1, 1, "--linger", "2"), live.publish("imu", 100, 50)])
    time.sleep(0.3)
    out, _err = stop(bridge)
    rrd = live.tmp / "f.rrd"
    static = {
        entity for entity, is_static, _b in rrd_chunks(rrd) if is_static and entity.startswith("/tf_static")
    }
    assert static == {"/tf_static/camera_link"}
    stored = rrd_row_count(rrd, "/imu/data", "Scalars:scalars")
    assert 5 <= stored <= 15, stored  # 2 s at 50 Hz through a 5 Hz limit
    imu_line = next(line.split() for line in out.splitlines() if line.startswith("/imu/data"))
    received, kept, dropped = int(imu_line[2]), int(imu_line[3]), int(imu_line[4])
    assert received == 100
    assert kept == stored
    assert dropped == received - stored


def test_best_effort_camera_frames_arrive_whole_with_the_shipped_fastdds_profile(live: LiveEnv) -> None:
    """2.7 MB frames from a best-effort publisher: with config/fastdds_large_messages.xml on both sides
    they travel through shared memory whole instead of as UDP fragments, one lost fragment losing a frame."""
    live.env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(ROOT / "config" / "fastdds_large_messages.xml")
    bridge = live.bridge("--rrd", "hd.rrd")
    wait_all([live.publish("camera_frame", 60, 30, "--best-effort")])
    time.sleep(0.5)
    out, err = stop(bridge)
    assert bridge.returncode == 0, err
    assert "Error" not in err, err  # Fast DDS reports a profile it cannot parse on stderr
    line = next(line.split() for line in out.splitlines() if line.startswith("/camera/hd/image_raw"))
    received, stored = int(line[2]), int(line[3])
    assert stored == received
    assert received >= 57, out  # best effort: allow a frame or three on a busy machine, not most of them
    assert rrd_row_count(live.tmp / "hd.rrd", "/camera/hd/image_raw", "Image:buffer") == stored


def test_frames_dds_loses_are_counted_as_lost_in_dds(live: LiveEnv) -> None:
    """Without the large-message profile, 2.7 MB best-effort frames travel as UDP fragments and most are
    lost before they reach the bridge: the message_lost event makes that visible in the summary."""
    live.env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)
    bridge = live.bridge("--rrd", "lossy.rrd")
    wait_all([live.publish("camera_frame", 60, 30, "--best-effort")])
    time.sleep(0.5)
    out, err = stop(bridge)
    assert bridge.returncode == 0, err
    header = next(line for line in out.splitlines() if line.startswith("topic"))
    line = next(line for line in out.splitlines() if line.startswith("/camera/hd/image_raw"))
    # Columns are two or more spaces apart; some names ("dds lost") hold one.
    cells = dict(zip(re.split(r"\s{2,}", header), re.split(r"\s{2,}", line), strict=True))
    received, lost = int(cells["received"]), int(cells["dds lost"])
    assert received < 60, out  # the premise: this transport does lose frames of this size
    assert lost > 0, out
    assert received + lost <= 60, out


def test_incompatible_qos_is_reported_once_with_the_fix(live: LiveEnv) -> None:
    config = live.tmp / "reliable.yaml"
    config.write_text(yaml.safe_dump({"topics": {"/imu/data": {"qos": {"reliability": "reliable"}}}}))
    bridge = live.bridge("--config", str(config), "--rrd", "q.rrd")
    publisher = live.publish("imu", 20, 20, "--best-effort")
    # The publisher never matches a reliable reader: it gives up after its wait.
    found, early = read_until(bridge.stderr, "incompatible QoS on /imu/data")
    time.sleep(1.0)  # a second warning would come with the next event
    _out, err = stop(bridge)
    publisher.kill()
    publisher.wait()
    assert found, "".join(early)
    warnings = [line for line in [*early, *err.splitlines()] if "incompatible QoS on /imu/data" in line]
    assert len(warnings) == 1
    assert "topics./imu/data.qos" in warnings[0]
    assert "best_effort" in warnings[0]


def test_history_keep_all_from_the_config_reaches_the_subscription(live: LiveEnv) -> None:
    config = live.tmp / "keep_all.yaml"
    config.write_text(yaml.safe_dump({"topics": {"/imu/data": {"qos": {"history": "keep_all"}}}}))
    bridge = live.bridge("--config", str(config), "--rrd", "k.rrd")
    publisher = live.publish("imu", 20, 20)
    found, lines = read_until(bridge.stderr, "bridging /imu/data", timeout=60)
    stop(bridge)
    publisher.kill()
    publisher.wait()
    assert found, "".join(lines)
    assert "keep_all" in lines[-1], lines[-1]


def test_rotation_by_time_writes_complete_parts(live: LiveEnv) -> None:
    config = live.tmp / "rotate.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "sinks": {
                    "rrd": {"path": str(live.tmp / "run.rrd"), "rotate_seconds": 1.5},
                    "mcap": {"path": str(live.tmp / "run.mcap"), "rotate_seconds": 1.5},
                }
            }
        )
    )
    bridge = live.bridge("--config", str(config))
    wait_all([live.publish("tf_static", 1, 1, "--linger", "0.5"), live.publish("imu", 200, 50)])
    stop(bridge)
    rrd_parts = sorted(live.tmp.glob("run_*.rrd"))
    mcap_parts = sorted(live.tmp.glob("run_*.mcap"))
    assert len(rrd_parts) >= 3
    assert len(mcap_parts) >= 3
    total = 0
    has_static = []
    for part in rrd_parts:
        verify_rrd(part)
        total += rrd_row_count(part, "/imu/data", "Scalars:scalars")
        has_static.append(any(entity == "/tf_static/camera_link" for entity, _s, _b in rrd_chunks(part)))
    assert total == 200
    # Each part that holds data carries its own layout, made as it closed.
    holds_data = [any(not e.startswith("/__") for e, _s, _b in rrd_chunks(part)) for part in rrd_parts]
    has_layout = [bool(rrc.RrdReader(str(part)).blueprints()) for part in rrd_parts]
    assert has_layout == holds_data
    assert any(has_layout)
    # Parts cut before the publishers started cannot hold /tf_static; every part after it arrived does.
    assert has_static[-1], has_static
    assert all(has_static[has_static.index(True) :]), has_static
    assert sum(mcap_counts(part).get("/imu/data", 0) for part in mcap_parts) == 200
    latched = [mcap_counts(part).get("/tf_static", 0) for part in mcap_parts]
    assert latched[-1] == 1, latched
    assert all(count == 1 for count in latched[latched.index(1) :]), latched


def test_latched_topic_published_before_the_bridge_started(live: LiveEnv) -> None:
    """/tf_static is transient_local: a bridge started later still gets what was published before."""
    publisher = live.publish("tf_static", 1, 1, "--no-wait", "--linger", "12")
    time.sleep(2.0)  # published and waiting; no bridge yet
    bridge = live.bridge("--rrd", "latched.rrd")
    time.sleep(5.0)
    stop(bridge)
    publisher.kill()
    publisher.wait()
    static = {
        entity
        for entity, is_static, _b in rrd_chunks(live.tmp / "latched.rrd")
        if is_static and entity.startswith("/tf_static")
    }
    assert static == {"/tf_static/camera_link", "/tf_static/lidar_link"}


def test_robot_description_published_before_the_bridge_is_drawn_and_joint_states_move_it(
    live: LiveEnv,
) -> None:
    """/robot_description is transient_local: the bridge started later draws it, its mesh read from the
    config's mesh root, and animates its joints from /joint_states (no robot_state_publisher runs)."""
    (live.tmp / "meshes" / "live_robot" / "meshes").mkdir(parents=True)
    trimesh.creation.box(extents=[0.3, 0.3, 0.1]).export(
        live.tmp / "meshes" / "live_robot" / "meshes" / "base.stl"
    )
    config = live.tmp / "robot.yaml"
    config.write_text(yaml.safe_dump({"robot_model": {"mesh_roots": [str(live.tmp / "meshes")]}}))
    description = live.publish("robot_description", 1, 1, "--no-wait", "--linger", "15")
    time.sleep(2.0)  # published and waiting; no bridge yet
    bridge = live.bridge("--config", str(config), "--rrd", "robot.rrd")
    # Topics convert in turn: the first joint states may come before the description (only plotted then;
    # on a loaded machine its mesh took long to load, and only the last 3 of 20 moved the model).
    wait_all([live.publish("joints", 40, 10)])
    time.sleep(0.3)
    _out, err = stop(bridge)
    description.kill()
    description.wait()
    rrd = live.tmp / "robot.rrd"
    verify_rrd(rrd)
    rows = RrdRows.read(rrd)
    assert {
        "/robot_description/links/base_link/visual_0",  # the STL, found under the mesh root
        "/robot_description/links/upper_arm/visual_0",
        "/robot_description/links/forearm/visual_0",
    } <= set(rows.static)
    assert "robot model" not in err  # no mesh problem
    # make_joints(i) is stamped BASE + i s and sets shoulder = i: the shoulder turns about z by i radians.
    shoulder = rows.timed["/robot_description/joints/shoulder"]["Transform3D:quaternion"]
    assert len(shoulder) >= 10
    for ros_time, (quaternion,) in shoulder:
        index = ros_time // 1_000_000_000 - BASE_STAMP_NS // 1_000_000_000
        expected = [0.0, 0.0, np.sin(index / 2), np.cos(index / 2)]  # q and -q are the same rotation
        assert abs(float(np.dot(quaternion, expected))) == pytest.approx(1.0, abs=1e-6), index
    elbow = rows.timed["/robot_description/joints/elbow"]["Transform3D:translation"]
    assert [value for _time, value in elbow] == [[[0.0, 0.0, 0.5]]] * len(shoulder)


def test_stream_to_a_receiver_on_loopback(live: LiveEnv) -> None:
    port = 20000 + (os.getpid() % 20000)
    config = live.tmp / "stream.yaml"
    config.write_text(
        yaml.safe_dump({"sinks": {"stream": {"enabled": True, "bind": f"127.0.0.1:{port}", "token": "t0k"}}})
    )
    bridge = live.bridge("--config", str(config))
    time.sleep(2.0)
    receiver = subprocess.Popen(
        [str(Path(sys.executable).parent / "rerun-bridge"), "receive", f"127.0.0.1:{port}", "--token", "t0k",
         "-o", str(live.tmp / "remote.rrd"), "--duration", "8"],
        env=live.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.0)
    wait_all([live.publish("imu", 50, 25)])
    _out, err = receiver.communicate(timeout=60)
    stop(bridge)
    assert receiver.returncode == 0, err
    verify_rrd(live.tmp / "remote.rrd")
    values = rrd_column(live.tmp / "remote.rrd", "/imu/data", "Scalars:scalars")
    assert [row[0] for row in values] == [float(i) for i in range(50)]


def test_a_bridge_with_no_output_says_so(live: LiveEnv) -> None:
    # `ros2 launch rerun_bridge record.launch.py rdd_path:=run.rrd` (a misspelt argument, which launch drops
    # without a word) ran a bridge that wrote nothing and said nothing.
    bridge = live.bridge("--duration", "1")
    _out, err = bridge.communicate(timeout=60)
    assert bridge.returncode == 0, err
    assert sum("nothing is written, served or shown" in line for line in err.splitlines()) == 1, err
    with_output = live.bridge("--duration", "1", "--rrd", "out.rrd")
    _out, err = with_output.communicate(timeout=60)
    assert with_output.returncode == 0, err
    assert "nothing is written" not in err


def test_an_output_that_cannot_be_opened_leaves_no_other_file_behind(live: LiveEnv) -> None:
    # The .mcap could not be made (its folder is a file): the bridge exited 2, leaving an empty .rrd.
    (live.tmp / "not_a_folder").write_text("x")
    bridge = live.bridge("--rrd", "run.rrd", "--mcap", "not_a_folder/run.mcap", "--duration", "1")
    _out, err = bridge.communicate(timeout=60)
    assert bridge.returncode == 2, err
    assert "not_a_folder" in err
    assert not (live.tmp / "run.rrd").exists()
    assert sorted(path.name for path in live.tmp.iterdir() if path.suffix in (".rrd", ".mcap")) == []


_LIBRARY_LOG = """
import logging, sys
import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from rcl_interfaces.msg import Log
from rerun_bridge.node import route_library_log

logging.basicConfig(level=logging.INFO)  # as the command line sets it up
rclpy.init()
node = Node("rerun_bridge")
route_library_log(node)
heard = []
listener = Node("listener")
latched = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)
listener.create_subscription(Log, "/rosout", heard.append, latched)
logging.getLogger("rerun_bridge.sinks.stream").warning("stream client ipv4:10.0.0.2:5000 stopped reading")
for _ in range(50):
    rclpy.spin_once(listener, timeout_sec=0.1)
    if heard:
        break
print("ROSOUT", [message.msg for message in heard if message.name == "rerun_bridge"])
"""


def test_the_bridges_library_warnings_go_through_the_ros_logger(live: LiveEnv) -> None:
    """The stream server's warning about a client that stopped reading came out as plain stderr text,
    without the node's [WARN] [time] [rerun_bridge] prefix, and never reached /rosout (audit)."""
    done = subprocess.run(
        [sys.executable, "-c", _LIBRARY_LOG],
        env=live.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    warned = [line for line in done.stderr.splitlines() if "stopped reading" in line]
    assert len(warned) == 1, done.stderr  # once: not also by the command line's own handler
    assert warned[0].startswith("[WARN] [")
    assert "[rerun_bridge]: stream client" in warned[0]
    assert "ROSOUT ['stream client ipv4:10.0.0.2:5000 stopped reading']" in done.stdout
