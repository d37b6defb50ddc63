"""Golden files: every converter's rows for small, hand-written messages, compared with reviewed files.

Each case is a message written as YAML (``golden/<ros_package>/<case>.input.yaml``) taken through real CDR
bytes, the real decoder and the pipeline's conversion step; the rows, stats and warnings must equal the
reviewed ``.rows.yaml`` beside it. See docs/testing.md to add a case or regenerate the files.
"""

from __future__ import annotations

import difflib

import pytest

from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.model.type_names import normalize_type_name
from test.convert.golden_harness import REGENERATE_COMMAND, GoldenCase, expected_text, golden_cases

CASES = golden_cases()

#: Converter types whose binary payloads are tested elsewhere, on real encoders and Rerun's verdict, not here.
COVERED_ELSEWHERE = {
    # Every encoding and depth format, checked by Rerun (and test_image_encoding.py for the pixels).
    "sensor_msgs/msg/Image": "test/convert/test_sensor_msgs.py",
    "sensor_msgs/msg/CompressedImage": "test/convert/test_sensor_msgs.py",
    # Field layouts, packed colours and colormaps: test_pointcloud.py.
    "sensor_msgs/msg/PointCloud2": "test/convert/test_pointcloud.py",
}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_rows_match_the_reviewed_golden_file(case: GoldenCase) -> None:
    actual = expected_text(case)
    assert case.rows_path.exists(), f"{case.name} has no expected rows: run `{REGENERATE_COMMAND}`"
    stored = case.rows_path.read_text(encoding="utf-8")
    if actual != stored:
        diff = "".join(
            difflib.unified_diff(
                stored.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{case.name} (stored)",
                tofile=f"{case.name} (converters today)",
            )
        )
        pytest.fail(
            f"golden case {case.name} changed; if the change is intended, run `{REGENERATE_COMMAND}` "
            f"and review the diff by hand:\n{diff}"
        )


def test_every_converter_has_a_golden_case() -> None:
    cased = {normalize_type_name(str(case.load()["type"])) for case in CASES}
    converters = {normalize_type_name(conv.type_name) for conv in BUILTIN_CONVERTERS.all()}
    missing = sorted(converters - cased - COVERED_ELSEWHERE.keys())
    assert not missing, f"converters without a golden case under test/convert/golden/: {missing}"
    # The allow-list names only real converters that still lack a case here.
    assert COVERED_ELSEWHERE.keys() <= converters
    assert not COVERED_ELSEWHERE.keys() & cased


def test_raw_columns_have_a_golden_case() -> None:
    """The fallback for types without a converter is covered too."""
    raw = [case.name for case in CASES if BUILTIN_CONVERTERS.lookup(str(case.load()["type"])) is None]
    assert raw, "no golden case for a type without a converter (raw columns)"
