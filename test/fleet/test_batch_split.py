"""``batch --jobs``: one recording split across Ray tasks on a real local Ray (two CPUs) writes what one
process writes; a part's worker killed mid-way makes Ray retry the recording, which then converts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs in the venv (types-psutil)
import pytest

from rerun_bridge.demo.sample_bag import SampleSpec, write_sample
from rerun_bridge.fleet.batch import run_batch
from rerun_bridge.fleet.catalog import catalog_of, query
from rerun_bridge.fleet.discovery import find_recordings
from rerun_bridge.fleet.jobs import JobOptions
from rerun_bridge.replay import convert_bags
from test.blueprint.rbl_reader import plain, rbl_tree, read_rbl
from test.conftest import verify_rrd
from test.fleet.conftest import RayCluster
from test.replay.test_column_batches import rrd_rows

pytestmark = pytest.mark.xdist_group("fleet")

PART_TASK = "ray::child_main"


@pytest.fixture(scope="module")
def robot_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("in") / "robot", SampleSpec(duration_s=8.0))


class _Watcher:
    """Watches this process's descendants for Ray workers running a part task (Ray titles them after
    it); with ``kill``, SIGKILLs the first one seen (by its process id)."""

    def __init__(self, kill: bool) -> None:
        self.kill = kill
        self.seen: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def __enter__(self) -> _Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set() and not (self.kill and self.seen):
            for process in me.children(recursive=True):
                try:
                    title = " ".join(process.cmdline())
                except psutil.Error:
                    continue
                if title.startswith(PART_TASK) and process.pid not in self.seen:
                    self.seen.append(process.pid)
                    if self.kill:
                        process.kill()
                        return
            time.sleep(0.005)


def test_a_recording_split_across_ray_tasks_equals_one_process(
    ray_cluster: RayCluster, robot_bag: Path, tmp_path: Path
) -> None:
    recordings, _ = find_recordings([str(robot_bag)])
    with _Watcher(kill=False) as watcher:
        report = run_batch(recordings, JobOptions(str(tmp_path / "out"), jobs=2), workers=1)
    assert report.failures == []
    assert watcher.seen  # a part ran as a Ray task
    split = tmp_path / "out" / "robot.rrd"
    verify_rrd(split)
    single = convert_bags([robot_bag], tmp_path / "single.rrd", default_layout=True)
    assert rrd_rows(split) == rrd_rows(tmp_path / "single.rrd")
    # The default layout, made from every part's entities: the one a single process embeds.
    one_layout = plain(rbl_tree(read_rbl(tmp_path / "single.rrd").root))
    assert plain(rbl_tree(read_rbl(split).root)) == one_layout
    rows = query(catalog_of(str(tmp_path / "out")), "SELECT topic, messages, rows FROM topics ORDER BY topic")
    assert rows.to_pylist() == [
        {"topic": t.topic, "messages": t.messages, "rows": t.rows}
        for t in sorted(single.topics, key=lambda t: t.topic)
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["catalog", "robot.rrd"]


def test_a_killed_part_task_fails_its_try_and_the_retry_converts(
    ray_cluster: RayCluster, robot_bag: Path, tmp_path: Path
) -> None:
    recordings, _ = find_recordings([str(robot_bag)])
    with _Watcher(kill=True) as watcher:
        report = run_batch(recordings, JobOptions(str(tmp_path / "out"), jobs=2), workers=1)
    assert len(watcher.seen) == 1
    assert report.failures == []
    assert [r.outcome for r in report.results] == ["converted"]
    verify_rrd(tmp_path / "out" / "robot.rrd")
    assert rrd_rows(tmp_path / "out" / "robot.rrd") == rrd_rows(convert_bags_once(robot_bag, tmp_path))


def convert_bags_once(bag: Path, folder: Path) -> Path:
    convert_bags([bag], folder / "single.rrd")
    return folder / "single.rrd"
