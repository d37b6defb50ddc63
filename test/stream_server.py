"""A real bridge stream server in its own process for the laptop-viewing tests: the live node's stream sink
serving known rows, so a viewer process can be checked against them.

    python -m test.stream_server PORT COUNT RATE_HZ [--token T] [--history S]

Row ``i`` is a solid red 64x48 camera image (``/camera``) and the scalar ``i`` (``/speed``), at log_time
``i`` x 10 ms from a fixed start; a static transform comes first. Prints ``serving`` once listening and
``published i`` after each row, then keeps serving until killed (or ``--linger`` seconds). With
``--noise`` each image is 320x240 random pixels instead (230 kB that compression cannot shrink: a client
that stops reading fills every buffer on the way within seconds).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import rerun as rr

from rerun_bridge.model.rows import Row
from rerun_bridge.sinks.stream import HistoryBounds, StreamSecurity, StreamSink

START_NS = 1_700_000_000_000_000_000
STEP_NS = 10_000_000


def camera_row(index: int, noise: bool = False) -> Row:
    if noise:
        pixels = np.random.default_rng(index).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    else:
        pixels = np.zeros((48, 64, 3), dtype=np.uint8)
        pixels[..., 0] = 255
    height, width = pixels.shape[:2]
    image_format = rr.components.ImageFormat(
        width, height, color_model=rr.ColorModel.RGB, channel_datatype=rr.ChannelDatatype.U8
    )
    return Row("/camera", "Image", {"buffer": [pixels.reshape(-1)], "format": [image_format]})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("rate", type=float)
    parser.add_argument("--token", default="")
    parser.add_argument("--history", type=float, default=30.0)
    parser.add_argument("--linger", type=float, default=120.0)
    parser.add_argument("--noise", action="store_true")
    args = parser.parse_args()
    sink = StreamSink("127.0.0.1", args.port, StreamSecurity(token=args.token), HistoryBounds(args.history))
    static = Row(
        "/tf_static/camera",
        "Transform3D",
        {"translation": np.array([[0.0, 0.0, 1.0]]), "child_frame": ["camera"], "parent_frame": ["base"]},
        static=True,
    )
    sink.write([static], {})
    sink.flush()
    print("serving", flush=True)
    for index in range(args.count):
        row_time = START_NS + index * STEP_NS
        sink.write(
            [camera_row(index, args.noise), Row("/speed", "Scalars", {"scalars": np.array([float(index)])})],
            {"log_time": row_time},
        )
        sink.flush()
        print(f"published {index} dropped {sink.counts().dropped_chunks}", flush=True)
        time.sleep(1.0 / args.rate)
    time.sleep(args.linger)
    sink.close()


if __name__ == "__main__":
    main()
