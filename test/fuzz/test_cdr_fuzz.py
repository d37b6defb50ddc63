"""The CDR decoders (rosbags' full ones behind the hand-written fast ones) and the column path's layout
reader, fed damaged payloads: lengths that lie, cut and padded payloads, flipped bits. A message decodes
(into something) or fails with MalformedCdrError; never another exception, a hang, or an allocation the
payload's size cannot justify (the memory cap of conftest.py turns one into a MemoryError)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerun_bridge.cdr.fast import FAST_TYPES, MalformedCdrError
from rerun_bridge.cdr.layout import MessageLayout, describe, split_by_layout
from rerun_bridge.model.type_names import normalize_type_name
from test.fuzz.messages import mutated_payload, serialized
from test.fuzz.test_converters_fuzz import COLUMN_TYPES, CONVERTED_TYPES, STORE, convert, decoder_for

#: Values past float32's range become infinities on the way to Rerun's float32 components: expected.
pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning"
)

FAST = sorted(normalize_type_name(t) for t in FAST_TYPES)
#: The types with a decoder or a converter of their own for high rates: fast decoder, column converter.
HIGH_RATE = sorted({*FAST, *COLUMN_TYPES})


def damaged(type_name: str) -> st.SearchStrategy[bytes]:
    return serialized(STORE, type_name).flatmap(mutated_payload)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("type_name", CONVERTED_TYPES)
def test_decoder_reads_or_rejects_damaged_payloads(type_name: str) -> None:
    decoder = decoder_for(type_name)

    @given(damaged(type_name))
    def run(payload: bytes) -> None:
        with contextlib.suppress(MalformedCdrError):
            decoder(payload)

    run()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("type_name", HIGH_RATE)
def test_damaged_payloads_through_the_whole_conversion(type_name: str) -> None:
    """The high-rate types (fast decoder, column path): damaged payloads among good ones convert, fail
    one by one, or are declined by the column path, and every message is counted."""

    @given(st.lists(st.one_of(serialized(STORE, type_name), damaged(type_name)), min_size=2, max_size=4))
    def run(payloads: list[bytes]) -> None:
        for by_columns in (False, True):
            pipeline, _warnings = convert(type_name, payloads, by_columns=by_columns)
            stats = pipeline.stats_of("/fuzzed")
            assert stats is not None
            assert stats.messages == len(payloads)

    run()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("type_name", COLUMN_TYPES)
def test_layout_reader_rejects_what_it_cannot_read(type_name: str) -> None:
    decoder = decoder_for(type_name)

    @given(st.lists(damaged(type_name), min_size=1, max_size=3))
    def run(payloads: list[bytes]) -> None:
        def layout(payload: bytes | memoryview) -> MessageLayout | None:
            try:
                decoded = decoder(payload)
            except MalformedCdrError:
                return None
            return describe(STORE, type_name, payload, decoded)

        for columns, indices in split_by_layout(payloads, layout)[0]:
            assert len(columns) == len(indices)

    run()
