"""Optimizers inside models: the learning rate read and set between fits (numpy and the
compiled JAX path), the moving averages taken at the end of fit (Keras' use_ema), saving and
loading a model with each optimizer, and the model files arraynet wrote before its
optimizers followed Keras (tests/data/optimizer_files_v1, made by make_files.py there)."""

import json
from pathlib import Path

import numpy as np
import pytest
from optimizer_reference import KerasReference
from reference import loss_and_grads_reference

import arraynet as an
from arraynet import optimizers as opt

RNG = np.random.default_rng(5)
X = RNG.normal(size=(20, 3))
Y = (X @ np.array([[0.5], [-1.0], [2.0]]) + 0.3 + 0.1 * RNG.normal(size=(20, 1))).ravel()
SPEC = [("tanh", True), (None, True)]
LEGACY = Path(__file__).parent / "data" / "optimizer_files_v1"
HOSTED = ["numpy", "jax"]  # the eager loop and the compiled one (jit + lax.scan)


def _model(optimizer, seed=2):
    model = an.Sequential([an.layers.Dense(4, activation="tanh"), an.layers.Dense(1)],
                          input_dim=3, seed=seed)  # fmt: skip
    model.compile("squared_error", optimizer)
    return model


def _full_batch_reference(start, keras, epochs):
    """Keras' optimizer over ``epochs`` full-batch updates of the float64 reference net."""
    w = [np.array(a, dtype=np.float64) for a in start]
    for _ in range(epochs):
        grads = loss_and_grads_reference(w, SPEC, "squared_error", X, Y)[1]
        w = keras.step(w, grads)
    return w


@pytest.mark.parametrize("backend_name", HOSTED)
def test_learning_rate_is_read_and_set_between_fits(backend_name):
    pytest.importorskip(backend_name)
    optimizer = opt.SGD(learning_rate=0.1, momentum=0.5)
    with an.use(backend_name, dtype="float64"):
        model = _model(optimizer)
        start = model.get_weights()
        assert optimizer.learning_rate == 0.1  # before any state: the constructor's
        optimizer.learning_rate = 0.08  # before the first fit: trains with it
        model.fit(X, Y, mode="full", epochs=3, verbose=0)
        assert optimizer.learning_rate == model.learning_rate == 0.08
        optimizer.learning_rate = 0.02  # between fits: the compiled runner reads the state
        assert model.learning_rate == optimizer.lr == 0.02
        model.fit(X, Y, mode="full", epochs=6, initial_epoch=3, verbose=0)
        got = model.get_weights()
        model.learning_rate = 0.05  # the model's setter is the optimizer's value too
        assert optimizer.learning_rate == 0.05
        assert optimizer.get_config()["learning_rate"] == 0.05
    keras = KerasReference("sgd", lr=0.08, momentum=0.5)
    w = _full_batch_reference(start, keras, 3)
    keras.lr = 0.02
    w = _full_batch_reference(w, keras, 3)
    for g, e in zip(got, w):
        np.testing.assert_allclose(g, e, rtol=1e-10)


def test_a_recompiled_model_keeps_the_learning_rate_its_optimizer_trained_with():
    optimizer = opt.Adam(0.01)
    model = _model(optimizer)
    model.fit(X, Y, epochs=1, verbose=0)
    model.learning_rate = 0.003
    model.compile("squared_error", optimizer)
    assert optimizer.learning_rate == pytest.approx(0.003)
    other = _model(opt.SGD(0.5))
    other.compile("squared_error", optimizer)  # now it follows the other model
    other.fit(X, Y, epochs=1, verbose=0)
    other.learning_rate = 0.001
    assert optimizer.learning_rate == pytest.approx(0.001)


def test_a_scheduled_learning_rate_reads_the_next_updates_value():
    optimizer = opt.SGD(opt.ExponentialDecay(0.1, 4, 0.5))
    model = _model(optimizer)
    model.fit(X, Y, batch_size=5, epochs=2, verbose=0)  # 8 updates
    assert optimizer.learning_rate == pytest.approx(0.1 * 0.5**2, rel=1e-6)
    assert model.learning_rate == pytest.approx(0.1)  # the base, as before


def test_setting_the_learning_rate_under_mixed_float16_keeps_the_loss_scale():
    optimizer = opt.SGD(0.1)
    model = _model(optimizer)
    model.compile("squared_error", optimizer, precision="mixed_float16")
    model.fit(X, Y, epochs=1, verbose=0)
    scale = float(model.variables.opt_state[-2])
    optimizer.learning_rate = 0.01
    assert model.learning_rate == pytest.approx(0.01)
    assert float(model.variables.opt_state[-2]) == scale
    model.fit(X, Y, epochs=1, verbose=0)


@pytest.mark.parametrize("backend_name", HOSTED)
@pytest.mark.parametrize(
    "make, keras",
    [
        (lambda: opt.Adam(0.05, use_ema=True, ema_momentum=0.9),
         dict(kind="adam", lr=0.05, use_ema=True, ema_momentum=0.9)),
        (lambda: opt.SGD(0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=4),
         dict(kind="sgd", lr=0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=4)),
    ],
    ids=["adam", "sgd-overwrite"],
)  # fmt: skip
def test_fit_ends_with_the_moving_averages_under_use_ema(backend_name, make, keras):
    pytest.importorskip(backend_name)
    with an.use(backend_name, dtype="float64"):
        model = _model(make())
        start = model.get_weights()
        model.fit(X, Y, mode="full", epochs=10, verbose=0)
        got = model.get_weights()
    reference = KerasReference(**keras)
    w = _full_batch_reference(start, reference, 10)
    final = reference.final_weights(w)
    for g, e in zip(got, final):
        np.testing.assert_allclose(g, e, rtol=1e-10)
    assert not all(np.allclose(e, last, rtol=1e-4) for e, last in zip(final, w))


SAVED = {
    "sgd": lambda: opt.SGD(0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "rmsprop": lambda: opt.RMSprop(0.01, momentum=0.5, centered=True, clipnorm=1.0),
    "adam": lambda: opt.Adam(0.01, amsgrad=True, use_ema=True, ema_overwrite_frequency=3),
    "adamw": lambda: opt.AdamW(opt.schedules.CosineDecay(0.0, 8, warmup_target=0.02,
                                                           warmup_steps=3)),
    "nadam": lambda: opt.Nadam(0.01, global_clipnorm=0.5),
    "adamax": lambda: opt.Adamax(0.01, clipvalue=0.1),
    "adagrad": lambda: opt.Adagrad(opt.schedules.PiecewiseConstantDecay([4], [0.1, 0.05])),
    "adadelta": lambda: opt.Adadelta(1.0),
    "lion": lambda: opt.Lion(opt.schedules.CosineDecayRestarts(0.01, 3)),
}  # fmt: skip


@pytest.mark.parametrize("name", SAVED)
def test_save_load_resumes_each_optimizer_exactly(name, tmp_path):
    with an.use("numpy", dtype="float64"):
        model = _model(SAVED[name]())
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
        an.save(model, tmp_path / "m.arraynet")
        loaded = an.load(tmp_path / "m.arraynet")
        assert loaded.optimizer.get_config() == model.optimizer.get_config()
        for a, b in zip(loaded.variables.host_state(), model.variables.host_state()):
            np.testing.assert_array_equal(a, b)
        for m in (model, loaded):
            m.fit(X, Y, batch_size=8, epochs=4, initial_epoch=2, verbose=0)
        for a, b in zip(loaded.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)


def _expected_after_one_more_epoch():
    return json.loads((LEGACY / "after_one_more_epoch.json").read_text())


LEGACY_CONFIGS = {  # what the files' configs mean now
    "sgd_clipnorm": {"global_clipnorm": 0.5, "clipnorm": None, "momentum": 0.5},
    "sgd_momentum": {"momentum": 0.9, "nesterov": True},
    "rmsprop": {"centered": True, "momentum": 0.5},
    "adam": {"amsgrad": True},
    "adamw": {"weight_decay": 0.1},
}


@pytest.mark.parametrize("name", sorted(p.stem for p in LEGACY.glob("*.arraynet")))
def test_files_written_before_keras_formulas_load(name):
    model = an.load(LEGACY / f"{name}.arraynet")
    config = model.optimizer.get_config()
    for key, value in LEGACY_CONFIGS.get(name, {}).items():
        assert config[key] == value, key
    assert model.epoch == 2 and int(model.variables.opt_state[0]) == 6
    if name == "sgd":
        assert model.learning_rate == pytest.approx(0.04)  # set between fits, then saved
    rng = np.random.default_rng(3)  # the data make_files.py trained on
    X_old = rng.normal(size=(24, 3))
    y_old = X_old @ np.array([0.5, -1.0, 2.0]) + 0.3
    model.fit(X_old, y_old, batch_size=8, epochs=3, initial_epoch=2, verbose=0)
    assert int(model.variables.opt_state[0]) == 9
    if name.startswith("sgd"):  # SGD's numbers did not change: the same next epoch
        expected = _expected_after_one_more_epoch()[name]
        for got, want in zip(model.get_weights(), expected):
            np.testing.assert_allclose(got, np.array(want), rtol=1e-6, atol=1e-7)


def test_a_loaded_models_learning_rate_is_set_on_its_host_state(tmp_path):
    model = _model(opt.RMSprop(0.01))
    model.fit(X, Y, epochs=1, verbose=0)
    an.save(model, tmp_path / "m.arraynet")
    loaded = an.load(tmp_path / "m.arraynet")
    assert loaded.optimizer.learning_rate == pytest.approx(0.01)
    loaded.optimizer.learning_rate = 0.004  # the state is still NumPy arrays on the host
    state = loaded.variables.opt_state
    assert state[1].dtype == np.float32 and float(state[1]) == np.float32(0.004)
    with an.use("numpy", dtype="float64"):
        loaded.fit(X, Y, epochs=1, verbose=0)
        assert loaded.learning_rate == pytest.approx(0.004)
