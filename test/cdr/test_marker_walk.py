"""The C walk of a MarkerArray's layout (cdr/_marker_walk.c) against the numpy walk it replaces: the same
columns from the same payloads, good, truncated or with bytes changed anywhere, and its argument checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rerun_bridge.cdr import _marker_walk
from rerun_bridge.cdr.fast import _Reader
from rerun_bridge.cdr.marker_scan import WALK_FIELDS, MarkerColumns, scan_marker_array
from test.convert.test_marker_columns import OTHERS, REDRAWN, cdr, every_type, marker

ARRAYS = {**REDRAWN, **OTHERS}
#: The C walk's table: where each field lies, then stamp, id, type, action, lifetime and string codes.
TABLE_ROWS = len(WALK_FIELDS) + 7


MAX_SEQUENCE = 1 << 20


def _marker_reader() -> Callable[[memoryview, int], tuple[Any, int]]:
    """The bridge's marker-by-marker reader, which both walks use for what they do not hold as columns."""
    return _Reader("<", MAX_SEQUENCE).marker


def _scan(payload: bytes, use_native: bool) -> MarkerColumns | None:
    body = memoryview(payload)[4:]  # past the encapsulation header
    read = _marker_reader()
    return scan_marker_array(body, MAX_SEQUENCE, lambda position: read(body, position), use_native=use_native)


def _assert_same_columns(native: MarkerColumns | None, reference: MarkerColumns | None) -> None:
    assert (native is None) == (reference is None)
    if native is None or reference is None:
        return
    for field in fields(MarkerColumns):
        if field.name in ("body", "marker_at"):
            continue
        ours, theirs = getattr(native, field.name), getattr(reference, field.name)
        if isinstance(ours, np.ndarray):
            np.testing.assert_array_equal(ours, theirs, err_msg=field.name)
        else:
            assert ours == theirs, field.name


def test_the_extension_is_built() -> None:
    assert _marker_walk is not None, "the C extension is not built (scripts/setup.sh)"


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_same_columns_as_the_numpy_walk(name: str) -> None:
    payload = cdr(ARRAYS[name])
    native = _scan(payload, use_native=True)
    assert native is not None
    _assert_same_columns(native, _scan(payload, use_native=False))


def test_truncated_payloads_fit_neither_walk() -> None:
    payload = cdr(REDRAWN["lifetimes_frames_and_zero_stamps"])
    for cut in range(8, len(payload) - 3):
        assert _scan(payload[:cut], use_native=True) is None, cut
        assert _scan(payload[:cut], use_native=False) is None, cut


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_changed_bytes_give_what_the_numpy_walk_gives(data: st.DataObject) -> None:
    """A few bytes changed anywhere (lengths, counts, strings, NULs): either both walks refuse the array
    or both give the same columns."""
    payload = bytearray(cdr([marker("", 0, action=3), *every_type("a", 1, per_point_colors=True)]))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(4, len(payload) - 1))
        payload[at] = data.draw(st.integers(0, 255))
    _assert_same_columns(_scan(bytes(payload), use_native=True), _scan(bytes(payload), use_native=False))


@pytest.mark.parametrize("use_native", [True, False], ids=["C", "numpy"])
def test_a_count_the_payload_cannot_hold_sizes_nothing(use_native: bool) -> None:
    """A damaged count of two billion markers in a payload of one: refused before anything is sized by it."""
    payload = bytearray(cdr([marker("a", 1)]))
    payload[4:8] = (2_000_000_000).to_bytes(4, "little")
    assert _scan(bytes(payload), use_native=use_native) is None


def test_markers_in_many_frames() -> None:
    """Past the 64 markers in other frames the numpy walk steps over one by one, the C walk reads on."""
    markers = [marker("a", index, frame=f"frame_{index % 100}") for index in range(300)]
    native = _scan(cdr(markers), use_native=True)
    assert native is not None
    assert native.ids.tolist() == list(range(300))
    assert native.frame_names == [f"frame_{index}" for index in range(100)]  # as each first appears
    assert [native.frame_names[code] for code in native.frame_codes] == [m.header.frame_id for m in markers]


def test_many_namespaces_numbered_as_the_numpy_walk_numbers_them() -> None:
    """Past the few namespaces compared one by one (numpy) and the previous marker's (C), both walks look
    strings up in a table and number them in the order they first appear."""
    names = [f"ns_{(index * 37) % 90}" + "x" * (index % 7) for index in range(600)]
    markers = [marker(name, index) for index, name in enumerate(names)]
    native = _scan(cdr(markers), use_native=True)
    _assert_same_columns(native, _scan(cdr(markers), use_native=False))
    assert native is not None
    assert native.ns_names == list(dict.fromkeys(names))
    assert [native.ns_names[code] for code in native.ns_codes] == names


def _with_text(raw: bytes) -> bytes:
    """A MarkerArray of two markers whose second's text is ``raw``, whatever its bytes."""
    payload = cdr([marker("a", 0, text="before"), marker("a", 1, kind=9, text="-" * len(raw))])
    columns = _scan(payload, use_native=False)
    assert columns is not None
    at = 4 + int(columns.text_offsets[1])  # the body starts past the encapsulation header
    return payload[:at] + raw + payload[at + len(raw) :]


@pytest.mark.parametrize(
    "raw",
    [
        "näme ✓ 😀".encode(),
        b"\xed\xa0\x80",  # a surrogate
        b"\xc0\xaf",  # overlong
        b"\xe0\x80\xaf",  # overlong, three bytes
        b"\xf4\x90\x80\x80",  # past U+10FFFF
        b"\xf5\x80\x80\x80",
        b"ab\xe2\x82",  # cut short at the end
        b"\xe2\x82ab",  # cut short before ASCII
        b"\x80",
        b"nul\x00inside",
        b"\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",  # the largest of each length
    ],
)
def test_strings_checked_as_utf8_as_python_decodes_them(raw: bytes) -> None:
    """Every string of a marker is checked as Python's decoder checks UTF-8: an array with one that is
    not goes marker by marker (None here); one with only valid strings is read by both walks alike."""
    payload = _with_text(raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        valid = False
    else:
        valid = True
    native = _scan(payload, use_native=True)
    assert (native is not None) == valid
    _assert_same_columns(native, _scan(payload, use_native=False))
    if native is not None:
        assert native.texts(np.array([1])) == [raw.decode("utf-8")]


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=12))
def test_random_text_bytes_checked_as_python_decodes_them(raw: bytes) -> None:
    payload = _with_text(raw)
    try:
        raw.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert (_scan(payload, use_native=True) is not None) == valid


@pytest.mark.parametrize(
    ("count", "table_items", "value_items", "message"),
    [
        (-1, 0, 0, "negative"),
        (2, TABLE_ROWS * 2 - 1, 28, "table is smaller"),
        (2, TABLE_ROWS * 2, 27, "values are smaller"),
    ],
)
def test_refuses_what_does_not_fit(count: int, table_items: int, value_items: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _marker_walk.walk_markers(
            bytes(64), count, 10, np.empty(table_items, dtype=np.int64), np.empty(value_items)
        )


def test_refuses_read_only_buffers() -> None:
    with pytest.raises(TypeError):
        _marker_walk.walk_markers(bytes(64), 1, 10, bytes(8 * TABLE_ROWS), np.empty(14))
    with pytest.raises(TypeError):
        _marker_walk.walk_markers(bytes(64), 1, 10, np.empty(TABLE_ROWS, dtype=np.int64), bytes(8 * 14))
