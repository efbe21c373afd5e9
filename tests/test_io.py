"""Model files: round trips on every backend, exact resume, damage detection, atomic writes,
and a pickle-free format that a reader following the docstring can parse by hand."""

import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

import arraynet as an
from arraynet import load, save
from arraynet.io import MEMBERS, ModelFileError
from arraynet.layers import Dense, Dropout
from arraynet.optimizers import SGD, Adam

RNG = np.random.default_rng(11)
X = RNG.normal(size=(50, 4))
LABELS = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(np.int64) + (X[:, 2] > 1)
TRAIN = {"batch_size": 16, "shuffle": True, "verbose": 0}
OPTIMIZERS = {"adam": lambda: Adam(0.01), "sgd_momentum": lambda: SGD(0.05, momentum=0.9)}


def _model(optimizer="adam"):
    model = an.Sequential(
        [
            Dense(8, activation="relu", kernel_regularizer={"l2": 1e-3}),
            Dropout(0.2),
            Dense(6, activation="tanh"),
            Dropout(0.2),
            Dense(3),
        ],
        seed=5,
    )
    model.compile("softmax_cross_entropy", OPTIMIZERS[optimizer](), metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def trained():
    """A model trained 3 epochs on NumPy float64."""
    with an.use("numpy", dtype="float64"):
        model = _model()
        model.fit(X, LABELS, epochs=3, **TRAIN)
        return model, model.predict(X), model.evaluate(X, LABELS)


@pytest.fixture
def saved(trained, tmp_path):
    path = tmp_path / "model.arraynet"
    save(trained[0], path)
    return path


def _repack(path, members, trailer=True):
    """Write ``members`` (name -> bytes) as a zip at ``path``, with a valid archive digest."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
        archive.comment = b"arraynet-sha256:" + b"0" * 64
    body = buffer.getvalue()[:-80]
    digest = hashlib.sha256(body).hexdigest().encode()
    path.write_bytes(body + (b"arraynet-sha256:" + digest if trailer else b""))


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _npz(**arrays):
    buffer = BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _error(path) -> ModelFileError:
    with pytest.raises(ModelFileError) as info:
        load(path)
    assert str(path) in str(info.value)
    return info.value


# -- round trips ----------------------------------------------------------------------------


def test_load_on_each_backend_predicts_as_the_original(backend, trained, saved):
    model, expected, scores = trained
    with an.use(backend, dtype="float64"):
        loaded = load(saved)
        np.testing.assert_allclose(loaded.predict(X), expected, rtol=1e-12, atol=0)
        np.testing.assert_allclose(loaded.evaluate(X, LABELS), scores, rtol=1e-12)
    assert loaded.get_config() == model.get_config()
    assert loaded.epoch == model.epoch == 3


def test_model_save_and_load_accept_str_and_pathlike(trained, tmp_path):
    trained[0].save(str(tmp_path / "a.bin"))  # any extension
    with an.use("numpy", dtype="float64"):
        np.testing.assert_array_equal(load(str(tmp_path / "a.bin")).predict(X), trained[1])


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_resume_matches_one_uninterrupted_fit(backend, dtype, optimizer, tmp_path):
    path = tmp_path / "half.arraynet"
    with an.use(backend, dtype=dtype):
        straight = _model(optimizer)
        straight.fit(X, LABELS, epochs=4, **TRAIN)
        half = _model(optimizer)
        half.fit(X, LABELS, epochs=2, **TRAIN)
        save(half, path)
        resumed = load(path)
        before, after = half.get_state(), resumed.get_state()
        assert after["rng_state"] == before["rng_state"]
        assert after["epoch"] == 2 and after["has_optimizer_state"]
        for a, b in zip(after["optimizer_state"], before["optimizer_state"], strict=True):
            np.testing.assert_array_equal(a, b)
        resumed.fit(X, LABELS, epochs=4, initial_epoch=resumed.epoch, **TRAIN)
        assert resumed.epoch == 4
        pairs = list(zip(resumed.get_weights(), straight.get_weights(), strict=True))
    for got, want in pairs:
        assert got.dtype == want.dtype == np.dtype(dtype)
        if backend == "numpy":
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-9 if dtype == "float64" else 1e-5)


def test_untrained_model_round_trips_without_optimizer_state(tmp_path):
    path = tmp_path / "fresh.arraynet"
    model = an.Sequential([Dense(2)], input_dim=3, seed=1)
    model.compile()
    save(model, path)
    assert _members(path)["optimizer.npz"] == _npz()
    loaded = load(path)
    assert not loaded.get_state()["has_optimizer_state"]
    np.testing.assert_array_equal(loaded.predict(X[:, :3]), model.predict(X[:, :3]))
    loaded.fit(X[:, :3], X[:, :2], verbose=0)
    model.fit(X[:, :3], X[:, :2], verbose=0)
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_same_state_gives_the_same_bytes(trained, saved, tmp_path):
    again = tmp_path / "again.arraynet"
    with an.use("numpy", dtype="float64"):
        save(load(saved), again)
    assert again.read_bytes() == saved.read_bytes()


# -- the format, read by hand ---------------------------------------------------------------


def test_format_is_as_documented_and_pickle_free(trained, saved):
    model, expected, _ = trained
    data = saved.read_bytes()
    digest = hashlib.sha256(data[:-80]).hexdigest().encode()
    with zipfile.ZipFile(saved) as archive:
        assert archive.namelist() == list(MEMBERS)
        assert archive.testzip() is None
        members = {name: archive.read(name) for name in MEMBERS}
        assert archive.comment == b"arraynet-sha256:" + digest
    manifest = json.loads(members["manifest.json"])
    assert manifest == {
        "format": "arraynet",
        "format_version": 1,
        "arraynet_version": an.__version__,
        "sha256": {name: hashlib.sha256(members[name]).hexdigest() for name in MEMBERS[1:]},
    }
    state = json.loads(members["config.json"])
    assert list(state) == ["config", "epoch", "has_optimizer_state", "rng_state"]
    assert state["config"] == model.get_config() and state["epoch"] == 3
    assert state["rng_state"] == model.get_state()["rng_state"]
    with np.load(BytesIO(members["weights.npz"]), allow_pickle=False) as npz:
        assert npz.files == [f"w{i}" for i in range(6)]
        weights = [npz[f"w{i}"] for i in range(6)]
    with np.load(BytesIO(members["optimizer.npz"]), allow_pickle=False) as npz:
        opt = [npz[f"s{i}"] for i in range(len(npz.files))]
    assert opt[0].dtype == np.int32 and opt[0].shape == () and int(opt[0]) == 3 * 4
    assert len(opt) == 2 + 2 * len(weights)  # Adam: m and v per weight
    for array in weights + opt[1:]:
        assert array.dtype == np.dtype("<f8")
    # a reader that knows only the docstring: the forward pass at inference (no dropout)
    (W1, b1, W2, b2, W3, b3) = weights
    logits = np.tanh(np.maximum(X @ W1 + b1, 0) @ W2 + b2) @ W3 + b3
    np.testing.assert_allclose(logits, expected, rtol=1e-12)


# -- damage and foreign files ---------------------------------------------------------------


def test_missing_file_and_directory(tmp_path):
    err = _error(tmp_path / "missing.arraynet")
    assert isinstance(err, ValueError) and isinstance(err.__cause__, FileNotFoundError)
    _error(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"", np.random.default_rng(1).bytes(1), np.random.default_rng(0).bytes(5000)],
    ids=["empty", "1-byte", "5000-bytes"],  # fixed bytes and ids: every xdist worker collects these
)
def test_random_bytes(tmp_path, content):
    path = tmp_path / "noise.arraynet"
    path.write_bytes(content)
    assert "not a zip archive" in str(_error(path))


def test_truncated_at_any_offset_is_refused(saved):
    data = saved.read_bytes()
    for cut in [*range(1, len(data), 97), len(data) - 81, len(data) - 80, len(data) - 1]:
        saved.write_bytes(data[:cut])
        _error(saved)


def test_a_single_flipped_bit_anywhere_is_detected(saved):
    """Zip headers included: the archive digest covers every byte (all 8 bits of every byte
    were checked once by hand; every third byte here keeps the test quick)."""
    data = saved.read_bytes()
    undetected = []
    for offset in range(0, len(data), 3):
        damaged = bytearray(data)
        damaged[offset] ^= 1 << (offset % 8)
        saved.write_bytes(damaged)
        try:
            load(saved)
        except ModelFileError as err:
            assert str(saved) in str(err)
        else:
            undetected.append(offset)
    assert undetected == []


def _set(name, value):
    def change(members):
        members[name] = value

    return change


def _manifest(**changes):
    def change(members):
        members["manifest.json"] = json.dumps({**json.loads(members["manifest.json"]), **changes})

    return change


def _config(**changes):
    def change(members):
        state = {**json.loads(members["config.json"]), **changes}
        members["config.json"] = json.dumps(state).encode()

    return change


def _weight(i, value):
    def change(members):
        with np.load(BytesIO(members["weights.npz"])) as npz:
            arrays = dict(npz)
        arrays[f"w{i}"] = value
        members["weights.npz"] = _npz(**arrays)

    return change


DAMAGE = {
    "wrong format version": (_manifest(format_version=2), "format version 2 is not supported"),
    "boolean version": (_manifest(format_version=True), "format version True"),
    "another format": (_manifest(format="keras"), "not an arraynet model file"),
    "manifest not JSON": (_set("manifest.json", b"{oops"), "manifest.json"),
    "missing member": (lambda m: m.pop("optimizer.npz"), "expected the members"),
    "extra member": (_set("notes.txt", b"hi"), "expected the members"),
    "stale sha256": (_weight(0, np.zeros((4, 8))), "weights.npz: the sha256 does not match"),
}
RESEALED = {  # the manifest's sha256 fixed up: the content checks must catch these
    "config not JSON": (_set("config.json", b"[1, 2"), "config.json"),
    "NaN in config": (_set("config.json", b'{"epoch": NaN}'), "NaN is not strict JSON"),
    "missing key": (lambda m: m.update({"config.json": b"{}"}), "expected an object with keys"),
    "negative epoch": (_config(epoch=-1), "epoch: expected an integer >= 0"),
    "float epoch": (_config(epoch=2.0), "epoch: expected an integer >= 0"),
    "unknown layer": (_config(config={"layers": [{"class": "Conv"}]}), "inconsistent model"),
    "wrong generator": (_config(rng_state={"bit_generator": "MT19937"}), "inconsistent model"),
    "wrong shape": (_weight(0, np.zeros((4, 7))), "inconsistent model state"),
    "missing weight": (_weight(6, np.zeros(3)), "inconsistent model state"),
    "gap in names": (_weight(9, np.zeros(3)), "expected members w0.npy"),
    "integer weights": (_weight(1, np.zeros(8, np.int64)), "w1: expected a 'f'-kind dtype"),
    "pickled object array": (_weight(1, np.array([1, "x"], object)), "allow_pickle=False"),
    "optimizer slots": (
        _set("optimizer.npz", _npz(s0=np.int32(1), s1=np.float64(0.1))),
        "optimizer.npz: expected shapes",
    ),
    "weights not a zip": (_set("weights.npz", b"\x93NUMPY"), "weights.npz"),
}


@pytest.mark.parametrize("case", [*DAMAGE, *RESEALED])
def test_foreign_or_damaged_content_is_refused(saved, case):
    change, message = {**DAMAGE, **RESEALED}[case]
    members = _members(saved)
    change(members)
    if case in RESEALED:
        manifest = json.loads(members["manifest.json"])
        for name in MEMBERS[1:]:
            manifest["sha256"][name] = hashlib.sha256(members[name]).hexdigest()
        members["manifest.json"] = json.dumps(manifest)
    _repack(saved, members)
    assert message in str(_error(saved))


def test_archive_without_its_digest_is_refused(saved):
    _repack(saved, _members(saved), trailer=False)
    assert "archive checksum does not match" in str(_error(saved))


# -- atomic writes --------------------------------------------------------------------------


class _HalfWriter:
    """A file that writes half of what it is given, then runs out of space."""

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")


def _raise(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


_fdopen = os.fdopen
FAILURES = {  # what in arraynet.io's reach fails: (module, name, replacement, error raised)
    "encoding": (np.lib.format, "write_array", _raise(RuntimeError("boom")), RuntimeError),
    "half written": (os, "fdopen", lambda fd, mode: _HalfWriter(_fdopen(fd, mode)), OSError),
    "fsync": (os, "fsync", _raise(OSError(errno.EIO, "I/O error")), OSError),
    "interrupted": (os, "fsync", _raise(KeyboardInterrupt()), KeyboardInterrupt),
    "replace": (os, "replace", _raise(PermissionError("denied")), PermissionError),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_save_leaves_the_previous_file_and_no_temp(trained, saved, monkeypatch, failure):
    module, name, replacement, error = FAILURES[failure]
    before = saved.read_bytes()
    other = _model()
    other.fit(X, LABELS, epochs=1, **TRAIN)
    monkeypatch.setattr(module, name, replacement)
    with pytest.raises(error):
        save(other, saved)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]
    with an.use("numpy", dtype="float64"):
        np.testing.assert_array_equal(load(saved).predict(X), trained[1])


def test_an_unsaveable_model_leaves_no_trace(tmp_path):
    """A layer without a config cannot be saved (an uncompiled model can: issue #17)."""

    class Unsaveable(Dense):
        def get_config(self):
            raise NotImplementedError("no config")

    model = an.Sequential([Unsaveable(2)], input_dim=3)
    with pytest.raises(NotImplementedError, match="config"):
        save(model, tmp_path / "never.arraynet")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid checks are POSIX")
def test_temp_file_of_a_killed_save_is_removed_by_the_next(trained, saved):
    before = saved.read_bytes()
    script = (
        "import os, signal, sys\n"
        "import arraynet as an\n"
        "from arraynet import save\n"
        "model = an.Sequential([an.layers.Dense(2)], input_dim=3)\n"
        "model.compile()\n"
        "os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)\n"
        "save(model, sys.argv[1])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    killed = subprocess.run([sys.executable, "-c", script, str(saved)], env=env, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    stale = sorted(set(os.listdir(saved.parent)) - {saved.name})
    assert len(stale) == 1 and re.fullmatch(r"\.model\.arraynet\.\d+\.[0-9a-f]{8}\.tmp", stale[0])
    assert saved.read_bytes() == before
    live = saved.parent / f".model.arraynet.{os.getppid()}.0123abcd.tmp"  # a running writer's
    elsewhere = saved.parent / ".other.arraynet.999999.0123abcd.tmp"  # another target's
    live.write_bytes(b"")
    elsewhere.write_bytes(b"")
    save(trained[0], saved)
    assert sorted(os.listdir(saved.parent)) == sorted([saved.name, live.name, elsewhere.name])
    assert saved.read_bytes() == before


@pytest.mark.parametrize("other", ["jax", "torch", "array_api_strict"])
def test_state_moved_across_backends_saves_and_loads(other, tmp_path):
    """Train on NumPy, go on on another backend, save, load: the step count and learning
    rate keep their shape () (a host round trip once made them shape (1,), which load
    refused), and the loaded model resumes as the saved one does."""
    if other not in an.available_backends():
        pytest.skip(f"{other} is not available here")
    with an.use("numpy", dtype="float64"):
        model = _model()
        model.fit(X, LABELS, epochs=1, **TRAIN)
    with an.use(other, dtype="float64"):
        model.fit(X, LABELS, epochs=2, initial_epoch=1, **TRAIN)
        save(model, tmp_path / "moved.arraynet")
        loaded = load(tmp_path / "moved.arraynet")
        assert [tuple(s.shape) for s in loaded.variables.opt_state[:2]] == [(), ()]
        for model_ in (model, loaded):
            model_.fit(X, LABELS, epochs=3, initial_epoch=2, **TRAIN)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("where", ["", "."])
def test_saving_to_a_directory_is_refused_before_writing(trained, tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="^path: expected a file path"):
        save(trained[0], where)
    assert list(tmp_path.iterdir()) == [] and list(tmp_path.parent.glob(".*.tmp")) == []
