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
from test.convert import regenerate_golden
from test.convert.golden_harness import (
    REGENERATE_COMMAND,
    GoldenCase,
    expected_text,
    golden_cases,
    row_texts,
    run_case,
    run_case_by_columns,
)

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


#: Cases whose every message the column converter declines on purpose (they go one by one).
DECLINED_BY_COLUMNS = {
    # Static TF has one entity per child frame: tf_message_columns leaves it to the converter.
    "tf2_msgs/tf_static",
    # A batch holding a bad covariance (NaN) goes message by message, which counts each one's error
    # (test_odometry_column_rows_equal_the_converter_rows covers the column path on good batches).
    "nav_msgs/odometry",
    "nav_msgs/odometry_covariance_trail",
    # Every message holds an edge tf2 ignores: each goes message by message, counting its own error.
    "tf2_msgs/tf_ignored_edges",
}
COLUMN_CASES = [case for case in CASES if BUILTIN_CONVERTERS.lookup_columns(str(case.load()["type"]))]


@pytest.mark.parametrize("case", COLUMN_CASES, ids=[case.name for case in COLUMN_CASES])
def test_column_path_writes_the_golden_rows(case: GoldenCase) -> None:
    """Types with a column converter: replay's batch path writes the same rows (in its own order), stats
    and warnings as the message-by-message path the golden file records."""
    one_by_one, by_columns = run_case(case), run_case_by_columns(case)
    taken = by_columns.stats.column_messages > 0
    assert taken != (case.name in DECLINED_BY_COLUMNS), f"{case.name}: column path taken: {taken}"
    assert row_texts(by_columns) == row_texts(one_by_one)
    assert by_columns.stats == one_by_one.stats  # column_messages is not compared
    assert sorted(by_columns.warnings) == sorted(one_by_one.warnings)


def test_regenerate_check_reports_every_case_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert regenerate_golden.main(["--check"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{len(CASES)} cases, 0 stale"
