"""ChunkStore's latest-at honours Rerun's Clear: earlier data of the entity (and, recursive, of those below)
is hidden from the Clear on, later data shows again; rows of equal time keep their append order."""

from __future__ import annotations

import numpy as np
import pytest

from rerun_bridge.model.rows import Row
from rerun_bridge.store.chunk_store import ChunkStore

BOXES = "Boxes3D:half_sizes"


def box(entity: str, size: float) -> Row:
    return Row(entity, "Boxes3D", {"half_sizes": np.full((1, 3), size, dtype=np.float32)})


def clear(entity: str, recursive: bool) -> Row:
    return Row(entity, "Clear", {"is_recursive": np.array([recursive])})


def shown(store: ChunkStore, entity: str, time: int) -> list[float] | None:
    values = store.latest_at(entity, "log_time", time).get(BOXES)
    return None if values is None else [row[0] for row in values.to_pylist()]


@pytest.mark.parametrize("sealed", [False, True], ids=["open buffers", "sealed chunks"])
def test_recursive_clear_hides_everything_below_until_new_data(sealed: bool) -> None:
    store = ChunkStore()
    store.append_rows([box("/m/ns/1", 1.0), box("/m/ns/2", 2.0), box("/m/other/3", 3.0)], {"log_time": 10})
    store.append_rows([clear("/m/ns", recursive=True)], {"log_time": 20})
    store.append_rows([box("/m/ns/2", 4.0)], {"log_time": 30})
    if sealed:
        store.flush()
    assert shown(store, "/m/ns/1", 15) == [1.0]
    assert shown(store, "/m/ns/1", 20) is None
    assert shown(store, "/m/ns/1", 99) is None
    assert shown(store, "/m/ns/2", 25) is None
    assert shown(store, "/m/ns/2", 30) == [4.0]
    assert shown(store, "/m/other/3", 99) == [3.0]  # another namespace is untouched


def test_rows_of_equal_time_keep_their_order_around_a_clear() -> None:
    """A DELETEALL followed by ADDs in one message: the ADDs show; an ADD before it does not."""
    store = ChunkStore()
    store.append_rows(
        [box("/m/ns/1", 1.0), clear("/m", recursive=True), box("/m/ns/2", 2.0)], {"log_time": 10}
    )
    assert shown(store, "/m/ns/1", 10) is None
    assert shown(store, "/m/ns/2", 10) == [2.0]


def test_a_non_recursive_clear_hides_only_its_own_entity() -> None:
    store = ChunkStore()
    store.append_rows([box("/m/ns", 1.0), box("/m/ns/1", 2.0)], {"log_time": 10})
    store.append_rows([clear("/m/ns", recursive=False)], {"log_time": 20})
    assert shown(store, "/m/ns", 20) is None
    assert shown(store, "/m/ns/1", 20) == [2.0]


def test_an_ancestor_whose_latest_clear_is_not_recursive_hides_nothing_below() -> None:
    store = ChunkStore()
    store.append_rows([box("/m/ns/1", 1.0)], {"log_time": 10})
    store.append_rows([clear("/m", recursive=False)], {"log_time": 20})
    assert shown(store, "/m/ns/1", 30) == [1.0]


def test_a_delayed_clear_ends_a_lifetime_and_static_data_stays() -> None:
    store = ChunkStore()
    store.append_rows([Row("/m/ns/1", "CoordinateFrame", {"frame": ["map"]}, static=True)], {})
    rows = [box("/m/ns/1", 1.0), Row("/m/ns/1", "Clear", {"is_recursive": np.array([False])}, delay_ns=5)]
    store.append_rows(rows, {"log_time": 10, "ros_time": 100})
    assert shown(store, "/m/ns/1", 14) == [1.0]
    assert shown(store, "/m/ns/1", 15) is None
    assert store.latest_at("/m/ns/1", "ros_time", 104).get(BOXES) is not None
    assert store.latest_at("/m/ns/1", "ros_time", 105).get(BOXES) is None
    assert store.latest_at("/m/ns/1", "log_time", 99)["CoordinateFrame:frame"].to_pylist() == ["map"]
