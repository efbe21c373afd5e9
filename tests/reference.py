"""Plain-NumPy float64 reference: forward pass, losses, backprop and SGD training.

Written independently of arraynet (never import it here). Weights are a flat Keras-order list
``[W1, b1, W2, b2, ...]`` (a ``b`` is absent when that layer has no bias) and ``layers_spec`` is
a list of ``(activation, use_bias)`` pairs, one per Dense layer.
"""

import numpy as np


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax(z):
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "softmax": _softmax,
}


def _name(act):
    return "identity" if act in (None, "linear") else act


def _act_backward(act, z, a, da):
    """dL/dZ from dL/dA for A = act(Z)."""
    act = _name(act)
    if act == "identity":
        return da
    if act == "relu":
        return da * (z > 0)
    if act == "sigmoid":
        return da * a * (1.0 - a)
    if act == "tanh":
        return da * (1.0 - a**2)
    if act == "softmax":
        return a * (da - np.sum(da * a, axis=1, keepdims=True))
    raise ValueError(act)


def unpack(weights, layers_spec):
    """Flat weight list -> [(W, b or None), ...] in float64."""
    params, i = [], 0
    for _, use_bias in layers_spec:
        W, i = np.asarray(weights[i], np.float64), i + 1
        b = None
        if use_bias:
            b, i = np.asarray(weights[i], np.float64), i + 1
        params.append((W, b))
    if i != len(weights):
        raise ValueError("weights do not match layers_spec")
    return params


def forward_reference(weights, layers_spec, X):
    """Per layer (A_prev, Z, A)."""
    cache, A = [], np.asarray(X, np.float64)
    for (W, b), (act, _) in zip(unpack(weights, layers_spec), layers_spec, strict=True):
        Z = A @ W if b is None else A @ W + b
        cache.append((A, Z, ACTIVATIONS[_name(act)](Z)))
        A = cache[-1][2]
    return cache


def predict_reference(weights, layers_spec, X):
    return forward_reference(weights, layers_spec, X)[-1][2]


def random_targets(rng, kind, rows, units):
    """Targets drawn from ``rng``: "reg" normals, "binary" 0/1, "int" labels or "onehot" rows."""
    if kind == "reg":
        return rng.normal(size=(rows, units))
    if kind == "binary":
        return rng.integers(0, 2, (rows, units)).astype(float)
    labels = rng.integers(0, units, rows)
    return labels if kind == "int" else np.eye(units)[labels]


def prepare_targets(Y, units):
    """(n,) targets become (n, 1) for one output unit, else integer labels become one-hot."""
    Y = np.asarray(Y)
    if Y.ndim == 1:
        return Y.reshape(-1, 1).astype(np.float64) if units == 1 else np.eye(units)[Y.astype(int)]
    return Y.astype(np.float64)


def _loss_value(loss, P, Y):
    n = P.shape[0]
    if loss == "squared_error":
        return np.sum((P - Y) ** 2) / (2 * n)
    if loss == "mse":
        return np.mean((P - Y) ** 2)
    if loss == "binary_cross_entropy":
        return np.mean(-(Y * np.log(P) + (1 - Y) * np.log(1 - P)))
    if loss == "categorical_cross_entropy":
        return -np.sum(Y * np.log(P)) / n
    if loss == "softmax_cross_entropy":
        return -np.sum(Y * _log_softmax(P)) / n
    raise ValueError(loss)


def _output_delta(loss, act, Z, P, Y):
    """dL/dZ for the output layer (fused where the loss matches the output activation)."""
    n, k = P.shape
    act = _name(act)
    if loss == "binary_cross_entropy" and act == "sigmoid":
        return (P - Y) / (n * k)
    if loss == "categorical_cross_entropy" and act == "softmax":
        return (P * Y.sum(axis=1, keepdims=True) - Y) / n
    if loss == "squared_error":
        dP = (P - Y) / n
    elif loss == "mse":
        dP = 2 * (P - Y) / (n * k)
    elif loss == "binary_cross_entropy":
        dP = ((1 - Y) / (1 - P) - Y / P) / (n * k)
    elif loss == "categorical_cross_entropy":
        dP = -Y / P / n
    elif loss == "softmax_cross_entropy":
        dP = (_softmax(P) * Y.sum(axis=1, keepdims=True) - Y) / n
    else:
        raise ValueError(loss)
    return _act_backward(act, Z, P, dP)


def loss_reference(weights, layers_spec, loss, X, Y):
    P = predict_reference(weights, layers_spec, X)
    return float(_loss_value(loss, P, prepare_targets(Y, P.shape[1])))


def loss_and_grads_reference(weights, layers_spec, loss, X, Y):
    """(loss, grads) with grads aligned with the flat weight list."""
    params = unpack(weights, layers_spec)
    cache = forward_reference(weights, layers_spec, X)
    P = cache[-1][2]
    Y = prepare_targets(Y, P.shape[1])
    dZ = _output_delta(loss, layers_spec[-1][0], cache[-1][1], P, Y)
    grads = []
    for i in reversed(range(len(params))):
        (W, b), A_prev = params[i], cache[i][0]
        grads = [A_prev.T @ dZ] + ([dZ.sum(axis=0)] if b is not None else []) + grads
        if i:
            _, Z, A = cache[i - 1]
            dZ = _act_backward(layers_spec[i - 1][0], Z, A, dZ @ W.T)
    return float(_loss_value(loss, P, Y)), grads


def train_reference(
    weights, layers_spec, loss, X, Y, lr, mode, epochs, batch_size=32, shuffle=False, seed=None
):
    """Plain SGD; returns (final_weights, per-epoch losses) as arraynet's ``fit`` defines them."""
    weights = [np.array(w, dtype=np.float64) for w in weights]
    X = np.asarray(X, np.float64)
    Y = prepare_targets(Y, weights[-1].shape[-1])
    n = len(X)
    size = {"stochastic": 1, "full": n, "minibatch": batch_size}[mode]
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for start in range(0, n, size):
            idx = order[start : start + size]
            value, grads = loss_and_grads_reference(weights, layers_spec, loss, X[idx], Y[idx])
            total += value * len(idx) / n
            weights = [w - lr * g for w, g in zip(weights, grads, strict=True)]
        history.append(total)
    return weights, history
