"""RViz 2 configs (``.rviz``) -> a blueprint plus the bridge topics it needs.

:func:`import_rviz` reads ``Visualization Manager``: its displays (recursing into groups), ``Global
Options`` (Fixed Frame, Background Color) and the current view controller. Displays we can show become
contents of one 3D view (RViz's render panel), one 2D view per Image / Camera display and one time-series
view per scalar display, laid out like the default blueprint. Nothing is dropped silently: every display,
panel or tool without a counterpart is listed in :attr:`RvizImport.unsupported`, and what a mapping loses
in :attr:`RvizImport.notes`.

Disabled displays (``Enabled: false``, or inside a disabled group) are imported hidden: their topics are
bridged and their entities are in the views, but a hidden entity style (3D) or a hidden view (images,
plots) keeps them out of sight until the user turns them on, as in RViz. They are also listed in
:attr:`RvizImport.disabled`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml

from rerun_bridge.blueprint.heuristic import arrange
from rerun_bridge.blueprint.loader import dump_blueprint, parse_yaml
from rerun_bridge.blueprint.model import (
    Blueprint,
    Color,
    ContentRule,
    EntityStyle,
    EyeKind,
    Spatial2DSettings,
    Spatial3DSettings,
    View,
    ViewKind,
)
from rerun_bridge.config import BridgeConfig, topic_name_problem
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.convert.common import sub_path
from rerun_bridge.convert.map_msgs import UPDATES_SUFFIX
from rerun_bridge.convert.marker_entities import namespace_path
from rerun_bridge.errors import ConfigError
from rerun_bridge.model.yaml_limits import YamlLimitError, read_bounded
from rviz_compat.displays import (
    CAMERA_TOOLS,
    RVIZ_PACKAGES,
    STANDARD_PANELS,
    VIEW_CONTROLLERS,
    DisplaySpec,
    Target,
    absolute_topic,
    converter_options,
    display_spec,
    hidden_namespaces,
    is_enabled,
    is_group,
    line_radius,
    lost_properties,
    number,
    parse_color,
    point_radius,
    property_value,
    split_class,
    topic_property,
    transient_local,
)

TF_TOPICS: Final = (("/tf", False), ("/tf_static", True))  # (topic, latched)
TF_TYPE: Final = "tf2_msgs/msg/TFMessage"
CAMERA_INFO_TYPE: Final = "sensor_msgs/msg/CameraInfo"
COMPRESSED_IMAGE_TYPE: Final = "sensor_msgs/msg/CompressedImage"
MAP_TYPE: Final = "nav_msgs/msg/OccupancyGrid"
ODOMETRY_TYPE: Final = "nav_msgs/msg/Odometry"
PATH_TYPE: Final = "nav_msgs/msg/Path"
#: The pose displays' ROS types and the entity below their topic that holds their arrows.
POSE_ARROWS: Final = MappingProxyType(
    {
        "geometry_msgs/msg/PoseStamped": "arrow",
        "geometry_msgs/msg/PoseWithCovarianceStamped": "arrow",
        ODOMETRY_TYPE: "arrow",
        "geometry_msgs/msg/PoseArray": "arrows",
    }
)
UPDATE_TYPE: Final = "map_msgs/msg/OccupancyGridUpdate"
COMPRESSED_TRANSPORTS: Final = ("compressed", "compressedDepth")


@dataclass(frozen=True, slots=True)
class RvizImport:
    """What an RViz config becomes.

    ``bridge_topics`` is ready for the bridge config's ``topics:`` section (type, QoS, converter options).
    ``mapped``, ``unsupported`` and ``disabled`` say what happened to each display (``'Name' (Class)``).
    """

    blueprint: Blueprint
    bridge_topics: dict[str, dict[str, Any]]
    unsupported: list[str]
    fixed_frame: str
    mapped: list[str]
    disabled: list[str]
    notes: list[str]
    #: A RobotModel display's URDF file (``Description Source: File``), for the bridge config's
    #: ``robot_model.urdf_file`` ("": none).
    urdf_file: str = ""

    def bridge_config(self) -> dict[str, Any]:
        """The bridge config the displays need: their topics, and the robot model's file where one is read."""
        config: dict[str, Any] = {"topics": self.bridge_topics}
        if self.urdf_file:
            config["robot_model"] = {"urdf_file": self.urdf_file}
        return config


def import_rviz(path: str | Path, bridge_config: BridgeConfig | None = None) -> RvizImport:
    """Read an ``.rviz`` file. ``bridge_config`` decides topic -> entity path (default: the topic name).
    Raises :class:`~rerun_bridge.errors.ConfigError` naming the file when it is not an RViz config."""
    source = str(path)
    try:
        text = read_bounded(path)
    except (OSError, UnicodeDecodeError, YamlLimitError) as err:
        raise ConfigError(f"{source}: cannot read the RViz config: {err}") from err
    data = parse_yaml(text, source)
    if not isinstance(data, Mapping) or not isinstance(data.get("Visualization Manager"), Mapping):
        raise ConfigError(f"{source}: not an RViz config (no 'Visualization Manager' section)")
    importer = _Importer(bridge_config or BridgeConfig.default())
    return importer.run(data, Path(path).stem, Path(path).name)


def main_from_rviz(
    rviz_path: str | Path, out_yaml: str | Path, bridge_config_out: str | Path | None = None
) -> RvizImport:
    """Import ``rviz_path`` and write the blueprint YAML to ``out_yaml``, with a header comment listing the
    unsupported and disabled displays, the notes and the bridge topics to add; with ``bridge_config_out``,
    also write those topics as a bridge config file."""
    result = import_rviz(rviz_path)
    # Both outputs checked before either is written: a missing folder was a traceback, after the first.
    for out in (out_yaml, bridge_config_out):
        if out is not None and not Path(out).parent.is_dir():
            raise ConfigError(f"{out}: cannot write it: the folder {Path(out).parent} does not exist")
    dump_blueprint(result.blueprint, out_yaml, header=report(result, Path(rviz_path).name))
    if bridge_config_out is not None:
        header = (
            f"Bridge topics for the displays of {Path(rviz_path).name} (rerun-bridge blueprint from-rviz).\n"
        )
        comment = "".join(f"# {line}\n" for line in header.splitlines())
        body = yaml.safe_dump(result.bridge_config(), sort_keys=False, width=110)
        Path(bridge_config_out).write_text(comment + body, encoding="utf-8")
    return result


def report(result: RvizImport, source_name: str) -> str:
    """A human-readable account of an import (the header of the written blueprint)."""
    lines = [f"Imported from the RViz config {source_name} by rviz_compat.", ""]
    lines.append(f"Fixed frame: {result.fixed_frame or '(none)'}")
    for title, items in (
        ("Unsupported, not imported", result.unsupported),
        ("Disabled in RViz, imported hidden", result.disabled),
        ("Notes", result.notes),
    ):
        if items:
            lines += ["", f"{title}:", *(f"  - {item}" for item in items)]
    if result.bridge_topics or result.urdf_file:
        snippet = yaml.safe_dump(result.bridge_config(), sort_keys=False, width=100)
        lines += [
            "",
            "To add to the bridge config (--bridge-config writes it):",
            *(f"  {row}" for row in snippet.splitlines()),
        ]
    return "\n".join(lines)


class _Importer:
    """Collects views, contents, styles and bridge topics while walking the displays."""

    def __init__(self, bridge_config: BridgeConfig) -> None:
        self.bridge_config = bridge_config
        self.scene_rules: list[ContentRule] = []
        self.styles: dict[str, EntityStyle] = {}
        self.entity_shown: dict[str, bool] = {}
        self.images: list[View] = []
        self.plots: list[View] = []
        self.grid = False
        self.frame_names: list[str] = []
        self.bridge_topics: dict[str, dict[str, Any]] = {}
        self.urdf_file = ""
        #: Entities below a display's (a Marker display's namespaces turned off) hidden in the scene.
        self.hidden_below: list[str] = []
        self.unsupported: list[str] = []
        self.mapped: list[str] = []
        self.disabled: list[str] = []
        self.notes: list[str] = []

    def run(self, data: Mapping[str, Any], name: str, source_name: str) -> RvizImport:
        manager: Mapping[str, Any] = data["Visualization Manager"]
        self.walk(manager.get("Displays"), enabled=True, where="Displays")
        self.panels(data.get("Panels"))
        self.tools(manager.get("Tools"))
        options = manager.get("Global Options")
        options = options if isinstance(options, Mapping) else {}
        fixed_frame = str(options.get("Fixed Frame") or "").strip().lstrip("/")
        if not fixed_frame:
            self.notes.append("no Fixed Frame: the 3D view uses the viewer's choice")
        background = parse_color(options.get("Background Color"))
        target = self.target_frame(manager)
        scene = View(
            ViewKind.SPATIAL3D,
            name="3D",
            origin="/",
            contents=tuple(dict.fromkeys(self.scene_rules)),
            settings=Spatial3DSettings(
                fixed_frame=fixed_frame,
                grid=self.grid,
                background=background,
                **self.camera(manager, data.get("Window Geometry")),
                follow_frame=target,
                follow=bool(target),
                frame_names=tuple(self.frame_names),
            ),
            styles=MappingProxyType(self.scene_styles()),
        )
        root = arrange(scene, self.images, self.plots)
        blueprint = Blueprint(
            name=name,
            root=root if root is not None else scene,
            description=f"Imported from the RViz config {source_name}.",
        )
        return RvizImport(
            blueprint=blueprint,
            bridge_topics=self.bridge_topics,
            unsupported=self.unsupported,
            fixed_frame=fixed_frame,
            mapped=self.mapped,
            disabled=self.disabled,
            notes=list(dict.fromkeys(self.notes)),
            urdf_file=self.urdf_file,
        )

    # --- displays ---------------------------------------------------------------------------------------

    def walk(self, displays: object, enabled: bool, where: str) -> None:
        if displays is None:
            return
        if not isinstance(displays, Sequence) or isinstance(displays, str):
            self.unsupported.append(f"{where}: not a list of displays")
            return
        for index, display in enumerate(displays):
            if not isinstance(display, Mapping):
                self.unsupported.append(f"{where}[{index}]: not a display (a mapping)")
                continue
            class_name = str(display.get("Class") or "")
            if is_group(class_name):
                name = str(display.get("Name") or class_name)
                self.walk(display.get("Displays"), enabled and is_enabled(display), f"{where}/{name}")
            else:
                self.display(display, class_name, enabled and is_enabled(display))

    def display(self, display: Mapping[str, Any], class_name: str, enabled: bool) -> None:
        label = f"{str(display.get('Name') or '(unnamed)')!r} ({class_name or 'no Class'})"
        spec = display_spec(class_name)
        if spec is None:
            self.unsupported.append(f"display {label}")
            return
        if not enabled:
            self.disabled.append(label)
        if spec.caveat:
            self.notes.append(f"{label}: {spec.caveat}")
        self.notes.extend(f"{label}: {lost}" for lost in lost_properties(display, split_class(class_name)[1]))
        if spec.target is Target.GRID:
            self.grid = self.grid or enabled
            self.mapped.append(f"{label} -> 3D grid")
        elif spec.target is Target.FRAMES:
            self.tf_frames(label, enabled)
            if display.get("Show Names") is True:
                self.tf_names(display, label)
            self.mapped.append(f"{label} -> 3D TF frames")
        elif spec.target is Target.ROBOT:
            self.robot_model(display, spec, label, enabled)
        else:
            self.topic_display(display, spec, label, enabled)

    def tf_names(self, display: Mapping[str, Any], label: str) -> None:
        """RViz's "Show Names": the frames its ``Frames`` list enables get their names drawn
        (``frame_names``); all of them (``All Enabled``, or no list) cannot be said, which a note tells."""
        frames = display.get("Frames")
        frames = frames if isinstance(frames, Mapping) else {}
        listed = [
            str(name)
            for name, value in frames.items()
            if name != "All Enabled" and isinstance(value, Mapping) and value.get("Value") is True
        ]
        if listed and frames.get("All Enabled") is not True:
            self.frame_names += [name for name in listed if name not in self.frame_names]
            return
        self.notes.append(
            f"{label}: Show Names for every frame is not carried: names show for the fixed, followed and "
            "hovered frames (every frame of a tree of at most 8); list more in the 3D view's frame_names"
        )

    def tf_frames(self, label: str, enabled: bool) -> None:
        for topic, latched in TF_TOPICS:
            entity = self.topic(topic, TF_TYPE, label, latched=latched)
            self.show_in_scene(entity, enabled)

    def robot_model(self, display: Mapping[str, Any], spec: DisplaySpec, label: str, enabled: bool) -> None:
        """The robot description topic (latched, as robot_state_publisher offers it) drawn as the robot
        model on the TF frames it rides on; a description read from a file is the bridge's config."""
        self.tf_frames(label, enabled)
        source = str(property_value(display.get("Description Source")) or "Topic")
        if source.lower() == "file":
            path = str(property_value(display.get("Description File")) or "")
            self.urdf_file = path
            self.notes.append(
                f"{label}: the URDF file {path!r} is read from the bridge config's robot_model.urdf_file "
                "(in the config --bridge-config writes; or give it to view or convert with --urdf)"
            )
            self.mapped.append(f"{label} -> 3D robot model (robot_model.urdf_file) and TF frames")
            return
        written, _qos = topic_property(display, spec.topic_keys)
        entity = self.topic(
            absolute_topic(written or "robot_description"), spec.ros_type, label, latched=True
        )
        self.show_in_scene(entity, enabled)
        self.mapped.append(f"{label} -> 3D robot model {entity} and TF frames")

    def topic_display(self, display: Mapping[str, Any], spec: DisplaySpec, label: str, enabled: bool) -> None:
        written, qos = topic_property(display, spec.topic_keys)
        namespace, namespace_qos = topic_property(display, (spec.namespace_key,))
        if spec.namespace_key and namespace:
            written, qos = f"{namespace.rstrip('/')}/update", namespace_qos
        if not written:
            self.notes.append(f"{label}: no topic set, nothing to show")
            self.mapped.append(f"{label} -> (no topic)")
            return
        base_topic = absolute_topic(written)
        topic, ros_type = base_topic, spec.ros_type
        hint = str(property_value(display.get("Transport Hint")) or "raw")
        images = spec.target in (Target.IMAGE, Target.CAMERA)
        parent, _, last = base_topic.rpartition("/")
        if images and last in COMPRESSED_TRANSPORTS and parent:
            # RViz 2 names the transport in the topic (`/cam/image_raw/compressed`): a CompressedImage,
            # whose camera_info is beside the image, not the transport (audit).
            ros_type, base_topic = COMPRESSED_IMAGE_TYPE, parent
        elif images and hint in COMPRESSED_TRANSPORTS:
            topic, ros_type = f"{topic}/{hint}", COMPRESSED_IMAGE_TYPE
        options = converter_options(display)
        if display.get("Draw Behind") is True:
            self.notes.append(f"{label}: Draw Behind is not carried; the map is drawn in depth with the rest")
        entity = self.topic(topic, ros_type, label, latched=transient_local(qos), options=options)
        if entity is None:
            return
        if spec.ros_type == MAP_TYPE:
            self.map_updates(display, base_topic, label)
        if spec.target is Target.SCENE:
            self.scene_display(display, spec, entity, label, enabled)
        elif spec.target is Target.PLOT:
            plotted = sub_path(entity, spec.plotted) if spec.plotted else entity
            self.plots.append(
                View(ViewKind.TIME_SERIES, name=_name(display), origin=plotted, visible=enabled)
            )
            self.mapped.append(f"{label} -> time series {plotted}")
        else:
            contents = [ContentRule("$origin", recursive=True)]
            if spec.target is Target.CAMERA:
                info = self.topic(_camera_info_topic(base_topic), CAMERA_INFO_TYPE, label)
                if info is not None:
                    contents.append(ContentRule(info))
                    self.show_in_scene(info, enabled)
            settings = Spatial2DSettings(depth_range=_depth_range(display))
            view = View(
                ViewKind.SPATIAL2D,
                name=_name(display),
                origin=entity,
                contents=tuple(contents),
                settings=settings,
                visible=enabled,
            )
            self.images.append(view)
            self.mapped.append(f"{label} -> 2D {entity}")

    def scene_display(
        self, display: Mapping[str, Any], spec: DisplaySpec, entity: str, label: str, enabled: bool
    ) -> None:
        """A display drawn in the 3D view: its entity shown and styled, and plotted where it also plots."""
        self.show_in_scene(entity, enabled)
        for ns in hidden_namespaces(display):  # RViz's namespaces turned off: hidden, not left out
            self.hidden_below.append(namespace_path(entity, ns))
        self.style(display, spec, sub_path(entity, spec.styled) if spec.styled else entity, label)
        self.pose_style(display, spec, entity, label)
        self.mapped.append(f"{label} -> 3D {entity}")
        if spec.plot_too:
            self.plots.append(View(ViewKind.TIME_SERIES, name=_name(display), origin=entity, visible=enabled))
            self.mapped.append(f"{label} -> time series {entity}")

    def map_updates(self, display: Mapping[str, Any], map_topic: str, label: str) -> None:
        """The Map display's update topic (``OccupancyGridUpdate``: Nav2's costmaps send their changes
        there), which patches the map on the map's entity. The bridge pairs them by name, as RViz 2 does
        by default: the updates of ``/map`` are ``/map_updates``."""
        paired = map_topic + UPDATES_SUFFIX
        written, _qos = topic_property(display, ("Update Topic",))
        if written and absolute_topic(written) != paired:
            unused = absolute_topic(written)
            self.notes.append(
                f"{label}: update topic {unused} is not used: the bridge patches {map_topic} with {paired}"
            )
        self.topic(paired, UPDATE_TYPE, label)

    def topic(
        self,
        topic: str,
        ros_type: str,
        label: str,
        latched: bool = False,
        options: Mapping[str, Any] | None = None,
    ) -> str | None:
        """Register a bridge topic; its entity path, or None when the name is not a valid topic."""
        problem = topic_name_problem(topic)
        if problem is not None:
            self.notes.append(f"{label}: topic {topic!r} is not a valid ROS topic name ({problem}); skipped")
            return None
        entry = self.bridge_topics.setdefault(topic, {"type": ros_type})
        if entry["type"] != ros_type:
            self.notes.append(f"{label}: {topic} is also shown as {entry['type']}; {ros_type} ignored")
        if latched:
            entry.setdefault("qos", {})["durability"] = "transient_local"
        if options:  # a second display of the topic: its options where the first set none (RViz has two)
            kept = entry.setdefault("options", {})
            for key, value in options.items():
                if key in kept and kept[key] != value:
                    self.notes.append(
                        f"{label}: {topic} is also shown by an earlier display with {key} {kept[key]!r}; "
                        f"{value!r} ignored (the bridge converts a topic one way)"
                    )
                else:
                    kept[key] = value
        if BUILTIN_CONVERTERS.lookup(ros_type) is None:
            self.notes.append(
                f"{label}: {topic}: no converter for {ros_type} yet; the bridge keeps its fields as raw "
                "columns only with raw_unknown_types: true"
            )
        return self.bridge_config.entity_path_for(topic, ros_type)

    def show_in_scene(self, entity: str | None, enabled: bool) -> None:
        if entity is None:
            return
        self.scene_rules.append(ContentRule(entity, recursive=True))
        self.entity_shown[entity] = self.entity_shown.get(entity, False) or enabled

    def style(self, display: Mapping[str, Any], spec: DisplaySpec, entity: str, label: str) -> None:
        transformer = display.get("Color Transformer")
        color: Color | None = None
        if transformer is None or transformer == "FlatColor":
            color = parse_color(display.get("Color"), display.get("Alpha", 1.0))
        elif transformer == "AxisColor":
            self.notes.append(f"{label}: AxisColor is not supported; points keep their data colours")
        radius = point_radius(display) if "Style" in display else None
        if spec.ros_type == "nav_msgs/msg/Path":
            radius = line_radius(display)
        elif "Radius" in display and spec.archetype == "Points3D":
            value = number(display.get("Radius"))
            radius = value if value else None
        if spec.archetype is not None and (color is not None or radius is not None):
            if entity in self.styles:  # two displays of one topic: the first one's look, as its options
                self.notes.append(
                    f"{label}: {entity} is also drawn by an earlier display; its colour and size are kept "
                    "(a view draws an entity one way)"
                )
                return
            self.styles[entity] = EntityStyle(color=color, radius=radius, archetype=spec.archetype)

    def pose_style(self, display: Mapping[str, Any], spec: DisplaySpec, entity: str, label: str) -> None:
        """The arrows of the pose displays: their colour on the arrows' entity (``<entity>/arrow``, a
        PoseArray's ``<entity>/arrows``; Odometry's under ``Shape``), and what they draw that the bridge
        does not (RViz keeps Odometry's last ``Keep`` arrows; a Path's poses as arrows or axes)."""
        arrows = POSE_ARROWS.get(spec.ros_type or "")
        if arrows is not None:
            shape = display.get("Shape")
            color_of = shape if spec.ros_type == ODOMETRY_TYPE and isinstance(shape, Mapping) else display
            color = parse_color(color_of.get("Color"), color_of.get("Alpha", 1.0))
            if color is not None:
                self.styles[f"{entity.rstrip('/')}/{arrows}"] = EntityStyle(color=color, archetype="Arrows3D")
        keep = number(display.get("Keep"))
        if spec.ros_type == ODOMETRY_TYPE and keep is not None and keep > 1:
            self.notes.append(
                f"{label}: Keep {keep:g} is not carried: the latest pose's arrow is drawn, with the trail of "
                "recent positions (trail_every / trail_length)"
            )
        pose_style = str(display.get("Pose Style") or "None")
        if spec.ros_type == PATH_TYPE and pose_style != "None":
            self.notes.append(f"{label}: Pose Style {pose_style} is not carried: the path is drawn as a line")

    def scene_styles(self) -> dict[str, EntityStyle]:
        styles = dict(self.styles)
        hidden = [entity for entity, shown in self.entity_shown.items() if not shown] + self.hidden_below
        for entity in hidden:
            styles[entity] = dataclasses.replace(styles.get(entity, EntityStyle()), visible=False)
        return styles

    # --- the rest of the config -------------------------------------------------------------------------

    def panels(self, panels: object) -> None:
        for panel in panels if isinstance(panels, list) else []:
            if not isinstance(panel, Mapping):
                continue
            class_name = str(panel.get("Class") or "")
            package, name = split_class(class_name)
            if not (package in RVIZ_PACKAGES and name in STANDARD_PANELS):
                self.unsupported.append(f"panel {str(panel.get('Name') or name)!r} ({class_name})")

    def tools(self, tools: object) -> None:
        for tool in tools if isinstance(tools, list) else []:
            if not isinstance(tool, Mapping):
                continue
            class_name = str(tool.get("Class") or "")
            package, name = split_class(class_name)
            if package in RVIZ_PACKAGES and name in CAMERA_TOOLS:
                continue
            written, _qos = topic_property(tool, ("Topic",))
            publishes = f", publishes {absolute_topic(written)}" if written else ""
            self.unsupported.append(f"tool {name!r} ({class_name}{publishes}): the viewer does not interact")

    def target_frame(self, manager: Mapping[str, Any]) -> str:
        """The current view controller's Target Frame, which the camera follows; "" for RViz's default
        ``<Fixed Frame>`` (the camera stays put)."""
        views = manager.get("Views")
        current = views.get("Current") if isinstance(views, Mapping) else None
        target = str(current.get("Target Frame") or "") if isinstance(current, Mapping) else ""
        target = target.strip().lstrip("/")
        return "" if not target or target.startswith("<") else target

    def camera(self, manager: Mapping[str, Any], window: object) -> dict[str, Any]:
        """The 3D view's ``eye`` and, for an orbit or top-down controller placed in the fixed frame, where
        it starts (:func:`orbit_placement`, :func:`top_down_placement`); what is not carried is noted."""
        views = manager.get("Views")
        current = views.get("Current") if isinstance(views, Mapping) else None
        class_name = str(current.get("Class") or "") if isinstance(current, Mapping) else ""
        if not isinstance(current, Mapping) or not class_name:
            return {}
        name = split_class(class_name)[1]
        eye = VIEW_CONTROLLERS.get(name)
        if eye is None:
            self.notes.append(f"view controller {class_name} has no counterpart; the 3D view orbits")
            return {}
        camera: dict[str, Any] = {"eye": EyeKind(eye)}
        placed = [key for key in _CAMERA_PLACEMENT if key in current]
        if not placed:
            return camera
        placement: dict[str, Any] = {}
        if self.target_frame(manager):
            why = "they are relative to its Target Frame"
        elif current.get("Invert Z Axis") is True:
            why = "its Z axis is inverted"
        elif name in ("Orbit", "XYOrbit"):
            placement, why = orbit_placement(current)
        elif name == "TopDownOrtho":
            height = number(window.get("Height")) if isinstance(window, Mapping) else None
            placement, why = top_down_placement(current, height or ASSUMED_VIEW_HEIGHT_PX)
        else:
            why = "the viewer has no such camera"
        if not placement:  # said, not silently dropped (audit)
            self.notes.append(
                f"view controller {name}: its {', '.join(placed)} are not carried ({why}); "
                "the 3D view frames the data when it opens"
            )
        return camera | placement


#: A view controller's camera placement.
_CAMERA_PLACEMENT: Final = ("Distance", "Focal Point", "Yaw", "Pitch", "Scale", "X", "Y", "Angle", "Position")
#: The vertical field of view of the viewers' perspective cameras (the embedded viewer's default), from
#: which a top-down orthographic scale becomes a height above the ground.
CAMERA_FOV_DEG: Final = 60.0
#: The 3D panel's height when the config's Window Geometry has none.
ASSUMED_VIEW_HEIGHT_PX: Final = 800.0


#: RViz's Orbit view keeps its pitch this far inside straight up or down, and its distance at least this.
_PITCH_LIMIT: Final = math.pi / 2 - 0.001
_NEAREST_M: Final = 0.01
#: Placement and the reason it is not carried ("" with one).
Placement = tuple[dict[str, Any], str]


def orbit_placement(view: Mapping[str, Any]) -> Placement:
    """RViz's Orbit / XYOrbit camera as ``look_target`` (its Focal Point) and ``eye_position``: Distance
    away from it, Yaw around +z from +x, Pitch up from the ground plane, both kept in RViz's limits."""
    focal = view.get("Focal Point", {})
    if not isinstance(focal, Mapping):
        return {}, "its Focal Point has no X, Y, Z"
    values = [number(focal.get(axis, 0.0)) for axis in "XYZ"]
    values += [number(view.get(key)) for key in ("Distance", "Yaw", "Pitch")]
    if any(value is None for value in values):
        return {}, "they are not all numbers"
    x, y, z, distance, yaw, pitch = (float(value or 0.0) for value in values)
    # As RViz limits them (and 6-digit rounding can put a pitch at the zenith past it).
    distance = max(distance, _NEAREST_M)
    pitch = min(max(pitch, -_PITCH_LIMIT), _PITCH_LIMIT)
    eye = (
        x + distance * math.cos(yaw) * math.cos(pitch),
        y + distance * math.sin(yaw) * math.cos(pitch),
        z + distance * math.sin(pitch),
    )
    return {"look_target": (x, y, z), "eye_position": tuple(round(value, 6) for value in eye)}, ""


def top_down_placement(view: Mapping[str, Any], view_height_px: float) -> Placement:
    """RViz's TopDownOrtho (an orthographic camera over X, Y at Scale pixels a metre, turned by Angle) as
    a perspective eye straight above X, Y that sees as much ground across the view's height:
    ``view_height_px / Scale`` metres at :data:`CAMERA_FOV_DEG`."""
    x, y, scale, angle = (number(view.get(key, default)) for key, default in _TOP_DOWN_DEFAULTS)
    if x is None or y is None or scale is None or angle is None:
        return {}, "they are not all numbers"
    if scale <= 0:
        return {}, f"its Scale {scale:g} is not above 0"
    height = view_height_px / scale / 2.0 / math.tan(math.radians(CAMERA_FOV_DEG) / 2.0)
    # The camera turned by Angle around +z: the screen's up is +y turned by it.
    up = (round(-math.sin(angle), 6), round(math.cos(angle), 6), 0.0)
    return {"look_target": (x, y, 0.0), "eye_position": (x, y, round(height, 3)), "eye_up": up}, ""


#: TopDownOrtho's properties and RViz's defaults for them.
_TOP_DOWN_DEFAULTS: Final = (("X", 0.0), ("Y", 0.0), ("Scale", 10.0), ("Angle", 0.0))


def _name(display: Mapping[str, Any]) -> str:
    return str(display.get("Name") or display.get("Class") or "")


def _camera_info_topic(image_topic: str) -> str:
    """``camera_info`` beside the image (image_transport): ``/cam/image_raw`` -> ``/cam/camera_info``."""
    namespace = image_topic.rsplit("/", 1)[0]
    return f"{namespace}/camera_info"


def _depth_range(display: Mapping[str, Any]) -> tuple[float, float] | None:
    """An Image display's fixed range (``Normalize Range: false``, ``Min Value`` < ``Max Value``)."""
    if display.get("Normalize Range", True) is not False:
        return None
    low, high = number(display.get("Min Value")), number(display.get("Max Value"))
    return (low, high) if low is not None and high is not None and low < high else None
