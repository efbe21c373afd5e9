"""PReLU (trained negative slopes, shared along axes) against torch autograd of Keras's
formula ``relu(x) - alpha * relu(-x)``, and the ELU layer against its formula, on every
backend; PReLU's central differences, configs and refusals."""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import ELU, TRAINING, PReLU

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shared_axes", [None, (1, 2), 3, (2,)])
def test_prelu_against_torch_autograd(backend, shared_axes):
    torch = pytest.importorskip("torch")
    layer = PReLU(shared_axes=shared_axes)
    X = RNG.standard_normal((4, 3, 5, 2))
    X[0, 0, 0, 0] = 0.0  # the kink: no slope either side, as relu's derivative at 0
    (alpha_param,) = layer.params((3, 5, 2))
    alpha, dY = RNG.standard_normal(alpha_param.shape), RNG.standard_normal(X.shape)
    with an.use(backend, dtype="float64") as b:
        Y, cache = layer.forward(b.xp, (b.asarray(alpha),), b.asarray(X), TRAINING)
        dX, (dalpha,) = layer.backward(b.xp, (b.asarray(alpha),), cache, b.asarray(dY), TRAINING)
    Xt = torch.tensor(X, requires_grad=True)
    At = torch.tensor(alpha[None], requires_grad=True)
    Yt = torch.relu(Xt) - At * torch.relu(-Xt)
    (Yt * torch.tensor(dY)).sum().backward()
    assert np.allclose(to_numpy(Y), Yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert np.allclose(to_numpy(dX), Xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert np.allclose(to_numpy(dalpha), At.grad.numpy()[0], rtol=1e-12, atol=1e-14)


def test_prelu_trains_its_slopes_and_gradchecks(backend):
    with an.use(backend):
        report = an.gradcheck(PReLU(alpha_initializer="ones"), RNG.standard_normal((3, 4)),
                              RNG.standard_normal((3, 4)))  # fmt: skip
    assert report.passed, str(report)
    with an.use(backend, dtype="float64"):
        model = an.Sequential([an.Input((6, 6, 2)), an.layers.Conv2D(3, 3),
                               PReLU(shared_axes=[1, 2]), an.layers.Flatten(),
                               an.layers.Dense(1)])  # fmt: skip
        assert model.layers[1].get_weights()[0].shape == (1, 1, 3)
        model.compile("adam", "mse")
        model.fit(RNG.standard_normal((16, 6, 6, 2)), RNG.standard_normal((16, 1)), epochs=2,
                  verbose=0)  # fmt: skip
        assert np.any(model.layers[1].get_weights()[0] != 0)  # alpha moved off zero


def test_elu_layer_is_keras_formula(backend):
    X = RNG.standard_normal((5, 4))
    with an.use(backend, dtype="float64"):
        out = an.Sequential([an.Input((4,)), ELU(alpha=0.5)]).predict(X, verbose=0)
    assert np.allclose(out, np.where(X > 0, X, 0.5 * np.expm1(X)), rtol=1e-12)


def test_configs_and_refusals():
    layer = PReLU(alpha_initializer="ones", alpha_regularizer="l2", shared_axes=[1])
    again = an.layers.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    assert an.layers.from_config(ELU(0.3).get_config()).alpha == 0.3
    with pytest.raises(ValueError, match="shared_axes: expected axes counted from 1"):
        PReLU(shared_axes=[0])
    with pytest.raises(ValueError, match="shared_axes: expected axes of inputs"):
        an.Sequential([an.Input((3,)), PReLU(shared_axes=[2])])
    with pytest.raises(ValueError, match="alpha_constraint"):
        PReLU(alpha_constraint="non_neg")
