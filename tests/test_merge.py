"""Merge layers: forward and hand-written backward against torch autograd (float64, every
backend), shape errors naming the layer, configs."""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import (
    TRAINING,
    Add,
    Average,
    Concatenate,
    Context,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    from_config,
)

torch = pytest.importorskip("torch")

RTOL = 1e-12
ROWS = 4


def _torch_dot(axes, normalize):
    def forward(x1, x2):
        if isinstance(axes, int):
            a, b = (axes % x1.ndim, axes % x2.ndim) if axes < 0 else (axes, axes)
        else:
            a, b = (ax % x.ndim for ax, x in zip(axes, (x1, x2)))
        if normalize:
            x1 = torch.nn.functional.normalize(x1, dim=a, eps=1e-7)
            x2 = torch.nn.functional.normalize(x2, dim=b, eps=1e-7)
        rows = [torch.tensordot(x1[i], x2[i], dims=([a - 1], [b - 1])) for i in range(len(x1))]
        out = torch.stack(rows)
        return out.reshape(len(x1), 1) if out.ndim == 1 else out

    return forward


def _sequential(op):
    def forward(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = op(out, x)
        return out

    return forward


CASES = {  # name: (layer, per-example input shapes, torch forward)
    "add3": (Add(), [(2, 3)] * 3, lambda *xs: sum(xs)),
    "add_broadcast": (Add(), [(2, 3), (1, 3), (2, 1)], lambda *xs: sum(xs)),
    "subtract": (Subtract(), [(5,), (5,)], lambda a, b: a - b),
    "multiply3": (Multiply(), [(3,), (3,), (3,)], lambda a, b, c: a * b * c),
    "multiply_broadcast": (Multiply(), [(2, 3), (2, 1)], lambda a, b: a * b),
    "average": (Average(), [(4,), (4,), (4,)], lambda *xs: sum(xs) / 3),
    "maximum": (Maximum(), [(3, 2)] * 3, _sequential(torch.maximum)),
    "minimum": (Minimum(), [(5,), (5,)], _sequential(torch.minimum)),
    "concat_last": (Concatenate(), [(2, 3), (2, 4)], lambda *xs: torch.cat(xs, dim=-1)),
    "concat_axis1": (Concatenate(axis=1), [(2, 3), (5, 3), (1, 3)], lambda *xs: torch.cat(xs, 1)),
    "dot_vectors": (Dot(axes=1), [(5,), (5,)], _torch_dot(1, False)),
    "dot_last": (Dot(axes=-1), [(3, 4), (2, 4)], _torch_dot(-1, False)),
    "dot_pair": (Dot(axes=(1, 2)), [(4, 3), (2, 4)], _torch_dot((1, 2), False)),
    "dot_rank4": (Dot(axes=(1, 1)), [(3, 4), (3, 2, 5)], _torch_dot((1, 1), False)),
    "dot_mixed": (Dot(axes=(1, 2)), [(6,), (3, 6)], _torch_dot((1, 2), False)),
    "dot_normalized": (Dot(axes=2, normalize=True), [(3, 4), (2, 4)], _torch_dot(2, True)),
}


def _reference(forward, Xs, R):
    ts = [torch.tensor(X, dtype=torch.float64, requires_grad=True) for X in Xs]
    Y = forward(*ts)
    (Y * torch.tensor(R)).sum().backward()
    return Y.detach().numpy(), [t.grad.numpy() for t in ts]


def _through_layer(layer, Xs, R, need_dX=True):
    backend = an.current_backend()
    xp = backend.xp
    Y, cache = layer.forward(xp, (), [backend.asarray(X) for X in Xs], TRAINING)
    ctx = Context(training=True, need_dX=need_dX)
    dXs, grads = layer.backward(xp, (), cache, backend.asarray(R), ctx)
    assert grads == ()
    return to_numpy(Y), dXs


@pytest.mark.parametrize("name", list(CASES))
def test_merge_matches_torch_autograd(backend, name):
    layer, shapes, forward = CASES[name]
    rng = np.random.default_rng(len(name))
    Xs = [rng.normal(size=(ROWS, *s)) for s in shapes]
    out_shape = layer.output_shape(*shapes)
    R = rng.normal(size=(ROWS, *out_shape))
    Y_ref, dX_ref = _reference(forward, Xs, R)
    with an.use(backend, dtype="float64"):
        Y, dXs = _through_layer(layer, Xs, R)
        _, none = _through_layer(layer, Xs, R, need_dX=False)
    assert Y.shape == (ROWS, *out_shape) == Y_ref.shape
    np.testing.assert_allclose(Y, Y_ref, rtol=RTOL, atol=1e-14)
    assert isinstance(dXs, tuple) and len(dXs) == len(Xs)
    for dX, ref, X in zip(dXs, dX_ref, Xs, strict=True):
        assert dX.shape == X.shape
        np.testing.assert_allclose(to_numpy(dX), ref, rtol=RTOL, atol=1e-14)
    assert none is None


@pytest.mark.parametrize("layer", [Maximum(), Minimum()], ids=["maximum", "minimum"])
def test_ties_share_the_delta_as_autograd(backend, layer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, 3))
    R = rng.normal(size=(ROWS, 3))
    op = torch.maximum if isinstance(layer, Maximum) else torch.minimum
    _, ref = _reference(op, [X, X.copy()], R)
    with an.use(backend, dtype="float64"):
        _, dXs = _through_layer(layer, [X, X.copy()], R)
    for dX, expected in zip(dXs, ref, strict=True):
        np.testing.assert_allclose(to_numpy(dX), expected, rtol=RTOL)
        np.testing.assert_allclose(to_numpy(dX), R / 2, rtol=RTOL)


def test_one_input_is_the_identity():
    with an.use("numpy", dtype="float64"):
        xp = an.current_backend().xp
        X = np.arange(6.0).reshape(2, 3)
        for layer in (Add(), Concatenate(), Maximum()):
            Y, cache = layer.forward(xp, (), X, TRAINING)
            dX, _ = layer.backward(xp, (), cache, X * 2, TRAINING)
            np.testing.assert_array_equal(Y, X)
            np.testing.assert_array_equal(dX, X * 2)


BAD_SHAPES = [
    (Add(name="add_bad"), [(3,), (4,)], "add_bad"),
    (Add(name="add_rank"), [(3,), (2, 3)], "add_rank"),
    (Subtract(name="sub_three"), [(3,), (3,), (3,)], "sub_three"),
    (Concatenate(name="cat_bad"), [(2, 3), (3, 3)], "cat_bad"),
    (Concatenate(axis=0, name="cat_batch"), [(3,), (3,)], "cat_batch"),
    (Dot(axes=1, name="dot_bad"), [(3,), (4,)], "dot_bad"),
    (Dot(axes=(0, 1), name="dot_batch"), [(3,), (3,)], "dot_batch"),
    (Dot(axes=1, name="dot_one"), [(3,)], "dot_one"),
]


@pytest.mark.parametrize(("layer", "shapes", "name"), BAD_SHAPES, ids=[b[2] for b in BAD_SHAPES])
def test_shape_errors_name_the_layer_and_shapes(layer, shapes, name):
    with pytest.raises(ValueError, match=name) as caught:
        layer.output_shape(*shapes)
    assert str(shapes[0]) in str(caught.value)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="axis"):
        Concatenate(axis="last")
    with pytest.raises(ValueError, match="axes"):
        Dot(axes=(1, 2, 3))
    with pytest.raises(TypeError, match="axes"):
        Dot(axes="1")
    with pytest.raises(TypeError, match="normalize"):
        Dot(axes=1, normalize=1)


@pytest.mark.parametrize(
    "layer",
    [
        Add(),
        Subtract(),
        Multiply(),
        Average(),
        Maximum(),
        Minimum(),
        Concatenate(axis=1),
        Dot(axes=(1, 2), normalize=True),
        Dot(axes=-1),
    ],  # fmt: skip
    ids=repr,
)
def test_config_round_trip(layer):
    config = layer.get_config()
    again = from_config(config)
    assert type(again) is type(layer) and again.get_config() == config
