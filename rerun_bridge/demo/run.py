"""``python -m rerun_bridge.demo [--out DIR]``: the replay path end to end on a synthetic recording.

Writes the default sample bag (:mod:`rerun_bridge.demo.sample_bag`) to ``DIR/sample_bag``, converts it to
``DIR/sample.rrd`` and ``DIR/sample.mcap``, has Rerun's own ``rerun rrd verify`` check the .rrd, and prints
what became of every topic. Exits 1 when verification fails or nothing converted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from rerun_bridge.errors import BridgeError

EXIT_OK = 0
EXIT_FAILED = 1


class Verification(NamedTuple):
    ok: bool
    output: str


def rerun_cli() -> Path | None:
    """The ``rerun`` executable installed beside this Python (rerun-sdk's), else the one on PATH."""
    beside = Path(sys.executable).parent / "rerun"
    if beside.exists():
        return beside
    found = shutil.which("rerun")
    return Path(found) if found else None


def verify_rrd(path: Path) -> Verification:
    """Run ``rerun rrd verify`` on ``path`` with a private, analytics-off Rerun configuration."""
    cli = rerun_cli()
    if cli is None:
        return Verification(False, "the rerun CLI was not found (pip install rerun-sdk)")
    with tempfile.TemporaryDirectory(prefix="rerun_bridge_demo_") as home:
        env = dict(os.environ, XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data")
        subprocess.run([str(cli), "analytics", "disable"], env=env, capture_output=True, check=False)
        result = subprocess.run(
            [str(cli), "rrd", "verify", str(path)], env=env, capture_output=True, text=True, check=False
        )
    return Verification(result.returncode == 0, (result.stdout + result.stderr).strip())


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _size(path: Path) -> str:
    size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*"))
    return f"{size / 1e6:.1f} MB"


def run_demo(out: Path) -> int:
    from rerun_bridge.demo.sample_bag import TOPICS, SampleSpec, write_sample
    from rerun_bridge.replay import convert_bags, topic_kind_label

    out.mkdir(parents=True, exist_ok=True)
    spec = SampleSpec()
    started = time.monotonic()
    bag = write_sample(out / "sample_bag", spec)
    print(f"wrote the sample recording {bag} ({_size(bag)}) in {time.monotonic() - started:.2f} s")

    rrd_path, mcap_path = out / "sample.rrd", out / "sample.mcap"
    started = time.monotonic()
    summary = convert_bags(
        [bag],
        rrd_path,
        mcap_path,
        warn=lambda message: print(f"warning: {message}", file=sys.stderr),
        default_layout=True,  # as `rerun-bridge convert` gives it: Rerun's viewer opens it in our layout
    )
    print(f"converted it in {time.monotonic() - started:.2f} s\n")

    expected = spec.message_counts()
    rows = [
        [
            stats.topic,
            TOPICS.get(stats.topic, stats.type_name),
            f"{stats.messages}/{expected.get(stats.topic, 0)}",
            topic_kind_label(stats),
            str(stats.rows),
            str(stats.errors),
        ]
        for stats in sorted(summary.topics, key=lambda s: s.topic)
    ]
    _print_table(["topic", "type", "messages", "became", "rows", "errors"], rows)

    verification = verify_rrd(rrd_path)
    print()
    print(f"rerun rrd verify: {'ok' if verification.ok else 'FAILED'}")
    if not verification.ok:
        print(verification.output, file=sys.stderr)
    print(f"\nrecording  {bag}  ({_size(bag)})")
    print(f"rrd        {rrd_path}  ({_size(rrd_path)})")
    print(f"mcap       {mcap_path}  ({_size(mcap_path)}, {summary.mcap_messages} messages)")
    print("\nopen them with:")
    print(f"  rerun {rrd_path}")
    print(f"  rerun-bridge view {rrd_path} --blueprint perception   (the embedded viewer)")
    print(f"  rerun-bridge info {bag}")
    print(f"  (or drop {mcap_path} into Foxglove Studio)")
    if not summary.converted_anything:
        print("error: nothing could be converted", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if verification.ok else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rerun_bridge.demo",
        description="Write a synthetic robot recording, convert it to .rrd and .mcap, and verify the .rrd.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("demo_output"), help="output folder (default: ./demo_output)"
    )
    args = parser.parse_args(argv)
    try:
        return run_demo(args.out)
    except BridgeError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
