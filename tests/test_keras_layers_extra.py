"""LayerNormalization, RepeatVector and Rescaling (Keras 3), each
through the Layer protocol on every backend in float64, against torch autograd of the same
forward written with torch operations (``F.layer_norm`` with Keras's epsilon 1e-3), central
differences (``an.gradcheck``), configs and refusals (Keras 3 names and defaults)."""

import numpy as np
import pytest
from conv_reference import assert_close, through_protocol, torch_autograd

import arraynet as an
from arraynet.layers import LayerNormalization, RepeatVector, Rescaling, from_config

VARIANTS = [(True, True), (False, True), (True, False), (False, False)]  # (center, scale)


@pytest.mark.parametrize("shape", [(4,), (5, 3), (2, 3, 4)], ids=str)
@pytest.mark.parametrize(("center", "scale"), VARIANTS, ids=str)
def test_layer_normalization_matches_torch(backend, shape, center, scale):
    F = pytest.importorskip("torch").nn.functional
    rng = np.random.default_rng(len(shape) + 2 * center + scale)
    layer = LayerNormalization(center=center, scale=scale)
    features = shape[-1]
    params = [1 + 0.3 * rng.normal(size=features)] if scale else []
    params += [rng.normal(size=features)] if center else []
    X, dY = 2 + 3 * rng.normal(size=(6, *shape)), rng.normal(size=(6, *shape))
    with an.use(backend, dtype="float64"):
        Y, dX, grads = through_protocol(layer, params, X, dY)

    def fn(X, *ws):
        ws = list(ws)
        gamma = ws.pop(0) if scale else None
        beta = ws.pop(0) if center else None
        return F.layer_norm(X, (features,), gamma, beta, eps=1e-3)

    tY, tdX, tgrads = torch_autograd(fn, X, params, dY)
    assert_close("layer norm forward", Y, tY)
    assert_close("layer norm dX", dX, tdX)
    assert len(grads) == len(tgrads)
    for got, want in zip(grads, tgrads):
        assert_close("layer norm grads", got, want)


def test_repeat_vector_and_rescaling_match_torch(backend):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 3))
    repeat = RepeatVector(5)
    assert repeat.output_shape((3,)) == (5, 3)
    dY = rng.normal(size=(4, 5, 3))
    with an.use(backend, dtype="float64"):
        Y, dX, _ = through_protocol(repeat, (), X, dY)
    tY, tdX, _ = torch_autograd(lambda X: X[:, None, :].expand(4, 5, 3), X, (), dY)
    assert_close("repeat forward", Y, tY)
    assert_close("repeat dX", dX, tdX)
    rescale = Rescaling([0.5, 2.0, -1.0], offset=0.25)
    dY = rng.normal(size=X.shape)
    with an.use(backend, dtype="float64"):
        Y, dX, _ = through_protocol(rescale, (), X, dY)
    np.testing.assert_allclose(Y, X * [0.5, 2.0, -1.0] + 0.25, rtol=1e-15)
    np.testing.assert_allclose(dX, dY * [0.5, 2.0, -1.0], rtol=1e-15)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [(LayerNormalization(), (3, 4)), (RepeatVector(3), (4,)), (Rescaling(1 / 255), (2, 3))],
    ids=repr,
)
def test_central_differences_and_configs(backend, layer, shape):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, *shape))
    y = rng.normal(size=(3, *layer.output_shape(shape)))
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(layer, X, y)
    assert report.passed, str(report)
    again = from_config(layer.get_config())
    assert type(again) is type(layer) and again.get_config() == layer.get_config()


def test_refusals_name_the_argument():
    with pytest.raises(ValueError, match="axis: expected -1"):
        LayerNormalization(axis=1)
    with pytest.raises(ValueError, match="rms_scaling"):
        LayerNormalization(rms_scaling=True)
    with pytest.raises(ValueError, match="n: expected"):
        RepeatVector(0)
    with pytest.raises(ValueError, match="RepeatVector: expected inputs of shape"):
        RepeatVector(2).output_shape((3, 4))
    with pytest.raises(ValueError, match="scale: expected a finite number"):
        Rescaling(float("nan"))
    with pytest.raises(ValueError, match="Rescaling: scale of 2 entries, expected 1 or 3"):
        Rescaling([1.0, 2.0]).output_shape((5, 3))
