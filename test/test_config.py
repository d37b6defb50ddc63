"""The configuration: defaults, the shipped example, every validation error, selection and layering."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rerun_bridge.config import (
    BridgeConfig,
    Compression,
    DiagnosticsConfig,
    Durability,
    History,
    McapSinkConfig,
    QosConfig,
    Regex,
    Reliability,
    RrdSinkConfig,
    SinksConfig,
    StreamConfig,
    TfConfig,
    TopicConfig,
    ViewerConfig,
    apply_overrides,
    load_config,
    parse_bind,
    parse_config,
    topic_name_problem,
)
from rerun_bridge.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "bridge.yaml"
PROPERTY = settings(max_examples=60, deadline=None)


def errors_of(data: Any, source: str = "<config>") -> list[str]:
    """The lines of the ConfigError that ``data`` raises."""
    with pytest.raises(ConfigError) as info:
        parse_config(data, source)
    return str(info.value).splitlines()


def the_error(data: Any) -> str:
    lines = errors_of(data)
    assert len(lines) == 1, lines
    return lines[0]


def write(tmp_path: Path, text: str, name: str = "bridge.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults and the shipped example ---------------------------------------------------------------------


def test_defaults() -> None:
    cfg = BridgeConfig.default()
    assert cfg == parse_config({}) == BridgeConfig()
    assert cfg.use_sim_time is False
    assert cfg.discovery_period_s == 1.0
    assert (cfg.queue_depth, cfg.queue_megabytes) == (1000, 64.0)
    assert cfg.allow == ()
    assert [rx.text for rx in cfg.deny] == ["^/parameter_events$", "^/rosout_agg$"]
    assert cfg.raw_unknown_types is False
    assert dict(cfg.topics) == {}
    assert cfg.entity_prefix == ""
    assert dict(cfg.type_entity_paths) == {}
    assert cfg.tf == TfConfig(enabled=True, fixed_frame="", cache_time_s=10.0)
    assert cfg.sinks.rrd == RrdSinkConfig(path="", rotate_size_mb=0, rotate_seconds=0, flush_seconds=1.0)
    assert cfg.sinks.mcap.compression is Compression.NONE
    assert not cfg.sinks.rrd.enabled
    assert not cfg.sinks.mcap.enabled
    assert cfg.sinks.viewer == ViewerConfig(enabled=False, blueprint="")
    assert cfg.sinks.stream == StreamConfig(enabled=False, bind="127.0.0.1:9877")
    assert (cfg.sinks.stream.host, cfg.sinks.stream.port) == ("127.0.0.1", 9877)
    assert cfg.diagnostics == DiagnosticsConfig(enabled=True, period_s=1.0)


def test_empty_file_and_empty_sections_give_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "# nothing\n")) == BridgeConfig()
    sections = "tf:\nsinks:\n  rrd:\n  stream:\ndiagnostics:\ntopics:\ntype_entity_paths:\n"
    assert load_config(write(tmp_path, sections)) == BridgeConfig()


def test_numbers_with_an_exponent_and_no_dot_are_numbers(tmp_path: Path) -> None:
    # YAML 1.1 (PyYAML) reads 1e3 as a string; YAML 1.2 and ROS parameter files as a number.
    config = load_config(write(tmp_path, "queue_megabytes: 1e3\ndiscovery_period_s: 5E-1\n"))
    assert (config.queue_megabytes, config.discovery_period_s) == (1000.0, 0.5)
    with pytest.raises(ConfigError, match="queue_megabytes"):
        load_config(write(tmp_path, "queue_megabytes: 1e3x\n"))


def test_shipped_example_loads_to_the_documented_config() -> None:
    expected = BridgeConfig(
        topics={
            "/camera/image_raw": TopicConfig(
                name="/camera/image_raw",
                entity_path="/camera/image",
                type_name="sensor_msgs/msg/Image",
                qos=QosConfig(Reliability.BEST_EFFORT, Durability.VOLATILE, History.KEEP_LAST, 5),
                rate_limit_hz=0.0,
                priority=0,
                queue_depth=10,
                protected=False,
                options={},
            )
        },
        tf=TfConfig(enabled=True, fixed_frame="", allow_frames=(), deny_frames=(), cache_time_s=10.0),
        sinks=SinksConfig(
            rrd=RrdSinkConfig(path="", rotate_size_mb=0.0, rotate_seconds=0.0, flush_seconds=1.0),
            mcap=McapSinkConfig(path="", compression=Compression.NONE),
            viewer=ViewerConfig(enabled=False, blueprint=""),
            stream=StreamConfig(enabled=False, bind="127.0.0.1:9877", token="", tls_cert="", tls_key=""),
        ),
        diagnostics=DiagnosticsConfig(enabled=True, period_s=1.0),
    )
    assert load_config(EXAMPLE) == expected


def test_example_and_reference_document_every_key() -> None:
    """Every key the parser knows appears in config/bridge.yaml and in docs/config.md."""
    example = EXAMPLE.read_text(encoding="utf-8")
    reference = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    for key in _all_key_paths(load_config(EXAMPLE).to_dict()):
        leaf = key.rsplit(".", 1)[-1]
        assert re.search(rf"^\s*{re.escape(leaf)}:", example, re.MULTILINE), key
        assert f"`{key.replace('/camera/image_raw', '<topic>')}`" in reference, key


def _all_key_paths(data: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        out.append(path)
        if isinstance(value, dict) and key not in ("options", "type_entity_paths"):
            out.extend(_all_key_paths(value, path))
    return out


def test_config_is_frozen() -> None:
    cfg = parse_config({"topics": {"/a": {"options": {"colormap": "turbo"}}}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.queue_depth = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.topics["/b"] = TopicConfig(name="/b")  # type: ignore[index]
    with pytest.raises(TypeError):
        cfg.topics["/a"].options["colormap"] = "gray"  # type: ignore[index]


def test_values_are_converted() -> None:
    cfg = parse_config(
        {
            "allow": ["^/camera/", "scan$"],
            "entity_prefix": "robot1",
            "type_entity_paths": {"sensor_msgs/Imu": "/imu{topic}"},
            "topics": {"/a": {"qos": {"reliability": "RELIABLE"}, "options": {"colormap": "turbo"}}},
            "sinks": {"mcap": {"compression": "lz4", "rotate_size_mb": 64}, "viewer": {"blueprint": "x.rbl"}},
        }
    )
    assert cfg.allow == (Regex.compile("^/camera/"), Regex.compile("scan$"))
    assert cfg.allow[0].pattern.search("/camera/x")
    assert cfg.entity_prefix == "/robot1"
    assert dict(cfg.type_entity_paths) == {"sensor_msgs/msg/Imu": "/imu{topic}"}
    assert cfg.topics["/a"].qos.reliability is Reliability.RELIABLE
    assert dict(cfg.topics["/a"].options) == {"colormap": "turbo"}
    assert cfg.sinks.mcap.compression is Compression.LZ4
    assert cfg.sinks.mcap.rotate_size_mb == 64.0
    assert not cfg.sinks.viewer.builtin_blueprint
    assert parse_config({"sinks": {"viewer": {"blueprint": "navigation"}}}).sinks.viewer.builtin_blueprint


# --- validation errors ------------------------------------------------------------------------------------


def test_unknown_key_names_file_and_path_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, "topics:\n  /camera/image_raw:\n    qos:\n      reliabilty: reliable\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: topics./camera/image_raw.qos.reliabilty: unknown key (did you mean 'reliability'?)"
    )


def test_unknown_key_without_a_close_match_lists_the_known_ones() -> None:
    assert the_error({"diagnostics": {"zzz": 1}}) == (
        "<config>: diagnostics.zzz: unknown key (known: enabled, period_s)"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"sinks": {"rrd": {"rotate_size_mb": "big"}}},
            "sinks.rrd.rotate_size_mb: expected a number >= 0, got 'big'",
        ),
        (
            {"sinks": {"rrd": {"rotate_seconds": -1}}},
            "sinks.rrd.rotate_seconds: expected a number >= 0, got -1",
        ),
        ({"sinks": {"rrd": {"flush_seconds": 0}}}, "sinks.rrd.flush_seconds: expected a number > 0, got 0"),
        ({"discovery_period_s": True}, "discovery_period_s: expected a number > 0, got true"),
        ({"discovery_period_s": float("nan")}, "discovery_period_s: expected a number > 0, got nan"),
        ({"tf": {"cache_time_s": None}}, "tf.cache_time_s: expected a number > 0, got null"),
        ({"diagnostics": {"period_s": 0.0}}, "diagnostics.period_s: expected a number > 0, got 0.0"),
        ({"queue_depth": 0}, "queue_depth: expected an integer >= 1, got 0"),
        ({"queue_depth": 2.5}, "queue_depth: expected an integer >= 1, got 2.5"),
        ({"topics": {"/a": {"priority": "high"}}}, "topics./a.priority: expected an integer, got 'high'"),
        ({"topics": {"/a": {"qos": {"depth": 0}}}}, "topics./a.qos.depth: expected an integer >= 1, got 0"),
        (
            {"topics": {"/a": {"rate_limit_hz": -5}}},
            "topics./a.rate_limit_hz: expected a number >= 0, got -5",
        ),
        ({"use_sim_time": "yes"}, "use_sim_time: expected true or false, got 'yes'"),
        ({"tf": {"enabled": 1}}, "tf.enabled: expected true or false, got 1"),
        ({"sinks": {"rrd": {"path": 2024}}}, "sinks.rrd.path: expected a string, got 2024"),
        ({"sinks": {"stream": {"token": ["a"]}}}, "sinks.stream.token: expected a string, got a list"),
        ({"tf": []}, "tf: expected a mapping, got a list"),
        ({"topics": {"/a": "fast"}}, "topics./a: expected a mapping, got 'fast'"),
        ({"topics": {"/a": {"options": [1]}}}, "topics./a.options: expected a mapping, got a list"),
        # A converter option no converter reads is a typo, named with the closest one.
        (
            {"topics": {"/scan": {"options": {"colourmap": "turbo"}}}},
            "topics./scan.options.colourmap: unknown key (did you mean 'colormap'?)",
        ),
        ({"allow": "^/camera"}, "allow: expected a list of regular expressions, got '^/camera'"),
        ({"deny": [3]}, "deny[0]: expected a regular expression string, got 3"),
        ({"sinks": {1: {}}}, "sinks.1: keys must be strings, got 1"),
        (
            {"topics": {"/a": {"type": "Image"}}},
            "topics./a.type: expected a ROS type name like 'sensor_msgs/msg/Image', got 'Image'",
        ),
        (
            {"tf": {"fixed_frame": "/map"}},
            "tf.fixed_frame: frame ids have no leading '/' (tf2 rejects them), got '/map'",
        ),
    ],
)
def test_wrong_values_name_the_key_path(data: dict[str, Any], expected: str) -> None:
    assert the_error(data) == f"<config>: {expected}"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"topics": {"/a": {"qos": {"reliability": "reliabel"}}}},
            "topics./a.qos.reliability: expected one of 'reliable', 'best_effort', got 'reliabel'",
        ),
        (
            {"topics": {"/a": {"qos": {"durability": "transient"}}}},
            "topics./a.qos.durability: expected one of 'volatile', 'transient_local', got 'transient'",
        ),
        (
            {"topics": {"/a": {"qos": {"history": 5}}}},
            "topics./a.qos.history: expected one of 'keep_last', 'keep_all', got 5",
        ),
        (
            {"sinks": {"mcap": {"compression": "gzip"}}},
            "sinks.mcap.compression: expected one of 'zstd', 'lz4', 'none', got 'gzip'",
        ),
    ],
)
def test_bad_enum_values_list_the_allowed_ones(data: dict[str, Any], expected: str) -> None:
    assert the_error(data) == f"<config>: {expected}"


def test_converter_option_values_are_checked_when_the_config_loads() -> None:
    """A bad option value was met by the converter with the topic's first message, which it lost (a map
    published once, gone for the run), and only the first bad option of it was named (audit)."""
    data = {
        "topics": {
            "/map": {"options": {"palette": "nonsense", "alpha": "half", "tile_rows": 1}},
            "/markers": {"options": {"arrow_scale": "big"}},
            "/imu/data": {"options": {"covariance_sigma": -3, "colormap": "jet", "mesh_roots": "meshes"}},
            "/odom": {"options": {"trail_length": 0, "binary_threshold": None, "image": True}},
        }
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert str(caught.value).splitlines() == [
        "<config>: topics./map.options.palette: expected one of 'map', 'costmap', 'raw', got 'nonsense'",
        "<config>: topics./map.options.alpha: expected a number from 0 to 1, got 'half'",
        "<config>: topics./map.options.tile_rows: expected an integer >= 2, got 1",
        "<config>: topics./markers.options.arrow_scale: expected a number > 0, got 'big'",
        "<config>: topics./imu/data.options.colormap: expected one of 'turbo', 'gray', got 'jet'",
        "<config>: topics./imu/data.options.covariance_sigma: expected a number > 0, got -3",
        "<config>: topics./imu/data.options.mesh_roots: expected a list of directories, got 'meshes'",
    ]
    fine = {"/map": {"options": {"palette": "Costmap", "alpha": 0.5, "binary_threshold": 65}}}
    assert parse_config({"topics": fine}).topics["/map"].options["palette"] == "Costmap"


def test_bad_regex_names_the_index() -> None:
    line = the_error({"allow": ["^/a", "^/b", "(unclosed"]})
    assert line.startswith("<config>: allow[2]: bad regular expression '(unclosed': missing )")
    line = the_error({"tf": {"deny_frames": ["[x"]}})
    assert line.startswith("<config>: tf.deny_frames[0]: bad regular expression '[x': ")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"topics": {"/a": {"entity_path": "/a//b"}}}, "topics./a.entity_path"),
        ({"topics": {"/a": {"entity_path": "/a/b/"}}}, "topics./a.entity_path"),
        ({"topics": {"/a": {"entity_path": "/__properties"}}}, "topics./a.entity_path"),
        ({"entity_prefix": "/robot1/"}, "entity_prefix"),
        (
            {"type_entity_paths": {"sensor_msgs/msg/Imu": "/imu/{topic}"}},
            "type_entity_paths.sensor_msgs/msg/Imu",
        ),
        (
            {"type_entity_paths": {"sensor_msgs/msg/Imu": "/imu{name}"}},
            "type_entity_paths.sensor_msgs/msg/Imu",
        ),
    ],
)
def test_bad_entity_paths(data: dict[str, Any], key: str) -> None:
    assert the_error(data).startswith(f"<config>: {key}: ")


def test_entity_path_messages() -> None:
    assert "reserved by Rerun" in the_error({"entity_prefix": "/__x"})
    assert "bad entity path" in the_error({"entity_prefix": "/a//b"})
    assert "the only placeholder is {topic}" in the_error({"type_entity_paths": {"a/B": "/x{type}"}})


def test_type_entity_path_keys() -> None:
    assert the_error({"type_entity_paths": {"Imu": "/imu"}}) == (
        "<config>: type_entity_paths.Imu: expected a ROS type name like 'sensor_msgs/msg/Image', got 'Imu'"
    )
    assert the_error({"type_entity_paths": {"sensor_msgs/Imu": "/a", "sensor_msgs/msg/Imu": "/b"}}) == (
        "<config>: type_entity_paths.sensor_msgs/msg/Imu: same type as type_entity_paths.sensor_msgs/Imu"
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("camera", "must start with '/'"),
        ("~/camera", "must start with '/'"),
        ("/camera//image", "contains '//'"),
        ("/camera/", "ends with '/'"),
        ("/camera image", "contains ' '"),
        ("/camera-1", "contains '-'"),
        ("/robot/2d_scan", "part '2d_scan' starts with a digit"),
        ("/", "is the root namespace, not a topic"),
        ("", "must start with '/'"),
    ],
)
def test_invalid_topic_names(name: str, problem: str) -> None:
    line = the_error({"topics": {name: {}}})
    assert line.startswith(f"<config>: topics.{name}: not a valid ROS topic name: {problem}")


@pytest.mark.parametrize("name", ["/a", "/camera/image_raw", "/_hidden/x", "/robot1/scan", "/A/b_2"])
def test_valid_topic_names(name: str) -> None:
    assert topic_name_problem(name) is None
    assert name in parse_config({"topics": {name: None}}).topics


def test_stream_security() -> None:
    public = {"enabled": True, "bind": "0.0.0.0:9877"}
    assert the_error({"sinks": {"stream": public}}) == (
        "<config>: sinks.stream.token: required: the stream binds to non-loopback host '0.0.0.0' "
        "(rerun-bridge run --token, launch argument token)"
    )
    assert parse_config({"sinks": {"stream": {**public, "token": "s3cret"}}}).sinks.stream.token == "s3cret"
    for host in ("127.0.0.1:1", "127.8.0.1:1", "localhost:1", "[::1]:1"):
        assert parse_config({"sinks": {"stream": {"enabled": True, "bind": host}}}).sinks.stream.enabled
    # A disabled stream is not served, so its bind needs no token.
    assert parse_config({"sinks": {"stream": {"bind": "0.0.0.0:9877"}}}).sinks.stream.host == "0.0.0.0"
    assert the_error({"sinks": {"stream": {"enabled": True, "tls_cert": "c.pem"}}}) == (
        "<config>: sinks.stream.tls_key: tls_cert and tls_key must be given together"
    )


@pytest.mark.parametrize(
    ("bind", "message"),
    [
        ("9877", "expected 'host:port' (IPv6 as '[::1]:port'), got '9877'"),
        ("host:", "expected 'host:port' (IPv6 as '[::1]:port'), got 'host:'"),
        ("::1:9877", "expected 'host:port' (IPv6 as '[::1]:port'), got '::1:9877'"),
        ("host:70000", "port 70000 is out of range (0-65535)"),
    ],
)
def test_bad_bind(bind: str, message: str) -> None:
    assert the_error({"sinks": {"stream": {"bind": bind}}}) == f"<config>: sinks.stream.bind: {message}"


def test_parse_bind() -> None:
    assert parse_bind("[fe80::1]:80") == ("fe80::1", 80)
    assert parse_bind("example.org:0") == ("example.org", 0)
    with pytest.raises(ValueError, match="IPv6"):
        parse_bind("[nonsense]:80")


def test_blueprint() -> None:
    assert the_error({"sinks": {"viewer": {"blueprint": "perceptoin"}}}) == (
        "<config>: sinks.viewer.blueprint: unknown blueprint 'perceptoin' (did you mean 'perception'?); "
        "or give a file path"
    )
    for value in ("", "manipulation", "layout.rbl", "./mine", "/abs/path"):
        assert parse_config({"sinks": {"viewer": {"blueprint": value}}}).sinks.viewer.blueprint == value


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n- b\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: expected a mapping, got a list$"):
        load_config(path)


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
queue_depth: 0
allow: ["ok", "(bad"]
topics:
  camera:
    qos: {reliability: maybe, dept: 3}
sinks:
  rrd: {rotate_size_mb: big}
  stream: {enabled: true, bind: "0.0.0.0:1"}
verbose: true
""",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    top_keys = [f.name for f in dataclasses.fields(BridgeConfig)]
    assert str(info.value).splitlines() == [
        f"{path}: verbose: unknown key (known: {', '.join(top_keys)})",
        f"{path}: queue_depth: expected an integer >= 1, got 0",
        f"{path}: allow[1]: bad regular expression '(bad': missing ), unterminated subpattern at position 0",
        f"{path}: topics.camera: not a valid ROS topic name: must start with '/'",
        f"{path}: topics.camera.qos.dept: unknown key (did you mean 'depth'?)",
        f"{path}: topics.camera.qos.reliability: expected one of 'reliable', 'best_effort', got 'maybe'",
        f"{path}: sinks.stream.token: required: the stream binds to non-loopback host '0.0.0.0' "
        "(rerun-bridge run --token, launch argument token)",
        f"{path}: sinks.rrd.rotate_size_mb: expected a number >= 0, got 'big'",
    ]


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "queue_depth: 10\ntopics:\n  /a: {priority: 1\nallow: []\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert re.match(rf"{re.escape(str(path))}:4:\d+: YAML syntax error: ", message), message
    path = write(tmp_path, "a: b: c\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:1:5: YAML syntax error: "):
        load_config(path)


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "topics:\n  /a: {priority: 1}\n  /a: {priority: 2}\nqueue_depth: 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).splitlines() == [
        f"{path}:3: duplicate key '/a' (YAML keeps only the last one)",
        f"{path}: queue_depth: expected an integer >= 1, got 0",
    ]


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = "x_qos: &q {reliability: reliable}\ntopics:\n  /a: {qos: {<<: *q, reliability: best_effort}}\n"
    with pytest.raises(ConfigError, match="x_qos: unknown key"):
        load_config(write(tmp_path, text))


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(missing))}: cannot read the configuration: "):
        load_config(missing)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"entity_prefix: \xe9\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(bad)


# --- selection, layering, effective settings -------------------------------------------------------------


def test_topic_selection() -> None:
    cfg = BridgeConfig()
    assert cfg.topic_selected("/scan", has_converter=True)
    assert not cfg.topic_selected("/unknown", has_converter=False)
    assert not cfg.topic_selected("/parameter_events", has_converter=True)
    assert not cfg.topic_selected("/rosout_agg", has_converter=True)
    assert cfg.topic_selected("/rosout", has_converter=True)

    raw = parse_config({"raw_unknown_types": True})
    assert raw.topic_selected("/unknown", has_converter=False)
    assert not raw.topic_selected("/parameter_events", has_converter=False)

    cfg = parse_config(
        {
            "allow": ["^/camera/", "^/scan$"],
            "deny": ["compressed"],
            "topics": {"/parameter_events": {}, "/camera/compressed": {}, "/odd": {}},
        }
    )
    assert cfg.topic_selected("/camera/image", has_converter=True)
    assert cfg.topic_selected("/scan", has_converter=True)
    assert not cfg.topic_selected("/scan2", has_converter=True)  # allow is searched as written
    assert not cfg.topic_selected("/odom", has_converter=True)  # not allowed
    assert not cfg.topic_selected("/camera/x/compressed", has_converter=True)  # deny wins over allow
    assert not cfg.topic_selected("/camera/unknown", has_converter=False)  # allow never adds raw topics
    # Explicit topics are always bridged: not denied, no allow needed, raw if there is no converter.
    assert cfg.topic_selected("/parameter_events", has_converter=True)
    assert cfg.topic_selected("/camera/compressed", has_converter=True)
    assert cfg.topic_selected("/odd", has_converter=False)


def test_entity_path_layering() -> None:
    cfg = parse_config(
        {
            "entity_prefix": "/robot1",
            "type_entity_paths": {"sensor_msgs/Imu": "/imu{topic}", "nav_msgs/msg/Odometry": "/odom"},
            "topics": {
                "/imu/explicit": {"entity_path": "sensors/imu"},
                "/camera/image_raw": {"priority": 2},
            },
        }
    )
    # prefix + topic when nothing else applies (also for explicit topics without entity_path)
    assert cfg.entity_path_for("/scan", "sensor_msgs/msg/LaserScan") == "/robot1/scan"
    assert cfg.entity_path_for("/camera/image_raw", "sensor_msgs/msg/Image") == "/robot1/camera/image_raw"
    # the type template beats the prefix; {topic} is the full topic name, leading slash included
    assert cfg.entity_path_for("/imu/data", "sensor_msgs/msg/Imu") == "/imu/imu/data"
    assert cfg.entity_path_for("/imu/data", "sensor_msgs/Imu") == "/imu/imu/data"
    assert cfg.entity_path_for("/odom", "nav_msgs/Odometry") == "/odom"
    # the topic's own entity_path beats both, normalized, without prefix
    assert cfg.entity_path_for("/imu/explicit", "sensor_msgs/msg/Imu") == "/sensors/imu"
    # no prefix at all
    assert BridgeConfig().entity_path_for("/a/b", "std_msgs/msg/String") == "/a/b"
    assert parse_config({"entity_prefix": "/"}).entity_prefix == ""


def test_entity_paths_are_normalized() -> None:
    cfg = parse_config({"topics": {"/a": {"entity_path": "a/base link"}}})
    assert cfg.topics["/a"].entity_path == "/a/base\\u{20}link"


def test_topic_config_effective_settings() -> None:
    cfg = parse_config({"queue_depth": 4, "topics": {"/a": {"priority": 3}, "/b": {"queue_depth": 1}}})
    assert cfg.topic_config("/a") == TopicConfig(name="/a", priority=3, queue_depth=4)
    assert cfg.topics["/a"].queue_depth is None  # as written: inherits
    assert cfg.topic_config("/b").queue_depth == 1
    assert cfg.topic_config("/other") == TopicConfig(name="/other", queue_depth=4)


def test_frame_allowed() -> None:
    assert TfConfig().frame_allowed("base_link")
    tf = parse_config({"tf": {"allow_frames": ["^base", "^map$"], "deny_frames": ["_debug$"]}}).tf
    assert tf.frame_allowed("base_link")
    assert tf.frame_allowed("map")
    assert not tf.frame_allowed("odom")
    assert not tf.frame_allowed("base_debug")
    deny_only = parse_config({"tf": {"deny_frames": ["^camera"]}}).tf
    assert deny_only.frame_allowed("odom")
    assert not deny_only.frame_allowed("camera_link")


# --- overrides ----------------------------------------------------------------------------------------


def test_overrides() -> None:
    base = parse_config({"sinks": {"rrd": {"flush_seconds": 2.0}}, "topics": {"/a": {"priority": 1}}})
    cfg = apply_overrides(
        base,
        {
            "sinks.rrd.path": "/tmp/x.rrd",
            "sinks.mcap.path": "/tmp/x.mcap",
            "sinks.mcap.compression": "none",
            "use_sim_time": True,
            "topics./a.qos.depth": 3,
            "topics./new.priority": 5,
            "deny": [],
        },
    )
    assert cfg.sinks.rrd == RrdSinkConfig(path="/tmp/x.rrd", flush_seconds=2.0)
    assert cfg.sinks.mcap.path == "/tmp/x.mcap"
    assert cfg.sinks.mcap.compression is Compression.NONE
    assert cfg.use_sim_time
    assert cfg.topics["/a"] == TopicConfig(name="/a", priority=1, qos=QosConfig(depth=3))
    assert cfg.topics["/new"] == TopicConfig(name="/new", priority=5)
    assert cfg.deny == ()
    assert base.sinks.rrd.path == ""  # the original is unchanged
    assert apply_overrides(base, {}) == base
    # None removes a key: back to its default
    assert apply_overrides(base, {"sinks.rrd.flush_seconds": None}).sinks.rrd.flush_seconds == 1.0


def test_overrides_are_validated() -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides(
            BridgeConfig(),
            {
                "sinks.rrd.pth": "/x",
                "queue_depth": "many",
                "use_sim_time.x": 1,
                "a..b": 1,
                "topics.bad.priority": 1,
            },
            source="--set",
        )
    assert str(info.value).splitlines() == [
        "--set: use_sim_time: not a section, cannot set use_sim_time.x",
        "--set: a..b: malformed key (empty part)",
        "--set: queue_depth: expected an integer >= 1, got 'many'",
        "--set: topics.bad: not a valid ROS topic name: must start with '/'",
        "--set: sinks.rrd.pth: unknown key (did you mean 'path'?)",
    ]


# --- properties -------------------------------------------------------------------------------------------

_SECTIONS = {
    "": tuple(f.name for f in dataclasses.fields(BridgeConfig)),
    "tf": tuple(f.name for f in dataclasses.fields(TfConfig)),
    "sinks": ("rrd", "mcap", "viewer", "stream"),
    "sinks.rrd": tuple(f.name for f in dataclasses.fields(RrdSinkConfig)),
    "sinks.stream": tuple(f.name for f in dataclasses.fields(StreamConfig)),
    "diagnostics": ("enabled", "period_s"),
    "topics./a": ("entity_path", "type", "qos", "rate_limit_hz", "priority", "queue_depth", "options"),
    "topics./a.qos": tuple(f.name for f in dataclasses.fields(QosConfig)),
}


def _nest(path: str, leaf: dict[str, Any]) -> dict[str, Any]:
    out = leaf
    for part in reversed(path.split(".") if path else []):
        out = {part: out}
    return out


@PROPERTY
@given(
    st.sampled_from(sorted(_SECTIONS)),
    st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True), min_size=1, max_size=4, unique=True),
)
def test_unknown_keys_are_always_reported_with_their_path(section: str, keys: list[str]) -> None:
    unknown = [key for key in keys if key not in _SECTIONS[section]]
    data = _nest(section, dict.fromkeys(keys))
    if not unknown:
        return
    lines = errors_of(data)
    for key in unknown:
        path = f"{section}.{key}" if section else key
        assert any(line.startswith(f"<config>: {path}: unknown key (") for line in lines), (path, lines)


_topic_names = st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), min_size=1, max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)
_regex_texts = st.lists(st.sampled_from(["^/a", "b$", "c", "^/x/", "[0-9]"]), max_size=3)


@PROPERTY
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "use_sim_time": st.booleans(),
            "discovery_period_s": st.floats(0.01, 100),
            "queue_depth": st.integers(1, 1000),
            "allow": _regex_texts,
            "deny": _regex_texts,
            "raw_unknown_types": st.booleans(),
            "entity_prefix": st.sampled_from(["", "/robot1", "r/2"]),
            "topics": st.dictionaries(
                _topic_names,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "entity_path": st.sampled_from(["/e", "/cam/image", "x y"]),
                        "type": st.sampled_from(["sensor_msgs/Image", "std_msgs/msg/String"]),
                        "qos": st.fixed_dictionaries(
                            {}, optional={"reliability": st.sampled_from(["reliable", "best_effort"])}
                        ),
                        "priority": st.integers(-5, 5),
                        "queue_depth": st.integers(1, 5),
                        "options": st.fixed_dictionaries(
                            {},
                            optional={
                                "colormap": st.sampled_from(["turbo", "gray"]),
                                "frame": st.sampled_from(["map", "base_link"]),
                            },
                        ),
                    },
                ),
                max_size=3,
            ),
            "sinks": st.fixed_dictionaries(
                {},
                optional={
                    "rrd": st.fixed_dictionaries({}, optional={"rotate_size_mb": st.floats(0, 1e4)}),
                    "mcap": st.fixed_dictionaries(
                        {}, optional={"compression": st.sampled_from(["lz4", "zstd"])}
                    ),
                },
            ),
        },
    )
)
def test_round_trip_through_plain_data(data: dict[str, Any]) -> None:
    cfg = parse_config(data)
    assert parse_config(cfg.to_dict()) == cfg
    assert apply_overrides(cfg, {}) == cfg


@PROPERTY
@given(_topic_names, _regex_texts, _regex_texts, st.booleans(), st.booleans(), st.booleans())
def test_selection_properties(
    topic: str, allow: list[str], deny: list[str], has_converter: bool, raw: bool, explicit: bool
) -> None:
    data: dict[str, Any] = {"allow": allow, "deny": deny, "raw_unknown_types": raw}
    if explicit:
        data["topics"] = {topic: {}}
    cfg = parse_config(data)
    selected = cfg.topic_selected(topic, has_converter)
    if explicit:
        assert selected
    elif any(re.search(rx, topic) for rx in deny):
        assert not selected
    else:
        allowed = not allow or any(re.search(rx, topic) for rx in allow)
        assert selected == (allowed and (has_converter or raw))


def test_small_state_types_are_protected_unless_a_topic_says_otherwise() -> None:
    config = parse_config(
        {"topics": {"/imu/raw": {"protected": False}, "/camera/thumb": {"protected": True}}}
    )
    assert config.topic_protected("/imu/data", "sensor_msgs/Imu")
    assert config.topic_protected("/tf", "tf2_msgs/msg/TFMessage")
    assert not config.topic_protected("/camera/image_raw", "sensor_msgs/msg/Image")
    assert not config.topic_protected("/imu/raw", "sensor_msgs/msg/Imu")
    assert config.topic_protected("/camera/thumb", "sensor_msgs/msg/Image")


def test_reliability_keys_are_checked() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            {"shutdown_timeout_s": 0, "sinks": {"min_free_mb": -1}, "topics": {"/a": {"protected": 2}}}
        )
    message = str(info.value)
    assert "shutdown_timeout_s: expected a number > 0" in message
    assert "sinks.min_free_mb: expected a number >= 0" in message
    assert "topics./a.protected" in message
