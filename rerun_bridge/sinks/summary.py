"""Split mode: a summary of what the bridge records, for network sinks under a bandwidth budget.

The full recording stays on the robot's disk; the stream and the Rerun viewer sink (with
``profile: summary``) get, through one :class:`SummarySink`:

* scalars, logs, TF and every other small row in full;
* images at ``image_rate_hz``, downscaled to ``image_max_width`` and JPEG-encoded (``EncodedImage``; depth
  images downscaled, not encoded);
* point clouds at ``cloud_rate_hz``, voxel-decimated (one point per ``cloud_voxel_m`` cube; per-point
  extra columns such as intensity are left out), then thinned evenly to what half the budget carries at
  that rate;
* per-entity rate caps (``rate_hz``) on anything;
* all under ``budget_mbit_s``: a token bucket over the robot's log time (so tests are exact) that rows in
  full always pass through, but that an image or a cloud needs room in, else it is left out.

What is left out is counted per entity and reason (rate cap, budget). The budget is per network sink:
each gets the same summary.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import rerun as rr
from PIL import Image as PILImage

from rerun_bridge.model.rows import Batch, ColumnRows, Row
from rerun_bridge.model.timeline import LOG_TIME
from rerun_bridge.sinks.batcher import RowBatcher
from rerun_bridge.sinks.summary_settings import SummarySettings

#: Archetypes reduced as images, and as point clouds (when bigger than CLOUD_MIN_POINTS).
IMAGE_ARCHETYPES: Final = frozenset({"Image", "DepthImage", "EncodedImage", "EncodedDepthImage"})
CLOUD_MIN_POINTS: Final = 1000
#: Share of the budget a cloud topic may use at its rate; a denser cloud (after the voxels) is thinned evenly.
CLOUD_BUDGET_SHARE: Final = 0.5
#: How often the summary hands its batched rows to the network sinks (each chunk costs a few hundred bytes
#: of framing, and 30 ms took the reference load past its 5 Mbit/s: docs/laptop-viewing.md); sooner when
#: the conversion worker runs dry.
SUMMARY_FLUSH_S: Final = 0.05
_JPEG_MODELS: Final = {"RGB": "RGB", "BGR": "RGB", "RGBA": "RGB", "BGRA": "RGB", "L": "L"}


#: Rows per summary chunk at most (a remote view wants data soon, not big chunks); a row of
#: SUMMARY_BATCH_BYTES or more goes alone. The network sinks' own batching uses the same.
SUMMARY_BATCH_ROWS: Final = 64
SUMMARY_BATCH_BYTES: Final = 256 << 10


class SummaryTarget(Protocol):
    """A network sink the summary feeds with finished chunks: the summary batches its rows once for all of
    its targets (batching is most of a network sink's cost on the conversion worker)."""

    def send_batch(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        """One finished chunk in Rerun's layout; never waits."""

    def emitted_bytes(self) -> int:
        """Bytes sent on so far, measured where they leave (what the budget is held to)."""


@dataclass(slots=True)
class SummaryCounts:
    """Rows kept and left out, bytes in and out (rows' own bytes), per entity and reason."""

    rows_in: int = 0
    rows_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    left_out: dict[str, dict[str, int]] = field(default_factory=dict)

    def leave_out(self, entity_path: str, reason: str) -> None:
        reasons = self.left_out.setdefault(entity_path, {})
        reasons[reason] = reasons.get(reason, 0) + 1

    def as_key_values(self) -> dict[str, str]:
        by_reason: dict[str, int] = {}
        for reasons in self.left_out.values():
            for reason, count in reasons.items():
                by_reason[reason] = by_reason.get(reason, 0) + count
        return {
            "rows_in": str(self.rows_in),
            "rows_out": str(self.rows_out),
            "bytes_in": str(self.bytes_in),
            "bytes_out": str(self.bytes_out),
            "left_out_rate": str(by_reason.get("rate", 0)),
            "left_out_budget": str(by_reason.get("budget", 0)),
            # The network sinks' own "dropped_chunks" is what a slow link costs; this is by design.
            "dropped_chunks": "0",
        }


def batch_nbytes(batch: Batch) -> int:
    if isinstance(batch, np.ndarray):
        return int(batch.nbytes)
    if hasattr(batch, "nbytes"):
        return int(batch.nbytes)
    total = 0
    for item in batch:
        if isinstance(item, np.ndarray):
            total += int(item.nbytes)
        elif isinstance(item, bytes | bytearray | memoryview | str):
            total += len(item)
        else:
            total += 16
    return total


def row_nbytes(row: Row) -> int:
    return sum(batch_nbytes(batch) for batch in (*row.components.values(), *row.extra.values())) + 32


class _Budget:
    """A token bucket in bytes over log time: ``rate`` bytes a second, at most one second saved up. Spent
    by the bytes the targets measurably sent; rows passed on but not yet sent (in a batcher) are held
    back from the tokens by their estimate until the measurement moves."""

    def __init__(self, bytes_per_s: float) -> None:
        self.rate = bytes_per_s
        self.tokens = bytes_per_s
        self.last_ns: int | None = None
        self.pending = 0
        self.measured = 0

    def measure(self, emitted: int) -> None:
        if emitted > self.measured:
            self.tokens -= emitted - self.measured
            self.measured = emitted
            self.pending = 0

    def refill(self, now_ns: int) -> None:
        if self.last_ns is not None and now_ns > self.last_ns:
            self.tokens = min(self.rate, self.tokens + self.rate * (now_ns - self.last_ns) / 1e9)
        if self.last_ns is None or now_ns > self.last_ns:
            self.last_ns = now_ns

    def hold(self, nbytes: int) -> None:
        self.pending += nbytes

    def room_for(self, nbytes: int) -> bool:
        return self.tokens - self.pending >= nbytes


class SummarySink:
    """Reduces rows (see the module docs) and hands them to ``targets``. Runs on the conversion worker."""

    def __init__(self, targets: Sequence[SummaryTarget], settings: SummarySettings | None = None) -> None:
        self.targets = list(targets)
        self.settings = settings or SummarySettings()
        self.counts = SummaryCounts()
        self._budget = _Budget(self.settings.budget_mbit_s * 1e6 / 8)
        #: Per entity and archetype: an image's entity also carries its frame's row each message, which must
        #: not count as the image kept (that held every camera to its first frame).
        self._last_kept: dict[tuple[str, str], int] = {}
        #: Whether the rows being written hold an image or a cloud that passed (they are flushed at once).
        self._frame_kept = False
        self._batcher = RowBatcher(self._send, SUMMARY_BATCH_ROWS, SUMMARY_BATCH_BYTES)
        self._last_flush = time.monotonic()

    # --- RowSink ------------------------------------------------------------------------------------------

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        now_ns = default_times.get(LOG_TIME)
        if now_ns is not None:
            self._budget.refill(now_ns)
        self._frame_kept = False
        kept = [reduced for row in rows if (reduced := self._reduce(row, now_ns)) is not None]
        if kept:
            self._batcher.write(kept, default_times)
            # An image or a cloud goes out at once, so that the bytes it took are measured before the bucket
            # is asked again (the measurement clears what was held back; a frame still waiting in a batcher
            # when another row's bytes moved it let the next frame through too).
            if self._frame_kept:
                self._flush()
            else:
                self.flush_if_older(SUMMARY_FLUSH_S)
        self._measure()

    def _send(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        for target in self.targets:
            target.send_batch(entity_path, static, batch)

    def flush_if_older(self, seconds: float) -> None:
        """Send the batched rows when the last flush was ``seconds`` ago or more."""
        if time.monotonic() - self._last_flush >= seconds:
            self._flush()

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
        self._batcher.flush()

    def _measure(self) -> None:
        self._budget.measure(max((target.emitted_bytes() for target in self.targets), default=0))

    def write_columns(self, columns: ColumnRows) -> None:
        if columns.archetype in IMAGE_ARCHETYPES or columns.archetype == "Points3D":
            for row in columns.to_rows():
                self.write([row], row.times)
            return
        nbytes = sum(batch_nbytes(c) for c in columns.components.values() if isinstance(c, np.ndarray))
        self.counts.rows_in += len(columns)
        self.counts.rows_out += len(columns)
        self.counts.bytes_in += nbytes
        self.counts.bytes_out += nbytes
        self._budget.hold(nbytes)  # in full, like every small row
        self._batcher.write_columns(columns)
        self.flush_if_older(SUMMARY_FLUSH_S)
        self._measure()

    def flush(self, wait: bool = True) -> None:
        """Hand the batched rows to the targets (which send without waiting, whatever ``wait`` says)."""
        self._flush()
        self._measure()

    def close(self) -> None:
        """The targets are closed by their owner (they are network sinks of their own)."""

    # --- reduction ----------------------------------------------------------------------------------------

    def _reduce(self, row: Row, now_ns: int | None) -> Row | None:
        counts = self.counts
        size = row_nbytes(row)
        counts.rows_in += 1
        counts.bytes_in += size
        kind = self._kind(row)
        if not row.static and not self._rate_allows(row, kind, now_ns):
            counts.leave_out(row.entity_path, "rate")
            return None
        if kind == "image":
            reduced = reduce_image(row, self.settings)
        elif kind == "cloud":
            reduced = thinned(decimate_cloud(row, self.settings.cloud_voxel_m), self._cloud_max_points())
        else:
            reduced = row
        reduced_size = row_nbytes(reduced)
        if kind != "full" and not row.static and not self._budget.room_for(reduced_size):
            counts.leave_out(row.entity_path, "budget")
            return None
        self._budget.hold(reduced_size)
        self._frame_kept |= kind != "full"
        if now_ns is not None and not row.static:
            self._last_kept[(row.entity_path, row.archetype)] = now_ns
        counts.rows_out += 1
        counts.bytes_out += reduced_size
        return reduced

    def _cloud_max_points(self) -> int:
        """Points a cloud may keep: at its rate, clouds get at most half the budget (12 bytes a point)."""
        rate = max(self.settings.cloud_rate_hz, 1.0)
        return max(int(self._budget.rate * CLOUD_BUDGET_SHARE / rate / 12), 1)

    def _kind(self, row: Row) -> str:
        if row.archetype in IMAGE_ARCHETYPES:
            return "image"
        if row.archetype == "Points3D" and row.num_instances() >= CLOUD_MIN_POINTS:
            return "cloud"
        return "full"

    def _rate_allows(self, row: Row, kind: str, now_ns: int | None) -> bool:
        settings = self.settings
        default = {"image": settings.image_rate_hz, "cloud": settings.cloud_rate_hz}.get(kind, 0.0)
        rate = settings.rate_hz.get(row.entity_path, default)
        last = self._last_kept.get((row.entity_path, row.archetype))
        if rate <= 0 or now_ns is None or last is None:
            return True
        return now_ns - last >= 1e9 / rate


def reduce_image(row: Row, settings: SummarySettings) -> Row:
    """An 8-bit colour or grey image downscaled and JPEG-encoded; a depth image downscaled; an image
    already encoded (a CompressedImage) as it is."""
    if row.archetype not in ("Image", "DepthImage"):
        return row
    image_format = row.components["format"][0]
    width, height = int(image_format.width), int(image_format.height)
    model = str(image_format.color_model) if image_format.color_model is not None else ""
    datatype = str(image_format.channel_datatype) if image_format.channel_datatype is not None else ""
    buffer = np.asarray(row.components["buffer"][0])
    factor = max(1, -(-width // settings.image_max_width))
    if row.archetype == "DepthImage" or image_format.pixel_format is not None:
        return _downscaled_depth(row, buffer, width, height, factor) if row.archetype == "DepthImage" else row
    if datatype != "U8" or model not in _JPEG_MODELS:
        return row
    channels = {"L": 1, "RGB": 3, "BGR": 3, "RGBA": 4, "BGRA": 4}[model]
    pixels = buffer.view(np.uint8).reshape(height, width, channels)
    if model.startswith("BGR"):
        pixels = pixels[..., [2, 1, 0]]
    elif channels == 4:
        pixels = pixels[..., :3]
    picture = PILImage.fromarray(np.ascontiguousarray(pixels if channels > 1 else pixels[..., 0]))
    if factor > 1:
        picture = picture.reduce(factor)
    encoded = io.BytesIO()
    picture.save(encoded, format="JPEG", quality=settings.jpeg_quality)
    blob = np.frombuffer(encoded.getvalue(), dtype=np.uint8)
    return Row(
        row.entity_path, "EncodedImage", {"blob": [blob], "media_type": ["image/jpeg"]}, times=row.times
    )


def _downscaled_depth(row: Row, buffer: npt.NDArray[Any], width: int, height: int, factor: int) -> Row:
    image_format = row.components["format"][0]
    item_size = max(buffer.nbytes // max(width * height, 1), 1)
    pixels = buffer.view(np.uint8).reshape(height, width, item_size)[::factor, ::factor]
    new_format = rr.components.ImageFormat(
        pixels.shape[1], pixels.shape[0], channel_datatype=image_format.channel_datatype
    )
    components = {
        **row.components,
        "buffer": [np.ascontiguousarray(pixels).reshape(-1)],
        "format": [new_format],
    }
    return Row(row.entity_path, row.archetype, components, times=row.times)


def decimate_cloud(row: Row, voxel_m: float) -> Row:
    """One point per ``voxel_m`` cube (the first one in it), with its colour and radius; other per-point
    columns are left out."""
    positions = np.asarray(row.components["positions"], dtype=np.float32)
    if voxel_m <= 0 or len(positions) == 0:
        return row
    finite = np.isfinite(positions).all(axis=1)
    cells = np.floor(positions[finite] / voxel_m).astype(np.int64)
    keys = (cells[:, 0] * 73856093) ^ (cells[:, 1] * 19349663) ^ (cells[:, 2] * 83492791)
    _unique, first = np.unique(keys, return_index=True)
    chosen = np.flatnonzero(finite)[np.sort(first)]
    components: dict[str, Batch] = {"positions": positions[chosen]}
    for name in ("colors", "radii"):
        values = row.components.get(name)
        if isinstance(values, np.ndarray) and len(values) == len(positions):
            components[name] = values[chosen]
    return Row(row.entity_path, "Points3D", components, times=row.times)


def thinned(row: Row, max_points: int) -> Row:
    """Every n-th point of a cloud with more than ``max_points`` (and their colours and radii)."""
    positions = np.asarray(row.components["positions"])
    if len(positions) <= max_points:
        return row
    step = -(-len(positions) // max_points)
    components = {
        name: values[::step] if isinstance(values, np.ndarray) and len(values) == len(positions) else values
        for name, values in row.components.items()
    }
    return Row(row.entity_path, row.archetype, components, times=row.times)
