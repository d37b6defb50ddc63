"""The blueprint: a plain, serializable tree of frozen dataclasses.

A :class:`Blueprint` lays out views in nested containers. A :class:`Container` is ``horizontal``,
``vertical``, ``tabs`` or ``grid``; a :class:`View` shows the entities its ``contents`` select (Rerun's
query syntax, ``+ /points/**``, ``- /tf_static``), relative to its ``origin``, with settings typed per
view kind. Nothing here draws or imports Qt or Rerun: :mod:`~rerun_bridge.blueprint.loader` reads and
writes YAML, :mod:`~rerun_bridge.blueprint.export` writes Rerun's ``.rbl`` and the viewer builds widgets.

Entity paths are stored in their canonical string form (:func:`rerun_bridge.model.entity_path.normalize`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Final, NamedTuple

from rerun_bridge.errors import ConfigError, EntityPathError
from rerun_bridge.model.entity_path import EntityPath

#: The placeholder of a content rule for the view's origin (Rerun's ``$origin``).
ORIGIN: Final = "$origin"
#: A content rule that starts ``$<role>`` names a role (``$odometry/**``), see :mod:`blueprint.roles`.
ROLE_PREFIX: Final = "$"
#: The roles a content rule may name (their meaning: rerun_bridge.blueprint.roles).
ROLE_NAMES: Final = ("odometry", "cmd_vel", "scan", "map", "gps")
#: Archetypes whose colour and radius (of points, lines, arrows or box edges) an :class:`EntityStyle` sets.
STYLEABLE_ARCHETYPES: Final = (
    "Points3D",
    "Points2D",
    "LineStrips3D",
    "LineStrips2D",
    "Arrows3D",
    "Arrows2D",
    "Boxes3D",
    "Boxes2D",
)


class ContainerKind(Enum):
    HORIZONTAL = "horizontal"
    VERTICAL = "vertical"
    TABS = "tabs"
    GRID = "grid"


class ViewKind(Enum):
    SPATIAL3D = "spatial3d"
    SPATIAL2D = "spatial2d"
    TIME_SERIES = "time_series"
    TEXT_LOG = "text_log"
    TENSOR = "tensor"
    BAR_CHART = "bar_chart"
    #: Geographic positions (``GeoPoints``, e.g. GPS fixes) on a map: Rerun's map view.
    MAP = "map"


class Colormap(Enum):
    """Rerun's colormaps (``rr.components.Colormap``), by their snake_case names."""

    GRAYSCALE = "grayscale"
    INFERNO = "inferno"
    MAGMA = "magma"
    PLASMA = "plasma"
    TURBO = "turbo"
    VIRIDIS = "viridis"
    CYAN_TO_YELLOW = "cyan_to_yellow"
    SPECTRAL = "spectral"
    TWILIGHT = "twilight"
    RVIZ_MAP = "rviz_map"
    RVIZ_COSTMAP = "rviz_costmap"


class LogLevel(Enum):
    """Rerun's text log levels; :mod:`rerun_bridge.convert.rcl_interfaces` maps ROS severities onto them."""

    CRITICAL = "CRITICAL"
    ERROR = "ERROR"
    WARN = "WARN"
    INFO = "INFO"
    DEBUG = "DEBUG"
    TRACE = "TRACE"


class EyeKind(Enum):
    """How the 3D camera moves: around a target, from the eye, or looking down (RViz's TopDownOrtho)."""

    ORBITAL = "orbital"
    FIRST_PERSON = "first_person"
    TOP_DOWN = "top_down"


def is_above(position: tuple[float, float, float], target: tuple[float, float, float]) -> bool:
    """Whether ``position`` is straight above ``target`` (a camera there looks straight down)."""
    across = ((position[0] - target[0]) ** 2 + (position[1] - target[1]) ** 2) ** 0.5
    return position[2] > target[2] and across <= 1e-6 * (position[2] - target[2])


class Color(NamedTuple):
    """An sRGB colour with alpha, 0-255 each; written ``#rrggbb`` (opaque) or ``#rrggbbaa``."""

    r: int
    g: int
    b: int
    a: int = 255

    @classmethod
    def from_hex(cls, text: str) -> Color:
        """``#rrggbb`` or ``#rrggbbaa``; raises ValueError otherwise."""
        digits = text[1:] if text.startswith("#") else ""
        if len(digits) not in (6, 8) or any(char not in "0123456789abcdefABCDEF" for char in digits):
            raise ValueError(f"expected a colour '#rrggbb' or '#rrggbbaa', got {text!r}")
        values = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
        return cls(*values)

    def to_hex(self) -> str:
        text = f"#{self.r:02x}{self.g:02x}{self.b:02x}"
        return text if self.a == 255 else f"{text}{self.a:02x}"


@dataclass(frozen=True, slots=True)
class ContentRule:
    """One line of a view's contents in Rerun's query syntax: ``+ /scan``, ``- /tf_static/**``.

    ``path`` is a canonical entity path, or ``$origin`` or a role (``$odometry``, resolved against the
    recording by :mod:`rerun_bridge.blueprint.roles`) optionally followed by one (``$origin/left``).
    """

    path: str
    include: bool = True
    recursive: bool = False

    @classmethod
    def parse(cls, text: str) -> ContentRule:
        """``[+|-] path[/**]``; a missing sign means ``+``. Raises ConfigError naming what is wrong."""
        body = text.strip()
        include = not body.startswith("-")
        if body.startswith(("+", "-")):
            body = body[1:].strip()
        recursive = body in ("**", "/**") or body.endswith("/**")
        if recursive:
            body = body[: -len("/**")] or "/"
        if body.startswith(ORIGIN):
            rest = body[len(ORIGIN) :]
            if rest and not rest.startswith("/"):
                raise ConfigError(f"bad content rule {text!r}: '{ORIGIN}' must be followed by '/' or nothing")
            return cls(ORIGIN + (_canonical(rest, text) if rest else ""), include, recursive)
        if body.startswith(ROLE_PREFIX):
            role, slash, rest = body[len(ROLE_PREFIX) :].partition("/")
            if role not in ROLE_NAMES:
                known = ", ".join(f"${name}" for name in (ORIGIN[1:], *ROLE_NAMES))
                raise ConfigError(f"bad content rule {text!r}: unknown role '${role}' (known: {known})")
            tail = _canonical(slash + rest, text) if rest else ""
            return cls(ROLE_PREFIX + role + tail, include, recursive)
        if not body.startswith("/"):
            raise ConfigError(f"bad content rule {text!r}: expected '[+|-] /path[/**]' or '$origin[/...]'")
        if "*" in body.replace("\\*", ""):
            raise ConfigError(f"bad content rule {text!r}: '*' is only allowed as a trailing '/**'")
        return cls(_canonical(body, text), include, recursive)

    @property
    def pattern(self) -> str:
        """The path with ``/**`` where the rule takes the subtree: ``/scan/**``, ``/**``."""
        if not self.recursive:
            return self.path
        return "/**" if self.path == "/" else f"{self.path}/**"

    def __str__(self) -> str:
        return f"{'+' if self.include else '-'} {self.pattern}"

    def resolved(self, origin: str) -> ContentRule:
        """The rule with ``$origin`` replaced by ``origin`` (a canonical entity path)."""
        if not self.path.startswith(ORIGIN):
            return self
        rest = self.path[len(ORIGIN) :]
        path = str(EntityPath.parse(origin).join(*EntityPath.parse(rest).parts)) if rest else origin
        return ContentRule(path, self.include, self.recursive)

    def matches(self, entity_path: str) -> bool:
        """Whether this rule (already resolved) applies to ``entity_path``."""
        rule, entity = EntityPath.parse(self.path), EntityPath.parse(entity_path)
        return entity == rule or (self.recursive and entity.is_descendant_of(rule))

    @property
    def specificity(self) -> tuple[int, int]:
        """Rerun's order: deeper paths are more specific, and an exact path beats a subtree of it."""
        return len(EntityPath.parse(self.path).parts), 0 if self.recursive else 1


def _canonical(text: str, rule: str) -> str:
    try:
        return str(EntityPath.parse(text))
    except EntityPathError as err:
        raise ConfigError(f"bad content rule {rule!r}: {err}") from err


#: Rerun's default contents: everything under the origin.
DEFAULT_CONTENTS: Final = (ContentRule(ORIGIN, recursive=True),)


@dataclass(frozen=True, slots=True)
class EntityStyle:
    """How one entity is drawn in one view (RViz display properties land here).

    ``radius`` follows Rerun: positive in scene units (metres), negative in UI points. ``archetype`` names
    the visualizer that ``color`` and ``radius`` apply to (one of :data:`STYLEABLE_ARCHETYPES`); the Rerun
    export needs it, and without it they are left to the viewer.
    """

    visible: bool = True
    color: Color | None = None
    radius: float | None = None
    archetype: str | None = None


@dataclass(frozen=True, slots=True)
class Spatial3DSettings:
    #: The frame everything is drawn in (RViz's Fixed Frame); empty: the viewer's choice.
    fixed_frame: str = ""
    grid: bool = True
    #: Default radius of points: positive in metres, negative in UI points; None: the viewer's default.
    point_radius: float | None = None
    background: Color | None = None
    eye: EyeKind | None = None
    #: Where the camera starts, in the fixed frame (metres); None: the viewer frames the data.
    eye_position: tuple[float, float, float] | None = None
    #: The point the camera starts looking at (fixed frame, metres); None: the fixed frame's origin.
    look_target: tuple[float, float, float] | None = None
    #: The direction shown up on screen; None: +z (+y looking straight down). The embedded viewer's
    #: camera keeps +z up, so it takes this only looking straight down (RViz's TopDownOrtho angle).
    eye_up: tuple[float, float, float] | None = None
    #: The frame the camera follows (RViz's Target Frame); empty: ``base_link`` when the tree has it.
    follow_frame: str = ""
    #: Whether the camera follows ``follow_frame`` from the start (the view's toggle changes it).
    follow: bool = False
    #: TF frames whose names are always drawn (RViz's per-frame "show names"), besides the fixed and
    #: followed frames.
    frame_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Spatial2DSettings:
    #: Depth values mapped onto the colormap, in metres (None: the data's own range).
    depth_range: tuple[float, float] | None = None
    colormap: Colormap | None = None
    background: Color | None = None


@dataclass(frozen=True, slots=True)
class TimeSeriesSettings:
    #: Seconds of history shown before the time cursor (None: the whole recording).
    visible_range_s: float | None = None
    legend: bool = True


@dataclass(frozen=True, slots=True)
class TextLogSettings:
    #: Levels shown; empty: all.
    levels: tuple[LogLevel, ...] = ()


@dataclass(frozen=True, slots=True)
class TensorSettings:
    colormap: Colormap | None = None


@dataclass(frozen=True, slots=True)
class BarChartSettings:
    legend: bool = True


@dataclass(frozen=True, slots=True)
class MapSettings:
    #: Web-map zoom level (0: the whole world, about 18: a street); None: fit the data.
    zoom: float | None = None


ViewSettings = (
    Spatial3DSettings
    | Spatial2DSettings
    | TimeSeriesSettings
    | TextLogSettings
    | TensorSettings
    | BarChartSettings
    | MapSettings
)

#: The settings class of each view kind.
SETTINGS_TYPES: Final[Mapping[ViewKind, type[ViewSettings]]] = MappingProxyType(
    {
        ViewKind.SPATIAL3D: Spatial3DSettings,
        ViewKind.SPATIAL2D: Spatial2DSettings,
        ViewKind.TIME_SERIES: TimeSeriesSettings,
        ViewKind.TEXT_LOG: TextLogSettings,
        ViewKind.TENSOR: TensorSettings,
        ViewKind.BAR_CHART: BarChartSettings,
        ViewKind.MAP: MapSettings,
    }
)


def _no_styles() -> Mapping[str, EntityStyle]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class View:
    """One view. ``settings=None`` gives the kind's defaults; settings of another kind are an error."""

    kind: ViewKind
    name: str = ""
    origin: str = "/"
    contents: tuple[ContentRule, ...] = DEFAULT_CONTENTS
    settings: ViewSettings | None = None
    #: Per-entity styles, keyed by canonical entity path.
    styles: Mapping[str, EntityStyle] = field(default_factory=_no_styles)
    visible: bool = True

    def __post_init__(self) -> None:
        expected = SETTINGS_TYPES[self.kind]
        if self.settings is None:
            object.__setattr__(self, "settings", expected())
        elif not isinstance(self.settings, expected):
            raise ConfigError(
                f"view {self.name!r}: {type(self.settings).__name__} given to a {self.kind.value} view"
            )

    @property
    def resolved_contents(self) -> tuple[ContentRule, ...]:
        """The contents with ``$origin`` replaced by the origin."""
        return tuple(rule.resolved(self.origin) for rule in self.contents)

    def includes(self, entity_path: str) -> bool:
        """Rerun's rule: the most specific matching rule wins, the last of equally specific ones; no match
        excludes."""
        best: ContentRule | None = None
        for rule in self.resolved_contents:
            if rule.matches(entity_path) and (best is None or rule.specificity >= best.specificity):
                best = rule
        return best is not None and best.include


@dataclass(frozen=True, slots=True)
class Container:
    """Children laid out side by side, stacked, in tabs or in a grid.

    ``shares`` are the relative sizes of the children along the container's axis (horizontal: widths,
    vertical: heights; one per child or none). A grid has ``column_shares`` / ``row_shares`` instead and
    ``grid_columns`` (None: Rerun picks).
    """

    kind: ContainerKind
    children: tuple[Node, ...] = ()
    name: str = ""
    shares: tuple[float, ...] = ()
    column_shares: tuple[float, ...] = ()
    row_shares: tuple[float, ...] = ()
    grid_columns: int | None = None
    visible: bool = True


Node = Container | View


@dataclass(frozen=True, slots=True)
class Blueprint:
    """A named layout. ``timeline`` is the one the time panel starts on (empty: the viewer's choice);
    ``auto_views`` lets the viewer add views for data no view shows."""

    name: str
    root: Node
    description: str = ""
    timeline: str = ""
    auto_views: bool = False

    def views(self) -> Iterator[View]:
        """Every view, depth first, in layout order."""
        return iter_views(self.root)


def shown_paths(origin: str, includes: Sequence[str], most: int = 2) -> str:
    """A view's included paths with its origin put in (``/camera/image_raw/**``), the first ``most``: how
    the viewer and ``convert --blueprint`` name a view nothing in the data matches (one said ``Log (/)``,
    the other ``Log (/rosout)``: found by an audit)."""
    paths = [pattern.replace(ORIGIN, origin.rstrip("/")) for pattern in includes]
    return ", ".join(paths[:most]) + (", ..." if len(paths) > most else "")


def iter_views(node: Node) -> Iterator[View]:
    if isinstance(node, View):
        yield node
        return
    for child in node.children:
        yield from iter_views(child)
