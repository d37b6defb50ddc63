"""Configs as untrusted input: every accepted key documented and used, every malformed file one ConfigError
naming the file and the key path, nothing started or written by a command given a bad config."""

from __future__ import annotations

import ast
import dataclasses
import functools
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from rerun_bridge.blueprint.loader import load_blueprint, parse_yaml
from rerun_bridge.config import BridgeConfig, Regex, TopicConfig, load_config
from rerun_bridge.config_custom_types import CustomTypesConfig
from rerun_bridge.errors import ConfigError
from rerun_bridge.model.yaml_limits import MAX_YAML_BYTES
from rviz_compat.rviz_import import import_rviz
from test.conftest import NEATO_BAG

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / "rerun-bridge"
CONFIG_MODULES = ("config.py", "config_custom_types.py")
#: A ROS domain whose DDS ports overflow: a participant created there logs an "RTPS Error", which is how
#: the tests below see whether a command reached DDS at all.
UNREACHABLE_DOMAIN = "250"


@dataclasses.dataclass(frozen=True)
class Key:
    path: str  # as written in YAML, a topic's keys under topics./scan
    attribute: str  # the dataclass field the parser fills
    default: object


def _keys(cls: type[Any], prefix: str) -> Iterator[Key]:
    """Every key the parser accepts, from the config dataclasses (their fields are the YAML keys)."""
    instance = cls(name="/scan") if cls is TopicConfig else cls()
    for f in dataclasses.fields(cls):
        if cls is TopicConfig and f.name == "name":
            continue  # the key of the topic's entry, not a key inside it
        default = getattr(instance, f.name)
        key = Key(prefix + ("type" if f.name == "type_name" else f.name), f.name, default)
        yield key
        if dataclasses.is_dataclass(default) and not isinstance(default, Regex):
            yield from _keys(type(default), key.path + ".")
    if cls is BridgeConfig:
        yield from _keys(TopicConfig, "topics./scan.")


ALL_KEYS = list(_keys(BridgeConfig, ""))
SECTIONS = [key for key in ALL_KEYS if dataclasses.is_dataclass(key.default)]


@functools.cache
def _attributes_used_outside_the_parser() -> frozenset[str]:
    """Attribute names read anywhere in the code but the config modules, plus those read by the config
    classes' own methods (``topic_selected``, ``frame_allowed``...) that code elsewhere calls."""
    outside: set[str] = set()
    config_trees = []
    for path in [*(ROOT / "rerun_bridge").rglob("*.py"), *(ROOT / "rviz_compat").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.parent.name == "rerun_bridge" and path.name in CONFIG_MODULES:
            config_trees.append(tree)
            continue
        outside |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    used = set(outside)
    for tree in config_trees:
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            for method in cls.body:
                if isinstance(method, ast.FunctionDef) and method.name in outside:
                    used |= {node.attr for node in ast.walk(method) if isinstance(node, ast.Attribute)}
    return frozenset(used)


def test_the_key_walk_finds_every_section() -> None:
    paths = {key.path for key in ALL_KEYS}
    assert {"sinks.rrd.rotate_size_mb", "topics./scan.qos.history", "custom_types.leaf_scalars"} <= paths
    assert len(ALL_KEYS) > 60


@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda key: key.path)
def test_every_accepted_key_is_documented(key: Key) -> None:
    reference = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert f"`{key.path.replace('/scan', '<topic>')}`" in reference


@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda key: key.path)
def test_every_accepted_key_is_read_outside_the_parser(key: Key) -> None:
    """A key parsed and never read would be accepted without effect."""
    assert key.attribute in _attributes_used_outside_the_parser()


def _nested(path: str, value: object) -> dict[str, Any]:
    if path.startswith("topics./scan."):
        return {"topics": {"/scan": _nested(path.removeprefix("topics./scan."), value)}}
    head, _, rest = path.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _wrong_value(default: object) -> object:
    """A value of the wrong shape for the key: a list where a section or mapping goes, else a mapping."""
    if dataclasses.is_dataclass(default) or isinstance(default, Mapping | CustomTypesConfig):
        return [1, 2]
    return {"not": "a value"}


def _load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda key: key.path)
def test_a_wrong_type_at_any_key_is_one_error_naming_file_and_key(tmp_path: Path, key: Key) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(_nested(key.path, _wrong_value(key.default))))
    message = _load_error(config)
    assert message.splitlines() == [message.splitlines()[0]]  # one problem, one line
    assert message.startswith(f"{config}: {key.path}")


@pytest.mark.parametrize("key", SECTIONS, ids=lambda key: key.path)
def test_an_unknown_key_under_any_section_names_its_path(tmp_path: Path, key: Key) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(_nested(f"{key.path}.no_such_key", 1)))
    assert f"{config}: {key.path}.no_such_key: unknown key" in _load_error(config)


def _alias_bomb(levels: int, indent: str) -> str:
    lines = [f"{indent}l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{indent}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!!python/object/apply:os.system ['touch pwned']\n", "could not determine a constructor"),
        ("queue_depth: !!python/name:os.system\n", "could not determine a constructor"),
        ("sinks: !!python/object:argparse.Namespace {}\n", "could not determine a constructor"),
        ("- a list\n", "expected a mapping, got a list"),
        ("42\n", "expected a mapping, got 42"),
        ("'text'\n", "expected a mapping, got 'text'"),
        ("topics:\n  /scan:\n    options:\n" + _alias_bomb(9, "      ") + "\n", "nodes through aliases"),
        ("topics: &a {/scan: {options: {again: *a}}}\n", "refers to the node that contains it"),
        ("queue_depth: " + "[" * 3000 + "]" * 3000 + "\n", "nests too deeply"),
        ("queue_depth: 5\n---\nqueue_depth: 6\n", "expected a single document"),
        ("\x00\x01binary", "YAML"),
    ],
    ids=[
        "python-object-apply",
        "python-name",
        "python-object",
        "list-root",
        "number-root",
        "string-root",
        "billion-laughs",
        "recursive-alias",
        "deep-nesting",
        "two-documents",
        "binary",
    ],
)
def test_hostile_yaml_is_one_config_error(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "hostile.yaml"
    config.write_text(text)
    message = _load_error(config)
    assert message.startswith(str(config))
    assert expected in message
    assert not (tmp_path / "pwned").exists()


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    config = tmp_path / "huge.yaml"
    with config.open("w") as out:
        out.write("queue_depth: 5\n")
        out.write("# padding\n" * (MAX_YAML_BYTES // 10 + 1))
    assert f"{config}: refused: the file is larger than" in _load_error(config)


def test_blueprint_and_rviz_yaml_are_bounded_the_same_way() -> None:
    """Blueprints and RViz configs share the blueprint loader's parse_yaml."""
    with pytest.raises(ConfigError, match="nodes through aliases"):
        parse_yaml("views:\n" + _alias_bomb(9, "  ") + "\n", "bomb.rviz")
    with pytest.raises(ConfigError, match="could not determine a constructor"):
        parse_yaml("!!python/object/apply:os.system ['true']\n", "evil.yaml")
    with pytest.raises(ConfigError, match="special characters"):
        parse_yaml("\x00binary", "binary.rviz")


def test_a_huge_blueprint_or_rviz_file_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "huge.rviz"
    huge.write_text("#\n" * (MAX_YAML_BYTES // 2 + 1))
    with pytest.raises(ConfigError, match="larger than"):
        load_blueprint(huge)
    with pytest.raises(ConfigError, match="larger than"):
        import_rviz(huge)


def _run_cli(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ROS_DOMAIN_ID": UNREACHABLE_DOMAIN}
    return subprocess.run(
        [str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


BAD_CONFIG = "sinks:\n  rrd:\n    rotate_size_mb: big\n"


def test_run_with_a_bad_config_exits_2_before_dds_or_any_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(BAD_CONFIG)
    output = tmp_path / "out.rrd"
    result = _run_cli(tmp_path, "run", "--config", config, "--rrd", output, "--mcap", "out.mcap")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {config}: sinks.rrd.rotate_size_mb: expected a number >= 0, got 'big'"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.yaml"]


def test_the_dds_probe_sees_a_participant_when_the_config_is_good(tmp_path: Path) -> None:
    """The check above means something: with a good config the bridge does reach DDS in that domain."""
    config = tmp_path / "good.yaml"
    config.write_text("queue_depth: 5\n")
    result = _run_cli(tmp_path, "run", "--config", config, "--duration", "0.1")
    assert "RTPS" in result.stdout + result.stderr


def test_convert_with_a_bad_config_exits_2_before_any_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(BAD_CONFIG)
    result = _run_cli(tmp_path, "convert", NEATO_BAG, "-o", tmp_path / "out.rrd", "--config", config)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {config}: sinks.rrd.rotate_size_mb: expected a number >= 0, got 'big'"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.yaml"]
