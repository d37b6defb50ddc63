"""CPU time of our lean MCAP writer against the mcap library's Writer on the same messages.

    .venv/bin/python bench/mcap_writer.py [--frames 300] [--repeats 3] [--compression none|lz4|zstd]

The load is what the live recorder sees from a camera robot: 2.7 MB frames (720p rgb8) with 20 small
messages (IMU-sized) between two frames. Both writers write the same messages to a file in a temporary
folder; the best of ``--repeats`` CPU times of each is printed with the ratio ours / theirs (lower is
better). Prints numbers only; not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from mcap.writer import CompressionType, Writer

from rerun_bridge.sinks.mcap_writer import LeanMcapWriter

FRAME_BYTES = 1280 * 720 * 3
SMALL_PER_FRAME = 20


def cpu_seconds(
    make: Callable[[BinaryIO], Any], path: Path, frames: int, frame: bytes, small: bytes
) -> float:
    with path.open("wb") as stream:
        writer = make(stream)
        writer.start("ros2", "bench")
        schema = writer.register_schema(name="sensor_msgs/msg/Image", encoding="ros2msg", data=b"")
        channel = writer.register_channel(topic="/camera", message_encoding="cdr", schema_id=schema)
        started = time.process_time()
        for i in range(frames):
            writer.add_message(channel_id=channel, log_time=i, data=frame, publish_time=i)
            for _ in range(SMALL_PER_FRAME):
                writer.add_message(channel_id=channel, log_time=i, data=small, publish_time=i)
        writer.finish()
        return time.process_time() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compression", choices=("none", "lz4", "zstd"), default="none")
    args = parser.parse_args(argv)
    library_compression = {
        "none": CompressionType.NONE,
        "lz4": CompressionType.LZ4,
        "zstd": CompressionType.ZSTD,
    }[args.compression]
    ours_compression = "" if args.compression == "none" else args.compression
    writers: dict[str, Callable[[BinaryIO], Any]] = {
        "mcap library Writer": lambda s: Writer(s, chunk_size=4 << 20, compression=library_compression),
        "ours (LeanMcapWriter)": lambda s: LeanMcapWriter(s, ours_compression, chunk_size=4 << 20),
    }
    frame, small = os.urandom(FRAME_BYTES), os.urandom(300)
    total_gb = args.frames * (FRAME_BYTES + SMALL_PER_FRAME * 300) / 1e9
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rerun_bridge_mcap_bench_") as folder:
        for _ in range(args.repeats):
            for name, make in writers.items():  # alternating: both see the same machine state
                seconds = cpu_seconds(make, Path(folder) / "out.mcap", args.frames, frame, small)
                best[name] = min(best.get(name, seconds), seconds)
    print(f"{args.frames} frames of {FRAME_BYTES / 1e6:.1f} MB + {SMALL_PER_FRAME} small messages each")
    print(f"({total_gb:.2f} GB), compression {args.compression}, best CPU time of {args.repeats}:")
    for name, seconds in best.items():
        print(f"  {name:24} {seconds:6.2f} s   {total_gb / seconds:5.2f} GB/s")
    ratio = best["ours (LeanMcapWriter)"] / best["mcap library Writer"]
    print(f"  ratio ours / library     {ratio:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
