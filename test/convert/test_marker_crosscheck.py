"""Markers against Rerun's own MCAP importer (`rerun mcap convert`). Rerun 0.41 draws no
visualization_msgs: it keeps each MarkerArray as one raw ``visualization_msgs.msg.MarkerArray:message``
struct. That struct is Rerun's own decoding of the same CDR, so the shapes we draw must sit where its
decoded markers say: every added marker's position and colour, message by message (markers of one
namespace and type are the instances of one row, in id order)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from rerun_bridge.replay import convert_bags
from test.conftest import RERUN_CLI, rrd_chunks
from test.convert.test_marker_semantics import marker, write_bag

RAW = "visualization_msgs.msg.MarkerArray:message"
CUBE, SPHERE, CYLINDER = 1, 2, 3
TYPE_NAMES = {CUBE: "CUBE", SPHERE: "SPHERE", CYLINDER: "CYLINDER"}
CENTERS = {
    "Boxes3D": "Boxes3D:centers",
    "Ellipsoids3D": "Ellipsoids3D:centers",
    "Cylinders3D": "Cylinders3D:centers",
}


def arrays() -> list[tuple[float, list[dict[str, Any]]]]:
    rng = np.random.default_rng(7)
    out: list[tuple[float, list[dict[str, Any]]]] = []
    for second in range(1, 4):
        markers = []
        # Two markers of each type, ids falling: each group's instances go in rising id order.
        for index, kind in enumerate((CUBE, SPHERE, CYLINDER) * 2):
            x, y, z = (float(value) for value in rng.uniform(-5, 5, 3))
            red, green = (float(value) for value in rng.uniform(0, 1, 2))
            pose = {"position": {"x": x, "y": y, "z": z}, "orientation": {"w": 1.0}}
            color = {"r": red, "g": green, "a": 1.0}
            markers.append(marker("k", 10 - index, kind, pose=pose, color=color))
        out.append((second, markers))
    return out


def their_markers(path: Path) -> list[tuple[int, list[dict[str, Any]]]]:
    """(log time, decoded markers) of each raw MarkerArray Rerun kept."""
    out: list[tuple[int, list[dict[str, Any]]]] = []
    for _entity, _static, batch in rrd_chunks(path):
        if RAW not in batch.schema.names:
            continue
        times = batch.column("message_log_time").cast(pa.int64()).to_pylist()
        for time, messages in zip(times, batch.column(RAW).to_pylist(), strict=True):
            out.extend((time, message["markers"]) for message in messages)
    return sorted(out, key=lambda item: item[0])


def our_shapes(path: Path) -> dict[tuple[int, str], list[tuple[list[float], int]]]:
    """(log time, entity) -> (centre, packed RGBA) of each instance of each row we wrote."""
    out: dict[tuple[int, str], list[tuple[list[float], int]]] = {}
    for entity, _static, batch in rrd_chunks(path):
        for archetype, column in CENTERS.items():
            if column not in batch.schema.names:
                continue
            times = batch.column("log_time").cast(pa.int64()).to_pylist()
            centers = batch.column(column).to_pylist()
            colors = batch.column(f"{archetype}:colors").to_pylist()
            for time, center, color in zip(times, centers, colors, strict=True):
                out[(time, entity)] = list(zip(center, color, strict=True))
    return out


def test_our_shapes_sit_where_rerun_decodes_the_markers(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "markers.mcap", arrays())
    theirs, ours = tmp_path / "theirs.rrd", tmp_path / "ours.rrd"
    subprocess.run(
        [str(RERUN_CLI), "mcap", "convert", str(bag), "-o", str(theirs), "--application-id", "ref"],
        check=True,
        capture_output=True,
    )
    convert_bags([bag], ours)
    their_arrays = their_markers(theirs)
    assert len(their_arrays) == 3  # raw structs only: Rerun draws nothing of them
    assert not any(
        name.startswith(tuple(CENTERS)) for _, _, batch in rrd_chunks(theirs) for name in batch.schema.names
    )
    shapes = our_shapes(ours)
    assert len(shapes) == 9
    for time, markers in their_arrays:
        for decoded in markers:
            group = sorted(
                (other["id"] for other in markers if other["type"] == decoded["type"]),
            )
            entity = f"/markers/{decoded['ns']}/{TYPE_NAMES[decoded['type']]}"
            center, color = shapes[(time, entity)][group.index(decoded["id"])]
            position = decoded["pose"]["position"]
            np.testing.assert_allclose(center, [position["x"], position["y"], position["z"]], rtol=1e-6)
            rgba = [decoded["color"][channel] for channel in "rgba"]
            expected = [round(channel * 255) for channel in rgba]
            assert list(int(color).to_bytes(4, "big")) == expected
