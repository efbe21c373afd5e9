"""The Layer protocol itself, with tiny layers written here (registered nowhere).

``Scale`` has a trainable param and a hand-written backward; ``RunningMean`` and
``ScaleMean`` keep non-trainable state through ``states``/``next_state``; ``GaussianNoise``
draws host noise; ``Recorder`` writes down the Context each call gets. Each trains on every
backend in float64 and is checked against torch autograd, central differences
(``an.gradcheck``) or a closed form computed here in NumPy.
"""

import numpy as np
import pytest

import arraynet as an
from arraynet.layers import TRAINING, Context, Dense, Flatten, Layer, Param, Reshape

RTOL = 1e-10
N, D = 10, 4


def _ones(rng, shape):
    return np.ones(shape)


def _zeros(rng, shape):
    return np.zeros(shape)


def _leading_axes(a):
    return tuple(range(a.ndim - 1))


class Scale(Layer):
    """``Y = X * s``, ``s`` of shape (features,), initially ones."""

    def params(self, input_shape):
        return [Param("scale", (input_shape[-1],), _ones, "s")]

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return X * weights[0], X

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        ds = xp.sum(dY * cache, axis=_leading_axes(dY))
        return (dY * weights[0] if ctx.need_dX else None), (ds,)

    def get_config(self):
        return {"class": "Scale"}


class RunningMean(Layer):
    """Passes X through; keeps ``0.9 * old + 0.1 * mean(X, axis=0)`` after each training
    forward."""

    def states(self, input_shape):
        return [Param("moving_mean", tuple(input_shape), _zeros, "m")]

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return X, (X,)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return (dY if ctx.need_dX else None), ()

    def next_state(self, xp, weights, cache):
        return (0.9 * weights[0] + 0.1 * xp.mean(cache[0], axis=0),)

    def get_config(self):
        return {"class": "RunningMean"}


class ScaleMean(Scale):
    """A param then a state: ``Y = X * s``, and the running mean of its input X."""

    def states(self, input_shape):
        return [Param("moving_mean", (input_shape[-1],), _zeros, "m")]

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return X * weights[0], X

    def next_state(self, xp, weights, cache):
        return (0.9 * weights[1] + 0.1 * xp.mean(cache, axis=0),)

    def get_config(self):
        return {"class": "ScaleMean"}


class GaussianNoise(Layer):
    """Adds host-drawn N(0, stddev²) noise while training; passes X through otherwise."""

    draws_noise = True

    def __init__(self, stddev):
        self.stddev = stddev

    def noise(self, rng, rows, input_shape):
        return rng.normal(0.0, self.stddev, (rows, *input_shape))

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        if ctx.noise is None:
            return X, None
        return X + ctx.noise, None

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return (dY if ctx.need_dX else None), ()

    def get_config(self):
        return {"class": "GaussianNoise", "stddev": self.stddev}


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)), rng.normal(size=(N, 2))


def _tensors(torch, weights):
    return [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]


# -- a layer with a trainable param ------------------------------------------------------------


def _scale_model(seed=0):
    model = an.Sequential(
        [Scale(), Dense(3, activation="tanh"), Scale(), Dense(2)], input_dim=D, seed=seed
    )
    model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.1))
    return model


def _torch_scale_forward(torch, weights, X):
    s1, W1, b1, s2, W2, b2 = weights
    return torch.matmul(torch.tanh(torch.matmul(X * s1, W1) + b1) * s2, W2) + b2


def _moved(model, seed=1):
    """The model's weights moved off their initial values (host float64)."""
    rng = np.random.default_rng(seed)
    with an.use("numpy", dtype="float64"):
        model.set_weights([w + rng.normal(0, 0.3, w.shape) for w in model.get_weights()])
        return model.get_weights()


def test_scale_declares_its_param():
    model = _scale_model()
    with an.use("numpy", dtype="float64"):
        weights = model.get_weights()
    assert [w.shape for w in weights] == [(D,), (D, 3), (3,), (3,), (3, 2), (2,)]
    np.testing.assert_array_equal(weights[0], np.ones(D))  # its initializer
    np.testing.assert_array_equal(weights[3], np.ones(3))
    assert model.graph.trainable_index == list(range(6))


def test_scale_gradients_match_torch_and_gradcheck(backend):
    torch = pytest.importorskip("torch")
    X, y = _problem()
    model = _scale_model()
    weights = _moved(model)
    ws = _tensors(torch, weights)
    loss = ((_torch_scale_forward(torch, ws, torch.tensor(X)) - torch.tensor(y)) ** 2).mean()
    loss.backward()
    with an.use(backend, dtype="float64"):
        value, grads = model.gradients(X, y)
        report = an.gradcheck(model, X, y)
        layer_report = an.gradcheck(Scale(), X, y[:, :1] * X, weights=[np.linspace(-1, 2, D)])
    np.testing.assert_allclose(value, float(loss.detach()), rtol=1e-12)
    assert len(grads) == len(weights)
    for g, w in zip(grads, ws, strict=True):
        np.testing.assert_allclose(g, w.grad.numpy(), rtol=RTOL, atol=1e-14)
    assert report.names == ("0.s", "1.W", "1.b", "2.s", "3.W", "3.b")
    assert report.passed, str(report)
    assert layer_report.names == ("s", "X") and layer_report.passed, str(layer_report)


def _torch_sgd(forward, weights, X, y, batch_size, epochs=2, seed=0, lr=0.1):
    """SGD on the mse, the rows in fit's order (a permutation per epoch from
    ``default_rng(seed)``)."""
    torch = pytest.importorskip("torch")
    ws = _tensors(torch, weights)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            rows = order[start : start + batch_size]
            P = forward(torch, ws, torch.tensor(X[rows]))
            grads = torch.autograd.grad(((P - torch.tensor(y[rows])) ** 2).mean(), ws)
            with torch.no_grad():
                for w, g in zip(ws, grads):
                    w -= lr * g
    return [w.detach().numpy() for w in ws]


@pytest.mark.parametrize("mode", ["full", "minibatch", "stochastic"])
def test_scale_model_trains_on_every_backend(backend, mode):
    X, y = _problem()
    model = _scale_model()
    initial = _moved(model)
    with an.use(backend, dtype="float64"):
        model.fit(X, y, mode=mode, batch_size=4, epochs=2, seed=0, verbose=0)
        trained = model.get_weights()
    batch = {"full": N, "minibatch": 4, "stochastic": 1}[mode]
    expected = _torch_sgd(_torch_scale_forward, initial, X, y, batch)
    for w, e, w0 in zip(trained, expected, initial, strict=True):
        np.testing.assert_allclose(w, e, rtol=1e-9, atol=1e-15)
        assert not np.allclose(w, w0)  # every param moved, the scales included


# -- a layer with state ------------------------------------------------------------------------


def _batch_means(X, mode, epochs):
    """Each update's batch mean, in order (shuffle=False: the rows in order)."""
    size = {"full": len(X), "minibatch": 4, "stochastic": 1}[mode]
    return [X[a : a + size].mean(axis=0) for _ in range(epochs) for a in range(0, len(X), size)]


OPTIMIZERS = {
    "sgd": lambda: an.optimizers.SGD(lr=0.1),
    "momentum": lambda: an.optimizers.SGD(lr=0.1, momentum=0.9),
    "adam": lambda: an.optimizers.Adam(lr=0.05),
}


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("mode", ["full", "minibatch"])
def test_state_follows_next_state_not_the_optimizer(backend, mode, optimizer):
    X, y = _problem(2)
    epochs = 5
    model = an.Sequential([RunningMean(), Dense(2)], input_dim=D, seed=0)
    model.compile(loss="mse", optimizer=OPTIMIZERS[optimizer]())
    with an.use("numpy", dtype="float64"):
        initial = model.get_weights()
    assert [w.shape for w in initial] == [(D,), (D, 2), (2,)]  # [state, kernel, bias]
    np.testing.assert_array_equal(initial[0], np.zeros(D))
    with an.use(backend, dtype="float64"):
        model.fit(X, y, mode=mode, batch_size=4, epochs=epochs, shuffle=False, verbose=0)
        state, W, b = model.get_weights()
        _, grads = model.gradients(X, y)
    if mode == "full":  # m_k = 0.9 m_(k-1) + 0.1 mean(X): from zeros, (1 - 0.9^k) mean(X)
        expected = (1 - 0.9**epochs) * X.mean(axis=0)
    else:
        expected = np.zeros(D)
        for mean in _batch_means(X, mode, epochs):
            expected = 0.9 * expected + 0.1 * mean
    np.testing.assert_allclose(state, expected, rtol=1e-12, atol=1e-15)
    assert [g.shape for g in grads] == [(D, 2), (2,)]  # the trainable weights only
    assert not np.allclose(W, initial[1]) and not np.allclose(b, initial[2])
    opt_shapes = [s.shape for s in model.variables.host_state() if s.ndim]
    assert (D,) not in opt_shapes  # no optimizer slot for the state


def _scale_mean_model():
    model = an.Sequential([Dense(3), ScaleMean(), Dense(2)], input_dim=D, seed=0)
    model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.1))
    return model


def test_params_then_states_per_layer(backend):
    """Weights ``[W1, b1, s, m, W2, b2]``: the stateful layer's param, then its state, then
    the next layer's; the state follows the input of the layer (the first Dense's output,
    before each update), the params follow the gradients (torch's)."""
    torch = pytest.importorskip("torch")
    X, y = _problem(3)
    model = _scale_mean_model()
    initial = _moved(model, seed=4)
    initial[3] = np.zeros(3)
    with an.use("numpy", dtype="float64"):
        model.set_weights(initial)
    assert [w.shape for w in initial] == [(D, 3), (3,), (3,), (3,), (3, 2), (2,)]
    epochs = 3
    with an.use(backend, dtype="float64"):
        _, grads = model.gradients(X, y)
        report = an.gradcheck(model, X, y)
        model.fit(X, y, mode="full", epochs=epochs, shuffle=False, verbose=0)
        trained = model.get_weights()
    W1, b1, s, m, W2, b2 = _tensors(torch, initial)
    params = [W1, b1, s, W2, b2]
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for epoch in range(epochs):
        H = torch.matmul(Xt, W1) + b1
        m = 0.9 * m.detach() + 0.1 * H.detach().mean(dim=0)
        loss = ((torch.matmul(H * s, W2) + b2 - yt) ** 2).mean()
        step = torch.autograd.grad(loss, params)
        if epoch == 0:
            for g, ref in zip(grads, step, strict=True):
                np.testing.assert_allclose(g, ref.numpy(), rtol=RTOL, atol=1e-14)
        with torch.no_grad():
            for p, g in zip(params, step):
                p -= 0.1 * g
    expected = [W1, b1, s, m, W2, b2]
    for w, e in zip(trained, expected, strict=True):
        np.testing.assert_allclose(w, e.detach().numpy(), rtol=1e-10, atol=1e-15)
    assert report.names == ("0.W", "0.b", "1.s", "2.W", "2.b")
    assert report.passed, str(report)


# -- a layer that draws noise ------------------------------------------------------------------


def _noise_model(shape, stddev):
    """Dense, noise on its output, Dense; for a 2-D ``shape`` the noise layer sees 3-D
    inputs (Reshape before it)."""
    noise = GaussianNoise(stddev)
    if len(shape) == 1:
        layers = [Dense(3, activation="tanh"), noise, Dense(2)]
    else:
        layers = [Reshape(shape), Dense(3, activation="tanh"), noise, Flatten()]
        layers.append(Dense(2))
    model = an.Sequential(layers, input_dim=6, seed=0)
    model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.1))
    return model


def _train_noisy(backend, shape, seed, stddev=0.5):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(N, 6)), rng.normal(size=(N, 2))
    with an.use(backend, dtype="float64"):
        model = _noise_model(shape, stddev)
        model.fit(X, y, mode="minibatch", batch_size=4, epochs=2, seed=seed, verbose=0)
        return model.get_weights()


@pytest.mark.parametrize("shape", [(6,), (2, 3)], ids=str)
def test_noise_is_the_same_on_every_backend(backend, shape):
    expected = _train_noisy("numpy", shape, seed=7)
    trained = _train_noisy(backend, shape, seed=7)
    for w, e in zip(trained, expected, strict=True):
        np.testing.assert_allclose(w, e, rtol=1e-12, atol=1e-15)
    without_noise = _train_noisy("numpy", shape, seed=7, stddev=0.0)
    other_seed = _train_noisy("numpy", shape, seed=8)
    assert not np.allclose(without_noise[-2], expected[-2], rtol=1e-3)  # the noise matters
    assert not np.allclose(other_seed[-2], expected[-2], rtol=1e-3)


def test_noise_reaches_the_layer_as_drawn():
    """The trainer draws each epoch's order, then the noise for the layer's input shape, from
    ``default_rng(seed)``, and slices the noise by batch (recorded on NumPy)."""
    seen = []

    class Recording(GaussianNoise):
        def forward(self, xp, weights, X, ctx: Context = TRAINING):
            if ctx.training:
                seen.append(np.array(ctx.noise, copy=True))
            return super().forward(xp, weights, X, ctx)

    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(N, 6)), rng.normal(size=(N, 2))
    model = an.Sequential(
        [Reshape((2, 3)), Dense(3), Recording(0.5), Flatten(), Dense(2)], input_dim=6, seed=0
    )
    model.compile(loss="mse", optimizer="sgd")
    with an.use("numpy", dtype="float64"):
        model.fit(X, y, mode="minibatch", batch_size=4, epochs=2, seed=7, verbose=0)
    draws = np.random.default_rng(7)
    expected = []
    for _ in range(2):
        draws.permutation(N)
        epoch = draws.normal(0.0, 0.5, (N, 2, 3))
        expected += [epoch[a : a + 4] for a in range(0, N, 4)]
    assert [s.shape for s in seen] == [(4, 2, 3), (4, 2, 3), (2, 2, 3)] * 2
    for s, e in zip(seen, expected, strict=True):
        np.testing.assert_array_equal(s, e)


# -- the Context each call gets ----------------------------------------------------------------


def test_context_at_training_and_inference():
    calls = []

    class Recorder(Layer):
        """Passes X through, writing down (name, call, training, noise given, need_dX)."""

        def __init__(self, name):
            self.name = name

        def forward(self, xp, weights, X, ctx: Context = TRAINING):
            calls.append((self.name, "forward", ctx.training, ctx.noise is not None))
            return X, None

        def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
            calls.append((self.name, "backward", ctx.need_dX))
            return (dY if ctx.need_dX else None), ()

        def get_config(self):
            return {"class": "Recorder", "name": self.name}

    class NoisyRecorder(Recorder):
        draws_noise = True

        def noise(self, rng, rows, input_shape):
            return np.zeros((rows, *input_shape))

    X, y = _problem()
    model = an.Sequential(
        [Recorder("first"), Dense(3), NoisyRecorder("noisy"), Dense(2)], input_dim=D, seed=0
    )
    model.compile(loss="mse", optimizer="sgd")

    def recorded(call):
        calls.clear()
        call()
        return sorted(set(calls))

    with an.use("numpy", dtype="float64"):
        fit = recorded(lambda: model.fit(X, y, mode="minibatch", batch_size=4, verbose=0))
        assert fit == [
            ("first", "backward", False),  # nothing upstream wants its dX
            ("first", "forward", True, False),
            ("noisy", "backward", True),
            ("noisy", "forward", True, True),
        ]
        assert len(calls) == 4 * 3  # three batches
        inference = [
            ("first", "forward", False, False),
            ("noisy", "forward", False, False),
        ]
        assert recorded(lambda: model.predict(X)) == inference
        assert recorded(lambda: model.evaluate(X, y)) == inference
        gradients = recorded(lambda: model.gradients(X, y))
        assert [c for c in gradients if c[1] == "forward"] == inference  # no noise
        validation = recorded(
            lambda: model.fit(X, y, mode="full", validation_data=(X, y), verbose=0)
        )
        assert ("first", "forward", False, False) in validation  # the validation scores
        assert ("noisy", "forward", True, True) in validation  # the update
