"""Freed frames return their memory to the system (rerun_bridge/live/allocator.py), in a fresh process."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Frames allocated one after another with small long-lived objects between them (what DDS, the queues
# and the store do), then freed: the resident memory they took must go back.
_FRAMES_FREED = """
import sys
from rerun_bridge.live.allocator import map_big_allocations

def resident_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6

if sys.argv[1] == "mapped":
    assert map_big_allocations()
frames, kept = [], []
for index in range(80):
    frame = bytearray(2_764_800)
    frame[::4096] = b"x" * len(frame[::4096])  # touched: resident
    frames.append(frame)
    if index:  # a freed frame first moves glibc's threshold up
        kept.append(bytearray(200))
    else:
        frames.clear()
before = resident_mb()
frames.clear()
print(before - resident_mb())
"""


@pytest.mark.parametrize("mode", ["mapped", "default"])
def test_freed_frames_return_their_memory(mode: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", _FRAMES_FREED, mode], capture_output=True, text=True, check=True, timeout=60
    )
    returned_mb = float(run.stdout)
    frames_mb = 79 * 2.7648
    if mode == "mapped":
        assert returned_mb > 0.9 * frames_mb
    else:  # glibc's own rule keeps them: what the setting is for
        assert returned_mb < 0.5 * frames_mb
