"""``compile`` as Keras 3 calls it: the optimizer first when positional, and Keras's
further arguments (``run_eagerly``, ``jit_compile``, ``steps_per_execution``,
``auto_scale_loss``; ``loss_weights`` and ``weighted_metrics`` where arraynet has them),
each checked before the model changes."""

import numpy as np
import pytest

import arraynet as an
from arraynet.optimizers import Adam, RMSprop
from arraynet.precision import DynamicLossScale
from arraynet.train.cache import COMPILED

RNG = np.random.default_rng(0)


def model():
    return an.Sequential([an.Input((4,)), an.layers.Dense(3, activation="relu"),
                          an.layers.Dense(2)], seed=7)  # fmt: skip


def trained(compile_args, compile_kwargs, backend, X, y):
    with an.use(backend, dtype="float64"):
        m = model()
        m.compile(*compile_args, **compile_kwargs)
        m.fit(X, y, epochs=3, batch_size=4, seed=1, verbose=0)
        return m


def test_positional_order_is_read_from_what_the_arguments_are(backend):
    X, y = RNG.standard_normal((12, 4)), RNG.standard_normal((12, 2))
    keras_order = trained(("adam", "mse"), {}, backend, X, y)
    arraynet_order = trained(("mse", "adam"), {}, backend, X, y)
    named = trained((), {"loss": "mse", "optimizer": "adam"}, backend, X, y)
    assert isinstance(keras_order.optimizer, Adam)
    assert keras_order.network.loss.name == "mean_squared_error"
    for m in (arraynet_order, named):
        assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), keras_order.get_weights()))
    m = model()
    m.compile(RMSprop(learning_rate=0.01), loss="mae")  # an instance first, loss named
    assert isinstance(m.optimizer, RMSprop) and m.network.loss.name == "mean_absolute_error"


def test_either_alone_takes_the_other_default():
    m = model()
    m.compile("adam")  # Keras: the optimizer alone
    assert isinstance(m.optimizer, Adam) and m.network.loss.name == "squared_error"
    m.compile("mae")  # arraynet: the loss alone
    assert m.optimizer.get_config()["name"] == "sgd"
    assert m.network.loss.name == "mean_absolute_error"
    m.compile()
    assert m.optimizer.get_config()["name"] == "sgd" and m.network.loss.name == "squared_error"
    with pytest.raises(ValueError, match="loss: expected one of .*got 'sgd'"):
        m.compile("adam", "sgd")  # two optimizers: refused before any change
    assert m.network.loss.name == "squared_error"


def test_run_eagerly_trains_op_by_op_to_the_same_weights(backend):
    X, y = RNG.standard_normal((12, 4)), RNG.standard_normal((12, 2))
    compiled = trained(("adam", "mse"), {}, backend, X, y)
    misses = COMPILED.misses
    for flags in ({"run_eagerly": True}, {"jit_compile": False}):
        eager = trained(("adam", "mse"), flags, backend, X, y)
        assert eager.run_eagerly
        assert np.allclose(
            np.concatenate([w.ravel() for w in eager.get_weights()]),
            np.concatenate([w.ravel() for w in compiled.get_weights()]),
            rtol=1e-12, atol=1e-14,
        )  # fmt: skip
    assert COMPILED.misses == misses  # nothing compiled for the eager fits
    assert not compiled.run_eagerly and compiled.jit_compile == "auto"


def test_keras_arguments_are_accepted_or_refused_by_name():
    m = model()
    m.compile("sgd", "mse", steps_per_execution=8, jit_compile=True, auto_scale_loss=True,
              weighted_metrics=[], loss_weights=None)  # fmt: skip
    bad = [
        ({"jit_compile": "yes"}, ValueError, "jit_compile: expected 'auto', True or False"),
        ({"steps_per_execution": 0}, ValueError, "steps_per_execution: expected an integer"),
        ({"run_eagerly": "no"}, TypeError, "run_eagerly"),
        ({"weighted_metrics": ["accuracy"]}, ValueError, "weighted_metrics: expected None"),
        ({"loss_weights": [0.5]}, ValueError, "loss_weights: expected None"),
        ({"jit_compiled": False}, TypeError, "jit_compiled"),
    ]
    for kwargs, error, message in bad:
        with pytest.raises(error, match=message):
            m.compile("adam", "mae", **kwargs)
        assert m.network.loss.name == "mean_squared_error"  # unchanged


def test_auto_scale_loss_turns_mixed_float16_loss_scaling_off():
    m = model()
    m.compile("adam", "mse", precision="mixed_float16")
    assert isinstance(m.optimizer, DynamicLossScale)
    m.compile("adam", "mse", precision="mixed_float16", auto_scale_loss=False)
    assert isinstance(m.optimizer, Adam)


def test_functional_models_take_keras_order_and_loss_weights():
    inputs = an.Input((4,))
    h = an.layers.Dense(3)(inputs)
    m = an.Model(inputs, [an.layers.Dense(1, name="a")(h), an.layers.Dense(2, name="b")(h)])
    m.compile("adam", ["mse", "mae"], loss_weights=[1.0, 0.5], run_eagerly=True)
    assert isinstance(m.optimizer, Adam) and m.run_eagerly
    history = m.fit(RNG.standard_normal((8, 4)), [RNG.standard_normal((8, 1)),
                    RNG.standard_normal((8, 2))], epochs=1, verbose=0)  # fmt: skip
    assert np.isfinite(history.history["loss"][0])


def test_a_plain_function_as_the_loss_gets_the_losses_own_error_in_either_order():
    def my_loss(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean()

    for args in ((my_loss, "adam"), ("adam", my_loss)):
        with pytest.raises(TypeError, match="loss: got the function 'my_loss'"):
            model().compile(*args)
