"""The functional API: symbolic calls, ``Model(inputs, outputs)`` over the traced graph,
Keras's layer order, shared layers and reused tensors against torch autograd, config,
files and training on every backend (float64)."""

import collections

import numpy as np
import pytest

import arraynet as an
from arraynet.layers import Add, Concatenate, Dense, Dropout, Multiply, Subtract
from arraynet.models.functional import Functional

RTOL = 1e-10


# -- symbolic calls ----------------------------------------------------------------------------


def test_a_layer_call_gives_a_symbolic_tensor_of_its_output_shape():
    x = an.Input(shape=(3, 5), name="x")
    h = Dense(4)(x)
    both = Concatenate(axis=1)([h, h])
    assert h.shape == (None, 3, 4) and both.shape == (None, 6, 4)
    assert h.call[0].units == 4 and h.call[1] == (x,)


def test_shape_errors_at_call_time_name_the_layer_and_both_shapes():
    a, b = an.Input(shape=(3,)), an.Input(shape=(4,))
    with pytest.raises(ValueError, match=r"Layer 'joined' \(Add\).*\(None, 3\).*\(None, 4\)"):
        Add(name="joined")([a, b])
    shared = Dense(2, name="shared")
    shared(a)
    with pytest.raises(ValueError, match=r"'shared'.*\(None, 3\).*\(None, 4\)"):
        shared(b)
    with pytest.raises(TypeError, match="symbolic tensor"):
        Dense(2)(np.ones((2, 3)))


def test_model_takes_inputs_and_outputs_positionally_or_by_name():
    x = an.Input(shape=(3,))
    y = Dense(2)(x)
    for model in (an.Model(x, y, name="m"), an.Model(inputs=x, outputs=y, name="m")):
        assert isinstance(model, Functional) and model.name == "m"
        assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
        assert model.built and len(model.get_weights()) == 2


def test_an_output_not_computable_from_the_inputs_is_refused_by_name():
    x, other = an.Input(shape=(3,), name="x"), an.Input(shape=(3,), name="other")
    y = Add()([Dense(3)(x), other])
    with pytest.raises(ValueError, match=r"outputs\[0\].*'other'.*disconnected"):
        an.Model(x, y)
    with pytest.raises(ValueError, match="model input"):
        an.Model(x, [Dense(2)(x), x])


# -- Keras's layer order -----------------------------------------------------------------------


def _keras_order(inputs, outputs):
    """Keras 3's ``_build_map`` and ``map_graph`` (ops/function.py) transcribed on arraynet's
    symbolic tensors, recursively, node by node: the layers in Keras's order, the inputs'
    ``InputLayer`` among them (an input's node: no parents, its depth from its readers)."""
    finished, in_progress, nodes, op_index = set(), set(), [], {}

    def helper(tensor):
        if id(tensor) in finished:
            return
        if tensor.call is None or any(tensor is t for t in inputs):  # an input's node
            if tensor.input_layer is not None:
                op_index.setdefault(tensor.input_layer, len(op_index))
                finished.add(id(tensor))
                nodes.append(tensor)
            return
        assert id(tensor) not in in_progress
        layer, parents = tensor.call
        op_index.setdefault(layer, len(op_index))
        in_progress.add(id(tensor))
        for parent in parents:
            helper(parent)
        finished.add(id(tensor))
        in_progress.remove(id(tensor))
        nodes.append(tensor)

    for output in outputs:
        helper(output)
    node_depth, op_depth = {}, {}
    for node in reversed(nodes):
        depth = node_depth.setdefault(id(node), 0)
        layer, parents = (node.input_layer, ()) if node.input_layer else node.call
        depth = max(depth, op_depth.get(layer, 0))
        op_depth[layer] = depth
        node_depth[id(node)] = depth
        for parent in parents:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    by_depth = collections.defaultdict(list)
    for layer, depth in op_depth.items():
        by_depth[depth].append(layer)
    order = []
    for depth in sorted(by_depth, reverse=True):
        order += sorted(by_depth[depth], key=lambda layer: op_index[layer])
    return order


def test_layers_in_keras_order_not_creation_order():
    x = an.Input(shape=(3,), name="x")
    b_layer, a_layer, c_layer = Dense(3, name="b"), Dense(3, name="a"), Dense(3, name="c")
    b = b_layer(x)  # created and called first, but shallower than a
    out = Add(name="add")([b, c_layer(a_layer(x))])
    model = an.Model(x, out)
    assert [layer.name for layer in model.layers] == ["x", "a", "b", "c", "add"]  # as Keras
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 3), (3,)] * 3


def test_a_shared_layer_takes_its_deepest_depth():
    x = an.Input(shape=(4,), name="x")
    h = Dense(4, name="h")(x)
    s = Dense(4, name="s")
    out = Dense(2, name="out")(Add(name="add")([h, s(s(h)), h]))
    model = an.Model(x, out)
    assert [layer.name for layer in model.layers] == ["x", "h", "s", "add", "out"]


def _random_graph(rng, n_layers=9):
    """Random calls of Dense and merge layers over two inputs, some layers shared."""
    inputs = [an.Input(shape=(3,)), an.Input(shape=(3,))]
    tensors, shared = list(inputs), []
    for k in range(n_layers):
        kind = rng.integers(4)
        if kind == 0 and shared:
            layer = shared[rng.integers(len(shared))]
            tensors.append(layer(tensors[rng.integers(len(tensors))]))
        elif kind == 1:
            picks = rng.choice(len(tensors), size=2, replace=True)
            tensors.append(Add(name=f"add{k}")([tensors[i] for i in picks]))
        else:
            layer = Dense(3, activation="tanh", name=f"d{k}")
            shared.append(layer)
            tensors.append(layer(tensors[rng.integers(len(tensors))]))
    outputs = [tensors[-1], tensors[-1 - rng.integers(1, n_layers // 2)]]
    return inputs, [t for t in outputs if t.call is not None] or [tensors[-1]]


@pytest.mark.parametrize("seed", range(12))
def test_layer_order_matches_keras_algorithm_on_random_graphs(seed):
    inputs, outputs = _random_graph(np.random.default_rng(seed))
    try:
        model = an.Model(inputs, outputs)
    except ValueError as err:  # an output that reads one input only is still fine
        pytest.fail(str(err))
    assert model.layers == _keras_order(inputs, outputs)


# -- gradients against torch autograd ---------------------------------------------------------


def _shared_graph():
    """One input; a reused tensor (h read three times), a shared layer (s called twice),
    Subtract, Multiply and Concatenate."""
    x = an.Input(shape=(3,), name="x")
    h = Dense(4, activation="tanh", name="h")(x)
    s = Dense(4, activation="tanh", name="s")
    a = s(h)
    b = s(a)
    m = Multiply(name="mul")([h, b])
    d = Subtract(name="sub")([a, h])
    out = Dense(2, name="out")(Concatenate(name="cat")([m, d]))
    return an.Model(x, out, seed=4)


def _torch_shared(torch, ws, X):
    Wh, bh, Ws, bs, Wo, bo = ws  # the Keras order: h, s, ..., out
    h = torch.tanh(X @ Wh + bh)
    a = torch.tanh(h @ Ws + bs)
    b = torch.tanh(a @ Ws + bs)
    cat = torch.cat([h * b, a - h], dim=1)
    return cat @ Wo + bo


def test_shared_layer_and_reused_tensor_gradients_match_torch(backend):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    model = _shared_graph()
    assert [layer.name for layer in model.own_layers] == ["h", "s", "mul", "sub", "cat", "out"]
    with an.use("numpy", dtype="float64"):
        weights = model.get_weights()
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    P = _torch_shared(torch, ws, torch.tensor(X))
    value = ((P - torch.tensor(Y)) ** 2).mean()
    value.backward()
    model.compile("mse")
    with an.use(backend, dtype="float64"):
        loss, grads = model.gradients(X, Y)
        predicted = model.predict(X)
    np.testing.assert_allclose(predicted, P.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(loss, value.item(), rtol=1e-12)
    for g, w in zip(grads, ws, strict=True):
        np.testing.assert_allclose(g, w.grad.numpy(), rtol=RTOL, atol=1e-14)


# -- Sequential inside, summary, config and files ---------------------------------------------


def test_a_sequential_called_inside_keeps_its_weights_and_math():
    encoder = an.Sequential([Dense(5, activation="relu"), Dense(4)], input_dim=3, seed=2)
    x = an.Input(shape=(3,))
    out = Dense(1, name="head")(encoder(x))
    model = an.Model(x, out, seed=1)
    X = np.random.default_rng(1).normal(size=(6, 3))
    with an.use("numpy", dtype="float64"):
        weights = model.get_weights()
        for w, e in zip(weights, encoder.get_weights()):
            np.testing.assert_array_equal(w, e)
        expected = encoder.predict(X) @ weights[4] + weights[5]
        np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12)


def test_summary_has_connected_to():
    lines = []
    _shared_graph().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text and "x (InputLayer)" in text
    row = next(line for line in lines if "s (Dense)" in line)
    assert "h[0][0], s[0][0]" in row and " 20 " in row  # both calls of s listed
    row = next(line for line in lines if "mul (Multiply)" in line)
    assert "h[0][0], s[1][0]" in row
    assert "Total params: 54" in text  # 16 + 20 (s once) + 18


def test_config_round_trip_rebuilds_the_same_graph():
    model = _shared_graph()
    model.compile("mse", "adam", metrics=["mae"])
    config = model.get_config()
    again = Functional.from_config(config)
    assert again.get_config() == config
    assert again.graph.nodes == model.graph.nodes and again.graph.outputs == model.graph.outputs
    assert [w.shape for w in again.get_weights()] == [w.shape for w in model.get_weights()]


@pytest.mark.parametrize("target", ["jax", "torch", "array_api_strict"])
def test_a_saved_model_loads_on_another_backend_and_predicts_the_same(tmp_path, target):
    pytest.importorskip(target)
    X = np.random.default_rng(3).normal(size=(9, 3))
    path = tmp_path / "shared.arraynet"
    with an.use("numpy", dtype="float64"):
        model = _shared_graph()
        model.compile("mse", "adam")
        model.fit(X, X[:, :2], epochs=2, verbose=0)
        expected = model.predict(X)
        model.save(path)
    with an.use(target, dtype="float64"):
        loaded = an.load(path)
        got = loaded.predict(X)
    assert isinstance(loaded, Functional)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# -- training ----------------------------------------------------------------------------------


def _residual_classifier():
    x = an.Input(shape=(4,))
    h = Dense(8, activation="relu", name="h")(x)
    r = Add(name="residual")([h, Dense(8, activation="tanh", name="block")(Dropout(0.2)(h))])
    out = Dense(3, activation="softmax", name="out")(r)
    return an.Model(x, out, seed=7)


@pytest.mark.parametrize("mode", ["full", "minibatch", "stochastic"])
def test_single_output_training_agrees_across_backends(backend, mode):
    rng = np.random.default_rng(5)
    X, labels = rng.normal(size=(23, 4)), rng.integers(0, 3, 23)
    results = {}
    for name in ("numpy", backend):
        model = _residual_classifier()
        model.compile("categorical_crossentropy", "adam", metrics=["accuracy"])
        with an.use(name, dtype="float64"):
            history = model.fit(X, labels, mode=mode, epochs=3, batch_size=5, seed=0, verbose=0)
            results[name] = (history.history, model.get_weights())
    (h0, w0), (h1, w1) = results["numpy"], results[backend]
    np.testing.assert_allclose(h1["loss"], h0["loss"], rtol=1e-9)
    for a, b in zip(w1, w0, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_layer_names_must_be_unique_as_in_keras():
    x = an.Input(shape=(3,), name="x")
    with pytest.raises(ValueError, match='"twin" is used 2 times'):
        an.Model(x, Dense(2, name="twin")(Dense(3, name="twin")(x)))
    with pytest.raises(ValueError, match='"x" is used 2 times'):
        an.Model(x, Dense(2, name="x")(x))


def test_an_output_read_by_another_layer_gets_both_deltas(backend):
    """``h`` is an output and feeds the second output: its delta is the sum of both."""
    torch = pytest.importorskip("torch")
    x = an.Input(shape=(3,))
    h = Dense(4, activation="softmax", name="h")(x)
    out = Dense(2, name="out")(h)
    model = an.Model(x, [h, out], seed=2)
    rng = np.random.default_rng(1)
    X, Y1, Y2 = rng.normal(size=(5, 3)), np.eye(4)[rng.integers(0, 4, 5)], rng.normal(size=(5, 2))
    with an.use("numpy", dtype="float64"):
        ws = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    P1 = torch.softmax(torch.tensor(X) @ ws[0] + ws[1], dim=1)
    P2 = P1 @ ws[2] + ws[3]
    value = (
        -(torch.tensor(Y1) * torch.log(P1)).sum(1).mean() + ((P2 - torch.tensor(Y2)) ** 2).mean()
    )
    value.backward()
    model.compile(["categorical_crossentropy", "mse"])
    with an.use(backend, dtype="float64"):
        loss, grads = model.gradients(X, [Y1, Y2])
    np.testing.assert_allclose(loss, value.item(), rtol=1e-12)
    for g, w in zip(grads, ws, strict=True):
        np.testing.assert_allclose(g, w.grad.numpy(), rtol=RTOL, atol=1e-14)


def test_a_tampered_graph_in_a_file_is_refused(tmp_path):
    import json
    import zipfile

    from arraynet import io

    path = tmp_path / "model.arraynet"
    _shared_graph().save(path)
    with zipfile.ZipFile(path) as archive:
        state = json.loads(archive.read("config.json"))
    state["config"]["functional"]["nodes"][2] = [1, [99]]
    weights = an.load(path).get_weights()
    io.write_state({**state, "weights": weights, "optimizer_state": []}, tmp_path / "bad.arraynet")
    with pytest.raises(an.ModelFileError, match="node 2"):
        an.load(tmp_path / "bad.arraynet")


def test_a_functional_model_called_inside_another_adds_its_calls():
    a, b = an.Input(shape=(3,)), an.Input(shape=(3,))
    inner = an.Model([a, b], [Add()([Dense(2)(a), Dense(2)(b)]), Dense(1)(a)], seed=1)
    x, y = an.Input(shape=(3,)), an.Input(shape=(3,))
    summed, single = inner([x, y])
    outer = an.Model([x, y], Dense(1, name="top")(Concatenate()([summed, single])), seed=2)
    assert set(inner.own_layers) < set(outer.own_layers)
    assert len(outer.own_layers) == len(inner.own_layers) + 2
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(4, 3)), rng.normal(size=(4, 3))]
    with an.use("numpy", dtype="float64"):
        s, o = inner.predict(X)
        W, c = outer.get_layer("top").get_weights()
        np.testing.assert_allclose(outer.predict(X), np.concatenate([s, o], 1) @ W + c, rtol=1e-12)
    with pytest.raises(ValueError, match="expected 2 input tensors"):
        inner(x)


def test_a_model_called_inside_is_one_operation_in_keras_order():
    """Keras orders a nested model as one operation, its layers together: here c1 (depth
    2), then the encoder's a, b (depth 1, met first), c2 (depth 1), add; layer by layer the
    order would be a, c1, b, c2, add."""
    encoder = an.Sequential([Dense(4, name="a"), Dense(4, name="b")], input_dim=3)
    x = an.Input(shape=(3,), name="x")
    c1, c2 = Dense(4, name="c1"), Dense(4, name="c2")
    out = Add(name="add")([encoder(x), c2(c1(x))])
    model = an.Model(x, out, seed=0)
    assert [layer.name for layer in model.layers] == ["x", "c1", "a", "b", "c2", "add"]
    again = an.Model.from_config(model.get_config())
    assert [layer.name for layer in again.layers] == ["x", "c1", "a", "b", "c2", "add"]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 3))
    with an.use("numpy", dtype="float64"):
        again.set_weights(model.get_weights())
        np.testing.assert_allclose(again.predict(X), model.predict(X), rtol=1e-12)


def test_a_functional_chain_is_the_sequential_case():
    """The same layers as a Sequential and as Model(inputs, outputs): one Graph class, the
    chain path for both, the same training bitwise."""
    x = an.Input(shape=(4,))
    out = Dense(2, name="f2")(Dense(5, activation="tanh", name="f1")(x))
    functional = an.Model(x, out, seed=3)
    sequential = an.Sequential([Dense(5, activation="tanh"), Dense(2)], input_dim=4)
    assert type(functional.graph) is type(sequential.graph)
    assert functional.graph.is_chain and sequential.graph.is_chain
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(13, 4)), rng.normal(size=(13, 2))
    with an.use("numpy", dtype="float64"):
        sequential.set_weights(functional.get_weights())
        for model in (functional, sequential):
            model.compile("mse", "adam")
            model.fit(X, Y, epochs=3, batch_size=4, seed=1, verbose=0)
        for a, b in zip(functional.get_weights(), sequential.get_weights()):
            np.testing.assert_array_equal(a, b)
