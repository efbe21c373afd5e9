"""Model files: a model's state dict to and from one zip archive in a documented format,
never pickle. (``arraynet.save``/``arraynet.load`` turn models into state dicts and back;
this module knows no model class.)

Format "arraynet", version 1
============================

A model file is a zip archive (any name; ``.arraynet`` suggested) with exactly four members,
written in this order:

``manifest.json``
    ``{"format": "arraynet", "format_version": 1, "arraynet_version": "0.1.0",
    "sha256": {"config.json": HEX, "weights.npz": HEX, "optimizer.npz": HEX}}``; HEX is the
    lowercase hex SHA-256 of that member's uncompressed bytes. A reader refuses another
    ``format`` and any ``format_version`` it does not know; ``arraynet_version`` (the
    writer's) is informative.
``config.json``
    the model's state (``arraynet.models.state.get_state``) without its arrays, an object
    with exactly the keys ``config`` (``layers``, ``input_dim``, ``seed``, ``loss``,
    ``optimizer``, ``metrics`` (these three null for a model saved before ``compile``),
    ``precision``: null, "mixed_bfloat16" or "mixed_float16"; ``input_shape`` too, a list,
    where the inputs are not 1-D and ``input_dim`` is null; ``name`` and ``layer_names``,
    Keras's names of the model and its layers, optional),
    ``epoch`` (epochs trained so far, an integer >= 0),
    ``has_optimizer_state`` (a boolean) and ``rng_state`` (NumPy's
    ``Generator.bit_generator.state`` of the shuffle/dropout generator, a PCG64 state whose
    ``state`` and ``inc`` are 128-bit integers written as plain JSON integers: parse them as
    big integers).
``weights.npz``
    the weights in ``get_weights()`` order, as members ``w0.npy``, ``w1.npy``,
    ... (``W1, b1, W2, b2, ...``; each W of shape (inputs, units)).
``optimizer.npz``
    the optimizer state (see :mod:`arraynet.optimizers`), members ``s0.npy``, ``s1.npy``,
    ...: ``s0`` the step count (integer, shape ()), ``s1`` the base learning rate (float,
    shape ()), then the slots: for each slot kind of the optimizer, one array per weight,
    shaped and ordered as the weights, then one of shape () for each of the optimizer's
    scalars (Nadam's ``u_product``); with ``precision`` "mixed_float16", two more of shape
    (): the loss scale and the count of finite steps since it last changed. No members when
    ``has_optimizer_state`` is false.

Dtype rules: the ``.npz`` members are ordinary NumPy archives (members stored uncompressed)
of ``.npy`` files, little-endian, never object arrays, so ``numpy.load(f,
allow_pickle=False)`` reads them. Weights, learning rate and slots are float32 or float64:
the dtype of the backend the model was on when saved. Loading accepts any float dtype there
(an integer one for ``s0``) and casts to the backend selected when the model is next used.
JSON members are UTF-8 strict JSON (no NaN or Infinity); ``*.json`` members are deflated.

Integrity: the zip archive comment is ``arraynet-sha256:`` and the hex SHA-256 of every
byte of the file before the comment, so any damage (zip headers included) is detected.
Members carry a fixed timestamp (1980-01-01): the same model state gives the same bytes.

Reading is bounded (:mod:`arraynet.archive`): regular files only; JSON members of at most
4 MiB and ``.npz`` members stored as is, checked from the zip directory before inflating;
each array's header checked against its member's bytes and the config's shapes before
anything is allocated for it.

Writes are atomic: a temporary file ``.<name>.<pid>.<8 hex>.tmp`` beside the target (``~`` and
a hash in place of a name too long for that), fsynced, then renamed over it; a failed save
leaves the previous file untouched, and its error names the target.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import stat
import zipfile
from io import BytesIO

import numpy as np

from . import archive as archive_reading
from . import distributed
from .version import __version__

FORMAT, VERSION = "arraynet", 1
MEMBERS = ("manifest.json", "config.json", "weights.npz", "optimizer.npz")
_STATE_KEYS = ("config", "epoch", "has_optimizer_state", "rng_state")
_TAG = b"arraynet-sha256:"
_TRAILER = len(_TAG) + 64
_WRITING: set[str] = set()  # temp files this process is writing now

__all__ = ["FORMAT", "VERSION", "ModelFileError", "file_errors", "read_state", "write_state"]


class ModelFileError(ValueError):
    """A model file that cannot be loaded: missing, damaged, or in a format not read here."""


# -- save -----------------------------------------------------------------------------------


def write_state(state: dict, path) -> None:
    """Write a model's ``state`` (config, weights, optimizer state, epoch, generator) to
    ``path``.

    Atomic: the file at ``path`` is either the previous one, byte for byte, or the new one.
    A symlink at ``path`` is followed.
    """
    given = os.fsdecode(path)
    path = os.path.realpath(given)
    if not given or os.path.isdir(path):
        raise ValueError(f"path: expected a file path; got {given!r}, a directory")
    if distributed.process_count() > 1:  # process 0 writes; the others wait for the file
        try:
            if distributed.is_main_process():
                _write(state, given, path)
        finally:  # a failed write, too: the others are not left waiting
            distributed.barrier(f"arraynet write_state {path}")
        return
    _write(state, given, path)


def _write(state: dict, given: str, path: str) -> None:
    data = _archive(state)
    folder, name = os.path.split(path)
    stem = _temp_stem(name)
    _remove_stale(folder, stem)
    tmp = os.path.join(folder, f".{stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    _WRITING.add(tmp)
    try:
        with os.fdopen(os.open(tmp, flags, 0o666), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):  # keep the old file's permissions
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        if isinstance(err, OSError) and err.filename in (None, tmp):  # name the model file
            err.filename, err.filename2 = given, None
        raise
    finally:
        _WRITING.discard(tmp)
    _fsync_dir(folder)


def _temp_stem(name: str) -> str:
    """The target's name in its temp file's, or (where ``.<name>.<pid>.<8 hex>.tmp`` would
    pass the 255 bytes file systems allow in a name) a hash of it."""
    if len(os.fsencode(name)) <= 255 - len(".." + "4294967295" + ".01234567.tmp"):
        return name
    return "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:32]


def _archive(state: dict) -> bytes:
    members = {
        "config.json": _to_json({key: state[key] for key in _STATE_KEYS}),
        "weights.npz": _npz("w", state["weights"]),
        "optimizer.npz": _npz("s", state["optimizer_state"]),
    }
    manifest = {
        "format": FORMAT,
        "format_version": VERSION,
        "arraynet_version": __version__,
        "sha256": {name: _sha256(blob) for name, blob in members.items()},
    }
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, blob in {"manifest.json": _to_json(manifest), **members}.items():
            archive.writestr(_info(name), blob)
        archive.comment = _TAG + b"0" * 64  # placeholder of the final length
    body = buffer.getvalue()[:-_TRAILER]
    return body + _TAG + _sha256(body).encode()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
    info.create_system, info.external_attr = 3, 0o644 << 16
    return info


def _npz(prefix: str, arrays) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, array in enumerate(arrays):
            array = np.asarray(array)
            array = np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")
            with archive.open(_info(f"{prefix}{i}.npy"), "w", force_zip64=True) as f:
                np.lib.format.write_array(f, array, allow_pickle=False)
    return buffer.getvalue()


def _to_json(value) -> bytes:
    def plain(obj):
        if isinstance(obj, np.generic):
            return obj.item()
        raise TypeError(f"{obj!r} ({type(obj).__name__}) is not JSON data")

    return json.dumps(value, indent=1, allow_nan=False, default=plain).encode()


def _sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def _remove_stale(folder: str, stem: str) -> None:
    """Remove temp files for this target (``stem``: its name in theirs) left by processes
    killed while saving."""
    pattern = re.compile(re.escape(f".{stem}.") + r"(\d+)\.[0-9a-f]{8}\.tmp")
    for entry in os.listdir(folder):
        match = pattern.fullmatch(entry)
        path = os.path.join(folder, entry)
        if match and path not in _WRITING and not _alive(int(match[1])):
            with contextlib.suppress(OSError):
                os.remove(path)


def _alive(pid: int) -> bool:
    """Whether another process ``pid`` runs (and may be writing); False where unknowable."""
    if pid == os.getpid() or os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def _fsync_dir(folder: str) -> None:
    """Make the rename durable (POSIX; a no-op where directories cannot be fsynced)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


# -- load -----------------------------------------------------------------------------------


def read_state(path, expect=None) -> dict:
    """The model state saved at ``path`` by :func:`write_state`, verified in full.

    Bounded: only a regular file is read; each member's size is checked from the zip
    directory before it is inflated, each array's from its ``.npy`` header before any
    memory is allocated for it (:mod:`arraynet.archive`): a file of ``n`` bytes costs a few
    times ``n`` at most.
    ``expect(state)``, given the state read from ``config.json`` (no arrays yet), returns
    the shapes it declares, ``(weight_shapes, optimizer_state_shapes)``: the arrays'
    headers must match them before any array is read.

    Raises :class:`ModelFileError`, naming the path and the problem, for any file that is
    missing, unreadable, damaged or not in a format version read here.
    """
    path = os.fsdecode(path)
    with file_errors(path, "cannot read the file"):
        data = archive_reading.read_regular_file(path)
    with file_errors(path, "not a zip archive, or a damaged one"):
        archive = zipfile.ZipFile(BytesIO(data))
    names = archive.namelist()
    if sorted(names) != sorted(MEMBERS):
        found = ", ".join(names) or "none"
        _fail(path, f"expected the members {', '.join(MEMBERS)}; found {found}")
    body, trailer = data[:-_TRAILER], data[-_TRAILER:]
    if archive.comment != trailer or trailer != _TAG + _sha256(body).encode():
        _fail(path, "the archive checksum does not match: the file is damaged")
    for name in MEMBERS:
        with file_errors(path, name):
            archive_reading.check_member(archive.getinfo(name))
    with file_errors(path, "manifest.json"):
        manifest = _from_json(archive_reading.read_member(archive, "manifest.json"))
    _check_manifest(path, manifest)
    blobs = {}
    for name in MEMBERS[1:]:
        with file_errors(path, name):
            blobs[name] = archive_reading.read_member(archive, name)
        if _sha256(blobs[name]) != manifest["sha256"][name]:
            _fail(path, f"{name}: the sha256 does not match the manifest's: the file is damaged")
    del data, body, archive
    with file_errors(path, "config.json"):
        state = _check_state(_from_json(blobs.pop("config.json")))
    stored = {}
    for name, prefix, first in (("weights.npz", "w", "f"), ("optimizer.npz", "s", "iu")):
        with file_errors(path, name):
            stored[name] = archive_reading.NpzArrays(blobs.pop(name), prefix, first)
    if expect is not None:
        with file_errors(path, "inconsistent model state: config.json"):
            declared = expect(state)
        for (name, arrays), shapes in zip(stored.items(), declared):
            with file_errors(path, f"inconsistent model state: {name}"):
                arrays.check_shapes([tuple(s) for s in shapes])
    with file_errors(path, "weights.npz"):
        weights = stored["weights.npz"].read()
    with file_errors(path, "optimizer.npz"):
        optimizer_state = stored["optimizer.npz"].read()
    return {**state, "weights": weights, "optimizer_state": optimizer_state}


@contextlib.contextmanager
def file_errors(path: str, what: str):
    """Turn any error inside into a :class:`ModelFileError` about ``path``."""
    try:
        yield
    except ModelFileError:
        raise
    except Exception as err:
        raise ModelFileError(f"{path}: {what}: {str(err) or type(err).__name__}") from err


def _fail(path: str, problem: str):
    raise ModelFileError(f"{path}: {problem}")


def _check_manifest(path: str, manifest) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else manifest
        _fail(path, f"not an arraynet model file (manifest format {found!r})")
    version = manifest.get("format_version")
    if version != VERSION or isinstance(version, bool):
        _fail(path, f"format version {version!r} is not supported; this arraynet reads {VERSION}")
    digests = manifest.get("sha256")
    if not isinstance(digests, dict) or sorted(digests) != sorted(MEMBERS[1:]):
        _fail(path, f"manifest.json: expected sha256 of {', '.join(MEMBERS[1:])}")


def _from_json(blob: bytes):
    def refuse(constant):
        raise ValueError(f"{constant} is not strict JSON")

    return json.loads(blob.decode("utf-8"), parse_constant=refuse)


def _check_state(state) -> dict:
    if not isinstance(state, dict) or sorted(state) != sorted(_STATE_KEYS):
        keys = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"expected an object with keys {', '.join(_STATE_KEYS)}; got {keys}")
    epoch = state["epoch"]
    if type(epoch) is not int or epoch < 0:
        raise ValueError(f"epoch: expected an integer >= 0; got {epoch!r}")
    if type(state["has_optimizer_state"]) is not bool:
        raise ValueError("has_optimizer_state: expected true or false")
    return state
