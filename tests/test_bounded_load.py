"""Loading is bounded: a hostile model file under 1 MB (valid checksums, recomputed) is refused
before it can make ``load`` inflate, allocate or draw much, and non-regular files are refused.

Each case measures the peak of traced allocations (``tracemalloc``) during ``load``: under
50 MB. The files are written in chunks, so the test never holds the inflated bytes itself.
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from io import BytesIO

import numpy as np
import pytest

import arraynet as an
from arraynet.io import MEMBERS, ModelFileError

BUDGET = 50 << 20  # bytes of peak traced allocation while loading a file under 1 MB
PAD = 200 << 20  # bytes a hostile member inflates to
CHUNK = 1 << 20
TAG = b"arraynet-sha256:"


def _saved(tmp_path):
    model = an.Sequential([an.layers.Dense(8, activation="relu"), an.layers.Dense(2)], seed=0)
    model.compile("squared_error", an.optimizers.Adam(lr=0.01))
    model.fit(np.ones((6, 4)), np.zeros((6, 2)), epochs=1, verbose=0)
    path = tmp_path / "good.arraynet"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in MEMBERS}


def _manifest(digests) -> bytes:
    return json.dumps(
        {"format": "arraynet", "format_version": 1, "arraynet_version": an.__version__,
         "sha256": digests}
    ).encode()  # fmt: skip


def _padded(blob: bytes, size: int = PAD):
    """``blob`` then ``size`` bytes of JSON whitespace, as chunks."""
    yield blob
    for _ in range(size // CHUNK):
        yield b" " * CHUNK


def _write(path, members, deflated=(), declared=None):
    """A model file at ``path``: ``members`` (name -> bytes or chunks; manifest.json made
    from the others' sha256 unless given), the archive checksum recomputed. ``declared``:
    name -> an uncompressed size to write in the zip directory instead of the true one."""
    members = dict(members)
    digests = {}
    with zipfile.ZipFile(path, "w") as archive:
        for name in MEMBERS[1:] + ("manifest.json",):
            if name == "manifest.json" and name not in members:
                members[name] = _manifest(digests)
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if name in deflated else zipfile.ZIP_STORED
            blob = members[name]
            chunks = [blob] if isinstance(blob, bytes) else blob
            digest = hashlib.sha256()
            with archive.open(info, "w") as f:
                for chunk in chunks:
                    digest.update(chunk)
                    f.write(chunk)
            digests[name] = digest.hexdigest()
        archive.comment = TAG + b"0" * 64
    data = bytearray(path.read_bytes())
    for name, size in (declared or {}).items():
        _declare(data, name, size)
    body = bytes(data[:-64])[: -len(TAG)]
    path.write_bytes(body + TAG + hashlib.sha256(body).hexdigest().encode())
    assert path.stat().st_size < 1 << 20, "a hostile file here is under 1 MB"
    return path


def _declare(data: bytearray, name: str, size: int) -> None:
    """Write ``size`` as ``name``'s uncompressed size in its local header and in the
    central directory (zip offsets 22 and 24)."""
    raw = name.encode()
    for signature, offset, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(signature)
        while data[at + name_at : at + name_at + len(raw)] != raw:
            at = data.find(signature, at + 1)
        data[at + offset : at + offset + 4] = size.to_bytes(4, "little")


def _npz(arrays) -> bytes:
    buffer = BytesIO()
    np.savez(buffer, **{f"w{i}": a for i, a in enumerate(arrays)})
    return buffer.getvalue()


def _deflated_npz(shape) -> bytes:
    """weights.npz whose w0.npy is deflated: a header of ``shape`` float64, then zeros."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("w0.npy", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as f:
            header = {"descr": "<f8", "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(f, header)
            left = 8 * int(np.prod(shape))
            while left:
                f.write(bytes(min(CHUNK, left)))
                left -= min(CHUNK, left)
    return buffer.getvalue()


def _lying_npz(shape) -> bytes:
    """weights.npz whose stored w0.npy declares ``shape`` float64 and holds 32 bytes."""
    buffer = BytesIO()
    info = zipfile.ZipInfo("w0.npy", date_time=(1980, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(buffer, "w") as archive, archive.open(info, "w") as f:
        header = {"descr": "<f8", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(f, header)
        f.write(bytes(32))
    return buffer.getvalue()


def _peak_load(path):
    """The error ``load`` raises for ``path`` and the peak traced bytes meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as info:
            an.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(info.value), peak


def _case(name, good):
    config = json.loads(good["config.json"])
    if name == "config padded with 200 MB of whitespace":
        return {"config.json": _padded(good["config.json"])}, {"config.json"}, None
    if name == "manifest padded with 200 MB of whitespace":
        digests = {k: hashlib.sha256(good[k]).hexdigest() for k in MEMBERS[1:]}
        return {"manifest.json": _padded(_manifest(digests))}, {"manifest.json"}, None
    if name == "config declaring 1 kB that inflates to 200 MB":
        size = len(good["config.json"])
        return {"config.json": _padded(good["config.json"])}, {"config.json"}, {"config.json": size}
    if name == "weights.npz deflated to 200 MB":
        return {"weights.npz": _padded(good["weights.npz"])}, {"weights.npz"}, None
    if name == "first weight array inflating to 200 MB":
        return {"weights.npz": _deflated_npz((5000, 5000))}, (), None
    if name == "first weight array whose header declares 200 MB":
        return {"weights.npz": _lying_npz((5000, 5000))}, (), None
    if name == "config declaring a 6000x6000 layer":
        config["config"]["input_dim"] = 6000
        config["config"]["layers"][0]["units"] = 6000
        return {"config.json": json.dumps(config).encode()}, (), None
    raise AssertionError(name)


CASES = {  # the case -> the member the error names
    "config padded with 200 MB of whitespace": "config.json",
    "manifest padded with 200 MB of whitespace": "manifest.json",
    "config declaring 1 kB that inflates to 200 MB": "config.json",
    "weights.npz deflated to 200 MB": "weights.npz",
    "first weight array inflating to 200 MB": "w0.npy",
    "first weight array whose header declares 200 MB": "w0.npy",
    "config declaring a 6000x6000 layer": "w0.npy",
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_small_file_is_refused_within_the_memory_budget(case, tmp_path):
    good = _saved(tmp_path)
    del good["manifest.json"]  # _write makes it from the members' digests
    members, deflated, declared = _case(case, good)
    path = _write(tmp_path / "hostile.arraynet", {**good, **members}, deflated, declared)
    message, peak = _peak_load(path)
    print(f"\n{case}: {path.stat().st_size} bytes on disk, peak {peak / 2**20:.1f} MiB: {message}")
    assert peak < BUDGET, f"{case}: peak {peak / 2**20:.0f} MiB while loading"
    assert CASES[case] in message, message


def test_the_good_file_written_the_same_way_loads(tmp_path):
    # the writer above makes loadable files: the refusals come from the hostile parts
    good = _saved(tmp_path)
    del good["manifest.json"]
    path = _write(tmp_path / "rewritten.arraynet", good)
    tracemalloc.start()
    try:
        model = an.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert model.epoch == 1 and peak < BUDGET


def test_load_draws_no_initial_weights(tmp_path, monkeypatch):
    _saved(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("load drew initial weights (Model.build)")

    monkeypatch.setattr(an.Model, "build", refuse)
    model = an.load(tmp_path / "good.arraynet")
    assert [w.shape for w in model.get_weights()] == [(4, 8), (8,), (8, 2), (2,)]


# -- files that are not regular files --------------------------------------------------------

_SPECIAL = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # old code read /dev/zero forever
import arraynet as an
try:
    an.load(sys.argv[1])
except an.ModelFileError as err:
    print(err)
"""


@pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero are POSIX")
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "directory"])
def test_a_file_that_is_not_regular_is_refused_at_once(kind, tmp_path):
    path = {"/dev/zero": "/dev/zero", "directory": str(tmp_path)}.get(kind)
    if kind == "fifo":
        path = str(tmp_path / "pipe")
        os.mkfifo(path)  # nobody writes: opening it to read would block
    try:
        out = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(_SPECIAL), path],
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"load({path!r}) hung")
    assert "expected a regular file" in out, out
    assert path in out
