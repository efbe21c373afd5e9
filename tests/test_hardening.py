"""Tampered optimizer state is refused at load; saving works for any name the file system
takes and its errors name the file; ModelCheckpoint's template is checked before training;
weights a dtype cannot hold are refused."""

import errno
import hashlib
import json
import os
import zipfile
from io import BytesIO

import numpy as np
import pytest

import arraynet as an
from arraynet.io import MEMBERS, ModelFileError

X = np.random.default_rng(2).normal(size=(24, 3))
Y = X[:, :1] - X[:, 1:2]


def _model(optimizer=None, precision=None):
    model = an.Sequential([an.layers.Dense(4, activation="tanh"), an.layers.Dense(1)], seed=1)
    model.compile("squared_error", optimizer or an.optimizers.Adam(lr=0.01), precision=precision)
    return model


# -- tampered optimizer state ---------------------------------------------------------------


def _resealed(path, optimizer_arrays):
    """Rewrite ``path`` with ``optimizer.npz`` holding ``optimizer_arrays``, every checksum
    recomputed (as someone who edits the file on purpose would)."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in MEMBERS}
    buffer = BytesIO()
    np.savez(buffer, **{f"s{i}": a for i, a in enumerate(optimizer_arrays)})
    members["optimizer.npz"] = buffer.getvalue()
    manifest = json.loads(members["manifest.json"])
    for name in MEMBERS[1:]:
        manifest["sha256"][name] = hashlib.sha256(members[name]).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
        archive.comment = b"arraynet-sha256:" + b"0" * 64
    body = out.getvalue()[:-80]
    path.write_bytes(body + b"arraynet-sha256:" + hashlib.sha256(body).hexdigest().encode())


def _tamper(arrays, index, value):
    arrays = [np.array(a) for a in arrays]
    if arrays[index].ndim:
        arrays[index].flat[0] = value
    else:
        arrays[index] = np.asarray(value, dtype=arrays[index].dtype)
    return arrays


TAMPERED = {  # case -> (index in the state, value, what the error names)
    "learning rate -1": (1, -1.0, "s1 (the learning rate): expected a finite number >= 0"),
    "learning rate NaN": (1, np.nan, "s1 (the learning rate)"),
    "learning rate inf": (1, np.inf, "s1 (the learning rate)"),
    "negative step count": (0, -3, "s0 (the step count)"),
    "infinite Adam slot": (2, np.inf, "s2: expected finite numbers"),
    "NaN Adam slot": (7, np.nan, "s7: expected finite numbers"),
}


@pytest.mark.parametrize("case", TAMPERED)
def test_tampered_optimizer_state_is_refused(case, tmp_path):
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0)
    path = tmp_path / "m.arraynet"
    model.save(path)
    index, value, words = TAMPERED[case]
    _resealed(path, _tamper(model.get_state()["optimizer_state"], index, value))
    with pytest.raises(ModelFileError, match="optimizer.npz") as info:
        an.load(path)
    assert words in str(info.value)


def test_tampered_loss_scale_is_refused(tmp_path):
    model = _model(an.optimizers.SGD(lr=0.1), precision="mixed_float16")
    model.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "m.arraynet"
    model.save(path)
    state = model.get_state()["optimizer_state"]
    _resealed(path, _tamper(state, len(state) - 2, 0.0))
    with pytest.raises(ModelFileError, match="the loss scale"):
        an.load(path)


def test_untampered_state_still_loads_and_resumes(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0)
    path = tmp_path / "m.arraynet"
    model.save(path)
    _resealed(path, model.get_state()["optimizer_state"])  # resealed, unchanged
    loaded = an.load(path)
    loaded.fit(X, Y, epochs=3, initial_epoch=2, verbose=0)
    assert loaded.epoch == 3


# -- saving: names and errors ----------------------------------------------------------------


def test_a_long_name_the_file_system_takes_can_be_saved(tmp_path):
    name = "m" * 241 + ".arraynet"  # 250 bytes: the file system takes it
    (tmp_path / name).write_bytes(b"")  # (it does)
    model = _model()
    model.fit(X, Y, epochs=1, verbose=0)
    model.save(tmp_path / name)
    np.testing.assert_array_equal(an.load(tmp_path / name).predict(X), model.predict(X))
    assert os.listdir(tmp_path) == [name]  # no temp file left


class _Failing:
    """A file whose writes fail with ``error`` (a full disk, a file size limit)."""

    def __init__(self, f, error):
        self.f, self.error = f, error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        raise OSError(self.error, os.strerror(self.error))


@pytest.mark.parametrize("error", [errno.EFBIG, errno.ENOSPC])
def test_a_failed_write_names_the_model_file(error, tmp_path, monkeypatch):
    model = _model()
    model.fit(X, Y, epochs=1, verbose=0)
    fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: _Failing(fdopen(fd, mode), error))
    target = tmp_path / "full.arraynet"
    with pytest.raises(OSError) as info:
        model.save(target)
    monkeypatch.undo()
    assert info.value.errno == error
    assert str(target) in str(info.value), str(info.value)
    assert os.listdir(tmp_path) == []


# -- ModelCheckpoint's template ---------------------------------------------------------------


class _Count(an.callbacks.Callback):
    timely = False

    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


@pytest.mark.parametrize(
    "template, named",
    [("ck-{val_loss:.2f}.arraynet", "val_loss"), ("ck-{epoch.real}-{}.arraynet", "{}"),
     ("ck-{epoch", "format string")],
)  # fmt: skip
def test_a_checkpoint_template_naming_an_unlogged_value_is_refused_before_training(
    template, named, tmp_path
):
    model, count = _model(), _Count()
    before = model.get_weights()
    checkpoint = an.callbacks.ModelCheckpoint(str(tmp_path / template))
    with pytest.raises(ValueError, match="filepath") as info:
        model.fit(X, Y, epochs=2, verbose=0, callbacks=[checkpoint, count])
    assert named in str(info.value) and str(tmp_path) in str(info.value)
    assert count.epochs == 0 and os.listdir(tmp_path) == []
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_a_checkpoint_template_naming_a_value_nobody_logged_is_a_value_error(tmp_path):
    # other callbacks may add values to the logs, so this one is found at the epoch's end
    checkpoint = an.callbacks.ModelCheckpoint(str(tmp_path / "ck-{acc}.arraynet"))
    with pytest.raises(ValueError, match=r"filepath: expected names of logged values .*acc"):
        _model().fit(X, Y, epochs=2, verbose=0, callbacks=[checkpoint])


def test_a_checkpoint_template_of_logged_values_saves(tmp_path):
    model = _model()
    model.compile("squared_error", an.optimizers.Adam(lr=0.01), metrics=["mae"])
    template = str(tmp_path / "ck-{epoch:02d}-{loss:.3f}-{val_mae:.3f}.arraynet")
    model.fit(X, Y, epochs=2, verbose=0, validation_split=0.25,
              callbacks=[an.callbacks.ModelCheckpoint(template)])  # fmt: skip
    assert len(os.listdir(tmp_path)) == 2


# -- weights a dtype cannot hold ----------------------------------------------------------------


@pytest.mark.parametrize("value", [1e300, -1e39])
def test_float64_weights_that_overflow_float32_are_refused(backend, value):
    with an.use(backend):
        model = _model()
        model.fit(X, Y, epochs=1, verbose=0)
        before = model.get_weights()
        weights = [w.astype(np.float64) for w in before]
        weights[2][0, 0] = value
        with pytest.raises(ValueError, match=r"weights\[2\]: expected values that float32"):
            model.set_weights(weights)
        for got, want in zip(model.get_weights(), before):
            np.testing.assert_array_equal(got, want)
    with an.use("numpy", dtype="float64"):
        model.set_weights(weights)  # float64 holds it
        assert model.get_weights()[2][0, 0] == value
