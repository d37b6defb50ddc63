"""The bridge's configuration: YAML in, frozen dataclasses out, every problem reported at once.

:func:`load_config` reads a YAML file, :func:`parse_config` validates already-parsed data (a launch file's
dict, a test's literal) and :func:`apply_overrides` sets dotted keys (``sinks.rrd.path``) from the command
line or ROS parameters through the same checks. All problems found are raised together as one
:class:`~rerun_bridge.errors.ConfigError`, one line each, naming the file and the key path::

    bridge.yaml: topics./camera/image_raw.qos.reliabilty: unknown key (did you mean 'reliability'?)
    bridge.yaml: sinks.rrd.rotate_size_mb: expected a number >= 0, got 'big'

``docs/config.md`` is the reference of every key; ``config/bridge.yaml`` is the commented example.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar, cast

import yaml

from rerun_bridge.config_custom_types import CustomTypesConfig, parse_custom_types
from rerun_bridge.convert.occupancy import MIN_TILE_SIDE, PALETTES
from rerun_bridge.convert.pointcloud import COLORMAPS
from rerun_bridge.errors import ConfigError, EntityPathError
from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.type_names import normalize_type_name
from rerun_bridge.model.yaml_checks import (
    InvalidValueError,
    KeyPathReader,
    check_bool,
    check_string,
    join_key,
    show,
    suggest,
)
from rerun_bridge.model.yaml_limits import YamlLimitError, construct_bounded, read_bounded
from rerun_bridge.sinks.disk_space import DEFAULT_RESERVE_MB
from rerun_bridge.sinks.summary_settings import SummarySettings

#: Small, frequent state a debugging session needs most: under overload, big frames are shed first.
PROTECTED_TYPES: Final = frozenset(
    {
        "sensor_msgs/msg/Imu",
        "sensor_msgs/msg/JointState",
        "tf2_msgs/msg/TFMessage",
        "nav_msgs/msg/Odometry",
        "rcl_interfaces/msg/Log",
        "diagnostic_msgs/msg/DiagnosticArray",
    }
)

#: Blueprints shipped with the bridge; ``sinks.viewer.blueprint`` takes one of these or a file path.
BLUEPRINT_NAMES: Final = ("perception", "navigation", "manipulation", "localization")
#: The default ``deny`` list: ROS 2 housekeeping topics nobody wants to see.
DEFAULT_DENY: Final = ("^/parameter_events$", "^/rosout_agg$")
#: The placeholder of ``type_entity_paths`` templates: the full topic name, leading slash included.
TOPIC_PLACEHOLDER: Final = "{topic}"

_E = TypeVar("_E", bound=Enum)
_T = TypeVar("_T")
_C = TypeVar("_C")
_Check = Callable[[Any], Any]
_TYPE_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*/(?:(?:msg|srv|action)/)?[A-Za-z][A-Za-z0-9_]*")
_TOPIC_CHAR: Final = re.compile(r"[A-Za-z0-9_/]")
_BIND: Final = re.compile(r"\[(?P<v6>[^\]]+)\]:(?P<p6>\d+)|(?P<host>[^:\[\]\s]+):(?P<port>\d+)")


class Reliability(Enum):
    RELIABLE = "reliable"
    BEST_EFFORT = "best_effort"


class Durability(Enum):
    VOLATILE = "volatile"
    TRANSIENT_LOCAL = "transient_local"


class History(Enum):
    KEEP_LAST = "keep_last"
    KEEP_ALL = "keep_all"


class Profile(Enum):
    """What a network sink gets: everything, or the summary under a bandwidth budget (split mode)."""

    FULL = "full"
    SUMMARY = "summary"


class Compression(Enum):
    ZSTD = "zstd"
    LZ4 = "lz4"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Regex:
    """A regular expression as written (``text``, what equality compares) and compiled (``pattern``)."""

    text: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)

    @classmethod
    def compile(cls, text: str) -> Regex:
        return cls(text, re.compile(text))

    def search(self, value: str) -> bool:
        return self.pattern.search(value) is not None


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class QosConfig:
    """QoS overrides of one subscription; ``None`` keeps the value adapted to the publishers."""

    reliability: Reliability | None = None
    durability: Durability | None = None
    history: History | None = None
    depth: int | None = None


@dataclass(frozen=True, slots=True)
class TopicConfig:
    """Settings of one topic. ``None`` means "not set here": derived, discovered or inherited."""

    name: str
    entity_path: str | None = (
        None  # canonical entity path string; None: derived (BridgeConfig.entity_path_for)
    )
    type_name: str | None = None  # ``type`` in YAML, normalized to ``pkg/msg/Type``; None: discovered
    qos: QosConfig = QosConfig()
    rate_limit_hz: float = 0.0
    priority: int = 0
    queue_depth: int | None = None  # None: the global ``queue_depth``
    #: Never shed under overload while unprotected topics can be; None: by type (:data:`PROTECTED_TYPES`).
    protected: bool | None = None
    options: Mapping[str, Any] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class TfConfig:
    enabled: bool = True
    fixed_frame: str = ""
    allow_frames: tuple[Regex, ...] = ()
    deny_frames: tuple[Regex, ...] = ()
    cache_time_s: float = 10.0

    def frame_allowed(self, frame: str) -> bool:
        """Deny wins; an empty allow list allows every frame that is not denied."""
        if any(rx.search(frame) for rx in self.deny_frames):
            return False
        return not self.allow_frames or any(rx.search(frame) for rx in self.allow_frames)


@dataclass(frozen=True, slots=True)
class RrdSinkConfig:
    path: str = ""
    rotate_size_mb: float = 0.0
    rotate_seconds: float = 0.0
    flush_seconds: float = 1.0

    @property
    def enabled(self) -> bool:
        return self.path != ""


@dataclass(frozen=True, slots=True)
class McapSinkConfig:
    path: str = ""
    compression: Compression = Compression.NONE
    rotate_size_mb: float = 0.0
    rotate_seconds: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.path != ""


@dataclass(frozen=True, slots=True)
class ViewerConfig:
    enabled: bool = False
    blueprint: str = ""

    @property
    def builtin_blueprint(self) -> bool:
        """True when ``blueprint`` names a shipped blueprint rather than a file."""
        return self.blueprint in BLUEPRINT_NAMES


@dataclass(frozen=True, slots=True)
class StreamConfig:
    enabled: bool = False
    bind: str = "127.0.0.1:9877"
    token: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    #: Recent temporal data kept for clients that join or come back (seconds, and a bound in MB).
    history_s: float = 10.0
    history_megabytes: float = 64.0
    profile: Profile = Profile.FULL

    @property
    def host(self) -> str:
        return parse_bind(self.bind)[0]

    @property
    def port(self) -> int:
        return parse_bind(self.bind)[1]


@dataclass(frozen=True, slots=True)
class RerunViewerSinkConfig:
    """A running Rerun viewer the bridge connects to (rerun-sdk's gRPC client), beside its files."""

    url: str = ""
    queue_megabytes: float = 64.0
    profile: Profile = Profile.FULL

    @property
    def enabled(self) -> bool:
        return self.url != ""


@dataclass(frozen=True, slots=True)
class UploadSinkConfig:
    """Closed rotation parts of the .rrd and .mcap sinks uploaded to an ``s3://`` prefix (docs/fleet.md)."""

    prefix: str = ""
    delete_local: bool = False
    retry_seconds: float = 5.0

    @property
    def enabled(self) -> bool:
        return self.prefix != ""


@dataclass(frozen=True, slots=True)
class SinksConfig:
    #: Free space (MB) every file output leaves on its file system: at the reserve, files are closed.
    min_free_mb: float = DEFAULT_RESERVE_MB
    rrd: RrdSinkConfig = RrdSinkConfig()
    mcap: McapSinkConfig = McapSinkConfig()
    viewer: ViewerConfig = ViewerConfig()
    stream: StreamConfig = StreamConfig()
    rerun_viewer: RerunViewerSinkConfig = RerunViewerSinkConfig()
    summary: SummarySettings = field(default_factory=SummarySettings)
    upload: UploadSinkConfig = UploadSinkConfig()


@dataclass(frozen=True, slots=True)
class DiagnosticsConfig:
    enabled: bool = True
    period_s: float = 1.0


@dataclass(frozen=True, slots=True)
class RobotModelConfig:
    """The robot model (docs/robot-model.md): a URDF file to draw from the start, and where meshes may be
    read from: ``mesh_roots`` searched as ``<root>/<package>/...``, ``packages`` mapping a package name to
    its directory. Mesh files outside them are never read."""

    urdf_file: str = ""
    mesh_roots: tuple[str, ...] = ()
    packages: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    use_sim_time: bool = False
    discovery_period_s: float = 1.0
    queue_depth: int = 1000
    queue_megabytes: float = 64.0
    shutdown_timeout_s: float = 10.0
    allow: tuple[Regex, ...] = ()
    deny: tuple[Regex, ...] = tuple(Regex.compile(text) for text in DEFAULT_DENY)
    raw_unknown_types: bool = False
    topics: Mapping[str, TopicConfig] = field(default_factory=_empty)
    entity_prefix: str = ""  # canonical entity path string, or "" for none
    type_entity_paths: Mapping[str, str] = field(default_factory=_empty)  # normalized type -> template
    tf: TfConfig = TfConfig()
    sinks: SinksConfig = SinksConfig()
    diagnostics: DiagnosticsConfig = DiagnosticsConfig()
    robot_model: RobotModelConfig = RobotModelConfig()
    custom_types: CustomTypesConfig = field(default_factory=CustomTypesConfig)

    @classmethod
    def default(cls) -> BridgeConfig:
        return cls()

    def topic_selected(self, topic: str, has_converter: bool) -> bool:
        """Explicit topics always; else not denied, matched by ``allow`` when it is non-empty, and either
        convertible or ``raw_unknown_types``. ``allow`` narrows the selection, it never adds raw topics."""
        if topic in self.topics:
            return True
        if any(rx.search(topic) for rx in self.deny):
            return False
        if self.allow and not any(rx.search(topic) for rx in self.allow):
            return False
        return has_converter or self.raw_unknown_types

    def entity_path_for(self, topic: str, type_name: str) -> str:
        """The topic's own ``entity_path``, else its type's template, else ``entity_prefix`` + topic name."""
        explicit = self.topics.get(topic)
        if explicit is not None and explicit.entity_path is not None:
            return explicit.entity_path
        template = self.type_entity_paths.get(normalize_type_name(type_name))
        if template is not None:
            return str(EntityPath.parse(template.replace(TOPIC_PLACEHOLDER, topic)))
        return str(EntityPath.parse(self.entity_prefix).join(*EntityPath.from_topic(topic).parts))

    def topic_protected(self, topic: str, type_name: str) -> bool:
        """Whether the bridge sheds this topic's messages only after every unprotected topic's: its own
        ``protected`` key, else whether its type is one of :data:`PROTECTED_TYPES`."""
        explicit = self.topics.get(topic)
        if explicit is not None and explicit.protected is not None:
            return explicit.protected
        return normalize_type_name(type_name) in PROTECTED_TYPES

    def topic_config(self, topic: str) -> TopicConfig:
        """The effective settings of a topic: its explicit entry or the defaults, ``queue_depth`` resolved."""
        base = self.topics.get(topic) or TopicConfig(name=topic)
        if base.queue_depth is None:
            base = dataclasses.replace(base, queue_depth=self.queue_depth)
        return base

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-ready data; ``parse_config(cfg.to_dict()) == cfg``. Unset (None) fields are left out."""
        return cast("dict[str, Any]", _plain(self))


def parse_bind(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); raises ValueError with the reason."""
    match = _BIND.fullmatch(text)
    if match is None:
        raise ValueError(f"expected 'host:port' (IPv6 as '[::1]:port'), got {text!r}")
    host, port = match["v6"] or match["host"], int(match["p6"] or match["port"])
    if match["v6"]:
        try:
            ipaddress.IPv6Address(match["v6"])
        except ValueError as err:
            raise ValueError(f"bad IPv6 address {match['v6']!r}: {err}") from err
    if port > 65535:
        raise ValueError(f"port {port} is out of range (0-65535)")
    return host, port


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` and ``::1``: hosts a stream may bind to without a token."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: A check of a whole config beyond its syntax (the custom types' mappings, which need the converters):
#: its problems are reported with the file's own errors.
ConfigCheck = Callable[[BridgeConfig], list[str]]


def load_config(path: str | Path, check: ConfigCheck | None = None) -> BridgeConfig:
    """Read and validate a YAML file; an empty file gives the defaults. ``check``'s problems are reported
    with the file's errors (every problem at once)."""
    source = str(path)
    try:
        text = read_bounded(path)
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{source}: cannot read the configuration: {err}") from err
    except YamlLimitError as err:
        raise ConfigError(f"{source}: refused: {err}") from err
    try:
        loader = _Loader(text)  # the reader checks the characters here: a binary file fails now
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: YAML error: {' '.join(str(err).split())}") from err
    try:
        data = construct_bounded(loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        what = "; ".join(str(part) for part in (err.context, err.problem) if part)
        raise ConfigError(f"{where}: YAML syntax error: {what}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: YAML error: {err}") from err
    finally:
        loader.dispose()
    dups = [
        f"{source}:{line}: duplicate key {key!r} (YAML keeps only the last one)" for line, key in loader.dups
    ]
    return _parse(data if data is not None else {}, source, dups, check)


def parse_config(data: Mapping[str, Any], source: str = "<config>") -> BridgeConfig:
    """Validate already-parsed data; ``source`` names it in the errors."""
    return _parse(data, source, [])


def apply_overrides(
    cfg: BridgeConfig, overrides: Mapping[str, Any], source: str = "<overrides>"
) -> BridgeConfig:
    """Set dotted keys (``{"sinks.rrd.path": "/tmp/x.rrd", "topics./scan.priority": 2}``) and validate the
    result as a whole. A value replaces what was there (a mapping is not merged); ``None`` removes the key,
    restoring its default. Errors name ``source`` and the key path."""
    data = cfg.to_dict()
    errors: list[str] = []
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if "" in parts:
            errors.append(f"{source}: {dotted}: malformed key (empty part)")
            continue
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                errors.append(f"{source}: {'.'.join(parts[: depth + 1])}: not a section, cannot set {dotted}")
                break
            node = child
        else:
            if value is None:
                node.pop(parts[-1], None)
            else:
                node[parts[-1]] = copy.deepcopy(value)
    return _parse(data, source, errors)


# --- validation -------------------------------------------------------------------------------------------


_InvalidError = InvalidValueError
_show = show
_join = join_key
_suggest = suggest


_bool = check_bool


_string = check_string


def _number(minimum: float, *, above: bool = False) -> Callable[[object], float]:
    def convert(value: object) -> float:
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (value > minimum if above else value >= minimum)
        ):
            return float(value)
        raise _InvalidError(f"expected a number {'>' if above else '>='} {minimum:g}, got {_show(value)}")

    return convert


def _integer(minimum: int | None) -> Callable[[object], int]:
    def convert(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum):
            return value
        bound = "" if minimum is None else f" >= {minimum}"
        raise _InvalidError(f"expected an integer{bound}, got {_show(value)}")

    return convert


def _enum(cls: type[_E]) -> Callable[[object], _E]:
    def convert(value: object) -> _E:
        allowed = [member.value for member in cls]
        if isinstance(value, str) and value.lower() in allowed:
            return cls(value.lower())
        raise _InvalidError(f"expected one of {', '.join(map(repr, allowed))}, got {_show(value)}")

    return convert


def _entity_path(value: object) -> str:
    try:
        path = EntityPath.parse(_string(value))
    except EntityPathError as err:
        raise _InvalidError(f"bad entity path: {err}") from err
    if path.is_reserved:
        raise _InvalidError(f"entity path {value!r} is reserved by Rerun (first part starts with '__')")
    return str(path)


def _template(value: object) -> str:
    text = _string(value)
    if "{" in text.replace(TOPIC_PLACEHOLDER, "") or "}" in text.replace(TOPIC_PLACEHOLDER, ""):
        raise _InvalidError(f"bad template {text!r}: the only placeholder is {TOPIC_PLACEHOLDER}")
    _entity_path(text.replace(TOPIC_PLACEHOLDER, "/topic"))
    return text


def _type_name(value: object) -> str:
    text = _string(value)
    if not _TYPE_NAME.fullmatch(text):
        raise _InvalidError(f"expected a ROS type name like 'sensor_msgs/msg/Image', got {text!r}")
    return normalize_type_name(text)


def _prefix(value: object) -> str:
    path = _entity_path(value)
    return "" if path == "/" else path


def _frame(value: object) -> str:
    text = _string(value)
    if text.startswith("/"):
        raise _InvalidError(f"frame ids have no leading '/' (tf2 rejects them), got {text!r}")
    return text


def topic_name_problem(name: str) -> str | None:
    """Why ``name`` is not a fully qualified ROS 2 topic name, or None when it is one."""
    if not name.startswith("/"):
        return "must start with '/'"
    if "//" in name:
        return "contains '//'"
    if name != "/" and name.endswith("/"):
        return "ends with '/'"
    bad = sorted({char for char in name if not _TOPIC_CHAR.fullmatch(char)})
    if bad:
        return "contains " + ", ".join(map(repr, bad)) + " (allowed: letters, digits, '_', '/')"
    digit = next((part for part in name.split("/") if part[:1].isdigit()), None)
    if digit is not None:
        return f"part {digit!r} starts with a digit"
    return "is the root namespace, not a topic" if name == "/" else None


class _Parser(KeyPathReader):
    def section(self, data: object, path: str, known: tuple[str, ...] | None = None) -> dict[str, Any]:
        return self.mapping(data, path, known)

    def regexes(
        self, data: Mapping[str, Any], path: str, key: str, default: tuple[Regex, ...]
    ) -> tuple[Regex, ...]:
        if key not in data:
            return default
        value, path = data[key], _join(path, key)
        if not isinstance(value, list | tuple):
            self.error(path, f"expected a list of regular expressions, got {_show(value)}")
            return default
        out: list[Regex] = []
        for index, text in enumerate(value):
            if not isinstance(text, str):
                self.error(f"{path}[{index}]", f"expected a regular expression string, got {_show(text)}")
                continue
            try:
                out.append(Regex.compile(text))
            except re.error as err:
                self.error(f"{path}[{index}]", f"bad regular expression {text!r}: {err}")
        return tuple(out)


def _number_from(low: float, high: float) -> Callable[[object], float]:
    def convert(value: object) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
            return float(value)
        raise _InvalidError(f"expected a number from {low:g} to {high:g}, got {_show(value)}")

    return convert


def _one_of(names: tuple[str, ...], lower: bool = False) -> Callable[[object], str]:
    def convert(value: object) -> str:
        if isinstance(value, str) and (value.lower() if lower else value) in names:
            return value
        raise _InvalidError(f"expected one of {', '.join(map(repr, names))}, got {_show(value)}")

    return convert


def _optional(check: Callable[[object], Any]) -> Callable[[object], Any]:
    return lambda value: None if value is None else check(value)


def _strings(value: object) -> list[str]:
    if not isinstance(value, list | tuple):
        raise _InvalidError(f"expected a list of directories, got {_show(value)}")
    return [_directory(item) for item in value]


#: Every option a converter reads (``topics.<topic>.options``; docs/config.md), with the values the
#: converters take: a key outside them is a typo that would otherwise be ignored without a word, and a bad
#: value is said when the config loads (the converter met it with the first message, which it lost: a
#: map published once at start-up, gone for the whole run; audit).
CONVERTER_OPTION_CHECKS: Final[dict[str, Callable[[object], Any]]] = {
    "colormap": _one_of(COLORMAPS),
    "camera_frame": check_string,
    "frame": check_string,
    "palette": _one_of(PALETTES, lower=True),
    "alpha": _number_from(0.0, 1.0),
    "binary_threshold": _optional(_number_from(0.0, 100.0)),
    "tile_rows": _integer(MIN_TILE_SIDE),
    "tile_cols": _integer(MIN_TILE_SIDE),
    "image": check_bool,
    "map_topic": check_string,
    "covariance_sigma": _number(0.0, above=True),
    "trail_every": _integer(1),
    "trail_length": _integer(0),
    "arrow_scale": _number(0.0, above=True),
    "arrow_length": _number(0.0, above=True),
    "axis_length": _number(0.0, above=True),
    "mesh_roots": _strings,
    "image_plane_distance": _number(0.0, above=True),
}
CONVERTER_OPTIONS: Final = tuple(CONVERTER_OPTION_CHECKS)

_TOPIC_KEYS: Final = (
    "entity_path",
    "type",
    "qos",
    "rate_limit_hz",
    "priority",
    "queue_depth",
    "protected",
    "options",
)
_NONNEG: Final = _number(0.0)
_POSITIVE: Final = _number(0.0, above=True)


def _keys(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _parse(
    data: Mapping[str, Any], source: str, errors: list[str], check: ConfigCheck | None = None
) -> BridgeConfig:
    p = _Parser(source, errors)
    top = p.section(data, "", _keys(BridgeConfig))
    checks = {
        "discovery_period_s": _POSITIVE,
        "queue_depth": _integer(1),
        "queue_megabytes": _POSITIVE,
        "shutdown_timeout_s": _POSITIVE,
        "entity_prefix": _prefix,
    }
    cfg = BridgeConfig(
        **_scalars(p, top, "", BridgeConfig, **checks),
        topics=MappingProxyType(_parse_topics(p, top.get("topics"))),
        type_entity_paths=MappingProxyType(_parse_type_paths(p, top.get("type_entity_paths"))),
        tf=_build(p, top.get("tf"), "tf", TfConfig, fixed_frame=_frame, cache_time_s=_POSITIVE),
        sinks=_parse_sinks(p, p.section(top.get("sinks"), "sinks", _keys(SinksConfig))),
        diagnostics=_build(p, top.get("diagnostics"), "diagnostics", DiagnosticsConfig, period_s=_POSITIVE),
        robot_model=_parse_robot_model(p, top.get("robot_model")),
        custom_types=parse_custom_types(p, top.get("custom_types")),
    )
    if check is not None:
        errors.extend(check(cfg))
    if errors:
        raise ConfigError("\n".join(errors))
    return cfg


def _scalars(
    p: _Parser, section: Mapping[str, Any], path: str, cls: type[Any], **checks: _Check
) -> dict[str, Any]:
    """Read the plain fields of ``cls`` (not sections or mappings), each checked by ``checks`` or, by default,
    by the type of its default value: bool, string, number >= 0, integer, enum or regex list."""
    defaults = cls()
    by_type: dict[type, _Check] = {bool: _bool, str: _string, float: _NONNEG, int: _integer(None)}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        default = getattr(defaults, f.name)
        if isinstance(default, tuple):
            out[f.name] = p.regexes(section, path, f.name, default)
        elif not (dataclasses.is_dataclass(default) or isinstance(default, Mapping)):
            convert = checks.get(f.name) or by_type.get(type(default)) or _enum(type(default))
            out[f.name] = p.get(section, path, f.name, default, convert)
    return out


def _build(p: _Parser, data: object, path: str, cls: type[_C], **checks: _Check) -> _C:
    """A section made of plain fields only."""
    return cls(**_scalars(p, p.section(data, path, _keys(cls)), path, cls, **checks))


def _parse_topics(p: _Parser, data: object) -> dict[str, TopicConfig]:
    topics: dict[str, TopicConfig] = {}
    for name, value in p.section(data, "topics").items():
        path = f"topics.{name}"
        problem = topic_name_problem(name)
        if problem is not None:
            p.error(path, f"not a valid ROS topic name: {problem}")
        entry = p.section(value, path, _TOPIC_KEYS)
        qos_path = f"{path}.qos"
        qos = p.section(entry.get("qos"), qos_path, _keys(QosConfig))
        options = p.section(entry.get("options"), f"{path}.options", CONVERTER_OPTIONS)
        for option, check in CONVERTER_OPTION_CHECKS.items():
            p.get(options, f"{path}.options", option, None, check)
        topics[name] = TopicConfig(
            name=name,
            entity_path=p.get(entry, path, "entity_path", None, _entity_path),
            type_name=p.get(entry, path, "type", None, _type_name),
            qos=QosConfig(
                reliability=p.get(qos, qos_path, "reliability", None, _enum(Reliability)),
                durability=p.get(qos, qos_path, "durability", None, _enum(Durability)),
                history=p.get(qos, qos_path, "history", None, _enum(History)),
                depth=p.get(qos, qos_path, "depth", None, _integer(1)),
            ),
            rate_limit_hz=p.get(entry, path, "rate_limit_hz", 0.0, _NONNEG),
            priority=p.get(entry, path, "priority", 0, _integer(None)),
            queue_depth=p.get(entry, path, "queue_depth", None, _integer(1)),
            protected=p.get(entry, path, "protected", None, _bool),
            options=MappingProxyType(copy.deepcopy(options)),
        )
    return topics


def _directory(value: object) -> str:
    text = _string(value)
    if not text:
        raise _InvalidError("expected a directory path, got ''")
    return text


def _parse_robot_model(p: _Parser, data: object) -> RobotModelConfig:
    path = "robot_model"
    section = p.section(data, path, _keys(RobotModelConfig))
    roots = section.get("mesh_roots", [])
    if not isinstance(roots, list | tuple):
        p.error(f"{path}.mesh_roots", f"expected a list of directories, got {_show(roots)}")
        roots = []
    directories = []
    for index, root in enumerate(roots):
        try:
            directories.append(_directory(root))
        except _InvalidError as err:
            p.error(f"{path}.mesh_roots[{index}]", str(err))
    packages = p.section(section.get("packages"), f"{path}.packages")
    return RobotModelConfig(
        urdf_file=p.get(section, path, "urdf_file", "", _string),
        mesh_roots=tuple(directories),
        packages=MappingProxyType(
            {name: p.get(packages, f"{path}.packages", name, "", _directory) for name in packages}
        ),
    )


def _parse_type_paths(p: _Parser, data: object) -> dict[str, str]:
    out: dict[str, str] = {}
    written: dict[str, str] = {}
    for key, value in p.section(data, "type_entity_paths").items():
        path = f"type_entity_paths.{key}"
        try:
            type_name = _type_name(key)
        except _InvalidError as err:
            p.error(path, str(err))
            continue
        template = p.get({key: value}, "type_entity_paths", key, None, _template)
        if type_name in written:
            p.error(path, f"same type as type_entity_paths.{written[type_name]}")
        elif template is not None:
            out[type_name], written[type_name] = template, key
    return out


def _blueprint(value: object) -> str:
    text = _string(value)
    if text in ("", *BLUEPRINT_NAMES) or "/" in text or "\\" in text or Path(text).suffix:
        return text
    raise _InvalidError(
        f"unknown blueprint {text!r} ({_suggest(text, BLUEPRINT_NAMES)}); or give a file path"
    )


def _bind(value: object) -> str:
    text = _string(value)
    try:
        parse_bind(text)
    except ValueError as err:
        raise _InvalidError(str(err)) from err
    return text


def _parse_sinks(p: _Parser, sinks: dict[str, Any]) -> SinksConfig:
    stream = _build(
        p,
        sinks.get("stream"),
        "sinks.stream",
        StreamConfig,
        bind=_bind,
        history_s=_NONNEG,
        history_megabytes=_POSITIVE,
    )
    if stream.enabled:  # stream.bind is valid here: a bad one was reported and replaced by the default
        if not stream.token and not is_loopback(stream.host):
            p.error(
                "sinks.stream.token",
                f"required: the stream binds to non-loopback host {stream.host!r} "
                "(rerun-bridge run --token, launch argument token)",
            )
        if bool(stream.tls_cert) != bool(stream.tls_key):
            p.error(
                "sinks.stream.tls_cert" if not stream.tls_cert else "sinks.stream.tls_key",
                "tls_cert and tls_key must be given together",
            )
    return SinksConfig(
        **_scalars(p, sinks, "sinks", SinksConfig),
        rrd=_build(p, sinks.get("rrd"), "sinks.rrd", RrdSinkConfig, flush_seconds=_POSITIVE),
        mcap=_build(p, sinks.get("mcap"), "sinks.mcap", McapSinkConfig),
        viewer=_build(p, sinks.get("viewer"), "sinks.viewer", ViewerConfig, blueprint=_blueprint),
        stream=stream,
        rerun_viewer=_build(
            p,
            sinks.get("rerun_viewer"),
            "sinks.rerun_viewer",
            RerunViewerSinkConfig,
            url=_viewer_url,
            queue_megabytes=_POSITIVE,
        ),
        summary=_parse_summary(p, sinks.get("summary")),
        upload=_build(
            p,
            sinks.get("upload"),
            "sinks.upload",
            UploadSinkConfig,
            prefix=_s3_prefix,
            retry_seconds=_POSITIVE,
        ),
    )


def _parse_summary(p: _Parser, data: object) -> SummarySettings:
    path = "sinks.summary"
    base = _build(
        p,
        data,
        path,
        SummarySettings,
        budget_mbit_s=_POSITIVE,
        image_max_width=_integer(8),
        jpeg_quality=_percent,
        image_rate_hz=_NONNEG,
        cloud_voxel_m=_NONNEG,
        cloud_rate_hz=_NONNEG,
    )
    raw = data.get("rate_hz") if isinstance(data, Mapping) else None
    rates: dict[str, float] = {}
    for entity in p.section(raw, f"{path}.rate_hz"):
        # Keys are entity paths in canonical form: rows are looked up by theirs ('camera' is '/camera').
        try:
            canonical = _entity_path(entity)
        except _InvalidError as err:
            p.error(f"{path}.rate_hz.{entity}", str(err))
            continue
        rate = p.get(raw or {}, f"{path}.rate_hz", entity, None, _POSITIVE)
        if canonical in rates:
            p.error(f"{path}.rate_hz.{entity}", f"same entity path as {canonical!r}")
        elif rate is not None:
            rates[canonical] = rate
    return dataclasses.replace(base, rate_hz=rates)


def _percent(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100:
        return value
    raise _InvalidError(f"expected an integer from 1 to 100, got {_show(value)}")


def _viewer_url(value: object) -> str:
    from urllib.parse import urlsplit

    text = _string(value)
    parts = urlsplit(text)
    if text and (parts.scheme not in ("rerun", "rerun+http", "rerun+https") or parts.path != "/proxy"):
        raise _InvalidError(f"{text!r} is not a Rerun viewer address: expected rerun+http://HOST:PORT/proxy")
    return text


def _s3_prefix(value: object) -> str:
    text = _string(value)
    if text and not text.startswith("s3://"):
        raise _InvalidError(f"expected an s3:// prefix, got {text!r}")
    return text


def _plain(value: object) -> object:
    if isinstance(value, CustomTypesConfig):
        return value.to_yaml()
    if isinstance(value, Regex):
        return value.text
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is not None and not (isinstance(value, TopicConfig) and f.name == "name"):
                out["type" if f.name == "type_name" else f.name] = _plain(item)
        return out
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)


class _Loader(yaml.SafeLoader):
    """A safe loader that records duplicate keys, which PyYAML would silently collapse to the last one,
    and reads ``1e3`` as a number, as YAML 1.2 and ROS's own parameter files do (PyYAML, YAML 1.1, wants
    ``1.0e3`` and made ``queue_megabytes: 1e3`` the string '1e3')."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.dups: list[tuple[int, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                ident = (key_node.tag, key_node.value)
                if ident in seen:
                    self.dups.append((key_node.start_mark.line + 1, key_node.value))
                seen.add(ident)
        return super().construct_mapping(node, deep=deep)


# Exponents without a dot (YAML 1.2's float syntax), besides the 1.1 forms PyYAML already resolves.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
