"""RViz display classes and properties: what each display shows and how its settings read.

A display class is written ``package/Name``: RViz 2's ``rviz_default_plugins/PointCloud2`` and the ROS 1
form ``rviz/PointCloud2`` that RViz 2 still loads name the same display. :data:`DISPLAYS` maps each
display we can show to where it goes (the 3D scene, an image view, a plot, the TF frames, the grid) and
the ROS type of its topic; anything else is reported unsupported by :mod:`rviz_compat.rviz_import`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, Final

from rerun_bridge.blueprint.model import Color
from rerun_bridge.convert.occupancy import DEFAULT_ALPHA

#: Packages whose display classes we know (``rviz`` is the ROS 1 spelling RViz 2 still accepts).
RVIZ_PACKAGES: Final = frozenset({"rviz_default_plugins", "rviz_common", "rviz"})
#: Group displays only hold other displays.
GROUP_CLASS: Final = "Group"
#: Panels with a counterpart in our viewer (display tree -> entity tree, selection, time panel, views).
STANDARD_PANELS: Final = frozenset({"Displays", "Selection", "Tool Properties", "Views", "Time"})
#: Tools the viewer's mouse controls replace.
CAMERA_TOOLS: Final = frozenset({"MoveCamera", "Select", "FocusCamera"})
#: RViz view controllers -> our eye kinds (``spatial3d`` ``eye`` setting).
VIEW_CONTROLLERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Orbit": "orbital",
        "XYOrbit": "orbital",
        "ThirdPersonFollower": "orbital",
        "FPS": "first_person",
        "TopDownOrtho": "top_down",
    }
)


class Target(Enum):
    """Where a display's data goes in the imported blueprint."""

    SCENE = "3d"  # entities in the 3D view
    IMAGE = "image"  # a 2D view of its own
    CAMERA = "camera"  # a 2D view, and the camera_info frustum in the 3D view
    PLOT = "plot"  # a time-series view of its own (our converters turn these messages into scalars)
    FRAMES = "frames"  # the TF entities in the 3D view
    ROBOT = "robot"  # the robot model (its description topic) and the TF frames it rides on
    GRID = "grid"  # the 3D view's grid


@dataclass(frozen=True, slots=True)
class DisplaySpec:
    """How one RViz display class maps: its target, topic type, topic keys and styled archetype."""

    target: Target
    ros_type: str = ""
    #: Property names that hold the topic, first found wins (ROS 1 configs say ``Image Topic``, ...).
    topic_keys: tuple[str, ...] = ("Topic",)
    #: The archetype our converter draws the display's data with, which ``Color`` / ``Size`` style.
    archetype: str | None = None
    #: What is lost in the mapping, said in the import's notes.
    caveat: str = ""
    #: A 3D display whose converter also plots its values: a time-series view besides the 3D entity.
    plot_too: bool = False
    #: A property naming a topic namespace (RViz 2's interactive markers): the topic is ``<value>/update``.
    namespace_key: str = ""
    #: The entity below the topic's that the display's plot shows (JointState's efforts: ``effort``; the
    #: topic's own when empty, every plot under it).
    plotted: str = ""
    #: The entity below the topic's that ``archetype`` is drawn on, which the style goes to (a Range's cone:
    #: ``cone``; the topic's own when empty).
    styled: str = ""


_IMAGE_KEYS: Final = ("Topic", "Image Topic")
_MARKER_KEYS: Final = ("Topic", "Marker Topic")

DISPLAYS: Final[Mapping[str, DisplaySpec]] = MappingProxyType(
    {
        "PointCloud2": DisplaySpec(Target.SCENE, "sensor_msgs/msg/PointCloud2", archetype="Points3D"),
        "PointCloud": DisplaySpec(Target.SCENE, "sensor_msgs/msg/PointCloud", archetype="Points3D"),
        "LaserScan": DisplaySpec(Target.SCENE, "sensor_msgs/msg/LaserScan", archetype="Points3D"),
        "Image": DisplaySpec(Target.IMAGE, "sensor_msgs/msg/Image", _IMAGE_KEYS),
        "Camera": DisplaySpec(Target.CAMERA, "sensor_msgs/msg/Image", _IMAGE_KEYS),
        "TF": DisplaySpec(Target.FRAMES),
        "Axes": DisplaySpec(Target.FRAMES, caveat="frame axes are drawn for every TF frame"),
        "RobotModel": DisplaySpec(Target.ROBOT, "std_msgs/msg/String", ("Description Topic",)),
        "Marker": DisplaySpec(Target.SCENE, "visualization_msgs/msg/Marker", _MARKER_KEYS),
        "MarkerArray": DisplaySpec(Target.SCENE, "visualization_msgs/msg/MarkerArray", _MARKER_KEYS),
        "InteractiveMarkers": DisplaySpec(
            Target.SCENE,
            "visualization_msgs/msg/InteractiveMarkerUpdate",
            ("Update Topic",),  # ROS 1 configs name the update topic itself
            namespace_key="Interactive Markers Namespace",
            caveat="its markers are drawn; the controls are not interactive",
        ),
        "Map": DisplaySpec(Target.SCENE, "nav_msgs/msg/OccupancyGrid"),
        "Path": DisplaySpec(Target.SCENE, "nav_msgs/msg/Path", archetype="LineStrips3D"),
        "Pose": DisplaySpec(Target.SCENE, "geometry_msgs/msg/PoseStamped"),
        "PoseArray": DisplaySpec(Target.SCENE, "geometry_msgs/msg/PoseArray"),
        "PoseWithCovariance": DisplaySpec(Target.SCENE, "geometry_msgs/msg/PoseWithCovarianceStamped"),
        "Odometry": DisplaySpec(Target.SCENE, "nav_msgs/msg/Odometry"),
        "GridCells": DisplaySpec(Target.SCENE, "nav_msgs/msg/GridCells", archetype="Boxes3D"),
        "Grid": DisplaySpec(Target.GRID),
        "Polygon": DisplaySpec(Target.SCENE, "geometry_msgs/msg/PolygonStamped", archetype="LineStrips3D"),
        "PointStamped": DisplaySpec(Target.SCENE, "geometry_msgs/msg/PointStamped", archetype="Points3D"),
        "Range": DisplaySpec(
            Target.SCENE, "sensor_msgs/msg/Range", archetype="LineStrips3D", plot_too=True, styled="cone"
        ),
        "WrenchStamped": DisplaySpec(Target.SCENE, "geometry_msgs/msg/WrenchStamped", plot_too=True),
        "TwistStamped": DisplaySpec(Target.SCENE, "geometry_msgs/msg/TwistStamped", plot_too=True),
        "Effort": DisplaySpec(
            Target.PLOT,
            "sensor_msgs/msg/JointState",
            caveat="efforts are plotted per joint, not drawn at them",
            plotted="effort",
        ),
        "Temperature": DisplaySpec(Target.PLOT, "sensor_msgs/msg/Temperature"),
        "FluidPressure": DisplaySpec(Target.PLOT, "sensor_msgs/msg/FluidPressure"),
        "Illuminance": DisplaySpec(Target.PLOT, "sensor_msgs/msg/Illuminance"),
        "RelativeHumidity": DisplaySpec(Target.PLOT, "sensor_msgs/msg/RelativeHumidity"),
    }
)


def split_class(class_name: str) -> tuple[str, str]:
    """``rviz_default_plugins/PointCloud2`` -> (``rviz_default_plugins``, ``PointCloud2``)."""
    package, _, name = class_name.rpartition("/")
    return package, name


def display_spec(class_name: str) -> DisplaySpec | None:
    """The mapping of a display class, or None when we cannot show it (another package, unknown name)."""
    package, name = split_class(class_name)
    return DISPLAYS.get(name) if package in RVIZ_PACKAGES else None


def is_group(class_name: str) -> bool:
    package, name = split_class(class_name)
    return package in RVIZ_PACKAGES and name == GROUP_CLASS


# --- property values ---------------------------------------------------------------------------------------


def property_value(value: object) -> object:
    """RViz writes a property with sub-properties as a mapping whose ``Value`` is the property's own."""
    if isinstance(value, Mapping):
        return value.get("Value")
    return value


def topic_property(display: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str, Mapping[str, Any]]:
    """(topic as written, its QoS sub-properties) from the first of ``keys`` present; ("", {}) if none."""
    for key in keys:
        if key in display:
            raw = display[key]
            value = property_value(raw)
            qos = raw if isinstance(raw, Mapping) else {}
            return ("" if value is None else str(value)).strip(), qos
    return "", {}


def absolute_topic(topic: str) -> str:
    """RViz resolves relative topics in its node's namespace, the root: ``scan`` -> ``/scan``."""
    return topic if topic.startswith("/") else "/" + topic


def parse_color(value: object, alpha: object = 1.0) -> Color | None:
    """RViz's ``"255; 0; 0"`` (and an ``Alpha`` property in 0-1) -> a Color; None if unreadable."""
    if not isinstance(value, str):
        return None
    parts = [part.strip() for part in value.split(";")]
    if len(parts) != 3 or not all(part.isdigit() and int(part) <= 255 for part in parts):
        return None
    opacity = number(alpha)
    a = 255 if opacity is None else round(min(max(opacity, 0.0), 1.0) * 255)
    return Color(int(parts[0]), int(parts[1]), int(parts[2]), a)


def number(value: object) -> float | None:
    """A finite number (RViz writes some as strings) to 6 significant digits, since RViz stores float32
    values (``0.029999999329447746``); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(f"{value:.6g}")
    return None


def is_enabled(display: Mapping[str, Any]) -> bool:
    """``Enabled`` (RViz 2 and 1), defaulting to true as RViz does."""
    enabled = display.get("Enabled", True)
    return enabled is not False and str(enabled).lower() != "false"


def transient_local(qos: Mapping[str, Any]) -> bool:
    """Whether a topic's QoS sub-properties ask for transient-local durability (latched topics: maps)."""
    return str(qos.get("Durability Policy", "")).strip().lower().replace(" ", "_") == "transient_local"


def point_radius(display: Mapping[str, Any]) -> float | None:
    """The point radius of a cloud or scan display: ``Size (Pixels)`` for the ``Points`` style (negative:
    UI points, Rerun's convention), else ``Size (m)``; halved, since RViz sizes are diameters."""
    if str(display.get("Style", "")) == "Points":
        pixels = number(display.get("Size (Pixels)"))
        return -pixels / 2 if pixels else None
    metres = number(display.get("Size (m)"))
    return metres / 2 if metres else None


def line_radius(display: Mapping[str, Any]) -> float | None:
    """A path's line radius: ``Line Width`` / 2 for the ``Billboards`` style (``Lines`` are one pixel)."""
    if str(display.get("Line Style", "")) != "Billboards":
        return None
    width = number(display.get("Line Width"))
    return width / 2 if width else None


#: RViz Map display colour schemes the bridge's map converter has as palettes.
MAP_PALETTES: Final = ("map", "costmap", "raw")


def converter_options(display: Mapping[str, Any]) -> dict[str, Any]:
    """The converter options a display's properties carry: the Intensity colormap; a Map's palette, its
    alpha (below 1, or 1 where the palette's default is not: a costmap's is 0.3) and its binary threshold
    (when "Binary representation" is on)."""
    if display.get("Color Transformer") == "Intensity":
        return {"colormap": colormap_option(display)}
    scheme = display.get("Color Scheme")
    if not (isinstance(scheme, str) and scheme in MAP_PALETTES):
        return {}
    options: dict[str, Any] = {"palette": scheme}
    alpha = number(display.get("Alpha"))
    if alpha is not None and 0 <= alpha <= 1 and (alpha < 1 or DEFAULT_ALPHA.get(scheme, 1.0) < 1):
        options["alpha"] = alpha
    threshold = number(display.get("Binary threshold"))
    if display.get("Binary representation") is True and threshold is not None:
        options["binary_threshold"] = int(min(max(threshold, 0), 100))
    return options


def lost_properties(display: Mapping[str, Any], name: str) -> list[str]:
    """What a display of class ``name`` sets that the import does not carry, each said in a note (the
    import's notes say what a mapping loses)."""
    lost: list[str] = []
    decay = number(display.get("Decay Time"))
    if decay:
        lost.append(
            f"Decay Time {decay:g} s is not carried: the latest message is drawn (`rerun-bridge view "
            "--history SECONDS` keeps older ones)"
        )
    if display.get("Color Transformer") == "Intensity":
        channel = str(property_value(display.get("Channel Name")) or "intensity")
        if channel != "intensity":
            lost.append(
                f"the Intensity channel {channel!r} is not carried: points are coloured by 'intensity'"
            )
        if display.get("Invert Rainbow") is True:
            lost.append("Invert Rainbow is not carried: the colormap runs low to high")
        if display.get("Autocompute Intensity Bounds") is False:
            lost.append(
                "fixed intensity bounds (Min / Max Intensity) are not carried: each message's own range"
            )
    if name == "TF":
        frames = display.get("Frames")
        hidden = [
            str(frame)
            for frame, value in (frames.items() if isinstance(frames, Mapping) else ())
            if isinstance(value, Mapping) and value.get("Value") is False
        ]
        if hidden:
            lost.append(f"frames turned off ({', '.join(hidden)}) are drawn: the viewer draws every TF frame")
    if name in ("Pose", "Odometry") and display.get("Shape") == "Axes":
        lost.append("the Axes shape is not carried: poses are drawn as arrows")
    if name == "TwistStamped" and ("Linear Color" in display or "Angular Color" in display):
        lost.append("Linear / Angular Color are not carried: the arrows keep the converter's colours")
    return lost


def hidden_namespaces(display: Mapping[str, Any]) -> list[str]:
    """A Marker display's namespaces turned off (``Namespaces: {debug: false}``): hidden, as in RViz."""
    namespaces = display.get("Namespaces")
    if not isinstance(namespaces, Mapping):
        return []
    return [str(ns) for ns, shown in namespaces.items() if property_value(shown) is False]


def colormap_option(display: Mapping[str, Any]) -> str:
    """The bridge's ``colormap`` option for RViz's Intensity transformer: rainbow -> turbo, else gray."""
    return "turbo" if display.get("Use rainbow", True) is not False else "gray"
