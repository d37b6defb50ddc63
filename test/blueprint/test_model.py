"""The blueprint model: content rules in Rerun's syntax and semantics, colours, settings per view kind."""

from __future__ import annotations

import dataclasses

import pytest

from rerun_bridge.blueprint.model import (
    DEFAULT_CONTENTS,
    SETTINGS_TYPES,
    Blueprint,
    Color,
    Container,
    ContainerKind,
    ContentRule,
    Spatial2DSettings,
    Spatial3DSettings,
    TimeSeriesSettings,
    View,
    ViewKind,
)
from rerun_bridge.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "rule", "written"),
    [
        ("+ /scan/**", ContentRule("/scan", include=True, recursive=True), "+ /scan/**"),
        ("/scan", ContentRule("/scan"), "+ /scan"),
        (
            "- /tf_static/base_link",
            ContentRule("/tf_static/base_link", include=False),
            "- /tf_static/base_link",
        ),
        ("  -   /a/b/**  ", ContentRule("/a/b", include=False, recursive=True), "- /a/b/**"),
        ("+ /**", ContentRule("/", recursive=True), "+ /**"),
        ("$origin/**", ContentRule("$origin", recursive=True), "+ $origin/**"),
        ("- $origin/left", ContentRule("$origin/left", include=False), "- $origin/left"),
        ("+ /cam\\ 1", ContentRule("/cam\\u{20}1"), "+ /cam\\u{20}1"),
    ],
)
def test_content_rule_parses_rerun_syntax(text: str, rule: ContentRule, written: str) -> None:
    assert ContentRule.parse(text) == rule
    assert str(rule) == written
    assert ContentRule.parse(written) == rule


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("scan", "expected"),
        ("+ /a//b", "empty part"),
        ("+ /a/*/b", "'*'"),
        ("+ $originx", "followed by"),
        ("", "expected"),
    ],
)
def test_bad_content_rules_say_why(text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        ContentRule.parse(text)


def test_view_contents_follow_rerun_precedence() -> None:
    """The example of Rerun's "Entity Queries" reference: most specific wins, then the last one."""
    rules = ("+ /world/**", "- /world", "- /world/car/**", "+ /world/car/driver")
    view = View(ViewKind.SPATIAL3D, contents=tuple(ContentRule.parse(rule) for rule in rules))
    assert view.includes("/world/car/driver")
    assert not view.includes("/world/car/hood")
    assert not view.includes("/world")
    assert view.includes("/world/house")
    assert not view.includes("/elsewhere")


def test_same_specificity_last_rule_wins() -> None:
    view = View(ViewKind.SPATIAL3D, contents=(ContentRule("/a"), ContentRule("/a", include=False)))
    assert not view.includes("/a")
    view = View(ViewKind.SPATIAL3D, contents=(ContentRule("/a", include=False), ContentRule("/a")))
    assert view.includes("/a")


def test_origin_placeholder_resolves_against_the_view_origin() -> None:
    view = View(ViewKind.SPATIAL2D, origin="/camera/image_raw")
    assert view.contents == DEFAULT_CONTENTS
    assert view.resolved_contents == (ContentRule("/camera/image_raw", recursive=True),)
    assert view.includes("/camera/image_raw")
    assert view.includes("/camera/image_raw/compressed")
    assert not view.includes("/camera/camera_info")
    child = View(ViewKind.SPATIAL2D, origin="/cam", contents=(ContentRule("$origin/left"),))
    assert child.includes("/cam/left")
    root = View(ViewKind.SPATIAL3D, origin="/", contents=(ContentRule("$origin/left"),))
    assert root.includes("/left")


def test_settings_default_per_kind_and_must_match_it() -> None:
    for kind, cls in SETTINGS_TYPES.items():
        assert View(kind).settings == cls()
    assert set(SETTINGS_TYPES) == set(ViewKind)
    with pytest.raises(ConfigError, match="Spatial2DSettings given to a spatial3d view"):
        View(ViewKind.SPATIAL3D, settings=Spatial2DSettings())
    view = View(ViewKind.TIME_SERIES, settings=TimeSeriesSettings(visible_range_s=5.0))
    assert view == View(ViewKind.TIME_SERIES, settings=TimeSeriesSettings(visible_range_s=5.0))


def test_color_hex_round_trip() -> None:
    assert Color.from_hex("#ff0080") == Color(255, 0, 128, 255)
    assert Color.from_hex("#FF008040") == Color(255, 0, 128, 64)
    assert Color(255, 0, 128).to_hex() == "#ff0080"
    assert Color(1, 2, 3, 4).to_hex() == "#01020304"
    for bad in ("ff0080", "#ff00", "#gg0080", "#ff008040ff"):
        with pytest.raises(ValueError, match="colour"):
            Color.from_hex(bad)


def test_blueprint_lists_views_in_layout_order_and_is_frozen() -> None:
    first, second, third = (View(ViewKind.TEXT_LOG, name=name) for name in "abc")
    root = Container(ContainerKind.VERTICAL, (first, Container(ContainerKind.TABS, (second, third))))
    blueprint = Blueprint("test", root)
    assert [view.name for view in blueprint.views()] == ["a", "b", "c"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        blueprint.name = "other"  # type: ignore[misc]
    single = Blueprint("one", View(ViewKind.SPATIAL3D, settings=Spatial3DSettings(fixed_frame="map")))
    assert [view.kind for view in single.views()] == [ViewKind.SPATIAL3D]
