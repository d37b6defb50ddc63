from __future__ import annotations

import pytest
import rerun as rr
from hypothesis import given
from hypothesis import strategies as st

from rerun_bridge.errors import EntityPathError
from rerun_bridge.model.entity_path import EntityPath, escape_part, normalize


def test_parse_plain_path() -> None:
    path = EntityPath.parse("/camera/image_raw")
    assert path.parts == ("camera", "image_raw")
    assert str(path) == "/camera/image_raw"


def test_leading_slash_is_optional() -> None:
    assert EntityPath.parse("a/b") == EntityPath.parse("/a/b")


@pytest.mark.parametrize("bad", ["/a//b", "/a/b/", "//", "/a/\\"])
def test_malformed_paths_raise(bad: str) -> None:
    with pytest.raises(EntityPathError):
        EntityPath.parse(bad)


def test_escapes_match_rerun() -> None:
    for part in ["base link", "a/b", "frame:1", "ümlaut"]:
        ours = escape_part(part)
        assert EntityPath.parse("/" + ours).parts == (part,)
        assert EntityPath.parse("/" + rr.escape_entity_path_part(part)).parts == (part,)


def test_topic_mapping_and_join() -> None:
    path = EntityPath.from_topic("/robot1/scan")
    assert str(path.join("points")) == "/robot1/scan/points"
    assert path.join("points").is_descendant_of(path)
    assert path.parent() == EntityPath.parse("/robot1")


def test_reserved_and_root() -> None:
    assert EntityPath.parse("/__properties").is_reserved
    assert EntityPath.parse("/").is_root
    assert normalize("a/b") == "/a/b"


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4))
def test_round_trip(parts: list[str]) -> None:
    path = EntityPath(parts)
    assert EntityPath.parse(str(path)) == path
