"""Every registered converter, fed generated messages full of odd values (see :mod:`.messages`): each
message converts into rows that Rerun's layout takes, or fails with a ConversionError that the pipeline
reports under the topic; any other exception is a bug (strict mode raises it here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerun_bridge.cdr.decoding import Decoder, TypeResolver
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.model.records import TopicInfo
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.model.type_names import normalize_type_name
from rerun_bridge.pipeline import Outcome, Pipeline
from rerun_bridge.replay.column_batches import ColumnReplay
from rerun_bridge.sinks.batcher import RowBatcher
from test.fuzz.messages import fuzz_typestore, serialized, supplied_definitions

#: Values past float32's range become infinities on the way to Rerun's float32 components: expected.
pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning"
)

STORE = fuzz_typestore()
SUPPLIED = supplied_definitions()
TOPIC = "/fuzzed"
CONVERTED_TYPES = [normalize_type_name(c.type_name) for c in BUILTIN_CONVERTERS.all()]
COLUMN_TYPES = [normalize_type_name(t) for t in BUILTIN_CONVERTERS.column_types()]


class ArrowSink:
    """Rows turned into Rerun's Arrow chunk layout as the .rrd and stream sinks do: rows it cannot lay
    out raise."""

    def __init__(self) -> None:
        self.batches: list[pa.RecordBatch] = []
        self.batcher = RowBatcher(lambda _entity, _static, batch: self.batches.append(batch), batch_rows=1)

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        self.batcher.write(rows, default_times)

    def write_columns(self, columns: ColumnRows) -> None:
        self.batcher.write_columns(columns)

    def flush(self, wait: bool = True) -> None:
        self.batcher.flush()

    def close(self) -> None:
        self.batcher.flush()


def decoder_for(type_name: str) -> Decoder:
    choice = TypeResolver([TopicInfo(TOPIC, type_name)], "jazzy", supplied=SUPPLIED).choose(type_name)
    assert choice.decoder is not None, choice.reason
    return choice.decoder


def convert(type_name: str, payloads: list[bytes], by_columns: bool = False) -> tuple[Pipeline, list[str]]:
    """Convert the payloads as replay does: one by one, or (``by_columns``) gathered by replay's column
    path, which groups them by layout and leaves what it cannot lay out or convert to the one-by-one
    path. Returns the pipeline (its stats) and its warnings."""
    warnings: list[str] = []
    sink = ArrowSink()
    pipeline = Pipeline([sink], warn=warnings.append, converters=BUILTIN_CONVERTERS)
    pipeline.add_topic(TOPIC, type_name)
    decoder = decoder_for(type_name)

    def one_by_one(_bag: int, _topic: str, payload: bytes | memoryview, log_time_ns: int) -> None:
        outcome = pipeline.process_raw(TOPIC, payload, log_time_ns, decoder)
        assert outcome in (Outcome.CONVERTED, Outcome.FAILED)

    columns = ColumnReplay(pipeline, one_by_one)
    if by_columns:
        columns.add_topic(0, TOPIC, type_name, decoder, STORE)
    for index, payload in enumerate(payloads):
        if not columns.offer(0, TOPIC, payload, index + 1):
            one_by_one(0, TOPIC, payload, index + 1)
    columns.flush()
    pipeline.finish()
    sink.flush()
    return pipeline, warnings


def check_outcome(pipeline: Pipeline, warnings: list[str], count: int) -> None:
    stats = pipeline.stats_of(TOPIC)
    assert stats is not None
    assert stats.messages == count
    if stats.errors:
        # Reported once, under the topic and type, with the converter's own words.
        assert stats.first_error.startswith("ConversionError: "), stats.first_error
        assert len(stats.first_error) > len("ConversionError: ")
        assert any(w.startswith(f"topic {TOPIC} ({normalize_type_name(stats.type_name)})") for w in warnings)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("type_name", CONVERTED_TYPES)
def test_converter_gives_rows_or_a_conversion_error(type_name: str) -> None:
    @given(st.lists(serialized(STORE, type_name), min_size=1, max_size=2))
    def run(payloads: list[bytes]) -> None:
        pipeline, warnings = convert(type_name, payloads)
        check_outcome(pipeline, warnings, len(payloads))

    run()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("type_name", COLUMN_TYPES)
def test_column_converter_gives_rows_or_declines(type_name: str) -> None:
    """Several messages of one layout (the column path's case): the batch converts, or is declined and
    each message then converts or fails on its own."""

    @given(serialized(STORE, type_name), st.integers(2, 4))
    def run(payload: bytes, copies: int) -> None:
        pipeline, warnings = convert(type_name, [payload] * copies, by_columns=True)
        check_outcome(pipeline, warnings, copies)

    run()
