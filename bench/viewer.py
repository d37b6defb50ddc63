"""The embedded viewer: frame time, latest-at per scrub step, opening a 1 GB .rrd (time and peak memory).

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python bench/viewer.py [--workdir DIR] [--rrd-gb 1.0]

Needs an X display with OpenGL (Xvfb gives Mesa's software llvmpipe). Data is generated into the work
folder (a temporary one unless given; the 1 GB .rrd is kept there and reused). Each number is printed
beside the same run's reference and its target; nothing fails on a missed target.

1. Frame time at 1280x720 of a scene with one 100 k-point cloud, two 640x480 images and five plots, while
   scrubbing (each step shows another cloud and other images): set the time, paint the window (the 3D
   view renders offscreen and reads its picture back while painting). Reference: the same window over
   an empty store. Then the same window with a 1 M-point cloud, drawn at its level of detail against
   drawn whole.
2. Latest-at of one scrub step across 50 entities of a one-hour recording (10 Hz scalars each): the
   store's queries against a plain ``numpy.searchsorted`` over the same sorted time indices.
3. Opening a big .rrd (640x480 RGB images; ``--rrd-gb``, 1 GB by default) to the first rendered frame,
   in a child process: wall time and the child's peak resident memory, then scrub steps to times far
   apart (each one unloaded when the file is opened lazily): set the time, render the window. Twice in
   the same run: read whole (eager), and through its index under a memory budget (lazy,
   ``--budget-mb``), with the ratios lazy / eager.
4. The same for an MCAP bag (``--only-bag``): the convert benchmark's 200 s recording (about 1.5 GB,
   ``SampleSpec.benchmark``; generated into the work folder and kept), converted whole (eager) against
   opened through its chunk index (lazy, converting chunks on demand), each in a child process.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rerun_bridge.store.chunk_store import ChunkStore  # noqa: E402  (after the path fix above)
from rerun_bridge.store.columns import component_field, index_field  # noqa: E402

NS: Final = 1_000_000_000
START_NS: Final = 1_700_000_000 * NS
SIZE: Final = (1280, 720)
CLOUD_POINTS: Final = 100_000
BIG_CLOUD_POINTS: Final = 1_000_000
SCRUB_FRAMES: Final = 30
IMAGE_SHAPE: Final = (480, 640, 3)
PLOT_SAMPLES: Final = 10_000
HOUR_ENTITIES: Final = 50
HOUR_RATE_HZ: Final = 10
SCRUB_STEPS: Final = 300

TARGET_FRAME_MS: Final = 45.0
TARGET_BIG_CLOUD_FRAME_MS: Final = 100.0
TARGET_LATEST_AT_MS: Final = 1.0
TARGET_OPEN_S: Final = 5.0
TARGET_PEAK_MB: Final = 1500.0
TARGET_LAZY_OPEN_S: Final = 3.0
TARGET_LAZY_PEAK_MB: Final = 1000.0
TARGET_UNLOADED_STEP_MS: Final = 100.0
#: Where the scrub steps of part 3 go, as fractions of the timeline: far apart, out of order.
#: The mcap C++ library's default chunk size, which rosbag2's MCAP storage uses.
ROSBAG2_CHUNK_BYTES: Final = 768 * 1024
SCRUB_FRACTIONS: Final = (0.9, 0.1, 0.55, 0.3, 0.75, 0.05, 0.95, 0.45, 0.2, 0.65)


# -- 1. frame time --------------------------------------------------------------------------------


def scene_store(cloud_points: int = CLOUD_POINTS) -> ChunkStore:
    """One cloud, two cameras and five scalar entities, ``SCRUB_FRAMES`` different moments of each."""
    rng = np.random.default_rng(0)
    store = ChunkStore()
    for frame in range(SCRUB_FRAMES):
        time_ns = START_NS + frame * NS // 10
        cloud = rng.normal(0.0, 3.0, (cloud_points, 3)).astype(np.float32)
        colors = rng.integers(0, 255, (cloud_points, 4), dtype=np.uint8)
        store.append_row(
            "/lidar", {"ros_time": time_ns}, {"Points3D:positions": cloud, "Points3D:colors": colors}
        )
        for camera in ("/camera/left", "/camera/right"):
            pixels = rng.integers(0, 255, IMAGE_SHAPE, dtype=np.uint8)
            fmt = {"width": IMAGE_SHAPE[1], "height": IMAGE_SHAPE[0], "color_model": 2, "channel_datatype": 6}
            store.append_row(
                camera, {"ros_time": time_ns}, {"Image:buffer": [pixels.tobytes()], "Image:format": [fmt]}
            )
    times = START_NS + np.arange(PLOT_SAMPLES, dtype=np.int64) * (SCRUB_FRAMES * NS // 10) // PLOT_SAMPLES
    for plot in range(5):
        values = np.cumsum(rng.normal(size=PLOT_SAMPLES))
        store.append_chunk(f"/plots/p{plot}", scalar_batch(times, values))
    store.flush()
    return store


def scene_layout(cloud: str = "/lidar") -> Any:
    from rerun_bridge.blueprint.model import Container, ContainerKind, View, ViewKind

    images = Container(
        ContainerKind.VERTICAL,
        (View(ViewKind.SPATIAL2D, origin="/camera/left"), View(ViewKind.SPATIAL2D, origin="/camera/right")),
    )
    top = Container(ContainerKind.HORIZONTAL, (View(ViewKind.SPATIAL3D, origin=cloud), images), shares=(2, 1))
    plots = Container(
        ContainerKind.HORIZONTAL,
        tuple(View(ViewKind.TIME_SERIES, origin=f"/plots/p{index}") for index in range(5)),
    )
    return Container(ContainerKind.VERTICAL, (top, plots), shares=(3, 1))


def frame_times_ms(store: ChunkStore, layout: Any = None, max_points: int | None = None) -> list[float]:
    """Per scrub step: set the time, paint the whole window synchronously (3D views render offscreen
    and read their picture back while painting, so GL has finished when this returns). ``max_points``
    replaces the 3D views' default (0: every point drawn)."""
    from PyQt6 import QtWidgets

    from rerun_bridge.viewer.app import ensure_application
    from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
    from rerun_bridge.viewer.window import ViewerWindow

    application = ensure_application()
    window = ViewerWindow(store, layout if layout is not None else scene_layout())
    if max_points is not None:
        for view in window.findChildren(Spatial3DView):
            view.max_points = max_points
    window.resize(*SIZE)
    window.show()
    for _ in range(10):
        application.processEvents()
    panel = window.time_panel
    start, end = panel.time_range if panel.timeline is not None else (0, 0)
    timings: list[float] = []
    for frame in range(SCRUB_FRAMES * 2):
        target = start + (frame % SCRUB_FRAMES) * max(end - start, 1) // SCRUB_FRAMES
        began = time.perf_counter()
        if panel.timeline is not None:
            panel.set_time(target)
        window.repaint()
        application.processEvents()
        timings.append(1000 * (time.perf_counter() - began))
    window.close()
    QtWidgets.QApplication.processEvents()
    return timings[SCRUB_FRAMES // 2 :]  # the first frames compile shaders and upload buffers


# -- 2. latest-at -----------------------------------------------------------------------------------


def scalar_batch(times: np.ndarray[Any, Any], values: np.ndarray[Any, Any]) -> pa.RecordBatch:
    """A chunk in Rerun's layout: a sorted ``ros_time`` column and one scalar per row."""
    offsets = pa.array(np.arange(len(values) + 1, dtype=np.int32))
    scalars = pa.ListArray.from_arrays(offsets, pa.array(values.astype(np.float64)))
    time_column = pa.array(times, type=pa.int64()).view(pa.timestamp("ns"))
    fields = [
        index_field("ros_time", pa.timestamp("ns"), True),
        component_field("Scalars:scalars", scalars.type),
    ]
    return pa.RecordBatch.from_arrays([time_column, scalars], schema=pa.schema(fields))


def hour_store() -> tuple[ChunkStore, list[np.ndarray[Any, Any]]]:
    """50 entities, one hour of 10 Hz scalars each, in chunks of 4096 rows; and their time arrays."""
    store = ChunkStore()
    rng = np.random.default_rng(1)
    all_times = []
    rows = 3600 * HOUR_RATE_HZ
    for entity in range(HOUR_ENTITIES):
        jitter = rng.integers(0, NS // HOUR_RATE_HZ, rows)
        times = np.sort(START_NS + np.arange(rows, dtype=np.int64) * (NS // HOUR_RATE_HZ) + jitter)
        values = rng.normal(size=rows)
        for first in range(0, rows, 4096):
            store.append_chunk(
                f"/signals/s{entity}", scalar_batch(times[first : first + 4096], values[first : first + 4096])
            )
        all_times.append(times)
    return store, all_times


def latest_at_ms(store: ChunkStore, all_times: list[np.ndarray[Any, Any]]) -> tuple[float, float]:
    """Median ms of one scrub step: the store's latest-at on every entity, and plain searchsorted."""
    entities = [f"/signals/s{index}" for index in range(HOUR_ENTITIES)]
    rng = np.random.default_rng(2)
    steps = START_NS + rng.integers(0, 3600 * NS, SCRUB_STEPS)
    for entity in entities:  # build the indices once, as the first frame does
        store.latest_at(entity, "ros_time", int(steps[0]))
    ours, reference = [], []
    for step in steps:
        began = time.perf_counter()
        for entity in entities:
            store.latest_at(entity, "ros_time", int(step))
        ours.append(time.perf_counter() - began)
        began = time.perf_counter()
        for times in all_times:
            int(np.searchsorted(times, step, side="right"))
        reference.append(time.perf_counter() - began)
    return 1000 * statistics.median(ours), 1000 * statistics.median(reference)


# -- 3. opening a big .rrd --------------------------------------------------------------------------


def write_big_rrd(path: Path, gigabytes: float) -> None:
    import rerun as rr

    frames = int(gigabytes * 1e9 / np.prod(IMAGE_SHAPE))
    rec = rr.RecordingStream("bench_viewer", recording_id="bench_viewer")
    rec.save(str(path))
    base = np.random.default_rng(3).integers(0, 255, IMAGE_SHAPE, dtype=np.uint8)
    for frame in range(frames):
        rr.set_time("ros_time", timestamp=np.datetime64(START_NS + frame * NS // 30, "ns"), recording=rec)
        rr.log("/camera/image", rr.Image(np.roll(base, frame, axis=1)), recording=rec)
    rec.flush()
    rec.disconnect()


def peak_resident_mb() -> float:
    """This process's peak resident memory since it started its program. Linux's VmHWM: ``ru_maxrss``
    would also count the parent's memory copied at fork (the parent that just wrote the big file)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_to_first_frame(path: Path, budget_mb: float | None) -> dict[str, float]:
    """In this (child) process: load the .rrd (whole, or lazily under ``budget_mb``), lay it out, render
    the first frame; then scrub to times far apart, rendering each."""
    began = time.perf_counter()
    from rerun_bridge.viewer.app import ensure_application, render_window
    from rerun_bridge.viewer.sources import load_files, show_time
    from rerun_bridge.viewer.window import ViewerWindow

    application = ensure_application()
    imported = time.perf_counter()
    budget = None if budget_mb is None else int(budget_mb * 1024 * 1024)
    loaded = load_files([path], memory_budget_bytes=budget)
    store = loaded.store
    read = time.perf_counter()
    window = ViewerWindow(store)
    if loaded.default_timeline is not None:
        window.time_panel.set_timeline(loaded.default_timeline)
    if loaded.lazy:
        window.set_data_loader(lambda timeline, at: show_time(loaded, timeline, at))
    window.resize(*SIZE)
    window.show()
    render_window(window)
    application.processEvents()
    shown = time.perf_counter()
    first_peak_mb = peak_resident_mb()
    start, end = window.time_panel.time_range
    steps = []
    for fraction in SCRUB_FRACTIONS:
        step_began = time.perf_counter()
        window.time_panel.set_time(start + round((end - start) * fraction))
        render_window(window)
        steps.append((time.perf_counter() - step_began) * 1000)
    lazy = loaded.lazy[0] if loaded.lazy else None
    return {
        "imports_s": imported - began,
        "load_s": read - imported,
        "first_frame_s": shown - read,
        "total_s": shown - began,
        "first_peak_mb": first_peak_mb,
        "peak_mb": peak_resident_mb(),
        "store_mb": store.total_bytes / 1e6,
        "step_ms": statistics.median(steps),
        "step_max_ms": max(steps),
        "unloads": 0 if lazy is None else lazy.counts.unloads,
        "loads": 0 if lazy is None else lazy.counts.loads,
    }


# -- report -----------------------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument(
        "--workdir", type=Path, help="where generated data goes (default: a temporary folder)"
    )
    parser.add_argument("--rrd-gb", type=float, default=1.0, help="size of the .rrd to open")
    parser.add_argument(
        "--budget-mb", type=float, default=256.0, help="memory budget of the lazily opened .rrd"
    )
    parser.add_argument("--keep-rrd", action="store_true", help="keep the generated .rrd for the next run")
    parser.add_argument("--only-rrd", action="store_true", help="run part 3 alone")
    parser.add_argument("--only-bag", action="store_true", help="run part 4 alone (an MCAP bag)")
    parser.add_argument("--lazy-only", action="store_true", help="part 3: skip the eager run (huge files)")
    parser.add_argument("--open-child", type=Path, help=argparse.SUPPRESS)  # the child of part 3
    parser.add_argument("--child-budget-mb", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.open_child is not None:
        print(json.dumps(open_to_first_frame(args.open_child, args.child_budget_mb)))
        return 0

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rerun_bridge_bench_viewer_"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.only_bag:
        return open_big_bag(workdir, args.budget_mb)
    if not args.only_rrd:
        frames_and_latest_at()
    return open_big_rrd(workdir, args.rrd_gb, args.budget_mb, keep=args.keep_rrd, lazy_only=args.lazy_only)


def frames_and_latest_at() -> None:
    print(
        f"1. frame time at {SIZE[0]}x{SIZE[1]}, scrubbing ({CLOUD_POINTS:,}-point cloud, 2 images, 5 plots)"
    )
    scene_data = scene_store()
    scene = statistics.median(frame_times_ms(scene_data))
    empty = statistics.median(frame_times_ms(ChunkStore()))
    # Where the time goes: the same window and data with the 3D view showing nothing.
    without_cloud = statistics.median(frame_times_ms(scene_data, scene_layout(cloud="/none")))
    print(
        f"   scene {scene:.1f} ms/frame, empty scene {empty:.1f} ms/frame"
        f"   target <= {TARGET_FRAME_MS:.0f} ms: {verdict(scene, TARGET_FRAME_MS)}"
    )
    print(f"   (the same scene without the cloud: {without_cloud:.1f} ms/frame)")
    del scene_data
    big_cloud_frames()

    print(f"2. latest-at, one scrub step over {HOUR_ENTITIES} entities of a one-hour recording")
    built = time.perf_counter()
    store, all_times = hour_store()
    built = time.perf_counter() - built
    ours, reference = latest_at_ms(store, all_times)
    print(
        f"   store {ours:.3f} ms/step, numpy searchsorted {reference:.3f} ms/step ({ours / reference:.1f}x)"
        f"   target <= {TARGET_LATEST_AT_MS:.0f} ms: {verdict(ours, TARGET_LATEST_AT_MS)}"
        f"   ({len(all_times[0]) * HOUR_ENTITIES:,} rows stored in {built:.1f} s)"
    )
    del store, all_times


def big_cloud_frames() -> None:
    """The same window with a 1 M-point cloud: drawn at its level of detail (the view's default
    ``max_points``) against drawn whole (no level of detail), in the same run."""
    from rerun_bridge.viewer.views import spatial3d_view

    print(f"1b. the same window with a {BIG_CLOUD_POINTS:,}-point cloud")
    big = scene_store(BIG_CLOUD_POINTS)
    detail = statistics.median(frame_times_ms(big))
    whole = statistics.median(frame_times_ms(big, max_points=0))  # as before the level of detail
    print(
        f"   level of detail ({spatial3d_view.DEFAULT_MAX_POINTS:,} points drawn) {detail:.1f} ms/frame, "
        f"every point {whole:.1f} ms/frame ({detail / whole:.2f}x)"
        f"   target <= {TARGET_BIG_CLOUD_FRAME_MS:.0f} ms: {verdict(detail, TARGET_BIG_CLOUD_FRAME_MS)}"
    )


def open_in_child(rrd: Path, budget_mb: float | None) -> dict[str, float] | None:
    command = [sys.executable, __file__, "--open-child", str(rrd)]
    if budget_mb is not None:
        command += ["--child-budget-mb", str(budget_mb)]
    child = subprocess.run(command, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        print(f"   failed: {child.stderr.strip()[-2000:]}")
        return None
    numbers: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return numbers


def print_open(label: str, numbers: dict[str, float], open_target_s: float, peak_target_mb: float) -> None:
    print(
        f"   {label}: {numbers['total_s']:.2f} s to the first frame (imports {numbers['imports_s']:.2f} s, "
        f"load {numbers['load_s']:.2f} s, lay out + render {numbers['first_frame_s']:.2f} s)"
        f"   target <= {open_target_s:.0f} s: {verdict(numbers['total_s'], open_target_s)}"
    )
    print(
        f"   {label}: peak memory {numbers['first_peak_mb']:.0f} MB at the first frame, "
        f"{numbers['peak_mb']:.0f} MB after scrubbing (store {numbers['store_mb']:.0f} MB at the end)"
        f"   target <= {peak_target_mb:.0f} MB: {verdict(numbers['peak_mb'], peak_target_mb)}"
    )
    print(
        f"   {label}: scrub step (set the time, render) median {numbers['step_ms']:.1f} ms, "
        f"max {numbers['step_max_ms']:.1f} ms over {len(SCRUB_FRACTIONS)} far-apart times"
        f"   (chunks loaded {numbers['loads']:.0f}, unloaded {numbers['unloads']:.0f})"
    )


def open_big_rrd(workdir: Path, gigabytes: float, budget_mb: float, keep: bool, lazy_only: bool) -> int:
    rrd = workdir / f"big_{gigabytes:g}gb.rrd"
    if not rrd.exists():
        began = time.perf_counter()
        write_big_rrd(rrd, gigabytes)
        print(f"   (wrote {rrd.stat().st_size / 1e9:.2f} GB .rrd in {time.perf_counter() - began:.0f} s)")
    try:
        print(f"3. opening a {rrd.stat().st_size / 1e9:.2f} GB .rrd to the first frame (child processes)")
        eager = None if lazy_only else open_in_child(rrd, None)
        lazy = open_in_child(rrd, budget_mb)
    finally:
        if not keep:
            rrd.unlink()
    if lazy is None or (eager is None and not lazy_only):
        return 1
    compare_opens(eager, lazy, budget_mb)
    return 0


def compare_opens(eager: dict[str, float] | None, lazy: dict[str, float], budget_mb: float) -> None:
    if eager is not None:
        print_open("eager", eager, TARGET_OPEN_S, TARGET_PEAK_MB)
    print_open(f"lazy ({budget_mb:g} MB budget)", lazy, TARGET_LAZY_OPEN_S, TARGET_LAZY_PEAK_MB)
    if eager is not None:
        print(
            f"   lazy / eager: first frame {lazy['total_s'] / eager['total_s']:.2f}x, "
            f"peak memory {lazy['peak_mb'] / eager['peak_mb']:.2f}x, "
            f"scrub step {lazy['step_ms'] / eager['step_ms']:.2f}x"
        )
    print(
        f"   (target: a step to an unloaded time <= {TARGET_UNLOADED_STEP_MS:.0f} ms: "
        f"{verdict(lazy['step_ms'], TARGET_UNLOADED_STEP_MS)})"
    )


def ensure_big_bag(workdir: Path) -> Path:
    """The convert benchmark's recording in ``workdir/bag`` (kept and reused)."""
    from rerun_bridge.demo.sample_bag import SampleSpec, write_sample

    spec = SampleSpec.benchmark()
    bag = workdir / "bag"
    mcap = bag / f"{spec.name}_0.mcap"
    if not ((bag / "metadata.yaml").exists() and mcap.exists()):
        began = time.perf_counter()
        write_sample(bag, spec)
        print(f"   (wrote {mcap.stat().st_size / 1e9:.2f} GB MCAP in {time.perf_counter() - began:.0f} s)")
    return mcap


def rechunked(mcap: Path, chunk_bytes: int) -> Path:
    """A copy of ``mcap`` written in chunks of ``chunk_bytes`` (kept beside it and reused)."""
    from rerun_bridge.sinks.mcap import McapSink
    from rerun_bridge.sources.bag import open_bag

    target = mcap.with_name(f"{mcap.stem}_{chunk_bytes >> 10}k.mcap")
    if target.exists():
        return target
    partial = target.with_suffix(".partial")
    with open_bag(mcap) as bag, McapSink(partial, chunk_size=chunk_bytes) as sink:
        channels = {}
        for info in bag.topics():
            if info.definition is not None:
                channels[info.name] = sink.add_topic(
                    info.name, info.type_name, info.definition, info.qos_profiles
                )
        for message in bag.messages():
            channel = channels.get(message.topic)
            if channel is not None:
                sink.write(channel, message.log_time_ns, message.publish_time_ns, message.data)
    partial.rename(target)
    return target


def open_big_bag(workdir: Path, budget_mb: float) -> int:
    mcap = ensure_big_bag(workdir)
    print(f"4. opening a {mcap.stat().st_size / 1e9:.2f} GB MCAP bag to the first frame (child processes)")
    eager = open_in_child(mcap, None)
    lazy = open_in_child(mcap, budget_mb)
    if eager is None or lazy is None:
        return 1
    compare_opens(eager, lazy, budget_mb)
    # The generator writes 4 MB chunks; the mcap C++ writer that `ros2 bag record` uses writes 768 KiB.
    small = rechunked(mcap, ROSBAG2_CHUNK_BYTES)
    print(f"   the same bag in {ROSBAG2_CHUNK_BYTES >> 10} KiB chunks, as rosbag2 records it:")
    lazy_small = open_in_child(small, budget_mb)
    if lazy_small is None:
        return 1
    compare_opens(eager, lazy_small, budget_mb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
