"""Batch conversion on Ray: one worker against all local cores against a two-node local Ray cluster, the
per-recording overhead of a batch against plain conversions of the same files, and S3 in / S3 out against
local files.

    .venv/bin/python bench/batch.py [--workdir DIR] [--recordings 16] [--runs 2]

Generates ``--recordings`` sample recordings of mixed sizes (10 to 45 s of the demo robot: lidar, camera,
IMU, TF, joints, odometry) once into the work folder (kept and reused). Then, in this process:

- plain: ``convert_bags`` on each recording in turn (the peer of the batch's per-recording work);
- Ray on this machine: ``run_batch`` with 1 worker and with one per core (``--force``: everything is
  converted each time; a warm-up batch starts the workers first, as a long batch would have them);
- a two-node cluster (``ray.cluster_utils.Cluster``, the cores split between the nodes);
- S3: the recordings uploaded to a real SeaweedFS server, converted S3 -> S3 with one worker per core,
  against local -> local;
- one big recording (:meth:`SampleSpec.camera_lidar`, 1.1 GB, made once) as a batch of one, converted by
  one task (``--jobs 1``) against split across Ray tasks on all cores (``--jobs`` = cores; skipped with
  ``--skip-big``).

Prints wall times, the speed-up (target >= 0.8 x cores), the overhead (target <= 10 %) and the S3 ratio.
Each figure is the best of ``--runs``. Other processes on the machine add noise; never fails on a target.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rerun_bridge.demo.sample_bag import SampleSpec, write_sample  # noqa: E402
from rerun_bridge.fleet.batch import run_batch  # noqa: E402
from rerun_bridge.fleet.discovery import Recording, find_recordings  # noqa: E402
from rerun_bridge.fleet.jobs import JobOptions  # noqa: E402
from rerun_bridge.replay import convert_bags  # noqa: E402
from test.fleet.seaweed import start_weed  # noqa: E402

DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "rerun_bridge_bench_batch"
TARGET_SPEEDUP_PER_CORE = 0.8
TARGET_OVERHEAD = 0.10


def recordings_in(workdir: Path, count: int) -> Path:
    """``count`` sample recordings of mixed sizes under ``workdir/inputs`` (made once)."""
    folder = workdir / "inputs"
    for index in range(count):
        target = folder / f"run{index:02d}"
        if not (target / "metadata.yaml").exists():
            shutil.rmtree(target, ignore_errors=True)
            spec = SampleSpec(duration_s=10.0 + (index * 7) % 36, name=f"run{index:02d}", seed=index)
            write_sample(target, spec)
    return folder


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def plain(recordings: Sequence[Recording], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for recording in recordings:
        # As `rerun-bridge convert` makes it: with the default layout, as the batch's outputs are.
        target = out / f"{recording.name}.rrd"
        convert_bags([recording.uri], target, warn=lambda _m: None, default_layout=True)


def batch(recordings: Sequence[Recording], out: str, workers: int, jobs: int = 1) -> None:
    report = run_batch(recordings, JobOptions(out, force=True, jobs=jobs), workers=workers)
    if report.failures:
        raise SystemExit(f"batch failed: {report.failures}")


def bench_big(workdir: Path, scratch: Path, runs: int, cores: int) -> None:
    """One big recording, alone in a batch: one task against its parts on every core."""
    big = workdir / "big"
    if not (big / "metadata.yaml").exists():
        shutil.rmtree(big, ignore_errors=True)
        write_sample(big, SampleSpec.camera_lidar())
    recording, _ = find_recordings([str(big)])
    t_alone = best_of(runs, lambda: batch(recording, str(scratch / "big1"), 1, jobs=1))
    t_split = best_of(runs, lambda: batch(recording, str(scratch / "bigN"), 1, jobs=cores))
    print(
        f"one {recording[0].bytes / 1e9:.1f} GB recording: one task {t_alone:.2f} s; split across {cores} "
        f"tasks {t_split:.2f} s; speed-up {t_alone / t_split:.2f} x (load {os.getloadavg()[0]:.1f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--recordings", type=int, default=16)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--skip-big", action="store_true", help="leave out the one big recording's split")
    args = parser.parse_args(argv)

    import ray
    from ray.cluster_utils import Cluster

    cores = os.cpu_count() or 1
    inputs = recordings_in(args.workdir, args.recordings)
    recordings, problems = find_recordings([str(inputs)])
    assert not problems, problems
    total_mb = sum(r.bytes for r in recordings) / 1e6
    print(f"{len(recordings)} recordings, {total_mb:.0f} MB, {cores} cores")
    scratch = Path(tempfile.mkdtemp(prefix="rb-bench-"))
    # Ray's token and session files stay in the scratch folder (short paths: Ray's sockets need them).
    os.environ["HOME"] = str(scratch / "home")
    try:
        t_plain = best_of(args.runs, lambda: plain(recordings, scratch / "plain"))
        print(f"plain convert_bags, one after another: {t_plain:.2f} s")

        ray.init(num_cpus=cores, include_dashboard=False, _temp_dir=str(scratch / "ray"))
        batch(recordings[:cores], str(scratch / "warmup"), cores)
        t_one = best_of(args.runs, lambda: batch(recordings, str(scratch / "one"), 1))
        t_all = best_of(args.runs, lambda: batch(recordings, str(scratch / "all"), cores))
        if not args.skip_big:
            bench_big(args.workdir, scratch, args.runs, cores)
        ray.shutdown()
        speedup = t_one / t_all
        overhead = t_one / t_plain - 1
        print(f"batch, 1 worker: {t_one:.2f} s; {cores} workers: {t_all:.2f} s")
        print(
            f"speed-up {speedup:.2f} x on {cores} cores = {speedup / cores:.2f} per core "
            f"(target >= {TARGET_SPEEDUP_PER_CORE})"
        )
        print(
            f"per-recording overhead of a 1-worker batch over plain: {overhead:+.1%} "
            f"(target <= {TARGET_OVERHEAD:.0%})"
        )

        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": max(1, cores // 2), "include_dashboard": False},
        )
        cluster.add_node(num_cpus=max(1, cores - cores // 2))
        ray.init(address=cluster.address)
        batch(recordings[:cores], str(scratch / "warmup2"), cores)
        t_cluster = best_of(args.runs, lambda: batch(recordings, str(scratch / "cluster"), cores))
        print(f"two-node local cluster ({cores} CPUs): {t_cluster:.2f} s, speed-up {t_one / t_cluster:.2f} x")

        server = start_weed(scratch / "weed")
        try:
            os.environ.update(server.environment())
            from pyarrow import fs

            from rerun_bridge.fleet.storage import s3_filesystem

            s3 = s3_filesystem()
            s3.create_dir("bench")
            fs.copy_files(str(inputs), "bench/inputs", destination_filesystem=s3)
            remote, _ = find_recordings(["s3://bench/inputs"])
            batch(remote[:cores], "s3://bench/warmup", cores)
            t_s3 = best_of(args.runs, lambda: batch(remote, "s3://bench/out", cores))
            t_local = best_of(args.runs, lambda: batch(recordings, str(scratch / "local"), cores))
            print(f"S3 in / S3 out: {t_s3:.2f} s; local: {t_local:.2f} s; ratio {t_s3 / t_local:.2f}")
        finally:
            ray.shutdown()
            cluster.shutdown()  # type: ignore[no-untyped-call]
            server.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
