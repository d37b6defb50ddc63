"""A URDF parsed with yourdfpy into what the bridge draws: one mesh per visual, and the joints.

Mesh files are read only through :func:`~rerun_bridge.robot.uris.resolve_mesh_uri` (under the configured
roots). A visual whose mesh cannot be resolved or read is replaced by its link's collision primitives,
and the problem is reported once per package (or per file), with every link it concerns.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.robot import meshes
from rerun_bridge.robot.kinematics import JointModel, Mimic, pose_of_matrix, unit_axis
from rerun_bridge.robot.meshes import MeshGeometry, MeshLoadError
from rerun_bridge.robot.uris import MeshPathError, MeshRoots, resolve_mesh_uri

#: RViz's colour for a visual without a material.
DEFAULT_COLOR: Final = np.array([204, 204, 204, 255], dtype=np.uint8)


class DescriptionError(Exception):
    """Text that is not a URDF this bridge can draw."""


@dataclass(frozen=True, slots=True)
class VisualShape:
    """One visual of a link, as triangles in the link's frame; ``color`` applies when the mesh has none."""

    link: str
    index: int
    geometry: MeshGeometry
    color: npt.NDArray[np.uint8]


@dataclass(slots=True)
class RobotDescription:
    name: str
    joints: dict[str, JointModel]
    visuals: list[VisualShape]
    #: One line per package (or file) whose meshes could not be used; said once, by whoever loads it.
    problems: list[str] = field(default_factory=list)

    @property
    def movable_joints(self) -> list[JointModel]:
        return [joint for joint in self.joints.values() if joint.movable]


def _parse_tree(text: str) -> Any:
    """The URDF's XML, parsed strictly: no DTD, no entities, no network (the text may come from anyone)."""
    from lxml import etree  # here, not at import: the URDF libraries cost half a second to import

    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise DescriptionError("a URDF with a DOCTYPE or ENTITY declaration is refused")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=parser)
    except etree.XMLSyntaxError as err:
        raise DescriptionError(f"not well-formed XML: {err}") from err
    if root.tag != "robot" or root.find("link") is None:
        raise DescriptionError("no <robot> with <link> elements")
    return root


def _urdf(text: str) -> Any:
    import yourdfpy  # here, not at import: with trimesh it adds half a second to every conversion's start

    _parse_tree(text)  # a clear error first; yourdfpy would fall back to a lenient parse
    try:
        return yourdfpy.URDF.load(
            io.BytesIO(text.encode("utf-8")),
            build_scene_graph=False,
            load_meshes=False,
            build_collision_scene_graph=False,
            load_collision_meshes=False,
        ).robot
    except Exception as err:  # yourdfpy raises KeyError / ValueError / AttributeError for bad elements
        raise DescriptionError(f"not a valid URDF: {type(err).__name__}: {err}") from err


def _origin(matrix: Any) -> npt.NDArray[np.float64]:
    return np.eye(4) if matrix is None else np.asarray(matrix, dtype=np.float64).reshape(4, 4)


def _joint(joint: Any) -> JointModel:
    mimic = None
    if joint.mimic is not None:
        # Absent attributes are None (multiplier 1, offset 0); a multiplier of 0 is 0 (found by an audit).
        multiplier = 1.0 if joint.mimic.multiplier is None else float(joint.mimic.multiplier)
        offset = 0.0 if joint.mimic.offset is None else float(joint.mimic.offset)
        mimic = Mimic(joint.mimic.joint, multiplier, offset)
    origin = pose_of_matrix(_origin(joint.origin))
    return JointModel(joint.name, joint.type, joint.parent, joint.child, origin, unit_axis(joint.axis), mimic)


def _dimensions(values: Any, count: int, what: str) -> npt.NDArray[np.float64]:
    """``count`` positive finite numbers (a URDF from anyone may say ``radius="-1"`` or ``nan``)."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size != count or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise MeshLoadError(f"{what} {values!r} is not {count} positive finite number(s)")
    return array


def _primitive(geometry: Any) -> MeshGeometry | None:
    """A box, cylinder or sphere as triangles; None for a mesh or nothing; MeshLoadError for bad sizes."""
    if geometry is None:
        return None
    if geometry.box is not None:
        return meshes.box(_dimensions(geometry.box.size, 3, "box size"))
    if geometry.cylinder is not None:
        cylinder = geometry.cylinder
        radius, length = _dimensions([cylinder.radius, cylinder.length], 2, "cylinder radius and length")
        return meshes.cylinder(float(radius), float(length))
    if geometry.sphere is not None:
        return meshes.sphere(float(_dimensions(geometry.sphere.radius, 1, "sphere radius")[0]))
    return None


def _scale(value: Any) -> npt.NDArray[np.float64] | None:
    """A mesh's per-axis scale (one number for all three axes is accepted too)."""
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size == 1:
        array = np.repeat(array, 3)
    if array.size != 3 or not np.all(np.isfinite(array)) or np.any(array == 0):
        raise MeshLoadError(f"mesh scale {value!r} is not 3 finite non-zero numbers")
    return array


def _material_color(material: Any, named: dict[str, npt.NDArray[np.uint8]]) -> npt.NDArray[np.uint8]:
    if material is None:
        return DEFAULT_COLOR
    if material.color is not None:
        rgba = np.asarray(material.color.rgba, dtype=np.float64).reshape(-1)
        if rgba.size != 4 or not np.all(np.isfinite(rgba)):
            return DEFAULT_COLOR
        return np.round(np.clip(rgba, 0.0, 1.0) * 255).astype(np.uint8)
    return named.get(material.name or "", DEFAULT_COLOR)


class _Builder:
    """Turns a parsed robot's links into visual shapes, gathering mesh problems by package or file."""

    def __init__(self, robot: Any, roots: MeshRoots, base_dir: Path | None) -> None:
        self.roots, self.base_dir = roots, base_dir
        self.named = {
            m.name: _material_color(m, {}) for m in robot.materials if m.name and m.color is not None
        }
        # problem key (package or file) -> kind of problem (the reason without its URI) -> (what went
        # wrong, links drawn with collision primitives): one warning per package, each link under its
        # own reason ('..' in one mesh of a package, a symlink leaving the root in another).
        self.failures: dict[str, dict[str, tuple[str, list[str]]]] = {}
        #: Links whose fallback drew nothing: they have no collision primitives.
        self.undrawn: set[str] = set()

    def link_shapes(self, link: Any) -> list[VisualShape]:
        shapes: list[VisualShape] = []
        needs_fallback = False
        for visual in link.visuals:
            geometry = self._visual_geometry(link.name, visual.geometry)
            if geometry is None:
                needs_fallback = needs_fallback or visual.geometry is not None
                continue
            color = _material_color(visual.material, self.named)
            shapes.append(VisualShape(link.name, len(shapes), geometry.placed(_origin(visual.origin)), color))
        if needs_fallback:
            fallback = self._collision_shapes(link, len(shapes))
            if not fallback and not shapes:
                self.undrawn.add(link.name)
            shapes += fallback
        return shapes

    def _visual_geometry(self, link: str, geometry: Any) -> MeshGeometry | None:
        try:
            primitive = _primitive(geometry)
        except MeshLoadError as err:
            self._failed(f"link {link}", str(err), link)
            return None
        if primitive is not None or geometry is None or geometry.mesh is None:
            return primitive
        mesh = geometry.mesh
        try:
            if not mesh.filename:
                raise MeshPathError("a <mesh> without a filename")
            path = resolve_mesh_uri(mesh.filename, self.roots, self.base_dir)
            return meshes.load_mesh_file(path, _scale(mesh.scale))
        except MeshPathError as err:
            key = f"package {err.package!r}" if err.package else str(mesh.filename)
            self._failed(key, str(err), link, str(mesh.filename or ""))
        except MeshLoadError as err:
            self._failed(str(mesh.filename), str(err), link)
        return None

    def _failed(self, key: str, reason: str, link: str, uri: str = "") -> None:
        kind = reason.replace(repr(uri), "", 1) if uri else reason
        _reason, links = self.failures.setdefault(key, {}).setdefault(kind, (reason, []))
        if link not in links:
            links.append(link)

    def _collision_shapes(self, link: Any, first_index: int) -> list[VisualShape]:
        shapes: list[VisualShape] = []
        for collision in link.collisions:
            try:
                geometry = _primitive(collision.geometry)
            except MeshLoadError as err:
                self._failed(f"link {link.name} collision", str(err), link.name)
                continue
            if geometry is not None:
                placed = geometry.placed(_origin(collision.origin))
                shapes.append(VisualShape(link.name, first_index + len(shapes), placed, DEFAULT_COLOR))
        return shapes

    def problems(self) -> list[str]:
        return [
            "; ".join(self._outcome(reason, links) for reason, links in kinds.values())
            for kinds in self.failures.values()
        ]

    def _outcome(self, reason: str, links: list[str]) -> str:
        """What became of the links: drawn with their collision primitives, or not at all without any
        (an audit found links without any said to be drawn with them)."""
        drawn = [link for link in links if link not in self.undrawn]
        undrawn = [link for link in links if link in self.undrawn]
        said = [reason]
        if drawn:
            said.append(f"link(s) {', '.join(drawn)} drawn with their collision primitives instead")
        if undrawn:
            said.append(f"link(s) {', '.join(undrawn)} not drawn (no collision primitives)")
        return "; ".join(said)


def parse_description(text: str, roots: MeshRoots, base_dir: Path | None = None) -> RobotDescription:
    """A URDF's joints and visual shapes; :class:`DescriptionError` when it is not a URDF.

    ``base_dir`` is the URDF file's directory (plain relative mesh paths), None for a topic's text.
    """
    robot = _urdf(text)
    builder = _Builder(robot, roots, base_dir)
    visuals = [shape for link in robot.links for shape in builder.link_shapes(link)]
    joints = {joint.name: _joint(joint) for joint in robot.joints}
    return RobotDescription(robot.name, joints, visuals, builder.problems() + _unknown_links(robot))


def _unknown_links(robot: Any) -> list[str]:
    """A problem per joint that names a link the URDF does not define: the links below it are placed
    nowhere (found by an audit: half a robot gone without a word)."""
    links = {link.name for link in robot.links}
    return [
        f"joint {joint.name!r} names {side} link {name!r}, which the URDF does not define; "
        "the links it would place are not drawn"
        for joint in robot.joints
        for side, name in (("parent", joint.parent), ("child", joint.child))
        if name not in links
    ]
