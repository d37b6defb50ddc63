"""Joining a split conversion's parts: what a failed join says."""

from __future__ import annotations

from rerun_bridge.sinks.rrd_parts import _why

#: The shape of `rerun rrd route`'s output when it panicked (0.41): the reason, then a chunk list, the
#: place, and a last line that says nothing of it.
PANIC = """\
2026-12-07T14:34:15.814235Z  INFO rerun::commands::rrd::route: processing input...

thread 'main' panicked at 'assertion `left == right` failed: [i=0] chunk_18EE != chunk_18EF: [
    chunk_18EE,
]
  left: Tuid { time_ns: Some(1) }'
rerun/src/commands/rrd/route.rs:257
Report bugs: https://github.com/rerun-io/rerun/issues
"""


def test_a_failed_join_names_the_panic_not_the_bug_report_line() -> None:
    """The error said only "Report bugs: https://github.com/rerun-io/rerun/issues" (README audit)."""
    assert _why(PANIC).startswith("thread 'main' panicked at 'assertion `left == right` failed: [i=0]")
    assert _why("error: no such file: part1.rrd\n") == "error: no such file: part1.rrd"
    assert _why("") == "no message"
