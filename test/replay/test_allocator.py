"""The conversion's allocator setting: freed big buffers are reused instead of mapped fresh each time."""

from __future__ import annotations

import subprocess
import sys

from rerun_bridge.replay.allocator import MMAP_THRESHOLD_BYTES

# 20 rounds of four 4 MB numpy buffers filled, then all freed (a few chunks read ahead, then done with);
# prints the minor page faults taken. glibc's defaults give freed memory at the heap's top back to the
# kernel, so every round faults its pages in afresh; tuned, the first round only.
_CHILD = """
import resource, sys
import numpy as np
from rerun_bridge.replay.allocator import reuse_big_buffers
tuned = sys.argv[1] == "tuned" and reuse_big_buffers()
np.ones(1 << 20, dtype=np.float32)  # numpy's own first use
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    buffers = [np.ones(1 << 20, dtype=np.float32) for _ in range(4)]
    del buffers
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode], capture_output=True, text=True, check=True, timeout=60
    )
    tuned, faults = done.stdout.split()
    return tuned, int(faults)


def test_freed_big_buffers_are_reused_instead_of_faulted_in_again() -> None:
    assert MMAP_THRESHOLD_BYTES > 4 << 20  # the buffers below come from the heap once tuned
    default_tuned, default_faults = _faults("default")
    tuned, tuned_faults = _faults("tuned")
    assert (default_tuned, tuned) == ("False", "True")
    round_pages = 4 * (4 << 20) // 4096
    assert default_faults >= 5 * round_pages  # round after round faulted in afresh
    assert tuned_faults <= 2 * round_pages  # the first round only
