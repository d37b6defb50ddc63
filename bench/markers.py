"""MarkerArray conversion throughput against PointCloud2 of the same point count, in the same run.

    .venv/bin/python bench/markers.py [--markers 10000] [--seconds 2] [--runs 5]

Writes three small MCAP recordings at 10 Hz into a temporary folder: a MarkerArray of ``--markers`` mixed
markers per message as slam_toolbox publishes it (a DELETEALL, then the whole set), the same markers
re-sent without a DELETEALL (each array modifies every marker), and a PointCloud2 (x, y, z, rgb) of as many
points. Both arrays update the topic's live markers and are written as one row per namespace and type
(docs/markers.md). Each is converted to an .rrd with ``convert_bags`` (read, decode, convert, write)
``--runs`` times, the three taking turns; the best run counts. Prints messages per second (wall and CPU
time), the CPU time of each stage (reading, decoding, converting, writing) measured apart, and the ratio
to the point cloud with the target beside it (within 3x); never fails on a miss. Also prints the CDR
bytes of each message and the
ratio of CDR bytes converted per second: an array of 10,000 markers is about 16 times the bytes of a cloud
of 10,000 points, so the message ratio compares unequal amounts of data (docs/markers.md).

Last, the floor no conversion of the arrays goes under: their chunks decompressed on a reader thread while
the main thread hands Rerun's writer the Arrow batches the conversion made of them (built beforehand, so
neither decoding, converting nor building Arrow counts), against the whole conversion of the cloud: what is
left of the 3x for the bridge's own work.
"""

from __future__ import annotations

import argparse
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import rerun as rr
import zstandard
from mcap.reader import make_reader
from mcap.records import Chunk
from mcap.stream_reader import StreamReader
from mcap_ros2.writer import Writer
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.convert.registry import ConvertContext, SharedState
from rerun_bridge.model.records import TopicInfo
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME
from rerun_bridge.replay import convert_bags
from rerun_bridge.replay.conversion import CONVERT_ARRAY_BATCH_BYTES, CONVERT_BATCH_ROWS
from rerun_bridge.sinks.batcher import RowBatcher
from rerun_bridge.sinks.rrd import RrdSink

RATE_HZ = 10
TARGET_RATIO = 3.0
_TYPESTORE = get_typestore(Stores.ROS2_JAZZY)
#: Marker types in the mix, with the points each takes (0: a pose-only shape).
#: The benchmark's recordings: their topic and type.
TOPICS = {
    "PointCloud2": ("/cloud", "sensor_msgs/msg/PointCloud2"),
    "MarkerArray, DELETEALL + set (batched)": ("/markers", "visualization_msgs/msg/MarkerArray"),
    "MarkerArray, no DELETEALL (set re-sent)": ("/markers", "visualization_msgs/msg/MarkerArray"),
}
MIX = [(2, 0), (1, 0), (0, 0), (3, 0), (4, 3), (9, 0), (8, 4), (6, 4)]


def _header(stamp_ns: int, frame: str = "map") -> dict[str, Any]:
    return {
        "stamp": {"sec": stamp_ns // 1_000_000_000, "nanosec": stamp_ns % 1_000_000_000},
        "frame_id": frame,
    }


def mixed_markers(count: int, stamp_ns: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """``count`` markers cycling through :data:`MIX`, spread over 100 x 100 m, in eight namespaces."""
    positions = rng.uniform(-50.0, 50.0, size=(count, 3))
    markers = []
    for index in range(count):
        kind, points = MIX[index % len(MIX)]
        x, y, z = (float(value) for value in positions[index])
        markers.append(
            {
                "header": _header(stamp_ns),
                "ns": f"ns{index % 8}",
                "id": index,
                "type": kind,
                "pose": {"position": {"x": x, "y": y, "z": z}, "orientation": {"w": 1.0}},
                "scale": {"x": 0.2, "y": 0.2, "z": 0.2},
                "color": {"r": 1.0, "g": 0.5, "a": 1.0},
                "points": [{"x": 0.1 * step, "y": 0.0, "z": 0.0} for step in range(points)],
                "text": f"node {index}" if kind == 9 else "",
            }
        )
    return markers


def write_marker_bag(path: Path, count: int, messages: int, redraw: bool) -> Path:
    name = "visualization_msgs/msg/MarkerArray"
    rng = np.random.default_rng(0)
    start = 1_700_000_000_000_000_000
    with path.open("wb") as out:
        writer = Writer(out)
        schema = writer.register_msgdef(name, _TYPESTORE.generate_msgdef(name, ros_version=2)[0])
        for index in range(messages):
            stamp = start + index * 1_000_000_000 // RATE_HZ
            markers = mixed_markers(count, stamp, rng)
            if redraw:
                markers.insert(0, {"action": 3})
            writer.write_message("/markers", schema, {"markers": markers}, log_time=stamp)
        writer.finish()  # type: ignore[no-untyped-call]
    return path


def write_cloud_bag(path: Path, count: int, messages: int) -> Path:
    name = "sensor_msgs/msg/PointCloud2"
    rng = np.random.default_rng(0)
    start = 1_700_000_000_000_000_000
    fields = [
        {"name": axis, "offset": 4 * index, "datatype": 7, "count": 1} for index, axis in enumerate("xyz")
    ] + [{"name": "rgb", "offset": 12, "datatype": 7, "count": 1}]
    with path.open("wb") as out:
        writer = Writer(out)
        schema = writer.register_msgdef(name, _TYPESTORE.generate_msgdef(name, ros_version=2)[0])
        for index in range(messages):
            stamp = start + index * 1_000_000_000 // RATE_HZ
            data = rng.uniform(-50.0, 50.0, size=(count, 4)).astype(np.float32).tobytes()
            cloud = {
                "header": _header(stamp),
                "height": 1,
                "width": count,
                "fields": fields,
                "is_bigendian": False,
                "point_step": 16,
                "row_step": 16 * count,
                "data": data,
                "is_dense": True,
            }
            writer.write_message("/cloud", schema, cloud, log_time=stamp)
        writer.finish()  # type: ignore[no-untyped-call]
    return path


def best_rates(bags: dict[str, Path], out: Path, messages: int, runs: int) -> dict[str, tuple[float, float]]:
    """Per recording, messages converted per wall second and per CPU second of this process (all its
    threads: the CPU rate barely moves when other work shares the machine), the best of ``runs``
    conversions. The recordings take turns, run after run, so that a slow spell of this shared machine
    falls on all of them rather than on one."""
    best: dict[str, tuple[float, float]] = dict.fromkeys(bags, (float("inf"), float("inf")))
    for _ in range(runs):
        for label, bag in bags.items():
            wall, cpu = time.perf_counter(), time.process_time()
            summary = convert_bags([bag], out)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[label] = (min(best[label][0], wall), min(best[label][1], cpu))
            errors = sum(topic.errors for topic in summary.topics)
            if errors:
                raise SystemExit(f"{bag.name}: {errors} conversion errors")
    return {label: (messages / wall, messages / cpu) for label, (wall, cpu) in best.items()}


def cdr_bytes_per_message(bag: Path) -> float:
    """Mean CDR payload of the recording's messages (what the reader hands the decoder)."""
    total = count = 0
    with bag.open("rb") as stream:
        for _schema, _channel, message in make_reader(stream).iter_messages():
            total += len(message.data)
            count += 1
    return total / max(count, 1)


def stage_seconds(bag: Path, topic: str, type_name: str, out: Path) -> dict[str, float]:
    """CPU seconds per message (all threads: Rerun's encoder too) of each stage, timed apart message by
    message as a conversion runs them: reading it from the MCAP file, decoding CDR, converting (one
    pipeline's shared state), writing its rows to an .rrd (Rerun's encoder and closing the file
    included)."""
    cpu = time.process_time
    decoder = TypeResolver([TopicInfo(topic, type_name)], "jazzy").choose(type_name).decoder
    converter = BUILTIN_CONVERTERS.lookup(type_name)
    if decoder is None or converter is None:
        raise SystemExit(f"cannot decode or convert {type_name}")
    # As convert_bags converts: into one file, where rows may leave out what their entity shows.
    context = ConvertContext(topic, type_name, topic, shared=SharedState(whole_history=True))
    spent = dict.fromkeys(("reading", "decoding", "converting", "writing"), 0.0)
    count = 0
    with bag.open("rb") as stream, RrdSink(out, batch_rows=CONVERT_BATCH_ROWS) as sink:
        messages = make_reader(stream).iter_messages(topics=[topic])
        while True:
            started = cpu()
            found = next(messages, None)
            read_at = cpu()
            spent["reading"] += read_at - started
            if found is None:
                break
            message = found[2]
            decoded = decoder(message.data)
            decoded_at = cpu()
            rows = converter.func(decoded, context)
            converted_at = cpu()
            sink.write(rows, {LOG_TIME: message.log_time, ROS_TIME: message.log_time})
            spent["decoding"] += decoded_at - read_at
            spent["converting"] += converted_at - decoded_at
            spent["writing"] += cpu() - converted_at
            count += 1
        closing = cpu()
    spent["writing"] += cpu() - closing
    return {stage: seconds / max(count, 1) for stage, seconds in spent.items()}


#: What the conversion hands Rerun's writer: (entity path, static, record batch), after the message it
#: follows (0: before the first).
_Handed = dict[int, list[tuple[str, bool, pa.RecordBatch]]]


def batches_handed(bag: Path, topic: str, type_name: str) -> _Handed:
    """The record batches a conversion of ``bag`` hands Rerun, batched as the conversion batches rows."""
    decoder = TypeResolver([TopicInfo(topic, type_name)], "jazzy").choose(type_name).decoder
    converter = BUILTIN_CONVERTERS.lookup(type_name)
    if decoder is None or converter is None:
        raise SystemExit(f"cannot decode or convert {type_name}")
    # As convert_bags converts: into one file, where rows may leave out what their entity shows.
    context = ConvertContext(topic, type_name, topic, shared=SharedState(whole_history=True))
    handed: _Handed = {}
    read = 0

    def keep(entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        handed.setdefault(read, []).append((entity_path, static, batch))

    batcher = RowBatcher(keep, CONVERT_BATCH_ROWS, array_batch_bytes=CONVERT_ARRAY_BATCH_BYTES)
    with bag.open("rb") as stream:
        for _schema, _channel, message in make_reader(stream).iter_messages(topics=[topic]):
            read += 1
            rows = converter.func(decoder(message.data), context)
            batcher.write(rows, {LOG_TIME: message.log_time, ROS_TIME: message.log_time})
    batcher.flush()
    return handed


def floor_seconds(bag: Path, handed: _Handed, out: Path) -> float:
    """Wall seconds to decompress every chunk of ``bag`` on a second thread (as the bridge reads ahead)
    while handing ``handed`` to Rerun's .rrd writer as each message arrives, and close the file."""
    with bag.open("rb") as stream:
        chunks = [
            record for record in StreamReader(stream, emit_chunks=True).records if isinstance(record, Chunk)
        ]
    if any(chunk.compression not in ("", "zstd") for chunk in chunks):
        raise SystemExit(f"{bag.name}: chunks not zstd")
    arrived: queue.Queue[bytes | None] = queue.Queue(maxsize=4)

    def read() -> None:
        decompressor = zstandard.ZstdDecompressor()
        for chunk in chunks:
            data = chunk.data
            if chunk.compression == "zstd":
                data = decompressor.decompress(chunk.data, max_output_size=chunk.uncompressed_size)
            arrived.put(data)
        arrived.put(None)

    def hand(after: int) -> None:
        for entity_path, static, batch in handed.get(after, []):
            if static:
                rr.send_record_batch(batch, recording=recording, entity_path=entity_path, index=None)
            else:
                rr.send_record_batch(batch, recording=recording, entity_path=entity_path)

    started = time.perf_counter()
    recording = rr.RecordingStream("floor")
    recording.save(str(out))
    reader = threading.Thread(target=read)
    reader.start()
    hand(0)
    count = 0
    while arrived.get() is not None:
        count += 1
        hand(count)
    hand(count + 1)  # what closing the conversion flushes
    reader.join()
    recording.flush()
    recording.disconnect()
    return time.perf_counter() - started


def print_floor(bag: Path, cloud_rate: float, messages: int, runs: int, out: Path) -> None:
    topic, type_name = TOPICS["MarkerArray, DELETEALL + set (batched)"]
    handed = batches_handed(bag, topic, type_name)
    seconds = min(floor_seconds(bag, handed, out) for _ in range(runs))
    rate = messages / seconds
    print(
        f"  Floor of the DELETEALL arrays (decompressing + Rerun's writer, the conversion's Arrow batches "
        f"made beforehand): {rate:.2f} msg/s, {cloud_rate / rate:.1f}x the cloud's whole conversion"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markers", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    messages = max(1, round(args.seconds * RATE_HZ))
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        bags: dict[str, Callable[[], Path]] = {
            "PointCloud2": lambda: write_cloud_bag(work / "cloud.mcap", args.markers, messages),
            "MarkerArray, DELETEALL + set (batched)": lambda: write_marker_bag(
                work / "redraw.mcap", args.markers, messages, redraw=True
            ),
            "MarkerArray, no DELETEALL (set re-sent)": lambda: write_marker_bag(
                work / "each.mcap", args.markers, messages, redraw=False
            ),
        }
        each = f"{args.markers:,} markers / points each"
        print(f"{messages} messages at {RATE_HZ} Hz, {each}, best of {args.runs} conversions")
        made = {label: make() for label, make in bags.items()}
        rates = best_rates(made, work / "out.rrd", messages, args.runs)
        payloads: dict[str, float] = {}
        for label, bag in made.items():
            payloads[label] = cdr_bytes_per_message(bag)
            topic, type_name = TOPICS[label]
            stages = stage_seconds(bag, topic, type_name, work / "stages.rrd")
            wall, cpu = rates[label]
            print(
                f"  {label:42s} {wall:8.2f} msg/s ({cpu:8.2f} per CPU second); "
                f"{payloads[label] / 1e6:.2f} MB of CDR a message, {wall * payloads[label] / 1e6:.0f} MB/s"
            )
            apart = ", ".join(f"{name} {1e3 * seconds:.2f}" for name, seconds in stages.items())
            print(f"  {'':42s} CPU ms per message, stages apart: {apart}")
        cloud_wall, cloud_cpu = rates["PointCloud2"]
        for label, (wall, cpu) in rates.items():
            if label == "PointCloud2":
                continue
            ratio, cpu_ratio = cloud_wall / wall, cloud_cpu / cpu
            verdict = "met" if ratio <= TARGET_RATIO else "missed"
            byte_ratio = cloud_wall * payloads["PointCloud2"] / (wall * payloads[label])
            print(
                f"  PointCloud2 / {label}: {ratio:.1f}x ({cpu_ratio:.1f}x in CPU time; "
                f"target <= {TARGET_RATIO:.0f}x: {verdict}); {wall / RATE_HZ:.2f}x real time at {RATE_HZ} Hz;"
                f" per CDR byte {byte_ratio:.2f}x"
            )
        print_floor(
            made["MarkerArray, DELETEALL + set (batched)"],
            cloud_wall,
            messages,
            args.runs,
            work / "floor.rrd",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
