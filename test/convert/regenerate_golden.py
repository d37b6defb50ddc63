"""Rewrite every golden converter case's expected rows: ``python -m test.convert.regenerate_golden``.

``--check`` writes nothing and exits 1 when a ``.rows.yaml`` differs from what today's converters give.
Review every rewritten file's diff by hand before committing it: it is a change in what users get.
"""

from __future__ import annotations

import argparse
import os
import sys

from rerun_bridge.pipeline import STRICT_ENV
from test.convert.golden_harness import expected_text, golden_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files, write nothing")
    args = parser.parse_args(argv)
    # As in the tests: a converter bug raises instead of being recorded as a counted error.
    os.environ[STRICT_ENV] = "1"
    stale = []
    for case in golden_cases():
        text = expected_text(case)
        old = case.rows_path.read_text(encoding="utf-8") if case.rows_path.exists() else None
        if old == text:
            continue
        stale.append(case.name)
        if not args.check:
            case.rows_path.write_text(text, encoding="utf-8")
    verb = "stale" if args.check else "rewritten"
    for name in stale:
        print(f"{verb}: {name}")
    print(f"{len(golden_cases())} cases, {len(stale)} {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
