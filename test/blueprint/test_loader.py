"""Blueprint YAML: every error with file and key path, collected; dump and load round trip."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from hypothesis import given, settings

from rerun_bridge.blueprint.loader import (
    blueprint_to_data,
    dump_blueprint,
    load_blueprint,
    parse_blueprint,
    parse_yaml,
)
from rerun_bridge.blueprint.model import (
    DEFAULT_CONTENTS,
    Blueprint,
    Color,
    Colormap,
    Container,
    ContainerKind,
    ContentRule,
    EntityStyle,
    EyeKind,
    LogLevel,
    Spatial2DSettings,
    Spatial3DSettings,
    TextLogSettings,
    TimeSeriesSettings,
    View,
    ViewKind,
)
from rerun_bridge.errors import ConfigError
from test.blueprint.strategies import blueprints

PROPERTY = settings(max_examples=150, deadline=None)

MINIMAL = """
name: mini
root:
  view: spatial3d
"""

FULL = """
name: full
description: |
  two
  lines
timeline: ros_time
auto_views: true
root:
  container: vertical
  shares: [2, 1]
  children:
  - container: horizontal
    name: top
    children:
    - view: spatial3d
      name: Scene
      contents: ["+ /points/**", "- /points/ground"]
      settings:
        {fixed_frame: base_link, grid: false, point_radius: -2, background: [10, 20, 30], eye: orbital}
      styles:
        /points: {color: "#ff000080", radius: 0.02, archetype: Points3D}
        /tf: {visible: false}
    - view: spatial2d
      origin: /camera/depth/image_raw
      settings: {depth_range: [0.2, 8], colormap: Turbo}
  - container: grid
    grid_columns: 2
    column_shares: [1, 3]
    children:
    - view: time_series
      origin: /imu
      settings: {visible_range_s: 30, legend: false}
    - view: text_log
      visible: false
      contents: /rosout
      settings: {levels: [warn, ERROR]}
"""


def _parse(text: str, source: str = "bp.yaml") -> Blueprint:
    return parse_blueprint(parse_yaml(text, source), source)


def _errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _parse(text)
    return str(info.value).splitlines()


def test_minimal_blueprint_gets_every_default() -> None:
    blueprint = _parse(MINIMAL)
    assert blueprint == Blueprint("mini", View(ViewKind.SPATIAL3D))
    view = blueprint.root
    assert isinstance(view, View)
    assert view.origin == "/"
    assert view.contents == DEFAULT_CONTENTS
    assert view.settings == Spatial3DSettings()
    assert not blueprint.auto_views
    assert blueprint.timeline == ""


def test_full_blueprint_reads_every_key() -> None:
    blueprint = _parse(FULL)
    assert blueprint.description == "two\nlines\n"
    assert blueprint.timeline == "ros_time"
    assert blueprint.auto_views
    root = blueprint.root
    assert isinstance(root, Container)
    assert root.kind is ContainerKind.VERTICAL
    assert root.shares == (2.0, 1.0)
    top, grid = root.children
    assert isinstance(top, Container)
    assert isinstance(grid, Container)
    assert top.name == "top"
    scene, depth = top.children
    assert scene == View(
        ViewKind.SPATIAL3D,
        name="Scene",
        contents=(ContentRule("/points", recursive=True), ContentRule("/points/ground", include=False)),
        settings=Spatial3DSettings(
            fixed_frame="base_link",
            grid=False,
            point_radius=-2.0,
            background=Color(10, 20, 30),
            eye=EyeKind.ORBITAL,
        ),
        styles=MappingProxyType(
            {
                "/points": EntityStyle(color=Color(255, 0, 0, 128), radius=0.02, archetype="Points3D"),
                "/tf": EntityStyle(visible=False),
            }
        ),
    )
    assert depth == View(
        ViewKind.SPATIAL2D,
        origin="/camera/depth/image_raw",
        settings=Spatial2DSettings(depth_range=(0.2, 8.0), colormap=Colormap.TURBO),
    )
    assert grid.kind is ContainerKind.GRID
    assert grid.grid_columns == 2
    assert grid.column_shares == (1.0, 3.0)
    plot, log = grid.children
    assert plot == View(
        ViewKind.TIME_SERIES, origin="/imu", settings=TimeSeriesSettings(visible_range_s=30.0, legend=False)
    )
    assert log == View(
        ViewKind.TEXT_LOG,
        contents=(ContentRule("/rosout"),),
        settings=TextLogSettings(levels=(LogLevel.WARN, LogLevel.ERROR)),
        visible=False,
    )


def test_every_error_is_reported_with_file_and_key_path() -> None:
    text = """
name: broken
timelin: ros_time
root:
  container: horizontal
  children:
  - view: spatial3d
    origin: /a//b
    contents: ["+ /ok/**", "scan", 3]
    settings: {fixd_frame: map, grid: yes please, point_radius: 0, eye: sideways}
  - view: image
  - container: tabs
    shares: [1]
    children:
    - view: time_series
      settings: {legend: true, levels: [INFO]}
    - view: text_log
      settings: {levels: [LOUD]}
    - view: spatial2d
      settings: {depth_range: [5, 1], colormap: rainbow, background: "#12"}
      styles:
        /x: {color: [255, 0, 0]}
        /y: {radius: 0.1, archetype: Pointz3D, colr: "#ffffff"}
  - 42
  - {view: spatial3d, container: vertical}
"""
    errors = _errors(text)
    expected = [
        "bp.yaml: timelin: unknown key (did you mean 'timeline'?)",
        "bp.yaml: root.children[0].origin: bad entity path",
        "bp.yaml: root.children[0].contents[1]: bad content rule 'scan'",
        "bp.yaml: root.children[0].contents[2]: expected a query line",
        "bp.yaml: root.children[0].settings.fixd_frame: unknown key (did you mean 'fixed_frame'?)",
        "bp.yaml: root.children[0].settings.grid: expected true or false, got 'yes please'",
        "bp.yaml: root.children[0].settings.point_radius: expected a radius",
        "bp.yaml: root.children[0].settings.eye: expected one of 'orbital', 'first_person', 'top_down'",
        "bp.yaml: root.children[1].view: expected one of 'spatial3d', 'spatial2d'",
        "bp.yaml: root.children[2].shares: only horizontal and vertical containers have shares",
        "bp.yaml: root.children[2].shares: 1 shares for 3 children",
        "bp.yaml: root.children[2].children[0].settings.levels: unknown key",
        "bp.yaml: root.children[2].children[1].settings.levels: expected one of 'CRITICAL'",
        "bp.yaml: root.children[2].children[2].settings.depth_range: expected [near, far] with near < far",
        "bp.yaml: root.children[2].children[2].settings.colormap: expected one of 'grayscale'",
        "bp.yaml: root.children[2].children[2].settings.background: expected a colour '#rrggbb'",
        "bp.yaml: root.children[2].children[2].styles./x: color and radius need 'archetype'",
        "bp.yaml: root.children[2].children[2].styles./y.colr: unknown key (did you mean 'color'?)",
        "bp.yaml: root.children[2].children[2].styles./y.archetype: unknown archetype 'Pointz3D' "
        "(did you mean 'Points3D'?)",
        "bp.yaml: root.children[3]: expected a container or a view (a mapping), got 42",
        "bp.yaml: root.children[4]: expected exactly one of the keys 'container' (a layout) or 'view'",
    ]
    for line in expected:
        assert any(error.startswith(line) for error in errors), f"missing: {line}\nin:\n" + "\n".join(errors)
    assert len(errors) == len(expected)
    order = [next(i for i, error in enumerate(errors) if error.startswith(line)) for line in expected]
    assert order == sorted(order), "errors come in file order"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("root: {view: map}", "bp.yaml: name: required"),
        ("name: x", "bp.yaml: root: required"),
        ("- a list", "bp.yaml: expected a mapping, got a list"),
        ("name: x\nroot: {container: grid, shares: [1]}", "root.shares: only horizontal and vertical"),
        ("name: x\nroot: {container: vertical, grid_columns: 2}", "root.grid_columns: only a grid has"),
        (
            "name: x\nroot: {container: grid, grid_columns: 2, column_shares: [1]}",
            "root.column_shares: 1 shares for 2 columns",
        ),
        ("name: x\nroot: {container: grid, children: {view: map}}", "root.children: expected a list"),
        ("name: x\nroot: {view: spatial3d, settings: {fixed_frame: /map}}", "no leading '/'"),
        ("name: x\nroot: {view: map, settings: {zoom: 30}}", "zoom level from 0 to 22"),
        ("name: x\nroot: {view: map, styles: {'/a//b': {}}}", "root.styles./a//b: bad entity path"),
        ("name: x\nroot: {view: map, styles: {/a: {}, 'a': {}}}", "root.styles.a: the same entity"),
        ("name: 3\nroot: {view: map}", "name: expected a string, got 3"),
        ("name: x\nauto_views: 1\nroot: {view: map}", "auto_views: expected true or false, got 1"),
        ("name: x\nroot: {view: map, visible: no}", None),
        (
            "name: x\nroot: {view: spatial3d, settings: {eye_position: [1, 2]}}",
            "eye_position: expected [x, y, z]",
        ),
        (
            "name: x\nroot: {view: spatial3d, settings: {look_target: [1, 2, .nan]}}",
            "look_target: expected [x,",
        ),
        ("name: x\nroot: {view: spatial3d, settings: {eye_up: [0, 0, 0]}}", "eye_up: expected a direction"),
        (
            "name: x\nroot: {view: spatial3d, settings: {eye_position: [1, 2, 3], look_target: [1, 2, 3]}}",
            "root.settings.eye_position: the same point as look_target",
        ),
        (
            "name: x\nroot: {view: spatial3d, settings: {eye_position: [0, 0, 0]}}",
            "the same point as look_target",
        ),
        (
            "name: x\nroot: {view: spatial3d, settings: {eye_pos: [1, 2, 3]}}",
            "(did you mean 'eye_position'?)",
        ),
        (
            "name: x\nroot: {view: spatial3d, settings: {eye: top_down, eye_position: [6, 0, 4]}}",
            "root.settings.eye_position: a top_down eye looks straight down: put it straight above",
        ),
    ],
)
def test_single_errors(text: str, error: str | None) -> None:
    if error is None:
        assert not _parse(text).root.visible
        return
    errors = _errors(text)
    assert any(error in line for line in errors), errors


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: x\nroot: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml:3:1: YAML syntax error"):
        load_blueprint(bad_yaml)
    duplicate = tmp_path / "dup.yaml"
    duplicate.write_text("name: x\nname: y\nroot: {view: map}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"dup\.yaml:2:1: .*duplicate key 'name'"):
        load_blueprint(duplicate)
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the blueprint"):
        load_blueprint(tmp_path / "missing.yaml")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("name: x\nroot: {view: spatial4d}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"wrong\.yaml: root\.view: expected one of"):
        load_blueprint(wrong)


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "my_layout.yaml"
    path.write_text("root: {view: text_log}\n", encoding="utf-8")
    assert load_blueprint(path).name == "my_layout"


def test_dump_round_trip_of_the_full_example(tmp_path: Path) -> None:
    blueprint = _parse(FULL)
    path = tmp_path / "full.yaml"
    text = dump_blueprint(blueprint, path, header="first line\nsecond line")
    assert text.startswith("# first line\n# second line\n")
    assert path.read_text(encoding="utf-8") == text
    assert load_blueprint(path) == blueprint
    data = blueprint_to_data(blueprint)
    assert list(data) == ["name", "description", "timeline", "auto_views", "root"]
    assert "shares: [2.0, 1.0]" in text


def test_defaults_are_left_out_of_the_dump() -> None:
    data: dict[str, Any] = blueprint_to_data(Blueprint("plain", View(ViewKind.SPATIAL3D)))
    assert data == {"name": "plain", "root": {"view": "spatial3d", "origin": "/"}}
    assert yaml.safe_load(dump_blueprint(Blueprint("plain", View(ViewKind.SPATIAL3D)))) == data


@PROPERTY
@given(blueprints)
def test_random_blueprints_round_trip(blueprint: Blueprint) -> None:
    text = dump_blueprint(blueprint)
    assert parse_blueprint(parse_yaml(text, "random.yaml"), "random.yaml") == blueprint
