"""A model copies and pickles through its state (host NumPy data, no backend array), and a
compiled model saved before it has weights loads back compiled."""

import copy
import pickle

import numpy as np
import pytest

import arraynet as an


def data(rows=24):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, 3))
    return X, np.stack([X.sum(1), X[:, 0] - X[:, 1]], axis=1)


def sequential():
    model = an.Sequential([an.layers.Dense(5, activation="tanh"), an.layers.Dense(2)], seed=1)
    model.compile(loss="mse", optimizer=an.optimizers.Adam(learning_rate=0.01))
    return model


def functional():
    x = an.Input(shape=(3,))
    a, b = an.layers.Dense(2, name="a")(x), an.layers.Dense(2, name="b")(x)
    model = an.Model(x, an.layers.Add()([a, b]), name="sum_of_two")
    model.compile(loss="mse", optimizer="rmsprop")
    return model


@pytest.mark.parametrize("make", [sequential, functional])
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_trained_model_copies_and_trains_on_alike(backend, make, how):
    X, y = data()
    with an.use(backend, dtype="float64"):
        model = make()
        model.fit(X, y, epochs=2, batch_size=8, verbose=0, seed=3)
        twin = copy.deepcopy(model) if how == "deepcopy" else pickle.loads(pickle.dumps(model))
        assert type(twin) is type(model) and twin.name == model.name and twin.epoch == 2
        np.testing.assert_array_equal(twin.predict(X, verbose=0), model.predict(X, verbose=0))
        model.fit(X, y, epochs=1, batch_size=8, verbose=0)  # optimizer state and generator
        twin.fit(X, y, epochs=1, batch_size=8, verbose=0)  # went along: the same next epoch
        for a, b in zip(twin.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)
        twin.fit(X, y, epochs=1, verbose=0)  # the copy is its own: the original stays
        assert not np.array_equal(twin.get_weights()[0], model.get_weights()[0])


def test_a_pickled_model_holds_no_backend_array():
    pytest.importorskip("jax")
    X, y = data()
    with an.use("jax"):
        model = sequential()
        model.fit(X, y, verbose=0)
        blob = pickle.dumps(model)
    assert b"jax" not in blob and b"jaxlib" not in blob
    assert pickle.loads(blob).predict(X, verbose=0).shape == (24, 2)


@pytest.mark.parametrize("make", [sequential, functional])
def test_compiled_models_copy_and_load_before_training(tmp_path, make):
    model = make()  # the Sequential has no weights yet; the functional model has
    twin = copy.deepcopy(model)
    assert twin.get_config() == model.get_config()
    path = tmp_path / "compiled-unbuilt.arraynet"
    model.save(path)
    loaded = an.load(path)
    assert loaded.get_config() == model.get_config()
    X, y = data()
    loaded.fit(X, y, verbose=0)  # compiled as saved
    assert loaded.built
