"""SimpleRNN, LSTM, GRU, Bidirectional and TimeDistributed: hand-written backprop through
time against torch autograd (``torch.nn.RNN/LSTM/GRU`` holding the same Keras weights), in
float64 on every backend; central differences where torch has no twin (GRU with
``reset_after=False``, merge modes); training agreement across backends; the program JAX
compiles does not grow with the sequence length."""

import numpy as np
import pytest
import torch_rnn

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import GRU, LSTM, TRAINING, Bidirectional, Dense, SimpleRNN, TimeDistributed

RTOL = 1e-10
KINDS = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}
ROWS, FEATURES, UNITS = 3, 4, 5


def rel_error(a, b) -> float:
    """Norm-relative error of ``a`` against the reference ``b`` (0 when both are 0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale else float(np.linalg.norm(a))


def draw_weights(layer, steps, rng):
    """The layer's initial weights (host), biases moved off their initial zeros/ones."""
    weights = [p.initializer(rng, p.shape) for p in layer.params((steps, FEATURES))]
    return [w + 0.1 * rng.standard_normal(w.shape) for w in weights]


def run_layer(backend, layer, weights, X, dY):
    """``(Y, dX, grads)`` on ``backend`` in float64, as host arrays (lists where the layer
    takes or gives several; a None delta stays None). On JAX under ``jax.jit``, as training
    runs there: the loop is ``jax.lax.scan`` then (eager JAX takes the Python loop)."""
    with an.use(backend, dtype="float64") as b:

        def there(a):
            if isinstance(a, list):
                return [there(x) for x in a]
            return None if a is None else b.asarray(a)

        def host(a):
            return [host(x) for x in a] if isinstance(a, (list, tuple)) else to_numpy(a)

        def compute(ws, X, dY):
            Y, cache = layer.forward(b.xp, ws, X, TRAINING)
            return Y, *layer.backward(b.xp, ws, cache, dY, TRAINING)

        if backend == "jax":
            import jax

            compute = jax.jit(compute)
        Y, dX, grads = compute(tuple(b.asarray(w) for w in weights), there(X), there(dY))
        return host(Y), host(dX), host(grads)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("steps", [1, 2, 50])
@pytest.mark.parametrize("kind", list(KINDS))
def test_gradients_match_torch_autograd(backend, kind, steps, return_sequences, go_backwards):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(steps)
    layer = KINDS[kind](UNITS, return_sequences=return_sequences, go_backwards=go_backwards)
    weights = draw_weights(layer, steps, rng)
    X = rng.standard_normal((ROWS, steps, FEATURES))
    dY = rng.standard_normal((ROWS, steps, UNITS) if return_sequences else (ROWS, UNITS))
    Y, dX, grads = run_layer(backend, layer, weights, X, dY)

    m = torch_rnn.module(kind, weights, FEATURES, UNITS)
    Xt = torch.tensor(X, requires_grad=True)
    out, _ = m(torch.flip(Xt, [1]) if go_backwards else Xt)  # Keras: the output stays reversed
    Yt = out if return_sequences else out[:, -1, :]
    (Yt * torch.from_numpy(dY)).sum().backward()
    expected = [*torch_rnn.grads(kind, m, UNITS), Xt.grad.numpy()]
    assert rel_error(Y, Yt.detach().numpy()) < RTOL
    for got, want in zip([*grads, dX], expected):
        assert got.shape == want.shape
        assert rel_error(got, want) < RTOL


@pytest.mark.parametrize("kind", list(KINDS))
def test_initial_states_and_return_state_match_torch(backend, kind):
    """States given as inputs (a list ``[X, h0(, c0)]``, as the graph passes several inputs)
    and returned (``[Y, h(, c)]``): values and deltas, those at the initial states too."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    steps = 6
    layer = KINDS[kind](UNITS, return_sequences=True, return_state=True)
    weights = draw_weights(layer, steps, rng)
    X = rng.standard_normal((ROWS, steps, FEATURES))
    states = [rng.standard_normal((ROWS, UNITS)) for _ in range(layer.state_count)]
    dYs = [rng.standard_normal((ROWS, steps, UNITS))]
    dYs += [rng.standard_normal((ROWS, UNITS)) for _ in range(layer.state_count)]
    outputs, dXs, grads = run_layer(backend, layer, weights, [X, *states], dYs)

    m = torch_rnn.module(kind, weights, FEATURES, UNITS)
    Xt = torch.tensor(X, requires_grad=True)
    st = [torch.tensor(s[None], requires_grad=True) for s in states]
    out, final = m(Xt, tuple(st) if kind == "LSTM" else st[0])
    final = final if kind == "LSTM" else (final,)
    expected = [out, *(f[0] for f in final)]
    sum((e * torch.from_numpy(d)).sum() for e, d in zip(expected, dYs)).backward()
    for got, want in zip(outputs, expected):
        assert rel_error(got, want.detach().numpy()) < RTOL
    wanted = [*torch_rnn.grads(kind, m, UNITS), Xt.grad.numpy(), *(s.grad.numpy()[0] for s in st)]
    for got, want in zip([*grads, *dXs], wanted):
        assert rel_error(got, want) < RTOL


def test_an_unused_state_output_needs_no_delta(backend):
    """``return_state``: a None delta is an output nothing downstream used (zero)."""
    rng = np.random.default_rng(3)
    layer = LSTM(UNITS, return_state=True)
    weights = draw_weights(layer, 4, rng)
    X, dY = rng.standard_normal((ROWS, 4, FEATURES)), rng.standard_normal((ROWS, UNITS))
    _, dX, grads = run_layer(backend, layer, weights, X, [dY, None, None])
    _, dX_plain, grads_plain = run_layer(backend, LSTM(UNITS), weights, X, dY)
    assert rel_error(dX, dX_plain) < RTOL
    assert all(rel_error(g, h) < RTOL for g, h in zip(grads, grads_plain))


@pytest.mark.parametrize(
    "layer",
    [
        GRU(2, reset_after=False, return_sequences=True),
        GRU(2, reset_after=False, go_backwards=True),
        GRU(2, use_bias=False),
        LSTM(2, use_bias=False, return_sequences=True),
        SimpleRNN(2, activation="relu", go_backwards=True),
        LSTM(2, activation="relu", recurrent_activation="tanh"),
        LSTM(2, recurrent_activation="hard_sigmoid", return_sequences=True),  # needs Z
        GRU(2, activation="elu", go_backwards=True),
        GRU(2, recurrent_activation="softplus", reset_after=False),
        SimpleRNN(2, activation="gelu", return_sequences=True),
        Bidirectional(LSTM(2, return_sequences=True), merge_mode="sum"),
        Bidirectional(GRU(2), merge_mode="mul"),
        Bidirectional(SimpleRNN(2, return_sequences=True), merge_mode="ave"),
        TimeDistributed(Dense(2, activation="tanh")),
    ],
    ids=repr,
)
def test_central_differences(backend, layer):
    """Variants torch has no module for, checked by ``an.gradcheck`` in float64 (to 1e-6:
    central differences' own rounding, about 1e-16 * loss / eps, is up to 1e-7 of the small
    recurrent kernels' gradients; a wrong term is off by far more)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 3, 2))
    with an.use(backend, dtype="float64"):
        Y = layer.output_shape((3, 2))
        y = rng.standard_normal((2, *Y))
        report = an.gradcheck(layer, X, y, tol=1e-6, seed=1)
    assert report.passed, str(report)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_fused_gates_equal_the_activations_one_by_one(backend, kind):
    """With sigmoid and tanh the gates take the fused path (fewer operations); the path
    that calls each activation gives the same numbers."""
    rng = np.random.default_rng(4)
    layer = KINDS[kind](UNITS, return_sequences=True)
    weights = draw_weights(layer, 9, rng)
    X, dY = rng.standard_normal((ROWS, 9, FEATURES)), rng.standard_normal((ROWS, 9, UNITS))
    assert layer.fused
    fused = run_layer(backend, layer, weights, X, dY)
    layer.fused = False
    one_by_one = run_layer(backend, layer, weights, X, dY)
    for got, want in zip([fused[0], fused[1], *fused[2]], [*one_by_one[:2], *one_by_one[2]]):
        assert rel_error(got, want) < 1e-13


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_bidirectional_matches_torch_bidirectional(backend, return_sequences):
    """Keras's [forward, backward] concatenation (the backward sequence put back in time
    order) is torch's ``bidirectional=True`` output; weights forward then backward."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    steps = 7
    layer = Bidirectional(LSTM(UNITS, return_sequences=return_sequences))
    assert [p.name for p in layer.params((steps, FEATURES))] == [
        f"{side}_{name}"
        for side in ("forward", "backward")
        for name in ("kernel", "recurrent_kernel", "bias")
    ]
    weights = draw_weights(layer, steps, rng)
    X = rng.standard_normal((ROWS, steps, FEATURES))
    dY = rng.standard_normal((ROWS, steps, 2 * UNITS) if return_sequences else (ROWS, 2 * UNITS))
    Y, dX, grads = run_layer(backend, layer, weights, X, dY)

    m = torch_rnn.module("LSTM", weights, FEATURES, UNITS, bidirectional=True)
    Xt = torch.tensor(X, requires_grad=True)
    out, _ = m(Xt)
    if not return_sequences:  # each direction's last step: forward at T-1, backward at 0
        out = torch.cat([out[:, -1, :UNITS], out[:, 0, UNITS:]], dim=1)
    (out * torch.from_numpy(dY)).sum().backward()
    assert rel_error(Y, out.detach().numpy()) < RTOL
    expected = [*torch_rnn.grads("LSTM", m, UNITS, bidirectional=True), Xt.grad.numpy()]
    for got, want in zip([*grads, dX], expected):
        assert rel_error(got, want) < RTOL


def test_time_distributed_is_the_layer_on_every_step(backend):
    """TimeDistributed(Dense) against Dense on the merged (rows * time) batch, by hand."""
    rng = np.random.default_rng(2)
    inner = Dense(3, activation="sigmoid")
    X = rng.standard_normal((2, 5, 4))
    weights = [p.initializer(rng, p.shape) for p in inner.params((4,))]
    dY = rng.standard_normal((2, 5, 3))
    Y, dX, grads = run_layer(backend, TimeDistributed(inner), weights, X, dY)
    Y2, dX2, grads2 = run_layer(backend, inner, weights, X.reshape(10, 4), dY.reshape(10, 3))
    assert rel_error(Y, Y2.reshape(2, 5, 3)) < RTOL
    assert rel_error(dX, dX2.reshape(2, 5, 4)) < RTOL
    assert all(rel_error(g, h) < RTOL for g, h in zip(grads, grads2))


def test_keras_weight_layouts_and_defaults():
    """Shapes and names as Keras 3 builds them; LSTM's forget bias at 1; orthogonal
    recurrent kernels; GRU's (2, 3U) bias."""
    rng = np.random.default_rng(0)
    shapes = {
        "SimpleRNN": [(4, 5), (5, 5), (5,)],
        "LSTM": [(4, 20), (5, 20), (20,)],
        "GRU": [(4, 15), (5, 15), (2, 15)],
    }
    for kind, expected in shapes.items():
        params = KINDS[kind](5).params((7, 4))
        assert [p.name for p in params] == ["kernel", "recurrent_kernel", "bias"]
        assert [p.shape for p in params] == expected
        R = params[1].initializer(rng, params[1].shape)
        assert np.allclose(R @ R.T, np.eye(5), atol=1e-12)  # orthonormal rows
    assert GRU(5, reset_after=False).params((7, 4))[2].shape == (15,)
    bias = LSTM(3).params((2, 4))[2]
    assert np.array_equal(bias.initializer(rng, bias.shape), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    bias = LSTM(3, unit_forget_bias=False).params((2, 4))[2]
    assert not bias.initializer(rng, bias.shape).any()
    assert LSTM(3, return_sequences=True).output_shape((9, 4)) == (9, 3)
    assert LSTM(3, return_state=True).output_shape((9, 4)) == [(3,), (3,), (3,)]
    assert Bidirectional(GRU(3, return_sequences=True)).output_shape((9, 4)) == (9, 6)
    with pytest.raises(ValueError, match="expected inputs of shape"):
        LSTM(3).output_shape((4,))
    with pytest.raises(ValueError, match="initial state"):
        LSTM(3).output_shape((9, 4), (3,))
    with pytest.raises(ValueError, match="recurrent layer"):
        Bidirectional(Dense(3))


def test_orthogonal_is_keras_formula():
    """Q of the QR of the same standard-normal draws, signs fixed so that R = Q^T A has a
    positive diagonal; transposed for a wide shape."""
    for shape in [(6, 3), (3, 12), (2, 3, 4)]:
        q = an.initializers.orthogonal(np.random.default_rng(4), shape)
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = np.random.default_rng(4).standard_normal((max(rows, cols), min(rows, cols)))
        tall = q.reshape(rows, cols) if rows >= cols else q.reshape(rows, cols).T
        r = tall.T @ a
        assert q.shape == shape
        assert np.allclose(tall.T @ tall, np.eye(min(rows, cols)), atol=1e-12)
        assert np.allclose(np.tril(r, -1), 0, atol=1e-12) and (np.diag(r) > 0).all()


def test_configs_round_trip():
    for layer in [
        LSTM(4, return_sequences=True, go_backwards=True, unit_forget_bias=False),
        GRU(2, reset_after=False, recurrent_activation="tanh"),
        SimpleRNN(3, activation="relu", return_state=True),
        Bidirectional(GRU(3, return_sequences=True), merge_mode="ave"),
        TimeDistributed(Dense(2)),
    ]:
        config = layer.get_config()
        assert an.layers.from_config(config).get_config() == config


def test_scan_steps_through_pytrees_in_either_direction(backend):
    """``backend.scan``: tuples of arrays in and out (None allowed), time on axis 0; with
    ``reverse`` the last step first and each output still at its step's index."""
    xs_host = np.arange(1.0, 13.0).reshape(4, 3)

    def f(carry, x):
        total, count = carry
        a, nothing = x
        assert nothing is None
        return (total + a, count + 1.0), (total + a, (a * 2.0,))

    with an.use(backend, dtype="float64") as b:

        def run(reverse):
            start = (b.asarray(np.zeros(3)), b.asarray(0.0))
            return an.backend.scan(b.xp, f, start, (b.asarray(xs_host), None), reverse=reverse)

        for reverse in (False, True):
            (total, count), (running, (doubled,)) = run(reverse)
            order = xs_host[::-1] if reverse else xs_host
            expected = np.cumsum(order, axis=0)[::-1] if reverse else np.cumsum(order, axis=0)
            assert np.array_equal(to_numpy(total), xs_host.sum(axis=0))
            assert float(to_numpy(count)) == 4.0
            assert np.array_equal(to_numpy(running), expected)
            assert np.array_equal(to_numpy(doubled), 2.0 * xs_host)
        if backend == "jax":
            import jax

            jitted = jax.jit(lambda: run(True))()  # traced: jax.lax.scan
            assert np.array_equal(to_numpy(jitted[1][0]), np.cumsum(xs_host[::-1], 0)[::-1])


def test_the_jax_program_does_not_grow_with_the_sequence():
    """A training step's jaxpr has one scan per loop and as many equations for 3 steps as
    for 40 (an unrolled loop would add a step's equations per time step)."""
    jax = pytest.importorskip("jax")
    sizes = []
    for steps in (3, 40):
        model = an.Sequential([GRU(4, return_sequences=True), LSTM(3), Dense(1)], seed=0)
        model.build((steps, 2))
        model.compile("mse", "sgd")
        with an.use("jax", dtype="float64") as b:
            weights = tuple(b.asarray(w) for w in model.get_weights())
            X, Y = b.asarray(np.zeros((5, steps, 2))), b.asarray(np.zeros((5, 1)))

            def loss_and_grads(w, X=X, Y=Y, b=b, model=model):
                return model.network.loss_and_grads(b.xp, w, X, Y)[:2]

            jaxpr = jax.make_jaxpr(loss_and_grads)(weights).jaxpr
        scans = [e for e in jaxpr.eqns if e.primitive.name == "scan"]
        assert len(scans) == 4  # two layers, a forward and a backward loop each
        sizes.append(len(jaxpr.eqns))
    assert sizes[0] == sizes[1]


AGREEMENT = {
    "simple-rnn-full": ([SimpleRNN, {"units": 3, "go_backwards": True}], "full", None),
    "lstm-minibatch": ([LSTM, {"units": 3, "return_sequences": True}], "minibatch", 3),
    "gru-stochastic": ([GRU, {"units": 3}], "stochastic", None),
    "gru-reset-before-minibatch": ([GRU, {"units": 2, "reset_after": False}], "minibatch", 4),
    "bidirectional-full": ([Bidirectional, {"layer": LSTM(2)}], "full", None),
}


@pytest.mark.parametrize("case", list(AGREEMENT))
def test_training_agrees_with_numpy(backend, case):
    """Each mode trains the same weights on every backend (float64, rtol 1e-9)."""
    (cls, kwargs), mode, batch_size = AGREEMENT[case]
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((7, 5, 2)), rng.standard_normal((7, 2))

    def train(name):
        with an.use(name, dtype="float64"):
            head = [TimeDistributed(Dense(2)), an.layers.Flatten()] if "lstm" in case else []
            model = an.Sequential([cls(**kwargs), *head, Dense(2)], seed=0)
            model.compile("mse", an.optimizers.SGD(lr=0.1, momentum=0.9))
            model.fit(X, y, mode=mode, batch_size=batch_size, epochs=3, seed=1, verbose=0)
            return model.get_weights()

    for got, want in zip(train(backend), train("numpy")):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_a_recurrent_model_saves_and_loads(tmp_path):
    """Embedding, Bidirectional(LSTM), TimeDistributed, GRU: config and weights round-trip
    through the archive; the loaded model predicts the same numbers."""
    from arraynet.layers import Embedding, Flatten

    rng = np.random.default_rng(0)
    X = rng.integers(0, 9, size=(6, 5)).astype(np.float64)
    model = an.Sequential(
        [
            Embedding(9, 3),
            Bidirectional(LSTM(4, return_sequences=True), merge_mode="ave"),
            TimeDistributed(Dense(2, activation="tanh")),
            GRU(3, return_sequences=True, reset_after=False, go_backwards=True),
            Flatten(),
            Dense(1),
        ],
        seed=2,
    )
    model.compile("mse", "adam")
    model.fit(X, rng.standard_normal((6, 1)), epochs=2, verbose=0)
    model.save(tmp_path / "rnn.arraynet")
    loaded = an.load(tmp_path / "rnn.arraynet")
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in model.layers
    ]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("kind", list(KINDS))
def test_initial_state_in_a_functional_model_matches_torch(backend, kind):
    """Keras's ``layer(x, initial_state=[h, c])`` in a functional model: its predictions and
    weight gradients (mean squared error) equal torch's module started from those states."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    steps = 6
    layer = KINDS[kind](UNITS)
    weights = draw_weights(layer, steps, rng)
    X = rng.standard_normal((ROWS, steps, FEATURES))
    states = [rng.standard_normal((ROWS, UNITS)) for _ in range(layer.state_count)]
    y = rng.standard_normal((ROWS, UNITS))
    with an.use(backend, dtype="float64"):
        x = an.Input(shape=(steps, FEATURES))
        given = [an.Input(shape=(UNITS,)) for _ in states]
        model = an.Model([x, *given], layer(x, initial_state=given))
        model.compile(loss="mse", optimizer="sgd")
        model.set_weights(weights)
        predicted = model.predict([X, *states], verbose=0)
        _, grads = model.gradients([X, *states], y)

    m = torch_rnn.module(kind, weights, FEATURES, UNITS)
    start = [torch.tensor(s[None]) for s in states]
    out, _ = m(torch.tensor(X), tuple(start) if kind == "LSTM" else start[0])
    Yt = out[:, -1, :]
    ((Yt - torch.from_numpy(y)) ** 2).mean().backward()
    assert rel_error(predicted, Yt.detach().numpy()) < RTOL
    for got, want in zip(grads, torch_rnn.grads(kind, m, UNITS)):
        assert rel_error(got, want) < RTOL


def test_functional_calls_return_each_state_and_refuse_states_given_twice():
    x, h = an.Input(shape=(4, 3)), an.Input(shape=(UNITS,))
    out, h_n, c_n = LSTM(UNITS, return_sequences=True, return_state=True)(x)
    assert [t.shape for t in (out, h_n, c_n)] == [(None, 4, UNITS), *[(None, UNITS)] * 2]
    with pytest.raises(ValueError, match="initial states given twice"):
        SimpleRNN(UNITS)([x, h], initial_state=[h])
