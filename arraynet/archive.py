"""Reading a model file within bounds: what a few bytes on disk can make the reader do is
limited by checks made before the work.

- Only regular files are read (a FIFO would block, ``/dev/zero`` never end).
- Each zip member's size is checked from the zip directory before it is inflated: JSON
  members at most ``MAX_JSON`` bytes, archives and arrays stored, not deflated (so they
  cannot be larger than the file); inflating stops at the declared size.
- Each ``.npy`` array's dtype and shape are read from its header and checked against the
  bytes its member holds, and (by the caller) against the shapes the config declares,
  before any memory is allocated for it.

So reading a file of ``n`` bytes allocates a few times ``n`` at most, and the arrays never
more than the file holds.
"""

from __future__ import annotations

import math
import os
import stat
import zipfile
from io import BytesIO

import numpy as np

MAX_JSON = 1 << 22  # bytes of a JSON member (a config of thousands of layers is far less)
_CHUNK = 1 << 20  # bytes inflated or copied at a time


def read_regular_file(path: str) -> bytes:
    """The bytes of ``path``, which must be a regular file (a FIFO would block, a device
    such as /dev/zero never end). Opened without blocking, checked on the open file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"expected a regular file; got {_kind(info.st_mode)}")
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb", closefd=True) as f:
        return f.read(info.st_size)


def _kind(mode: int) -> str:
    kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO (named pipe)",
             stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device",
             stat.S_ISSOCK: "a socket"}  # fmt: skip
    return next((what for test, what in kinds.items() if test(mode)), "not a regular file")


def check_member(info: zipfile.ZipInfo) -> None:
    """Refuse, from the zip directory alone, a member larger than its kind allows: a JSON
    member over ``MAX_JSON`` bytes, an archive or array that is not stored as is."""
    if info.filename.endswith(".json"):
        if info.file_size > MAX_JSON:
            raise ValueError(
                f"expected at most {MAX_JSON} bytes; the zip directory declares {info.file_size}"
            )
    elif info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
        raise ValueError(
            f"expected a stored (uncompressed) member; the zip directory declares "
            f"{info.compress_size} bytes inflating to {info.file_size}"
        )


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, inflated a chunk at a time and never past its declared size (a
    deflated member that inflates further than the directory says is refused as it goes)."""
    limit, chunks, size = archive.getinfo(name).file_size, [], 0
    with archive.open(name) as f:
        while chunk := f.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ValueError(f"inflates past the {limit} bytes the zip directory declares")
            chunks.append(chunk)
    return b"".join(chunks)


class NpzArrays:
    """The arrays ``prefix0, prefix1, ...`` of an ``.npz``: headers first (dtype and shape,
    each checked against its member's size), data only on :meth:`read`. Floats only, except
    the first array (``first_kinds``)."""

    def __init__(self, blob: bytes, prefix: str, first_kinds: str):
        self.archive = zipfile.ZipFile(BytesIO(blob))
        names = self.archive.namelist()
        self.names = [f"{prefix}{i}.npy" for i in range(len(names))]
        if sorted(names) != sorted(self.names):
            raise ValueError(f"expected members {prefix}0.npy, {prefix}1.npy, ...; got {names}")
        self.headers = []
        for i, name in enumerate(self.names):
            info = self.archive.getinfo(name)
            try:
                check_member(info)
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None
            with self.archive.open(name) as f:
                shape, fortran, dtype = _npy_header(f, name)
                offset = f.tell()
            kinds = first_kinds if i == 0 else "f"
            if dtype.kind not in kinds:
                raise ValueError(f"{name[:-4]}: expected a {kinds!r}-kind dtype; got {dtype}")
            nbytes = math.prod(shape) * dtype.itemsize
            if info.file_size - offset != nbytes:
                raise ValueError(
                    f"{name}: its header declares {shape} {dtype} ({nbytes} bytes); the "
                    f"member holds {info.file_size - offset} bytes of data"
                )
            self.headers.append((shape, fortran, dtype, offset, nbytes))

    def check_shapes(self, expected: list[tuple]) -> None:
        """Refuse arrays other than the ``expected`` shapes (as ``config.json`` declares)."""
        shapes = [header[0] for header in self.headers]
        if len(shapes) != len(expected):
            raise ValueError(f"expected shapes {expected}, as config.json declares; got {shapes}")
        for name, shape, want in zip(self.names, shapes, expected):
            if shape != want:
                raise ValueError(
                    f"{name}: expected shape {want}, as config.json declares; got {shape}"
                )

    def read(self) -> list[np.ndarray]:
        arrays = []
        for name, (shape, fortran, dtype, offset, nbytes) in zip(self.names, self.headers):
            buffer = bytearray(nbytes)
            view, at = memoryview(buffer), 0
            with self.archive.open(name) as f:
                f.seek(offset)
                while at < nbytes and (chunk := f.read(min(_CHUNK, nbytes - at))):
                    view[at : at + len(chunk)] = chunk
                    at += len(chunk)
            if at != nbytes:
                raise ValueError(f"{name}: expected {nbytes} bytes of data; got {at}")
            flat = np.frombuffer(buffer, dtype=dtype)
            arrays.append(flat.reshape(shape, order="F" if fortran else "C"))
        return arrays


def _npy_header(f, name: str):
    """``(shape, fortran_order, dtype)`` from a ``.npy`` header (versions 1 and 2), refusing
    object arrays (pickles) before anything else is read."""
    version = np.lib.format.read_magic(f)
    readers = {(1, 0): np.lib.format.read_array_header_1_0,
               (2, 0): np.lib.format.read_array_header_2_0}  # fmt: skip
    if version not in readers:
        raise ValueError(f"{name}: .npy format version {version} is not read here")
    shape, fortran, dtype = readers[version](f)
    if dtype.hasobject:
        raise ValueError(f"{name}: object arrays are refused (allow_pickle=False)")
    return tuple(int(n) for n in shape), bool(fortran), dtype
