"""GroupNormalization against torch's group_norm with autograd (float64, every backend,
jitted on JAX), over ranks 3 and 4, several group counts (instance normalization with
groups=-1), with and without scale and center; refusals; training alike on every backend.
"""

import numpy as np
import pytest
from test_recurrent import run_layer

import arraynet as an
from arraynet.layers import Conv2D, Dense, Flatten, GroupNormalization

RTOL = 1e-10


def rel_error(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


CASES = [  # per-example shape, groups, scale, center
    ((5, 6), 3, True, True),
    ((4, 3, 8), 2, True, True),
    ((4, 3, 8), -1, False, True),
    ((7, 4), 1, True, False),
    ((2, 2, 6), 6, True, True),
]


@pytest.mark.parametrize("case", range(len(CASES)), ids=lambda i: f"case{i}")
def test_matches_torch_group_norm(backend, case):
    torch = pytest.importorskip("torch")
    shape, groups, scale, center = CASES[case]
    rng = np.random.default_rng(case)
    layer = GroupNormalization(groups, scale=scale, center=center, epsilon=1e-3)
    channels = shape[-1]
    weights = [1 + 0.3 * rng.standard_normal(channels) for _ in range(scale + center)]
    X = 2 * rng.standard_normal((3, *shape)) + 1
    dY = rng.standard_normal(X.shape)
    Y, dX, grads = run_layer(backend, layer, weights, X, dY)

    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    tX = torch.tensor(X, requires_grad=True)
    first = tX.movedim(-1, 1)  # torch is channels-first
    gamma = tw[0] if scale else torch.ones(channels, dtype=torch.float64)  # torch's backward
    beta = tw[-1] if center else None  # fails with no weight and a bias
    ref = torch.nn.functional.group_norm(first, channels if groups == -1 else groups, gamma,
                                         beta, eps=1e-3).movedim(1, -1)  # fmt: skip
    (ref * torch.from_numpy(dY)).sum().backward()
    assert rel_error(Y, ref.detach().numpy()) < RTOL
    assert rel_error(dX, tX.grad.numpy()) < RTOL
    for got, want in zip(grads, tw):
        assert rel_error(got, want.grad.numpy()) < RTOL


def test_refusals_config_and_training_agree(backend, tmp_path):
    with pytest.raises(ValueError, match="a multiple of groups 4"):
        an.Sequential([GroupNormalization(4)], input_shape=(3, 6))
    with pytest.raises(TypeError, match="groups"):
        GroupNormalization(groups=2.5)
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((6, 5, 5, 2)), rng.standard_normal((6, 1))

    def train(name):
        with an.use(name, dtype="float64"):
            model = an.Sequential(
                [Conv2D(4, 2, activation="relu"), GroupNormalization(2), Flatten(), Dense(1)],
                input_shape=(5, 5, 2), seed=3,
            )  # fmt: skip
            model.compile(loss="mse", optimizer=an.optimizers.Adam(0.01))
            model.fit(X, y, mode="minibatch", batch_size=4, epochs=3, seed=1, verbose=0)
            return model

    trained = train(backend)
    for got, want in zip(trained.get_weights(), train("numpy").get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    trained.save(tmp_path / "g.arraynet")
    with an.use(backend, dtype="float64"):
        loaded = an.load(tmp_path / "g.arraynet")
        np.testing.assert_allclose(loaded.predict(X, verbose=0), trained.predict(X, verbose=0))
    assert loaded.layers[1].groups == 2
