"""Conv1D(padding="causal") as Keras: ``dilation * (k - 1)`` zeros before the steps, then
"valid". Against torch's conv1d on the left-padded input with autograd (float64), on every
backend; no output sees a later step."""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import TRAINING, Conv1D

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(("kernel", "stride", "dilation"),
                         [(3, 1, 1), (2, 1, 3), (4, 2, 1), (1, 1, 1), (3, 3, 1)])  # fmt: skip
def test_causal_matches_torch_on_the_left_padded_input(backend, kernel, stride, dilation):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    X = RNG.standard_normal((2, 9, 3))
    K, b = RNG.standard_normal((kernel, 3, 4)), RNG.standard_normal(4)
    layer = Conv1D(4, kernel, strides=stride, dilation_rate=dilation, padding="causal")
    out = layer.output_shape((9, 3))
    dY = RNG.standard_normal((2, *out))
    with an.use(backend, dtype="float64") as B:
        weights = (B.asarray(K), B.asarray(b))
        Y, cache = layer.forward(B.xp, weights, B.asarray(X), TRAINING)
        dX, (dK, db) = layer.backward(B.xp, weights, cache, B.asarray(dY), TRAINING)
    Xt = torch.tensor(X.transpose(0, 2, 1), requires_grad=True)
    Kt = torch.tensor(K.transpose(2, 1, 0), requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    padded = F.pad(Xt, (dilation * (kernel - 1), 0))
    Yt = F.conv1d(padded, Kt, bt, stride=stride, dilation=dilation)
    (Yt * torch.tensor(dY.transpose(0, 2, 1))).sum().backward()
    assert out == (-(-9 // stride), 4)  # ceil(n / s): the same length with stride 1
    assert np.allclose(to_numpy(Y), Yt.detach().numpy().transpose(0, 2, 1), rtol=1e-12)
    assert np.allclose(to_numpy(dX), Xt.grad.numpy().transpose(0, 2, 1), rtol=1e-12, atol=1e-14)
    assert np.allclose(to_numpy(dK), Kt.grad.numpy().transpose(2, 1, 0), rtol=1e-12)
    assert np.allclose(to_numpy(db), bt.grad.numpy(), rtol=1e-12)


def test_no_output_sees_a_later_step_and_configs_round_trip():
    model = an.Sequential([an.Input((None, 2)), Conv1D(3, 3, padding="causal", dilation_rate=2),
                           Conv1D(2, 2, padding="causal")])  # fmt: skip
    X = RNG.standard_normal((1, 12, 2))
    later = X.copy()
    later[:, 7:] += 5.0  # change only the steps from 7 on
    before, after = model.predict(X, verbose=0), model.predict(later, verbose=0)
    assert np.array_equal(before[:, :7], after[:, :7]) and not np.allclose(before, after)
    layer = model.layers[0]
    assert an.layers.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="padding: expected one of valid, same; got 'causal'"):
        an.layers.Conv2D(2, 3, padding="causal")
