"""The child process of a split conversion: ``python -m rerun_bridge.replay.part_process JOB RESULT``
converts the part that the pickled JOB file describes and leaves its summary or error in RESULT
(:mod:`rerun_bridge.replay.parallel` starts it)."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    from rerun_bridge.replay.allocator import reuse_big_buffers

    reuse_big_buffers()  # it converts one part and exits
    from rerun_bridge.replay.part_runs import child_main

    child_main(Path(sys.argv[1]), Path(sys.argv[2]))
