"""Optimizers: descent on every backend, torch.optim as the oracle, Keras schedules, global-norm
clipping, jit-traceability, state layout, argument checks and config round trips."""

import json
import math

import numpy as np
import pytest

import arraynet as an
from arraynet import optimizers as opt
from arraynet.backend import to_numpy

RNG = np.random.default_rng(0)
A1, A2, B = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 2)), RNG.normal(size=8)
W0 = (RNG.normal(size=3), RNG.normal(size=2))

CASES = {
    "sgd": opt.SGD(lr=0.02),
    "sgd_momentum": opt.SGD(lr=0.02, momentum=0.9),
    "sgd_nesterov": opt.SGD(lr=0.02, momentum=0.9, nesterov=True),
    "rmsprop": opt.RMSprop(lr=0.01),
    "rmsprop_centered": opt.RMSprop(lr=0.01, centered=True),
    "rmsprop_momentum": opt.RMSprop(lr=0.01, momentum=0.5, centered=True),
    "adam": opt.Adam(lr=0.05),
    "adam_amsgrad": opt.Adam(lr=0.05, amsgrad=True),
    "adamw": opt.AdamW(lr=0.05, weight_decay=0.01),
    "sgd_step_decay": opt.SGD(lr=opt.StepDecay(0.02, 10, 0.5), momentum=0.9),
    "sgd_exponential": opt.SGD(lr=opt.ExponentialDecay(0.02, 10, 0.5, staircase=True)),
    "adam_cosine": opt.Adam(lr=opt.CosineDecay(0.05, 50, alpha=0.1)),
    "sgd_clipnorm": opt.SGD(lr=0.02, momentum=0.9, clipnorm=1.0),
    "adamw_clipnorm": opt.AdamW(lr=0.05, clipnorm=0.5),
}
SLOTS = {"sgd": 0, "sgd_momentum": 1, "rmsprop": 1, "rmsprop_centered": 2,
         "rmsprop_momentum": 3, "adam": 2, "adam_amsgrad": 3, "adamw": 2}  # fmt: skip


def quadratic(xp, params, data):
    """f(w) = ½‖A w − b‖² with w split in two parameters, and its gradients."""
    a1, a2, a1t, a2t, b = data
    r = xp.matmul(a1, params[0]) + xp.matmul(a2, params[1]) - b
    return 0.5 * xp.sum(r * r), (xp.matmul(a1t, r), xp.matmul(a2t, r))


def run(optimizer, backend, steps, dtype="float64", params=W0):
    """Final params (NumPy) and losses after ``steps`` updates on ``backend``."""
    with an.use(backend, dtype=dtype) as be:
        xp = be.xp
        data = tuple(be.asarray(a) for a in (A1, A2, A1.T, A2.T, B))
        params = tuple(be.asarray(p) for p in params)
        state = optimizer.init(xp, params)
        losses = []
        for _ in range(steps):
            loss, grads = quadratic(xp, params, data)
            losses.append(float(to_numpy(loss)))
            params, state = optimizer.update(xp, params, grads, state)
        losses.append(float(to_numpy(quadratic(xp, params, data)[0])))
        return [to_numpy(p) for p in params], losses, state


@pytest.mark.parametrize("name", CASES)
def test_each_optimizer_descends_a_quadratic(backend, name):
    _, losses, state = run(CASES[name], backend, steps=50)
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    assert int(to_numpy(state[0])) == 50


@pytest.mark.parametrize("name", SLOTS)
def test_state_layout(backend, name):
    with an.use(backend, dtype="float32") as be:
        params = tuple(be.asarray(p) for p in W0)
        optimizer = CASES[name]
        state = optimizer.init(be.xp, params)
        state = optimizer.update(be.xp, params, params, state)[1]
    count, lr, slots = to_numpy(state[0]), to_numpy(state[1]), state[2:]
    assert (count.dtype, count.shape, int(count)) == (np.int32, (), 1)
    assert (lr.dtype, lr.shape, float(lr)) == (np.float32, (), np.float32(optimizer.lr))
    assert len(slots) == SLOTS[name] * len(params)
    assert [to_numpy(s).shape for s in slots] == [p.shape for p in W0] * SLOTS[name]
    assert {to_numpy(s).dtype for s in slots} <= {np.dtype("float32")}


# -- torch.optim as the oracle --------------------------------------------------------------

ORACLE = {  # ours, torch's (a function of the torch module and params), clip_grad_norm_ max
    "sgd": (opt.SGD(0.02), lambda t, p: t.optim.SGD(p, lr=0.02), None),
    "sgd_momentum": (
        opt.SGD(0.02, momentum=0.9),
        lambda t, p: t.optim.SGD(p, lr=0.02, momentum=0.9),
        None,
    ),
    "sgd_nesterov": (
        opt.SGD(0.02, momentum=0.9, nesterov=True),
        lambda t, p: t.optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True),
        None,
    ),
    "rmsprop": (
        opt.RMSprop(0.01, rho=0.8, epsilon=1e-3),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-3),
        None,
    ),
    "rmsprop_centered_momentum": (
        opt.RMSprop(0.01, momentum=0.5, centered=True, epsilon=1e-3),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-3, momentum=0.5, centered=True),
        None,
    ),
    "adam": (
        opt.Adam(0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
        lambda t, p: t.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-3),
        None,
    ),
    "adam_amsgrad": (
        opt.Adam(0.05, amsgrad=True),
        lambda t, p: t.optim.Adam(p, lr=0.05, eps=1e-7, amsgrad=True),
        None,
    ),
    "adamw": (
        opt.AdamW(0.05, weight_decay=0.2, epsilon=1e-3),
        lambda t, p: t.optim.AdamW(p, lr=0.05, weight_decay=0.2, eps=1e-3),
        None,
    ),
    "sgd_clipnorm": (  # the norm starts near 15: clipping is active
        opt.SGD(0.02, momentum=0.9, clipnorm=2.0),
        lambda t, p: t.optim.SGD(p, lr=0.02, momentum=0.9),
        2.0,
    ),
    "adam_clipnorm": (
        opt.Adam(0.05, clipnorm=2.0),
        lambda t, p: t.optim.Adam(p, lr=0.05, eps=1e-7),
        2.0,
    ),
}


def torch_run(make, clipnorm, steps):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in W0]
    a1, a2, b = (torch.tensor(a, dtype=torch.float64) for a in (A1, A2, B))
    optimizer = make(torch, params)
    for _ in range(steps):
        optimizer.zero_grad()
        r = a1 @ params[0] + a2 @ params[1] - b
        (0.5 * (r @ r)).backward()
        if clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(params, clipnorm)
        optimizer.step()
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("steps", [1, 6])
@pytest.mark.parametrize("name", ORACLE)
def test_matches_torch_optim(backend, name, steps):
    ours, make, clipnorm = ORACLE[name]
    expected = torch_run(make, clipnorm, steps)
    got = run(ours, backend, steps)[0]
    # torch's clip_grad_norm_ divides by norm + 1e-6; we divide by the norm itself
    rtol = 1e-6 if clipnorm else 1e-12
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-14)


def test_clipnorm_by_hand(backend):
    optimizer = opt.SGD(0.1, clipnorm=2.0)
    got = run(optimizer, backend, steps=1)[0]
    r = A1 @ W0[0] + A2 @ W0[1] - B
    grads = A1.T @ r, A2.T @ r
    norm = math.sqrt(sum(g @ g for g in grads))
    assert norm > 2.0
    for g, w, grad in zip(got, W0, grads):
        np.testing.assert_allclose(g, w - 0.1 * grad * min(1, 2.0 / norm), rtol=1e-14)


def test_small_gradients_are_not_clipped():
    small = tuple(w * 1e-3 for w in W0)
    with an.use("numpy", dtype="float64") as be:
        grads = tuple(be.asarray(g) for g in small)
        params = tuple(be.asarray(w) for w in W0)
        for clipnorm in (None, 1.0):
            optimizer = opt.SGD(1.0, clipnorm=clipnorm)
            out = optimizer.update(be.xp, params, grads, optimizer.init(be.xp, params))[0]
            for o, w, g in zip(out, W0, small):
                np.testing.assert_array_equal(o, w - g)


# -- schedules ------------------------------------------------------------------------------

SCHEDULES = [
    (opt.StepDecay(0.1, 4, 0.5), lambda s: 0.1 * 0.5 ** math.floor(s / 4)),
    (opt.ExponentialDecay(0.1, 10, 0.3), lambda s: 0.1 * 0.3 ** (s / 10)),
    (opt.ExponentialDecay(0.1, 10, 0.3, staircase=True), lambda s: 0.1 * 0.3 ** (s // 10)),
    (
        opt.CosineDecay(0.1, 20, alpha=0.2),
        lambda s: 0.1 * (0.8 * 0.5 * (1 + math.cos(math.pi * min(s, 20) / 20)) + 0.2),
    ),
]
# ids written out, not taken from reprs: a function's repr holds its address
SCHEDULE_IDS = ["step", "exponential", "exponential-staircase", "cosine"]


@pytest.mark.parametrize("schedule, keras", SCHEDULES, ids=SCHEDULE_IDS)
def test_schedules_follow_keras_formulas(backend, schedule, keras):
    steps = np.array([0, 1, 3, 4, 9, 10, 15, 20, 33, 100], dtype=np.float64)
    with an.use(backend, dtype="float64") as be:
        got = to_numpy(schedule(be.xp, be.asarray(steps)))
    np.testing.assert_allclose(got, [keras(s) for s in steps], rtol=1e-14)


@pytest.mark.parametrize("schedule, keras", SCHEDULES, ids=SCHEDULE_IDS)
def test_a_schedule_sets_each_step_lr(backend, schedule, keras):
    got = run(opt.SGD(schedule), backend, steps=12)[0]
    w = list(W0)
    for k in range(12):  # the k-th update (0-based) uses the schedule at step k
        r = A1 @ w[0] + A2 @ w[1] - B
        w = [w[0] - keras(k) * (A1.T @ r), w[1] - keras(k) * (A2.T @ r)]
    for g, e in zip(got, w):
        np.testing.assert_allclose(g, e, rtol=1e-12)


def test_rmsprop_momentum_keeps_lr_in_the_buffer_as_keras(backend):
    """With a changing lr torch's RMSprop (lr outside the buffer) differs: this is ours."""
    schedule = opt.ExponentialDecay(0.01, 2, 0.5)
    got = run(opt.RMSprop(schedule, rho=0.8, momentum=0.7, epsilon=1e-3), backend, steps=5)[0]
    w, a, buf = list(W0), [0.0, 0.0], [0.0, 0.0]
    for k in range(5):
        r = A1 @ w[0] + A2 @ w[1] - B
        for i, g in enumerate((A1.T @ r, A2.T @ r)):
            a[i] = 0.8 * a[i] + 0.2 * g * g
            buf[i] = 0.7 * buf[i] + 0.01 * 0.5 ** (k / 2) * g / (np.sqrt(a[i]) + 1e-3)
            w[i] = w[i] - buf[i]
    for g, e in zip(got, w):
        np.testing.assert_allclose(g, e, rtol=1e-12)


def test_set_learning_rate_scales_plain_and_scheduled_lr():
    with an.use("numpy", dtype="float64") as be:
        params = tuple(be.asarray(w) for w in W0)
        grads = tuple(be.asarray(np.ones_like(w)) for w in W0)
        for optimizer in (opt.SGD(0.1), opt.SGD(opt.ExponentialDecay(0.1, 1, 0.5))):
            state = optimizer.init(be.xp, params)
            assert float(optimizer.learning_rate(state)) == 0.1
            state = optimizer.with_learning_rate(be.xp, state, 0.4)
            assert optimizer.learning_rate(state).dtype == np.float64
            out, state = optimizer.update(be.xp, params, grads, state)
            np.testing.assert_allclose(out[0], W0[0] - 0.4, rtol=1e-15)
            out, state = optimizer.update(be.xp, out, grads, state)
            step = 0.4 if isinstance(optimizer.lr, float) else 0.2  # 0.4 * 0.5 ** 1
            np.testing.assert_allclose(out[0], W0[0] - 0.4 - step, rtol=1e-15)


# -- jax.jit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_update_is_jit_traceable(name):
    jax = pytest.importorskip("jax")
    optimizer = CASES[name]
    eager = run(optimizer, "numpy", steps=3)[0]
    with an.use("jax", dtype="float64") as be:
        jnp = be.xp
        traces = []
        update = jax.jit(lambda p, g, s: traces.append(1) or optimizer.update(jnp, p, g, s))
        data = tuple(be.asarray(a) for a in (A1, A2, A1.T, A2.T, B))
        params = tuple(be.asarray(w) for w in W0)
        state = optimizer.init(jnp, params)
        for _ in range(3):
            params, state = update(params, quadratic(jnp, params, data)[1], state)
        assert len(traces) == 1
        for g, e in zip(params, eager):
            np.testing.assert_allclose(to_numpy(g), e, rtol=1e-12)
        state = optimizer.with_learning_rate(jnp, state, 0.001)  # no recompilation
        update(params, quadratic(jnp, params, data)[1], state)
        assert len(traces) == 1


# -- arguments and configs --------------------------------------------------------------------

BAD = [
    (opt.SGD, {"lr": 0.0}, "lr", ValueError),
    (opt.SGD, {"lr": -0.1}, "lr", ValueError),
    (opt.Adam, {"lr": float("inf")}, "lr", ValueError),
    (opt.Adam, {"lr": "0.1"}, "lr", TypeError),
    (opt.SGD, {"momentum": 1.0}, "momentum", ValueError),
    (opt.SGD, {"momentum": -0.5}, "momentum", ValueError),
    (opt.RMSprop, {"momentum": 1.5}, "momentum", ValueError),
    (opt.RMSprop, {"rho": 1.0}, "rho", ValueError),
    (opt.RMSprop, {"epsilon": 0.0}, "epsilon", ValueError),
    (opt.Adam, {"beta_1": 1.0}, "beta_1", ValueError),
    (opt.Adam, {"beta_2": -0.1}, "beta_2", ValueError),
    (opt.Adam, {"epsilon": -1e-7}, "epsilon", ValueError),
    (opt.AdamW, {"weight_decay": -0.01}, "weight_decay", ValueError),
    (opt.AdamW, {"weight_decay": None}, "weight_decay", TypeError),
    (opt.SGD, {"clipnorm": 0.0}, "clipnorm", ValueError),
    (opt.Adam, {"clipnorm": True}, "clipnorm", TypeError),
    (opt.StepDecay, {"initial": 0.0, "step_size": 1, "factor": 0.5}, "initial", ValueError),
    (opt.StepDecay, {"initial": 0.1, "step_size": 0, "factor": 0.5}, "step_size", ValueError),
    (opt.ExponentialDecay, {"initial": 0.1, "decay_steps": 5, "decay_rate": 0}, "decay_rate",
     ValueError),
    (opt.CosineDecay, {"initial": 0.1, "decay_steps": 5, "alpha": 1.5}, "alpha", ValueError),
]  # fmt: skip


@pytest.mark.parametrize("cls, kwargs, argument, error", BAD)
def test_bad_hyperparameters_name_the_argument(cls, kwargs, argument, error):
    with pytest.raises(error, match=f"^{argument}: expected"):
        cls(**kwargs)


@pytest.mark.parametrize("name", CASES)
def test_config_round_trip_gives_identical_updates(name):
    optimizer = CASES[name]
    config = json.loads(json.dumps(optimizer.get_config()))
    rebuilt = opt.from_config(config)
    assert type(rebuilt) is type(optimizer)
    assert rebuilt.get_config() == optimizer.get_config() == config
    assert opt.get(config).get_config() == config
    for a, b in zip(run(rebuilt, "numpy", steps=5)[0], run(optimizer, "numpy", steps=5)[0]):
        np.testing.assert_array_equal(a, b)


def test_get_by_name_builds_the_defaults():
    assert opt.get("adam").get_config() == {"name": "adam", "lr": 0.001, "beta_1": 0.9,
        "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False, "clipnorm": None}  # fmt: skip
    assert opt.get("AdamW").weight_decay == 0.004
    assert (opt.get("sgd").lr, opt.get("rmsprop").rho) == (0.01, 0.9)
    sgd = opt.SGD()
    assert opt.get(sgd) is sgd
    with pytest.raises(ValueError, match="^optimizer: expected"):
        opt.get("adagrad")
    with pytest.raises(ValueError, match="^optimizer name: expected"):
        opt.from_config({"name": "adagrad"})


def test_centered_rmsprop_stays_finite_under_a_constant_gradient(backend):
    """With g constant, a and mg**2 both tend to g**2, and float32 rounding takes a - mg**2
    below 0 for some g within a few hundred steps (torch.optim.RMSprop then goes NaN). The
    variance is clamped at 0; the first steps equal the formula written out in float64."""
    optimizer = opt.RMSprop(lr=0.001, centered=True)
    g = np.linspace(0.1, 3.0, 50).astype(np.float32)
    with an.use(backend) as be:
        xp = be.xp
        params, grads = (be.asarray(np.ones(50)),), (be.asarray(g),)
        state = optimizer.init(xp, params)
        for step in range(1000):
            params, state = optimizer.update(xp, params, grads, state)
            if step == 9:
                tenth = to_numpy(params[0])
        final = to_numpy(params[0])
    assert np.all(np.isfinite(final)) and np.all(final < tenth)
    g = g.astype(np.float64)
    w, a, mg = np.ones(50), 0.0, 0.0
    for _ in range(10):
        a, mg = 0.9 * a + 0.1 * g * g, 0.9 * mg + 0.1 * g
        w = w - 0.001 * g / (np.sqrt(a - mg * mg) + 1e-7)
    np.testing.assert_allclose(tenth, w, rtol=1e-4)
