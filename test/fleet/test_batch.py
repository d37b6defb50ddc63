"""``batch`` on a real local Ray (two CPUs): real recordings and a broken one among them, re-runs that skip
what is done, ``--force``, and the command line joining the running Ray by its address."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import rerun.chunk as rrc

from rerun_bridge.fleet.batch import Failure, run_batch
from rerun_bridge.fleet.catalog import catalog_of, query
from rerun_bridge.fleet.discovery import find_recordings
from rerun_bridge.fleet.jobs import JobOptions, JobResult
from test.conftest import ABITOBOT_BAG, GPS_BAG, NEATO_BAG, ROSBAG2_RESOURCES, verify_rrd
from test.fleet.conftest import RayCluster
from test.fleet.ray_workers import batch_killing_a_worker

pytestmark = pytest.mark.xdist_group("fleet")

CLI = Path(sys.executable).parent / "rerun-bridge"
TALKER_MCAP = ROSBAG2_RESOURCES / "rosbag2_py" / "test" / "resources" / "mcap" / "talker"


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder of recordings as a robot's uploads look: two bag folders, a lone .mcap, and a .db3 that
    is no database at all (a copy cut short by a full disk, say)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    shutil.copytree(NEATO_BAG, folder / "neato")
    shutil.copytree(TALKER_MCAP, folder / "talker")
    shutil.copy(next(ABITOBOT_BAG.glob("*.mcap")), folder / "abitobot.mcap")
    (folder / "broken.db3").write_bytes(b"SQLite format 3\0" + b"\xff" * 4000)
    return folder


def rerun_bridge(
    *args: str, timeout: int = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command line, run to its end: its CompletedProcess (text output)."""
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def _names(rows: Sequence[JobResult | Failure]) -> list[str]:
    return sorted(row.name for row in rows)


def test_batch_converts_the_good_and_reports_the_broken(
    ray_cluster: RayCluster, inputs: Path, tmp_path: Path
) -> None:
    import ray

    alive = [node for node in ray.nodes() if node["Alive"]]  # type: ignore[no-untyped-call]
    assert [node["Resources"].get("CPU") for node in alive] == [1.0, 1.0]  # two nodes: each runs a task
    recordings, problems = find_recordings([str(inputs)])
    assert problems == []
    out = tmp_path / "out"
    seen: list[str] = []
    report = run_batch(
        recordings, JobOptions(str(out), mcap=True), workers=2, progress=lambda _r, end: seen.append(end.name)
    )
    assert _names(report.results) == ["abitobot", "neato", "talker"]
    assert [f.name for f in report.failures] == ["broken"]
    assert "broken.db3" in report.failures[0].reason
    assert "sqlite3" in report.failures[0].reason
    assert sorted(seen) == ["abitobot", "broken", "neato", "talker"]
    for name in ("abitobot", "neato", "talker"):
        verify_rrd(out / f"{name}.rrd")
        assert (out / f"{name}.mcap").stat().st_size > 0
        assert len(rrc.RrdReader(str(out / f"{name}.rrd")).blueprints()) == 1  # the default layout
    # Nothing half written is left beside the outputs (a failed recording publishes nothing).
    assert sorted(p.name for p in out.iterdir()) == [
        "abitobot.mcap",
        "abitobot.rrd",
        "catalog",
        "neato.mcap",
        "neato.rrd",
        "talker.mcap",
        "talker.rrd",
    ]
    runs = query(catalog_of(str(out)), "SELECT name, status FROM runs ORDER BY name").to_pylist()
    assert runs == [
        {"name": "abitobot", "status": "converted"},
        {"name": "neato", "status": "converted"},
        {"name": "talker", "status": "converted"},
    ]


def test_rerun_skips_what_is_converted_unless_forced(
    ray_cluster: RayCluster, inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    recordings, _ = find_recordings([str(inputs / "neato"), str(inputs / "*.mcap")])
    first = run_batch(recordings, JobOptions(str(out)), workers=None)
    assert {r.outcome for r in first.results} == {"converted"}
    converted_at = (out / "neato.rrd").stat().st_mtime_ns

    # The same content under a new name is the same run: skipped, not converted twice.
    shutil.copytree(inputs / "neato", inputs / "neato_copy")
    again, _ = find_recordings([str(inputs / "neato"), str(inputs / "neato_copy"), str(inputs / "*.mcap")])
    second = run_batch(again, JobOptions(str(out)), workers=None)
    # The copy beside it in this batch is its duplicate (test_copies_in_one_batch_are_converted_once).
    outcomes = {r.name: r.outcome for r in second.results}
    assert outcomes == {"neato": "skipped", "neato_copy": "duplicate", "abitobot": "skipped"}
    assert {r.run_id for r in second.results} == {r.run_id for r in first.results}
    assert (out / "neato.rrd").stat().st_mtime_ns == converted_at
    assert not (out / "neato_copy.rrd").exists()

    forced = run_batch(recordings, JobOptions(str(out), force=True), workers=1)
    assert {r.outcome for r in forced.results} == {"converted"}
    assert (out / "neato.rrd").stat().st_mtime_ns != converted_at
    # Converting again replaces the run's rows (same run id): still one row per run.
    count = query(catalog_of(str(out)), "SELECT count(*) AS n FROM runs").to_pylist()
    assert count == [{"n": 2}]


def test_a_later_batch_of_other_content_under_one_name_keeps_the_earlier_output(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """day1/run.mcap, then day2/run.mcap (another recording) into one OUT: the second replaced the first's
    run.rrd, which the catalog still listed. It is named apart now, and each run's outputs are its own."""
    for day, source in (("day1", TALKER_MCAP), ("day2", next(ABITOBOT_BAG.glob("*.mcap")).parent)):
        (tmp_path / day).mkdir()
        shutil.copy(next(source.glob("*.mcap")), tmp_path / day / "run.mcap")
    out = tmp_path / "out"
    for day in ("day1", "day2"):
        recordings, _ = find_recordings([str(tmp_path / day)])
        report = run_batch(recordings, JobOptions(str(out)), workers=1)
        assert [r.outcome for r in report.results] == ["converted"]
    runs = query(catalog_of(str(out)), "SELECT content_hash, outputs FROM runs ORDER BY name").to_pylist()
    outputs = [run["outputs"][0] for run in runs]
    assert len(set(outputs)) == 2, runs
    second = next(run for run in runs if run["outputs"][0] != str(out / "run.rrd"))
    assert second["outputs"] == [str(out / f"run_{second['content_hash'][:8]}.rrd")]
    for uri in outputs:
        verify_rrd(Path(uri))


def test_a_removed_output_is_made_again(ray_cluster: RayCluster, inputs: Path, tmp_path: Path) -> None:
    # "Already converted" skipped a recording whose .rrd was gone, and the catalog went on listing it.
    out = tmp_path / "out"
    recordings, _ = find_recordings([str(inputs / "neato"), str(inputs / "talker")])
    first = run_batch(recordings, JobOptions(str(out)), workers=1)
    assert {r.outcome for r in first.results} == {"converted"}
    (out / "neato.rrd").unlink()
    again = run_batch(recordings, JobOptions(str(out)), workers=1)
    assert {r.name: r.outcome for r in again.results} == {"neato": "converted", "talker": "skipped"}
    verify_rrd(out / "neato.rrd")
    count = query(catalog_of(str(out)), "SELECT count(*) AS n FROM runs").to_pylist()
    assert count == [{"n": 2}]  # the same run, its row replaced
    # A skipped run takes the batch's tags (they were left out: the catalog could not find it by them).
    tagged = run_batch(recordings, JobOptions(str(out), tags={"fleet": "a"}), workers=1)
    assert {r.outcome for r in tagged.results} == {"skipped"}
    rows = query(catalog_of(str(out)), "SELECT name, tags FROM runs ORDER BY name").to_pylist()
    assert [dict(row["tags"]) for row in rows] == [{"fleet": "a"}, {"fleet": "a"}]


def test_batch_command_joins_ray_by_address(ray_cluster: RayCluster, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [
        str(CLI),
        "batch",
        str(inputs / "*.mcap"),
        str(inputs / "broken.db3"),
        str(GPS_BAG),
        "-o",
        str(out),
        "--ray",
        ray_cluster.address,
        "--tag",
        "fleet=test",
        "--blueprint",
        "navigation",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, env=ray_cluster.environment(), timeout=300, check=False
    )
    assert result.returncode == 1, result.stderr
    assert "2 converted, 0 already done, 1 failed, of 3 recordings" in result.stdout
    assert "broken: FAILED" in result.stderr
    assert "[3/3," in result.stderr
    verify_rrd(out / "abitobot.rrd")
    verify_rrd(out / "uf_gps_nav_bag.rrd")
    assert len(rrc.RrdReader(str(out / "abitobot.rrd")).blueprints()) == 1  # --blueprint embedded
    tags = query(catalog_of(str(out)), "SELECT DISTINCT tags['fleet'] AS fleet FROM runs").to_pylist()
    assert tags == [{"fleet": "test"}]


def test_a_killed_workers_recording_is_retried(ray_cluster: RayCluster, tmp_path: Path) -> None:
    report, killed = batch_killing_a_worker(tmp_path, str(tmp_path / "out"), lambda process: process.pid)
    assert len(killed) == 1
    assert report.failures == []
    assert [r.outcome for r in report.results] == ["converted"]
    verify_rrd(tmp_path / "out" / "robot.rrd")
    # What the killed try was writing went with its folder: nothing half written is left in OUT.
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["catalog", "robot.rrd"]


def test_batch_without_an_address_starts_its_own_ray_whatever_cluster_is_named(tmp_path: Path) -> None:
    # ray.init() without an address joins the cluster RAY_ADDRESS (or `ray start`) names on the machine,
    # and then refuses num_cpus: the batch died with a traceback on a cluster's head machine.
    out = tmp_path / "out"
    # RAY_ADDRESS names a cluster that is not there.
    result = rerun_bridge(
        "batch",
        str(NEATO_BAG),
        "-o",
        str(out),
        "--workers",
        "1",
        timeout=300,
        env={**os.environ, "RAY_ADDRESS": "127.0.0.1:1"},
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    verify_rrd(out / f"{NEATO_BAG.name}.rrd")


def test_a_recordings_own_error_is_not_retried(tmp_path: Path) -> None:
    """A damaged recording failed twice: Ray retried every exception, and its own error comes back the
    same (audit). Only a part's death and storage or network failures are retried now; a worker's death
    still is (test_a_killed_workers_recording_is_retried). Ray's raylet says each retry on stderr."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "broken.db3").write_bytes(b"SQLite format 3\0" + b"\xff" * 4000)
    result = rerun_bridge("batch", str(uploads), "-o", str(tmp_path / "out"), "--workers", "1", timeout=300)
    assert result.returncode == 1
    assert "error: broken: " in result.stderr
    assert "broken.db3" in result.stderr
    assert "will be retried" not in result.stderr


def test_batch_command_without_recordings_is_a_usage_error(tmp_path: Path) -> None:
    result = rerun_bridge("batch", str(tmp_path / "nothing_here"), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "nothing_here: no such file, folder or prefix" in result.stderr
    no_workers = rerun_bridge("batch", str(NEATO_BAG), "-o", str(tmp_path / "out"), "--workers", "0")
    assert no_workers.returncode == 2
    assert "--workers: expected a whole number >= 1, got '0'" in no_workers.stderr
    # An unknown blueprint fails before Ray starts (it failed and retried every recording there).
    unknown = rerun_bridge("batch", str(NEATO_BAG), "-o", str(tmp_path / "out"), "--blueprint", "nosuch")
    assert unknown.returncode == 2
    assert "unknown blueprint 'nosuch'" in unknown.stderr
    assert not (tmp_path / "out").exists()


def test_batch_refuses_outputs_that_would_replace_its_recordings(tmp_path: Path) -> None:
    """`batch uploads/ -o uploads/ --mcap` published each lone .mcap's re-recording over the recording
    itself (uploads/run.mcap): the original bytes (rosbag2's metadata records included) were gone, and the
    next batch took the re-recording for new content. Refused before Ray starts, naming the file."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    recording = uploads / "run.mcap"
    shutil.copy(next(TALKER_MCAP.glob("*.mcap")), recording)
    original = recording.read_bytes()
    result = rerun_bridge("batch", str(uploads), "-o", str(uploads), "--mcap", "--workers", "1")
    assert result.returncode == 2
    assert f"error: {recording}: a file of the recording {recording}; the output of" in result.stderr
    assert "Traceback" not in result.stderr
    assert recording.read_bytes() == original
    assert sorted(path.name for path in uploads.iterdir()) == ["run.mcap"]


def test_a_batch_into_a_folder_of_its_inputs_leaves_its_earlier_outputs_out(tmp_path: Path) -> None:
    """`batch uploads/ -o uploads/converted --mcap` found its own re-recording (converted/talker.mcap) on
    the next run and took it for a new recording: every run converted the last run's copies once more."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    shutil.copytree(TALKER_MCAP, uploads / "talker")
    out = uploads / "converted"
    command = ("batch", str(uploads), "-o", str(out), "--mcap", "--workers", "1")
    first = rerun_bridge(*command, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "1 converted, 0 already done, 0 failed, of 1 recordings" in first.stdout
    published = sorted(path.name for path in out.iterdir())
    assert published == ["catalog", "talker.mcap", "talker.rrd"]
    again = rerun_bridge(*command, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"note: {out / 'talker.mcap'}: left out, an output of an earlier batch into {out}" in again.stderr
    assert "0 converted, 1 already done, 0 failed, of 1 recordings" in again.stdout
    assert sorted(path.name for path in out.iterdir()) == published
    # Converted again, it keeps its name: it was named apart from the output left out (uploads_talker.rrd).
    forced = rerun_bridge(*command, "--force", timeout=300)
    assert forced.returncode == 0, forced.stderr
    assert "1 converted, 0 already done, 0 failed, of 1 recordings" in forced.stdout
    assert sorted(path.name for path in out.iterdir()) == published
    # Its outputs alone are no batch: one error, nothing converted.
    alone = rerun_bridge("batch", str(out), "-o", str(out), "--workers", "1")
    assert alone.returncode == 2
    assert f"error: every recording found is an output of an earlier batch into {out}" in alone.stderr


def test_blueprint_notes_come_once_per_recording_naming_it(ray_cluster: RayCluster, tmp_path: Path) -> None:
    """`--blueprint` notes were logged by the workers: Ray forwarded them with colour codes and its
    `(convert_recording pid=...)` in place of the recording, and folded two recordings' equal notes into
    one. Two recordings of the same data (one byte apart, so both convert) get the same notes: each is
    said for each, naming it, by the command itself."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    shutil.copytree(NEATO_BAG, uploads / "monday")
    shutil.copytree(NEATO_BAG, uploads / "tuesday")
    with (uploads / "tuesday" / "metadata.yaml").open("a") as metadata:
        metadata.write("\n")
    result = rerun_bridge(
        "batch",
        str(uploads),
        "-o",
        str(tmp_path / "out"),
        "--ray",
        ray_cluster.address,
        "--blueprint",
        "navigation",
        timeout=300,
        env=ray_cluster.environment(),
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stderr
    assert "convert_recording pid=" not in result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    monday = [note.removeprefix(f"note: {uploads / 'monday'}: ") for note in notes if "monday" in note]
    tuesday = [note.removeprefix(f"note: {uploads / 'tuesday'}: ") for note in notes if "tuesday" in note]
    assert monday, result.stderr  # the navigation layout's map frame is not in the Neato's TF
    assert len(monday) == len(set(monday))  # once each
    assert sorted(monday) == sorted(tuesday)
    assert len(notes) == len(monday) + len(tuesday)  # every note names its recording


def _tags_by_name(out: Path) -> dict[str, dict[str, str]]:
    rows = query(catalog_of(str(out)), "SELECT name, tags FROM runs").to_pylist()
    return {row["name"]: dict(row["tags"]) for row in rows}


def test_copies_in_one_batch_are_converted_once(ray_cluster: RayCluster, tmp_path: Path) -> None:
    """The same bag uploaded under 12 names was converted 12 times, one catalog row each, and the rows
    drifted apart: a later batch's tags reached one of them. The batch hashes first now: one conversion
    and one row per content, the copies said as its duplicates; a later batch's tags reach that row."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for index in range(12):
        shutil.copytree(NEATO_BAG, uploads / f"neato_{index:02}")
    shutil.copytree(TALKER_MCAP, uploads / "talker")
    out = tmp_path / "out"
    first = rerun_bridge(
        "batch", str(uploads), "-o", str(out), "--ray", ray_cluster.address, "--tag", "fleet=a",
        timeout=300, env=ray_cluster.environment(),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "2 converted, 0 already done, 11 copies of another recording, 0 failed, of 13 recordings" in (
        first.stdout
    )
    duplicates = [line for line in first.stderr.splitlines() if ": duplicate: " in line]
    assert len(duplicates) == 11
    assert all(f"the same content as {uploads / 'neato_00'} (run neato_00-" in line for line in duplicates)
    assert sorted(path.name for path in out.iterdir()) == ["catalog", "neato_00.rrd", "talker.rrd"]
    verify_rrd(out / "neato_00.rrd")
    assert _tags_by_name(out) == {"neato_00": {"fleet": "a"}, "talker": {"fleet": "a"}}

    # Again, with another tag: the one row per content takes it.
    again = rerun_bridge(
        "batch", str(uploads), "-o", str(out), "--ray", ray_cluster.address, "--tag", "fleet=b",
        timeout=300, env=ray_cluster.environment(),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "0 converted, 2 already done, 11 copies of another recording, 0 failed, of 13 recordings" in (
        again.stdout
    )
    assert _tags_by_name(out) == {"neato_00": {"fleet": "b"}, "talker": {"fleet": "b"}}


def test_a_content_converted_again_under_another_name_keeps_its_one_row(tmp_path: Path) -> None:
    """day1/run.mcap converted alone is `run`; converted again (--force) with day2's copy, it came out as
    `day1_run_mcap`: a second row and .rrd, and a later batch's tags reached only one row (audit). It
    keeps its first name now, and its tags; a content registered first keeps its registered row too."""
    uploads = tmp_path / "uploads"
    for day in ("day1", "day2"):
        shutil.copytree(TALKER_MCAP, uploads / day / "run")
    out = tmp_path / "out"
    alone = run_batch(
        find_recordings([str(uploads / "day1" / "run")])[0], JobOptions(str(out), tags={"first": "1"}), 1
    )
    assert _names(alone.results) == ["run"]
    again = run_batch(
        find_recordings([str(uploads / "day1"), str(uploads / "day2")])[0],
        JobOptions(str(out), force=True, tags={"again": "1"}),
        1,
    )
    assert [result.run_id.split("-")[0] for result in again.results] == [
        "run",
        "run",
    ]  # the copy: a duplicate
    assert _tags_by_name(out) == {"run": {"first": "1", "again": "1"}}
    assert sorted(path.name for path in out.iterdir()) == ["catalog", "run.rrd"]


def test_a_file_in_out_that_no_run_published_is_not_replaced(tmp_path: Path) -> None:
    """An earlier `convert -o OUT/run.rrd` was replaced by a batch's run.rrd without a word (audit)."""
    uploads = tmp_path / "uploads"
    shutil.copytree(TALKER_MCAP, uploads / "run")
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.rrd").write_bytes(b"someone's recording")
    report = run_batch(find_recordings([str(uploads / "run")])[0], JobOptions(str(out)), 1)
    (result,) = report.results
    assert result.run_id.startswith("run_")  # named apart, with its content hash
    assert (out / "run.rrd").read_bytes() == b"someone's recording"
    verify_rrd(out / f"{result.run_id.split('-')[0]}.rrd")


def test_copies_of_a_failing_recording_fail_with_it(ray_cluster: RayCluster, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for name in ("broken", "broken_again"):
        (uploads / f"{name}.db3").write_bytes(b"SQLite format 3\0" + b"\xff" * 4000)
    recordings, _ = find_recordings([str(uploads)])
    report = run_batch(recordings, JobOptions(str(tmp_path / "out")), workers=1)
    assert report.results == []
    first, copy = sorted(report.failures, key=lambda failure: failure.name)
    assert "broken.db3" in first.reason
    assert copy.reason.startswith(f"the same content as {uploads / 'broken.db3'}, which failed: ")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_batch_stops_with_its_summary(
    ray_cluster: RayCluster, tmp_path: Path, signum: signal.Signals
) -> None:
    """Ctrl-C printed a traceback from ray.wait and nothing of what was done. The signal goes to the
    command's process group, as a terminal sends Ctrl-C, once the first recording ended: the batch stops,
    says what ended and what did not, and exits as a process ended by that signal."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for index in range(6):  # six contents (one byte apart), so that none is another's duplicate
        shutil.copytree(NEATO_BAG, uploads / f"run{index}")
        with (uploads / f"run{index}" / "metadata.yaml").open("a") as metadata:
            metadata.write("\n" * index)
    out = tmp_path / "out"
    command = [
        str(CLI),
        "batch",
        str(uploads),
        "-o",
        str(out),
        "--ray",
        ray_cluster.address,
        "--workers",
        "1",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ray_cluster.environment(),
        start_new_session=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("[1/6,"):
            os.killpg(process.pid, signum)
            break
    stdout, rest = process.communicate(timeout=120)
    stderr = "".join(seen) + rest
    assert process.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    ended = [line.split("] ", 1)[1].split(":", 1)[0] for line in stderr.splitlines() if line.startswith("[")]
    unfinished = [line.split(": ")[1] for line in stderr.splitlines() if line.startswith("not finished: ")]
    assert ended, stderr
    assert unfinished, stderr
    assert sorted(ended + unfinished) == [f"run{index}" for index in range(6)]
    assert f"error: interrupted ({signum.name}): {len(unfinished)} of 6 recordings not finished" in stderr
    assert f"{len(ended)} converted, 0 already done, 0 failed, of 6 recordings" in stdout
    # What ended is published and in the catalog; what was cancelled published nothing (a job folder
    # its worker had no time to remove is hidden, and goes with the next job into OUT).
    published = sorted(path.name for path in out.iterdir() if not path.name.startswith("."))
    assert published == sorted(["catalog", *(f"{n}.rrd" for n in ended)])
    for name in ended:
        verify_rrd(out / f"{name}.rrd")
    runs = query(catalog_of(str(out)), "SELECT name FROM runs ORDER BY name").to_pylist()
    assert [run["name"] for run in runs] == sorted(ended)
