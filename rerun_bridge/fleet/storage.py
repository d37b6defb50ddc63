"""Where recordings and outputs live: local folders and ``s3://`` URIs, both through pyarrow's filesystems.

S3 is configured the standard AWS way: ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (MinIO, SeaweedFS,
Ceph), ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, and credentials from the AWS SDK's chain (the
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` variables, ``AWS_PROFILE`` and ~/.aws files, instance
roles). Outputs are published whole: a local file is renamed into place, an S3 object only appears when its
multipart upload completes.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from rerun_bridge.errors import BridgeError

S3_SCHEME = "s3://"
#: Bytes per request when an S3 object is read by ranges: enough for the MCAP summary's small records to
#: come a block at a time, little enough not to fetch much beyond them; a chunk bigger than this is read in
#: one request of its own size.
RANGED_READ_BYTES = 64 << 10
#: Bytes per write when a file is uploaded (pyarrow sends them as parts of one multipart upload).
UPLOAD_BLOCK_BYTES = 8 << 20


class StorageError(BridgeError):
    """A location could not be read or written; the message names it."""


#: pyarrow's preamble to an S3 error ("When getting information for key 'k' in bucket 'b': "): the
#: message that replaces it names the location as the user wrote it.
_S3_PREAMBLE = re.compile(r"^When .*? in bucket '[^']*': |^When [^:]*: ")


def storage_reason(err: OSError) -> str:
    """Why a filesystem call failed, in one line, without pyarrow's bucket-and-key preamble."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return _S3_PREAMBLE.sub("", text)


def is_s3(uri: str) -> bool:
    return uri.startswith(S3_SCHEME)


def s3_filesystem() -> Any:
    """The S3 filesystem of the standard AWS settings now in force (pyarrow itself reads the credentials
    and region chain, not the endpoint variables); one per endpoint and region."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    return _s3_filesystem(endpoint, region)


@cache
def _s3_filesystem(endpoint: str, region: str) -> Any:
    from pyarrow import fs

    options: dict[str, Any] = {"allow_bucket_creation": True}
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        options["endpoint_override"] = parts.netloc
        options["scheme"] = parts.scheme
    if region:
        options["region"] = region
    return fs.S3FileSystem(**options)


@dataclass(frozen=True, slots=True)
class Location:
    """A file or folder: ``filesystem`` (pyarrow) and ``path`` on it; ``uri`` is how users name it."""

    filesystem: Any
    path: str
    uri: str

    @property
    def remote(self) -> bool:
        return is_s3(self.uri)

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def join(self, *parts: str) -> Location:
        tail = "/".join(part.strip("/") for part in parts)
        return Location(self.filesystem, f"{self.path.rstrip('/')}/{tail}", f"{self.uri.rstrip('/')}/{tail}")

    def info(self) -> Any:
        """pyarrow's FileInfo; a StorageError naming the location when the storage cannot be asked
        (unreachable endpoint, refused credentials)."""
        try:
            return self.filesystem.get_file_info(self.path)
        except OSError as err:
            raise StorageError(f"{self.uri}: {storage_reason(err)}") from err

    def exists(self) -> bool:
        from pyarrow import fs

        return bool(self.info().type != fs.FileType.NotFound)

    def is_folder(self) -> bool:
        """A local folder, or an S3 bucket or prefix with objects below it."""
        from pyarrow import fs

        return bool(self.info().type == fs.FileType.Directory)

    def size(self) -> int:
        return int(self.info().size or 0)


def location_of(uri: str | Path) -> Location:
    """A local path (made absolute) or an ``s3://bucket/key`` URI."""
    from pyarrow import fs

    text = str(uri)
    if is_s3(text):
        path = text.removeprefix(S3_SCHEME).rstrip("/")
        if not path:
            raise StorageError(f"{text}: no bucket named")
        return Location(s3_filesystem(), path, f"{S3_SCHEME}{path}")
    absolute = str(Path(text).expanduser().absolute())
    return Location(fs.LocalFileSystem(), absolute, absolute)


class RangedRaw(io.RawIOBase):
    """A pyarrow random-access file as Python's raw stream, so that io.BufferedReader can sit on it;
    ``bytes_read`` counts what was fetched."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._position = 0
        self._size = int(source.size())
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._size - self._position)
        if wanted <= 0:
            return 0
        data = self._source.read_at(wanted, self._position)
        view[: len(data)] = data
        self._position += len(data)
        self.bytes_read += len(data)
        return len(data)

    def close(self) -> None:
        self._source.close()
        super().close()


def output_location(uri: str | Path) -> Location:
    """An output folder or prefix, checked before any work starts: the storage answers (an endpoint
    that cannot be reached, or credentials it refuses, fail here with the location named) and it is not a
    file. It need not exist yet (nor its bucket): publishing creates them."""
    from pyarrow import fs

    location = location_of(uri)
    if location.info().type == fs.FileType.File:
        raise StorageError(f"{location.uri}: is a file, not an output folder or prefix")
    return location


def open_ranged(location: Location) -> Any:
    """A seekable stream of a file that reads only the ranges asked for (S3: one GET per range)."""
    try:
        source = location.filesystem.open_input_file(location.path)
    except OSError as err:
        raise StorageError(f"{location.uri}: cannot open: {storage_reason(err)}") from err
    return io.BufferedReader(RangedRaw(source), buffer_size=RANGED_READ_BYTES)


def fetch(location: Location, target: Path) -> None:
    """Copy a file from a location to a local path."""
    try:
        with location.filesystem.open_input_stream(location.path) as source, target.open("wb") as out:
            shutil.copyfileobj(source, out, UPLOAD_BLOCK_BYTES)
    except OSError as err:
        raise StorageError(f"{location.uri}: cannot fetch: {storage_reason(err)}") from err


def _ensure_bucket(target: Location) -> None:
    """Outputs may name a bucket that does not exist yet: create it (with the server's defaults)."""
    from pyarrow import fs

    bucket = target.path.split("/", 1)[0]
    try:
        if target.filesystem.get_file_info(bucket).type == fs.FileType.NotFound:
            target.filesystem.create_dir(bucket)
    except OSError as err:
        raise StorageError(f"s3://{bucket}: cannot create the bucket: {storage_reason(err)}") from err


def publish_file(local: Path, target: Location, keep_local: bool = True) -> None:
    """Put a finished local file at ``target``, never visible there half written: a local target is written
    beside its final name and renamed; an S3 target is uploaded in parts and appears only when the
    multipart upload completes (its size is checked after). ``keep_local=False``: ``local`` may be moved
    (a rename, not a copy, when it is on the target's file system)."""
    if not target.remote:
        final = Path(target.path)
        final.parent.mkdir(parents=True, exist_ok=True)
        movable = not keep_local and local.stat().st_dev == final.parent.stat().st_dev
        if local.parent != final.parent and not movable:
            partial = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.partial")
            shutil.copyfile(local, partial)
            local = partial
        os.replace(local, final)
        return
    _ensure_bucket(target)
    try:
        with local.open("rb") as source, target.filesystem.open_output_stream(target.path) as out:
            shutil.copyfileobj(source, out, UPLOAD_BLOCK_BYTES)
    except OSError as err:
        raise StorageError(f"{target.uri}: upload failed: {storage_reason(err)}") from err
    expected = local.stat().st_size
    if target.size() != expected:
        raise StorageError(f"{target.uri}: uploaded {target.size()} bytes of {expected}")


def publish_bytes(data: bytes, target: Location) -> None:
    """Put ``data`` at ``target`` whole (see :func:`publish_file`)."""
    if not target.remote:
        final = Path(target.path)
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.partial")
        partial.write_bytes(data)
        os.replace(partial, final)
        return
    _ensure_bucket(target)
    try:
        with target.filesystem.open_output_stream(target.path) as out:
            out.write(data)
    except OSError as err:
        raise StorageError(f"{target.uri}: upload failed: {storage_reason(err)}") from err


def local_work_file(target: Location, suffix: str, scratch: Path) -> Path:
    """Where to write an output before it is published: in ``scratch``, a folder inside a local target's
    folder (so publishing is a rename on the same file system) or a local one for a remote target."""
    return scratch / f"{PurePosixPath(target.path).stem}.{uuid.uuid4().hex[:8]}{suffix}"
