"""A conversion stopped by a signal (audit): SIGTERM, as Ctrl-C, closes the outputs whole with one line
and no traceback (SIGTERM used to kill it outright, the .rrd without its footer, the .mcap without its
summary); a split conversion killed outright (SIGKILL, the OOM killer) leaves its parts folder, hundreds of
MB in RAM, which the next split conversion there removes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs in the venv (types-psutil)
import pytest
from mcap.reader import make_reader

from rerun_bridge.demo.sample_bag import SampleSpec, write_sample
from rerun_bridge.replay.parallel import SHARED_MEMORY
from rerun_bridge.scratch import OUTPUT_PARTS_PREFIX, PARTS_PREFIX
from test.conftest import verify_rrd

CLI = Path(sys.executable).parent / "rerun-bridge"


@pytest.fixture(scope="module")
def long_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seconds of conversion: a signal sent once the outputs exist lands mid-way."""
    return write_sample(tmp_path_factory.mktemp("long") / "bag", SampleSpec(duration_s=300.0))


def _convert(*args: str | Path) -> subprocess.Popen[str]:
    command = [str(CLI), "convert", *map(str, args), "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(found: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not found():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_both_outputs_whole_with_one_line(
    long_bag: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    rrd, mcap = tmp_path / "run.rrd", tmp_path / "run.mcap"
    process = _convert(long_bag, "-o", rrd, "--mcap", mcap)
    # Signalled once the .mcap holds its first chunks (about 12 MB when whole).
    _wait_for(lambda: rrd.exists() and mcap.exists() and mcap.stat().st_size > 1 << 20, process)
    process.send_signal(signum)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert f"error: interrupted ({signum.name}): {rrd} and {mcap} hold what was converted before it" in err
    verify_rrd(rrd)  # its footer written
    with mcap.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None  # its summary written
    assert summary.statistics is not None
    assert summary.statistics.message_count > 0


def _parts_folders(output: Path) -> list[Path]:
    """The parts folders of split conversions into ``output``: in memory, or beside it."""
    return [
        path
        for pattern, root in ((PARTS_PREFIX, SHARED_MEMORY), (OUTPUT_PARTS_PREFIX, output.parent))
        for path in root.glob(f"{pattern}{output.name}.*")
        if path.is_dir()
    ]


def test_a_split_conversion_stopped_by_sigterm_removes_its_parts(long_bag: Path, tmp_path: Path) -> None:
    output = tmp_path / f"term_{uuid.uuid4().hex[:8]}.rrd"
    process = _convert(long_bag, "-o", output, "--jobs", "2")
    _wait_for(lambda: bool(_parts_folders(output)), process)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "error: interrupted (SIGTERM): no output was written" in err
    assert not _parts_folders(output)
    assert not output.exists()


def test_the_parts_of_a_killed_split_conversion_go_with_the_next_one(long_bag: Path, tmp_path: Path) -> None:
    killed_output = tmp_path / f"killed_{uuid.uuid4().hex[:8]}.rrd"
    process = _convert(long_bag, "-o", killed_output, "--jobs", "2")
    _wait_for(lambda: bool(_parts_folders(killed_output)), process)
    parts = psutil.Process(process.pid).children(recursive=True)
    process.kill()  # SIGKILL: no finally runs
    process.communicate(timeout=60)
    for part in parts:  # the part processes this test's conversion started, by their process ids
        if part.is_running():
            part.kill()
    (left,) = _parts_folders(killed_output)
    assert left.exists()

    next_output = tmp_path / f"next_{uuid.uuid4().hex[:8]}.rrd"
    finished = _convert(long_bag, "-o", next_output, "--jobs", "2")
    _out, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err
    verify_rrd(next_output)
    assert not left.exists()
    assert not left.with_name(left.name + ".lock").exists()
