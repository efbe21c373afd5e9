"""Mixed precision: 16-bit compute around float32 master weights, loss scaling for float16."""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.precision import DynamicLossScale

RNG = np.random.default_rng(0)
X = RNG.normal(size=(256, 20))
LABELS = (X[:, :3].sum(axis=1) > 0).astype(int)


def _model(precision, optimizer=None):
    model = an.Sequential(
        [an.layers.Dense(32, activation="relu"), an.layers.Dense(2)], input_dim=20, seed=0
    )
    optimizer = optimizer or an.optimizers.SGD(lr=0.1, momentum=0.9)
    model.compile("softmax_cross_entropy", optimizer, metrics=["accuracy"], precision=precision)
    return model


def _supports(backend, compute):
    with an.use(backend) as be:
        if not hasattr(be.xp, compute):
            pytest.skip(f"{backend} has no {compute}")


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_training_follows_float32_with_float32_master_weights(backend, precision):
    _supports(backend, precision.split("_")[1])
    with an.use(backend):
        full = _model(None).fit(X, LABELS, epochs=4, batch_size=32, verbose=0)
        model = _model(precision)
        mixed = model.fit(X, LABELS, epochs=4, batch_size=32, verbose=0)
        assert {w.dtype for w in model.get_weights()} == {np.dtype("float32")}
    np.testing.assert_allclose(mixed.history["loss"], full.history["loss"], rtol=0.03)
    assert mixed.history["accuracy"][-1] > 0.9


@pytest.mark.parametrize("precision, low", [("mixed_float16", np.float16)])
def test_the_forward_pass_rounds_like_numpy_in_16_bits(backend, precision, low):
    _supports(backend, "float16")
    with an.use(backend):
        model = _model(precision)
        W1, b1, W2, b2 = (w.astype(low) for w in model.get_weights())
        predicted = model.predict(X)
    x = X.astype(np.float32).astype(low)
    expected = (np.maximum(x @ W1 + b1, 0) @ W2 + b2).astype(np.float32)
    np.testing.assert_allclose(predicted, expected, rtol=2e-3, atol=2e-3)


def test_float16_overflow_skips_the_step_and_halves_the_scale(backend):
    _supports(backend, "float16")
    with an.use(backend):
        model = _model("mixed_float16")
        model.optimizer = DynamicLossScale(model.optimizer.inner, initial=2.0**40)
        before = model.get_weights()
        model.fit(X, LABELS, mode="full", epochs=1, verbose=0)  # delta * 2**40 overflows
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)
        assert float(to_numpy(model.variables.opt_state[-2])) == 2.0**39
        model.fit(X, LABELS, mode="full", epochs=40, verbose=0)  # the scale comes down
        assert float(to_numpy(model.variables.opt_state[-2])) < 2.0**39
        assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_the_scale_doubles_after_growth_interval_finite_steps(backend):
    _supports(backend, "float16")
    with an.use(backend):
        model = _model("mixed_float16")
        model.optimizer = DynamicLossScale(model.optimizer.inner, initial=4.0, growth_interval=3)
        model.fit(X, LABELS, mode="full", epochs=7, verbose=0)
        assert float(to_numpy(model.variables.opt_state[-2])) == 16.0  # doubled after steps 3 and 6


def test_unsupported_precisions_are_refused_before_training():
    with an.use("array_api_strict"):
        model = _model("mixed_float16")
        with pytest.raises(ValueError, match=r"precision: .*array_api_strict has no float16"):
            model.fit(X, LABELS, verbose=0)
    master = pytest.raises(ValueError, match=r"dtype: expected 'float32' master weights")
    with an.use("numpy", dtype="float64"), master:
        _model("mixed_float16").fit(X, LABELS, verbose=0)
    with pytest.raises(ValueError, match="precision"):
        _model("float8")


def test_precision_survives_save_and_load(tmp_path):
    model = _model("mixed_float16")
    model.fit(X, LABELS, epochs=1, verbose=0)
    model.save(tmp_path / "m.arraynet")
    loaded = an.load(tmp_path / "m.arraynet")
    assert loaded.precision == "mixed_float16"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_dropout_as_the_last_layer_trains_in_mixed_precision(backend, precision):
    """The last cache is then a dropout mask, not a dense layer's (X, Z, A)."""
    _supports(backend, precision.split("_")[1])
    Y = np.eye(2)[LABELS]
    layers = [an.layers.Dense(32, activation="relu"), an.layers.Dense(2), an.layers.Dropout(0.2)]
    histories = []
    for chosen in (None, precision):
        with an.use(backend):
            model = an.Sequential(layers, input_dim=20, seed=0)
            model.compile("mse", an.optimizers.SGD(lr=0.05), precision=chosen)
            histories.append(model.fit(X, Y, epochs=3, batch_size=32, verbose=0).history["loss"])
    np.testing.assert_allclose(histories[1], histories[0], rtol=0.03)


def test_a_bfloat16_model_predicts_on_numpy_with_its_float32_math(tmp_path):
    """NumPy has no bfloat16: predict, evaluate and gradients of a model trained in mixed
    bfloat16 elsewhere run its float32 math, equal to the same model compiled without it."""
    pytest.importorskip("jax")
    with an.use("jax"):
        model = _model("mixed_bfloat16")
        model.fit(X, LABELS, epochs=1, batch_size=32, verbose=0)
    plain = _model(None)
    plain.set_weights(model.get_weights())
    for backend in ("numpy", "array_api_strict"):
        with an.use(backend):
            np.testing.assert_allclose(model.predict(X), plain.predict(X), rtol=1e-6)
            assert model.evaluate(X, LABELS) == pytest.approx(plain.evaluate(X, LABELS))
            grads = model.gradients(X, LABELS)[1]
            for got, want in zip(grads, plain.gradients(X, LABELS)[1], strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
            with pytest.raises(ValueError, match="precision"):
                model.fit(X, LABELS, verbose=0)


def test_gradcheck_of_a_mixed_precision_model_checks_its_math_in_float64(backend):
    """Central differences of a bfloat16 loss would all round to 0 (error 1.0)."""
    model = _model("mixed_bfloat16")
    with an.use(backend):
        result = an.gradcheck(model, X[:16], LABELS[:16])
    assert result.passed and result.max_error < 1e-7
