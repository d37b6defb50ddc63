"""docs/coverage.md says what the code does: it is regenerated from the converters and golden cases."""

from __future__ import annotations

from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from test.convert.coverage_table import PAGE, page_text


def test_the_coverage_page_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == page_text(), (
        "docs/coverage.md is out of date: run `python -m test.convert.coverage_table`"
    )


def test_every_converter_has_a_line_with_a_test() -> None:
    lines = [line for line in page_text().splitlines() if line.startswith("| `")]
    assert len(lines) == len(BUILTIN_CONVERTERS)
    for line in lines:
        tests = line.split(" | ")[3]
        assert "golden/" in tests or "test_" in tests, line
