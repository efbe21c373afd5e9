"""model.gradients vs central differences of model.evaluate and vs the NumPy reference (float64)."""

import numpy as np
import pytest
from reference import (
    forward_reference,
    loss_and_grads_reference,
    loss_reference,
    random_targets,
)

import arraynet as an

TOL = 1e-7
N, D, K = 6, 3, 3
HIDDEN = ["relu", "sigmoid", "tanh", "identity"]
OUTPUTS = ["identity", "relu", "sigmoid", "tanh", "softmax"]
PAIRS = (
    [("squared_error", a, "reg") for a in OUTPUTS]
    + [("mse", a, "reg") for a in OUTPUTS]
    + [("binary_cross_entropy", a, "binary") for a in ("sigmoid", "softmax")]
    + [("categorical_cross_entropy", a, "onehot") for a in ("softmax", "sigmoid")]
    + [("softmax_cross_entropy", a, t) for a in ("identity", "tanh") for t in ("onehot", "int")]
)


def rel_error(g, g_num):
    g, g_num = (np.concatenate([np.ravel(x) for x in v]) for v in (g, g_num))
    return np.linalg.norm(g - g_num) / max(np.linalg.norm(g) + np.linalg.norm(g_num), 1e-300)


def numerical_grads(f, weights, eps=1e-6):
    """Central differences of f(list of weights) -> float, one weight entry at a time."""

    def at(i, j, d):
        ws = [np.array(w, dtype=np.float64) for w in weights]
        ws[i][j] += d
        return f(ws)

    return [
        np.reshape(
            [(at(i, j, eps) - at(i, j, -eps)) / (2 * eps) for j in np.ndindex(w.shape)], w.shape
        )
        for i, w in enumerate(weights)
    ]


def make_problem(index, out_act, targets, margin=1e-2):
    """Seeded net 3-4-3-K (hidden activations cycle) whose relu units stay away from the kink."""
    layers = [(4, HIDDEN[index % 4], True), (3, HIDDEN[(index + 1) % 4], False), (K, out_act, True)]
    spec = [(a, b) for _, a, b in layers]
    for attempt in range(1000):
        rng = np.random.default_rng([index, attempt])
        X = rng.normal(size=(N, D))
        weights, fan_in = [], D
        for units, _, use_bias in layers:
            weights.append(rng.normal(0, 1 / np.sqrt(fan_in), (fan_in, units)))
            if use_bias:
                weights.append(rng.normal(0, 0.5, units))
            fan_in = units
        Y = random_targets(rng, targets, N, K)
        cache = forward_reference(weights, spec, X)
        if all(
            np.abs(Z).min() > margin
            for (act, _), (_, Z, _) in zip(spec, cache, strict=True)
            if act == "relu"
        ):
            return layers, spec, X, Y, weights
    raise RuntimeError("no kink-free problem found")


def build_model(layers, loss):
    model = an.Sequential(
        [an.layers.Dense(u, activation=a, use_bias=b) for u, a, b in layers], input_dim=D, seed=0
    )
    model.compile(loss=loss, optimizer=an.optimizers.SGD(lr=0.1))
    return model


def model_checks(model, weights, X, Y):
    """(loss, analytic grads, numerical grads) of a float64 model."""
    model.set_weights(weights)
    value, grads = model.gradients(X, Y)

    def f(ws):
        model.set_weights(ws)
        return model.evaluate(X, Y)

    return value, grads, numerical_grads(f, weights)


PAIR_IDS = [f"{loss}-{act}-{t}" for loss, act, t in PAIRS]


@pytest.mark.parametrize("index", range(len(PAIRS)), ids=PAIR_IDS)
def test_gradients_match_numerical_and_reference(backend, index):
    loss, out_act, targets = PAIRS[index]
    layers, spec, X, Y, weights = make_problem(index, out_act, targets)
    with an.use(backend, dtype="float64"):
        value, grads, num = model_checks(build_model(layers, loss), weights, X, Y)
    ref_value, ref_grads = loss_and_grads_reference(weights, spec, loss, X, Y)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    assert [np.shape(g) for g in grads] == [w.shape for w in weights]
    assert rel_error(grads, num) < TOL
    assert rel_error(grads, ref_grads) < 1e-10


@pytest.mark.parametrize("index", range(len(PAIRS)), ids=PAIR_IDS)
def test_reference_gradients_match_numerical(index):
    loss, out_act, targets = PAIRS[index]
    _, spec, X, Y, weights = make_problem(index, out_act, targets)
    value, grads = loss_and_grads_reference(weights, spec, loss, X, Y)
    num = numerical_grads(lambda ws: loss_reference(ws, spec, loss, X, Y), weights)
    assert value == loss_reference(weights, spec, loss, X, Y)
    assert rel_error(grads, num) < TOL


def test_checker_can_fail(backend):
    """The check passes on true gradients but flags a tiny perturbation or a wrong loss scale."""
    layers, spec, X, Y, weights = make_problem(0, "identity", "reg")
    with an.use(backend, dtype="float64"):
        _, grads, num = model_checks(build_model(layers, "squared_error"), weights, X, Y)
        mse_model = build_model(layers, "mse")
        mse_model.set_weights(weights)
        _, mse_grads = mse_model.gradients(X, Y)
    assert rel_error(grads, num) < TOL
    bumped = [g.copy() for g in grads]
    bumped[0][0, 0] += 1e-5 * np.linalg.norm(np.concatenate([np.ravel(g) for g in grads]))
    assert rel_error(bumped, num) > TOL
    assert rel_error([1.001 * g for g in grads], num) > TOL
    assert rel_error(mse_grads, num) > TOL
    assert rel_error(loss_and_grads_reference(weights, spec, "mse", X, Y)[1], num) > TOL
