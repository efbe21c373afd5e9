"""Normalization (adapt, given statistics, invert), Permute, GaussianNoise, GaussianDropout,
SpatialDropout1D/2D and Dropout's noise_shape, against Keras 3's documented numbers, NumPy
written out by hand, the adjoint identity of linear maps, and the noise's statistics."""

import numpy as np
import pytest

import arraynet as an
from arraynet import layers
from arraynet.backend import to_numpy
from arraynet.layers import TRAINING

RNG = np.random.default_rng(0)

KERAS_ADAPT = np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]])


def predicted(layer, X, input_shape):
    model = an.Sequential([an.Input(input_shape), layer])
    return model, model.predict(np.asarray(X, np.float64), verbose=0)


def test_normalization_gives_keras_documented_numbers(backend):
    with an.use(backend, dtype="float64"):
        scalar = layers.Normalization(axis=None)
        scalar.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
        _, out = predicted(scalar, [[1.0], [2.0], [3.0]], (1,))
        assert np.allclose(out.ravel(), [-1.4142135, -0.70710677, 0.0], atol=1e-7)

        per_feature = layers.Normalization(axis=-1)
        per_feature.adapt(KERAS_ADAPT)
        _, out = predicted(per_feature, [[0.0, 7.0, 4.0]], (3,))
        assert np.allclose(out, [[-1.0, -1.0, -1.0]], atol=1e-12)

        given = layers.Normalization(mean=3.0, variance=2.0)
        _, out = predicted(given, [[1.0], [2.0], [3.0]], (1,))
        assert np.allclose(out.ravel(), [-1.4142135, -0.70710677, 0.0], atol=1e-7)

        inverse = layers.Normalization(axis=-1, invert=True)
        inverse.adapt(KERAS_ADAPT)
        _, out = predicted(inverse, [[1.0, 2.0, 3.0]], (3,))
        assert np.allclose(out, [[2.0, 10.0, 8.0]], atol=1e-12)


def test_normalization_over_kept_axes_and_its_backward(backend):
    data = RNG.standard_normal((40, 5, 3)) * [1.0, 3.0, 0.5] + [2.0, -1.0, 0.0]
    mean, std = data.mean(axis=(0, 1)), data.std(axis=(0, 1))  # per channel, biased
    X, dY = RNG.standard_normal((4, 5, 3)), RNG.standard_normal((4, 5, 3))
    with an.use(backend, dtype="float64") as b:
        layer = layers.Normalization()  # axis=-1: per channel, over rows and steps
        layer.adapt(data)
        model, out = predicted(layer, X, (5, 3))
        assert np.allclose(out, (X - mean) / std, rtol=1e-12)
        weights = model.get_weights()
        assert np.allclose(weights[0], mean) and np.allclose(weights[1], data.var(axis=(0, 1)))
        assert weights[2] == 0  # Keras 3's count
        w = tuple(b.asarray(a) for a in weights)
        _, cache = layer.forward(b.xp, w, b.asarray(X), TRAINING)
        dX, grads = layer.backward(b.xp, w, cache, b.asarray(dY), TRAINING)
        assert grads == () and np.allclose(to_numpy(dX), dY / std, rtol=1e-12)


def test_normalization_adapted_after_build_trains_saves_and_stays(tmp_path):
    data = RNG.standard_normal((30, 4)) * 5 + 1
    norm = layers.Normalization()
    model = an.Sequential([an.Input((4,)), norm, layers.Dense(1)])
    assert np.array_equal(model.get_weights()[0], np.zeros(4))
    norm.adapt(data)
    assert np.allclose(model.get_weights()[0], data.mean(axis=0), rtol=1e-6)
    assert norm.mean.shape == (1, 4)  # Keras's layer.mean, broadcast against a batch
    assert np.allclose(norm.variance.numpy(), data.var(axis=0, keepdims=True), rtol=1e-6)
    alone = layers.Normalization(axis=-1)
    alone.adapt(data.reshape(10, 3, 4))
    assert np.allclose(alone.mean, data.reshape(10, 3, 4).mean(axis=(0, 1))[None, None])
    with pytest.raises(AttributeError, match="not adapted or built"):
        layers.Normalization().mean  # noqa: B018
    model.compile("adam", "mse")
    model.fit(data, data[:, :1], epochs=2, verbose=0)
    assert np.allclose(norm.get_weights()[1], data.var(axis=0), rtol=1e-6)  # not trained
    model.save(tmp_path / "m.keras")
    again = an.models.load_model(tmp_path / "m.keras")
    assert np.array_equal(again.predict(data, verbose=0), model.predict(data, verbose=0))
    assert an.layers.from_config(norm.get_config()).get_config() == norm.get_config()


def test_normalization_refusals():
    with pytest.raises(ValueError, match="mean, variance: expected both or neither"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="axis: expected feature axes"):
        an.Sequential([an.Input((3,)), layers.Normalization(axis=0)])
    with pytest.raises(ValueError, match="adapt: this layer was given"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(KERAS_ADAPT)
    with pytest.raises(ValueError, match="data: expected finite values"):
        layers.Normalization().adapt(np.array([[1.0, np.nan]]))
    norm = layers.Normalization()
    norm.adapt(KERAS_ADAPT)
    with pytest.raises(ValueError, match=r"adapted to features of shape \(3,\)"):
        an.Sequential([an.Input((4,)), norm])


@pytest.mark.parametrize("dims", [(2, 1), (3, 1, 2), (1, 3, 2)])
def test_permute_forward_and_adjoint(backend, dims):
    shape = (2, 3, 4)[: len(dims)]
    X = RNG.standard_normal((5, *shape))
    with an.use(backend, dtype="float64") as b:
        layer = layers.Permute(dims)
        Y, cache = layer.forward(b.xp, (), b.asarray(X), TRAINING)
        assert np.array_equal(to_numpy(Y), np.transpose(X, (0, *dims)))
        assert layer.output_shape(shape) == tuple(shape[d - 1] for d in dims)
        dY = RNG.standard_normal(to_numpy(Y).shape)
        dX, _ = layer.backward(b.xp, (), cache, b.asarray(dY), TRAINING)
        # a linear map's backward is its adjoint: <dY, f(X)> = <f*(dY), X>
        assert np.isclose(np.sum(dY * to_numpy(Y)), np.sum(to_numpy(dX) * X), rtol=1e-12)
    with pytest.raises(ValueError, match="dims: expected a permutation"):
        layers.Permute((0, 1))


def test_gaussian_noise_statistics_and_inference():
    noise = layers.GaussianNoise(0.3).noise(np.random.default_rng(1), 20000, (3,))
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.3) < 0.01
    factors = layers.GaussianDropout(0.2).noise(np.random.default_rng(2), 20000, (3,))
    assert abs(factors.mean() - 1) < 0.01 and abs(factors.std() - 0.5) < 0.01  # sqrt(.2/.8)
    X = RNG.standard_normal((4, 3))
    for layer in (layers.GaussianNoise(0.3), layers.GaussianDropout(0.2)):
        model = an.Sequential([an.Input((3,)), layer], seed=3)
        assert np.array_equal(model.predict(X, verbose=0), X.astype(np.float32))


def test_noise_layers_train_the_same_on_every_backend(backend):
    X, y = RNG.standard_normal((16, 6, 4)), RNG.standard_normal((16, 1))

    def trained(name):
        with an.use(name, dtype="float64"):
            model = an.Sequential(
                [an.Input((6, 4)), layers.GaussianNoise(0.1), layers.SpatialDropout1D(0.3),
                 layers.GaussianDropout(0.1), layers.Flatten(), layers.Dense(1)], seed=4,
            )  # fmt: skip
            model.compile("sgd", "mse")
            model.fit(X, y, epochs=2, batch_size=4, verbose=0)
            return model.get_weights()

    for a, b in zip(trained(backend), trained("numpy")):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_spatial_dropout_drops_whole_channels(backend):
    X = RNG.standard_normal((8, 5, 5, 6)) + 10  # no zero entries of its own
    with an.use(backend, dtype="float64"):
        model = an.Sequential([an.Input((5, 5, 6)), layers.SpatialDropout2D(0.5)], seed=5)
        out = to_numpy(model(X, training=True))
        # Dropout with Keras's noise_shape draws the same masks
        noise_shape = (None, 1, 1, 6)
        same = an.Sequential([an.Input((5, 5, 6)), layers.Dropout(0.5, noise_shape=noise_shape)],
                             seed=5)  # fmt: skip
        assert np.array_equal(to_numpy(same(X, training=True)), out)
    kept = out != 0
    assert np.array_equal(kept, np.broadcast_to(kept[:, :1, :1, :], kept.shape))
    assert 0 < kept[:, 0, 0, :].mean() < 1
    assert np.allclose(out[kept], 2 * X[kept])
    with pytest.raises(ValueError, match="noise_shape: expected"):
        an.Sequential([an.Input((5, 6)), layers.Dropout(0.5, noise_shape=(None, 2, 6))])
