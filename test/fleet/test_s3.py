"""Recordings and outputs in S3-compatible object storage: a real SeaweedFS server, configured the
standard AWS way (AWS_ENDPOINT_URL, keys, region), with batches from S3 to a folder and from folders to
S3 on a real local Ray, MCAP read by ranges, outputs published whole, and the catalog queried in S3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs in the venv (types-psutil)
import pytest

from rerun_bridge.cli import main
from rerun_bridge.errors import BagError
from rerun_bridge.fleet.batch import run_batch
from rerun_bridge.fleet.catalog import catalog_of, query
from rerun_bridge.fleet.discovery import content_hash, find_recordings
from rerun_bridge.fleet.jobs import JobOptions, convert_recording
from rerun_bridge.fleet.remote_bags import open_streamed_mcap
from rerun_bridge.fleet.storage import location_of, open_ranged, publish_file, s3_filesystem
from rerun_bridge.scratch import JOB_PREFIX
from rerun_bridge.sources.bag import open_bag
from rerun_bridge.sources.storage import McapStorage
from test.conftest import ABITOBOT_BAG, GPS_BAG, NEATO_BAG, verify_rrd
from test.fleet.conftest import RayCluster
from test.fleet.ray_workers import batch_killing_a_worker
from test.fleet.seaweed import S3Server

pytestmark = pytest.mark.xdist_group("fleet")

CLI = Path(sys.executable).parent / "rerun-bridge"
ABITOBOT_MCAP = next(ABITOBOT_BAG.glob("*.mcap"))


def _bucket(s3_server: S3Server) -> str:
    """A fresh bucket per test (the server lives for the whole session)."""
    name = f"fleet-{uuid.uuid4().hex[:10]}"
    s3_filesystem().create_dir(name)
    return name


def _upload(local: Path, uri: str) -> None:
    """A file, or a folder's files, put in S3 by pyarrow (as any S3 client would)."""
    from pyarrow import fs

    target = location_of(uri)
    fs.copy_files(str(local), target.path, destination_filesystem=target.filesystem)


def _keys(uri: str) -> list[str]:
    from pyarrow import fs

    location = location_of(uri)
    listing = location.filesystem.get_file_info(fs.FileSelector(location.path, recursive=True))
    return sorted(entry.path[len(location.path) + 1 :] for entry in listing if entry.type == fs.FileType.File)


def test_mcap_in_s3_is_read_by_ranges(s3_server: S3Server) -> None:
    bucket = _bucket(s3_server)
    uri = f"s3://{bucket}/robots/abitobot.mcap"
    _upload(ABITOBOT_MCAP, uri)
    with open_bag(ABITOBOT_MCAP) as local:
        expected_topics = local.topics()
        bounds = local.time_bounds()
        assert bounds is not None
        first_second = [m.log_time_ns for m in local.messages(None, bounds[0], bounds[0] + 10**9)]
    with open_streamed_mcap(uri) as streamed:
        assert streamed.topics() == expected_topics
        assert streamed.time_bounds() == bounds
    # One second of a 100 s recording: the summary and the chunks that hold it, not the whole file.
    stream = open_ranged(location_of(uri))
    storage = McapStorage(Path(uri), stream)
    try:
        window = [m.log_time_ns for m in storage.messages(None, bounds[0], bounds[0] + 10**9)]
    finally:
        storage.close()
    assert window == first_second
    assert 0 < stream.raw.bytes_read < ABITOBOT_MCAP.stat().st_size / 2


def test_content_hash_is_the_same_in_s3_and_on_disk(s3_server: S3Server) -> None:
    bucket = _bucket(s3_server)
    _upload(NEATO_BAG, f"s3://{bucket}/neato")
    (remote,), _ = find_recordings([f"s3://{bucket}/neato"])
    (local,), _ = find_recordings([str(NEATO_BAG)])
    assert remote.is_folder
    assert remote.files == local.files
    assert content_hash(remote) == content_hash(local)


def test_publish_never_shows_a_partial_object(s3_server: S3Server, tmp_path: Path) -> None:
    """An upload of several parts: whoever lists the key meanwhile sees nothing or the whole file."""
    bucket = _bucket(s3_server)
    local = tmp_path / "big.rrd"
    local.write_bytes(os.urandom(40 << 20))
    target = location_of(f"s3://{bucket}/out/big.rrd")
    sizes: list[int] = []
    done = threading.Event()

    def watch() -> None:
        from pyarrow import fs

        while not done.is_set():
            info = target.filesystem.get_file_info(target.path)
            sizes.append(-1 if info.type == fs.FileType.NotFound else int(info.size))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        publish_file(local, target)
    finally:
        done.set()
        watcher.join()
    assert target.size() == local.stat().st_size
    assert set(sizes) <= {-1, local.stat().st_size}
    assert -1 in sizes  # the watcher did look while the upload ran


def test_batch_from_s3_to_a_folder(ray_cluster: RayCluster, s3_server: S3Server, tmp_path: Path) -> None:
    bucket = _bucket(s3_server)
    _upload(ABITOBOT_MCAP, f"s3://{bucket}/uploads/day1/abitobot.mcap")
    _upload(GPS_BAG, f"s3://{bucket}/uploads/day1/gps")  # sqlite3: fetched to a temporary folder first
    _upload(NEATO_BAG, f"s3://{bucket}/uploads/day2/neato")
    recordings, problems = find_recordings([f"s3://{bucket}/uploads"])
    assert problems == []
    assert sorted(r.name for r in recordings) == ["abitobot", "gps", "neato"]
    out = tmp_path / "out"
    report = run_batch(recordings, JobOptions(str(out), mcap=True), workers=2)
    assert report.failures == []
    for name in ("abitobot", "gps", "neato"):
        verify_rrd(out / f"{name}.rrd")
    sources = query(catalog_of(str(out)), "SELECT name, source FROM runs ORDER BY name").to_pylist()
    assert sources == [
        {"name": "abitobot", "source": f"s3://{bucket}/uploads/day1/abitobot.mcap"},
        {"name": "gps", "source": f"s3://{bucket}/uploads/day1/gps"},
        {"name": "neato", "source": f"s3://{bucket}/uploads/day2/neato"},
    ]
    # The streamed MCAP converts to what the local file does.
    with open_bag(ABITOBOT_MCAP) as local:
        messages = sum(t.message_count for t in local.topics())
    (abitobot,) = query(catalog_of(str(out)), "SELECT messages FROM runs WHERE name = 'abitobot'").to_pylist()
    assert abitobot == {"messages": messages}


def test_batch_to_s3_and_catalog_query_there(
    ray_cluster: RayCluster, s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = _bucket(s3_server)
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copytree(NEATO_BAG, inputs / "neato")
    (inputs / "broken.mcap").write_bytes(b"\x89MCAP0\r\n" + b"\0" * 64)
    out = f"s3://{bucket}/converted"
    command = [
        str(CLI),
        "batch",
        str(inputs),
        "-o",
        out,
        "--ray",
        ray_cluster.address,
        "--tag",
        "robot=neato",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, env=ray_cluster.environment(), timeout=300, check=False
    )
    assert result.returncode == 1, result.stderr
    assert "broken: FAILED" in result.stderr
    keys = _keys(out)
    assert "neato.rrd" in keys
    assert not any("broken" in key or "partial" in key for key in keys)
    fetched = tmp_path / "neato.rrd"
    with (
        s3_filesystem().open_input_stream(f"{bucket}/converted/neato.rrd") as source,
        fetched.open("wb") as sink,
    ):
        shutil.copyfileobj(source, sink)
    verify_rrd(fetched)

    sql = (
        "SELECT r.name, r.robot, t.rate_hz < 5 AS slow FROM runs r JOIN topics t USING (run_id) "
        "WHERE t.topic = '/scan'"
    )
    query_result = subprocess.run(
        [str(CLI), "catalog", "query", out, sql, "--format", "json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
        check=False,
    )
    assert query_result.returncode == 0, query_result.stderr
    assert json.loads(query_result.stdout) == [{"name": "neato", "robot": "neato", "slow": True}]

    again = subprocess.run(
        command, capture_output=True, text=True, env=ray_cluster.environment(), timeout=300, check=False
    )
    assert "0 converted, 1 already done, 1 failed" in again.stdout


def _cli(args: list[str], **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        timeout=120,
        check=False,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed as a usage/input problem: exit 2 and one ``error:`` line, no traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_unreachable_or_refused_outputs_and_catalogs_are_one_error(s3_server: S3Server) -> None:
    bucket = _bucket(s3_server)
    _upload(ABITOBOT_MCAP, f"s3://{bucket}/conv/abitobot.mcap")
    wrong_key = {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    no_server = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}

    batch = _cli(["batch", str(ABITOBOT_MCAP), "-o", f"s3://{bucket}/x"], **wrong_key)
    line = _one_error_line(batch)
    assert line.startswith(f"error: s3://{bucket}/x: ")
    assert "ACCESS_DENIED" in line
    add = _cli(["catalog", "add", str(ABITOBOT_MCAP), "-o", f"s3://{bucket}/x"], **wrong_key)
    assert _one_error_line(add).startswith(f"error: s3://{bucket}/x: ")
    sql = "SELECT count(*) FROM runs"
    refused = _cli(["catalog", "query", f"s3://{bucket}/conv", sql], **wrong_key)
    assert "ACCESS_DENIED" in _one_error_line(refused)
    unreachable = _one_error_line(_cli(["catalog", "query", f"s3://{bucket}/conv", sql], **no_server))
    assert unreachable.startswith(f"error: s3://{bucket}/conv: ")
    assert "NETWORK_CONNECTION" in unreachable
    assert not location_of(f"s3://{bucket}/x").exists()  # nothing was written


def test_catalog_query_of_a_prefix_without_a_catalog_is_an_error(s3_server: S3Server) -> None:
    bucket = _bucket(s3_server)
    _upload(ABITOBOT_MCAP, f"s3://{bucket}/conv/abitobot.mcap")
    sql = "SELECT count(*) FROM runs"
    missing = _one_error_line(_cli(["catalog", "query", f"s3://{bucket}/typo", sql]))
    assert missing == f"error: s3://{bucket}/typo: no such folder or prefix"
    no_catalog = _one_error_line(_cli(["catalog", "query", f"s3://{bucket}/conv", sql]))
    assert no_catalog.startswith(f"error: s3://{bucket}/conv: holds no catalog")


def test_failures_of_s3_recordings_name_their_objects(
    s3_server: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sqlite3 bag is read from a fetched copy and an MCAP by its bucket and key: their errors still
    name the s3:// objects."""
    bucket = _bucket(s3_server)
    truncated = tmp_path / "trunc" / "trunc.db3"
    truncated.parent.mkdir()
    truncated.write_bytes(next(GPS_BAG.glob("*.db3")).read_bytes()[:8192])
    (tmp_path / "garbage.mcap").write_bytes(os.urandom(4096))
    _upload(truncated.parent, f"s3://{bucket}/fleet/trunc")
    _upload(tmp_path / "garbage.mcap", f"s3://{bucket}/fleet/garbage.mcap")
    recordings, problems = find_recordings([f"s3://{bucket}/fleet"])
    assert problems == []
    reasons = {}
    for recording in recordings:
        with pytest.raises(BagError) as failure:
            convert_recording(recording, JobOptions(str(tmp_path / "out")), {})
        reasons[recording.name] = str(failure.value)
    assert reasons["trunc"].startswith(f"s3://{bucket}/fleet/trunc/trunc.db3: not a readable sqlite3 bag")
    assert reasons["garbage"].startswith(f"s3://{bucket}/fleet/garbage.mcap: not an MCAP file")
    assert main(["catalog", "add", f"s3://{bucket}/fleet", "-o", str(tmp_path / "out")]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert sorted(errors) == sorted(f"error: {reason}" for reason in reasons.values())


def _job_folder(process: psutil.Process) -> Path | None:
    """The job folder a worker has a file open in (its .rrd is written there before the upload)."""
    folders = (Path(f.path).parent for f in process.open_files())
    return next((folder for folder in folders if folder.name.startswith(JOB_PREFIX)), None)


def test_a_killed_workers_job_folder_is_removed(
    ray_cluster: RayCluster, s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = _bucket(s3_server)
    report, killed = batch_killing_a_worker(tmp_path, f"s3://{bucket}/out", _job_folder)
    assert len(killed) == 1
    assert report.failures == []
    assert [r.outcome for r in report.results] == ["converted"]
    assert not killed[0].exists()
