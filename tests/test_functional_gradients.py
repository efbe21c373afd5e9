"""Acceptance (issue 18): gradients of random functional graphs against torch autograd of
the same forward, float64, on every backend; the same graph trained on every backend in
the three modes agrees.

Each graph has two inputs (images through Conv2D, sequences through LSTM), two outputs (a
softmax class head and a value head), a reused tensor, a shared Dense layer called twice
and every merge layer, wired at random. ``_torch_forward`` evaluates any such graph from
the model's own nodes and weights with torch operations written here (Keras layouts).
"""

import numpy as np
import pytest

import arraynet as an
from arraynet.layers import (
    LSTM,
    Add,
    Average,
    Concatenate,
    Conv2D,
    Dense,
    Dot,
    Flatten,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)

torch = pytest.importorskip("torch")

RTOL = 1e-10
ROWS = 6
IMAGE, SEQUENCE = (5, 5, 2), (4, 3)


def random_graph(seed: int):
    """A random two-input, two-output graph (see the module docstring)."""
    rng = np.random.default_rng(seed)
    image, sequence = an.Input(shape=IMAGE, name="image"), an.Input(shape=SEQUENCE, name="seq")
    a = Dense(4, activation="tanh")(Flatten()(Conv2D(3, 3, activation="tanh")(image)))
    b = LSTM(4)(sequence)
    shared = Dense(4, activation="tanh", name="shared")
    pool = [a, b, shared(a)]  # a is read again below: a reused tensor
    merges = [Add(), Subtract(), Multiply(), Average(), Maximum(), Minimum(), "concat", "dot"]
    used = set()
    for k in rng.permutation(len(merges)):
        x, y = (pool[i] for i in rng.choice(len(pool), size=2, replace=False))
        used.update((id(x), id(y)))
        merge = merges[k]
        if merge == "concat":
            made = Dense(4, activation="tanh")(Concatenate()([x, y]))
        elif merge == "dot":  # (rows, 1) scaled back up to a width of 4
            made = Multiply()([Dense(4)(Dot(axes=1)([x, y])), x])
        else:
            made = merge([x, y])
        pool.append(made)
    again = pool[rng.integers(3, len(pool))]
    used.add(id(again))
    pool.append(shared(again))  # the shared layer's second call
    unused = [t for t in pool if id(t) not in used]  # each reaches an output
    top = Add()(unused) if len(unused) > 1 else unused[0]
    classes = Dense(3, activation="softmax", name="classes")(top)
    value = Dense(1, name="value")(Concatenate()([pool[-1], a]))
    return an.Model([image, sequence], [classes, value], seed=seed)


# -- the same forward in torch ---------------------------------------------------------------


ACTIVATIONS = {
    "linear": lambda z: z,
    "identity": lambda z: z,
    "tanh": torch.tanh,
    "softmax": lambda z: z.softmax(-1),
}


def _activation(layer):
    return ACTIVATIONS[layer.get_config()["activation"]]


def _lstm(x, kernel, recurrent, bias):
    units = recurrent.shape[0]
    h = c = torch.zeros(x.shape[0], units, dtype=x.dtype)
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * units : (k + 1) * units] for k in range(4))
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    return h


def _dot(x, y):
    return (x * y).sum(-1, keepdim=True)


def _layer(layer, ws, xs):
    kind = type(layer).__name__
    x = xs[0]
    if kind == "Dense":
        return _activation(layer)(x @ ws[0] + ws[1])
    if kind == "Conv2D":
        kernel = ws[0].permute(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
        out = torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), kernel, ws[1])
        return _activation(layer)(out.permute(0, 2, 3, 1))
    if kind == "Flatten":
        return x.reshape(x.shape[0], -1)
    if kind == "LSTM":
        return _lstm(x, *ws)
    merges = {
        "Add": lambda: sum(xs),
        "Subtract": lambda: xs[0] - xs[1],
        "Multiply": lambda: xs[0] * xs[1],
        "Average": lambda: sum(xs) / len(xs),
        "Maximum": lambda: torch.maximum(xs[0], xs[1]),
        "Minimum": lambda: torch.minimum(xs[0], xs[1]),
        "Concatenate": lambda: torch.cat(xs, dim=-1),
        "Dot": lambda: _dot(*xs),
    }
    return merges[kind]()


def _torch_forward(model, ws, inputs):
    graph, values = model.graph, list(inputs)
    for node in graph.nodes:
        layer_ws = ws[graph.slices[node.layer]]
        values.append(_layer(graph.layers[node.layer], layer_ws, [values[i] for i in node.inputs]))
    return [values[o] for o in graph.outputs]


def _data(seed: int):
    rng = np.random.default_rng(100 + seed)
    X = [rng.normal(size=(ROWS, *IMAGE)), rng.normal(size=(ROWS, *SEQUENCE))]
    labels = rng.integers(0, 3, ROWS)
    return X, [np.eye(3)[labels], rng.normal(size=(ROWS, 1))]


def _torch_loss_and_grads(model, weights, X, Y, loss_weights):
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    P = _torch_forward(model, ws, [torch.tensor(x) for x in X])
    classes = -(torch.tensor(Y[0]) * torch.log(P[0])).sum(-1).mean()
    value = ((P[1] - torch.tensor(Y[1])) ** 2).mean()
    total = loss_weights[0] * classes + loss_weights[1] * value
    total.backward()
    return total.item(), [w.grad.numpy() for w in ws], [p.detach().numpy() for p in P]


def relative_error(got, want) -> float:
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


@pytest.mark.parametrize("seed", range(4))
def test_random_graph_gradients_match_torch_autograd(backend, seed):
    model = random_graph(seed)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"} <= kinds
    assert {"Concatenate", "Dot", "Conv2D", "LSTM", "Dense"} <= kinds
    shared = model.get_layer("shared")
    assert sum(model.graph.layers[n.layer] is shared for n in model.graph.nodes) == 2
    X, Y = _data(seed)
    loss_weights = [1.0, 0.5]
    with an.use("numpy", dtype="float64"):
        weights = model.get_weights()
    ref_loss, ref_grads, ref_P = _torch_loss_and_grads(model, weights, X, Y, loss_weights)
    model.compile(["categorical_crossentropy", "mse"], "sgd", loss_weights=loss_weights)
    with an.use(backend, dtype="float64"):
        loss, grads = model.gradients(X, Y)
        P = model.predict(X)
    for got, want in zip(P, ref_P, strict=True):
        assert relative_error(got, want) < 1e-12
    assert abs(loss - ref_loss) <= 1e-12 * abs(ref_loss)
    assert len(grads) == len(ref_grads)
    worst = max(relative_error(g, r) for g, r in zip(grads, ref_grads))
    assert worst <= RTOL, worst


@pytest.mark.parametrize("mode", ["full", "minibatch", "stochastic"])
def test_the_same_graph_trains_alike_on_every_backend(backend, mode):
    X, Y = _data(7)
    X, Y = [np.concatenate([x, x[:3] * 0.5]) for x in X], [np.concatenate([y, y[:3]]) for y in Y]
    results = {}
    for name in dict.fromkeys(("numpy", backend)):
        model = random_graph(1)
        model.compile(
            {"classes": "categorical_crossentropy", "value": "mse"},
            an.optimizers.Adam(learning_rate=0.01),
            metrics={"classes": ["accuracy"], "value": ["mae"]},
            loss_weights={"classes": 1.0, "value": 0.3},
        )
        with an.use(name, dtype="float64"):
            history = model.fit(X, Y, mode=mode, epochs=2, batch_size=4, seed=3, verbose=0)
            results[name] = (history.history, model.get_weights())
    (h0, w0), (h1, w1) = results["numpy"], results[backend]
    assert list(h1) == ["loss", "classes_loss", "value_loss", "classes_accuracy", "value_mae"]
    for key in h0:
        np.testing.assert_allclose(h1[key], h0[key], rtol=1e-9, atol=1e-12)
    worst = max(relative_error(a, b) for a, b in zip(w1, w0))
    assert worst <= 1e-9, worst


def test_random_graph_passes_central_differences(backend):
    model = random_graph(2)
    model.compile(["categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5])
    X, Y = _data(2)
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(model, X, Y)
    assert report.passed, str(report)
    assert len(report.names) == len(model.graph.trainable(model.get_weights()))


def test_a_saturated_softmax_head_fuses_with_its_cross_entropy(backend):
    """Several outputs: a softmax head under categorical cross-entropy takes its delta at the
    logits (``P - Y``), as a single output does; through the probabilities (clipped) its
    gradient would vanish where the true class's probability underflows."""
    x = an.Input(shape=(2,))
    classes = Dense(3, activation="softmax", name="classes")(x)
    value = Dense(1, name="value")(x)
    model = an.Model(x, [classes, value], seed=0)
    model.compile(["categorical_crossentropy", "mse"])
    assert model.network.fused_outputs == (True, False)
    X = np.array([[30.0, -30.0], [-25.0, 40.0]])
    Y = [np.eye(3)[[2, 0]], np.array([[1.0], [-1.0]])]
    with an.use("numpy", dtype="float64"):
        weights = model.get_weights()
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    logits = torch.tensor(X) @ ws[0] + ws[1]
    cross = -(torch.tensor(Y[0]) * torch.log_softmax(logits, dim=1)).sum(1).mean()
    mse = ((torch.tensor(X) @ ws[2] + ws[3] - torch.tensor(Y[1])) ** 2).mean()
    (cross + mse).backward()
    assert float(torch.softmax(logits, 1)[0, 2].detach()) < 1e-20  # saturated
    with an.use(backend, dtype="float64"):
        _, grads = model.gradients(X, Y)
    for g, w in zip(grads, ws, strict=True):
        assert relative_error(g, w.grad.numpy()) < RTOL
