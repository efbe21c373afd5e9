"""Optimizers against Keras 3's formulas written out in float64 NumPy
(tests/optimizer_reference.py) on every backend: each optimizer, clipping, weight decay and
moving averages over 12 steps, the state layout, jit-traceability, argument checks and
config round trips. Schedules: tests/test_schedules.py; models: tests/test_optimizer_models.py."""

import json

import numpy as np
import pytest
from optimizer_reference import KerasReference

import arraynet as an
from arraynet import optimizers as opt
from arraynet.backend import to_numpy

RNG = np.random.default_rng(0)
A1, A2, B = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 2)), RNG.normal(size=8)
W0 = (RNG.normal(size=3), RNG.normal(size=2))
STEPS = 12

# name: (arraynet optimizer, Keras reference kind and arguments); learning rates chosen so
# that 12 steps move the weights well away from the start
CASES = {
    "sgd": (lambda: opt.SGD(0.02), ("sgd", dict(lr=0.02))),
    "sgd_momentum": (
        lambda: opt.SGD(learning_rate=0.02, momentum=0.9),
        ("sgd", dict(lr=0.02, momentum=0.9)),
    ),
    "sgd_nesterov": (
        lambda: opt.SGD(0.02, momentum=0.9, nesterov=True),
        ("sgd", dict(lr=0.02, momentum=0.9, nesterov=True)),
    ),
    "rmsprop": (lambda: opt.RMSprop(0.01), ("rmsprop", dict(lr=0.01))),
    "rmsprop_keras_defaults": (lambda: opt.RMSprop(), ("rmsprop", dict(lr=0.001))),
    "rmsprop_centered_momentum": (
        lambda: opt.RMSprop(0.01, rho=0.8, momentum=0.5, epsilon=1e-3, centered=True),
        ("rmsprop", dict(lr=0.01, rho=0.8, momentum=0.5, epsilon=1e-3, centered=True)),
    ),
    "adam": (lambda: opt.Adam(0.05), ("adam", dict(lr=0.05))),
    "adam_big_epsilon": (
        lambda: opt.Adam(0.05, beta_1=0.8, beta_2=0.99, epsilon=0.1),
        ("adam", dict(lr=0.05, beta_1=0.8, beta_2=0.99, epsilon=0.1)),
    ),
    "adam_amsgrad": (
        lambda: opt.Adam(0.05, amsgrad=True),
        ("adam", dict(lr=0.05, amsgrad=True)),
    ),
    "adamw": (
        lambda: opt.AdamW(0.05, weight_decay=0.2),
        ("adamw", dict(lr=0.05, weight_decay=0.2)),
    ),
    "adamw_default_decay": (lambda: opt.AdamW(0.05), ("adamw", dict(lr=0.05, weight_decay=0.004))),
    "nadam": (lambda: opt.Nadam(0.05), ("nadam", dict(lr=0.05))),
    "adamax": (
        lambda: opt.Adamax(0.05, beta_2=0.9, epsilon=1e-3),
        ("adamax", dict(lr=0.05, beta_2=0.9, epsilon=1e-3)),
    ),
    "adagrad": (lambda: opt.Adagrad(0.1), ("adagrad", dict(lr=0.1))),
    "adagrad_zero_start": (
        lambda: opt.Adagrad(0.1, initial_accumulator_value=0.0, epsilon=1e-3),
        ("adagrad", dict(lr=0.1, initial_accumulator_value=0.0, epsilon=1e-3)),
    ),
    "adadelta": (lambda: opt.Adadelta(1.0, rho=0.9), ("adadelta", dict(lr=1.0, rho=0.9))),
    "lion": (lambda: opt.Lion(0.05), ("lion", dict(lr=0.05))),
    "lion_betas": (
        lambda: opt.Lion(0.05, beta_1=0.5, beta_2=0.9),
        ("lion", dict(lr=0.05, beta_1=0.5, beta_2=0.9)),
    ),
    # the common arguments (the grads' norms start near 15, each tensor's near 10)
    "adam_clipnorm": (
        lambda: opt.Adam(0.05, clipnorm=1.0),
        ("adam", dict(lr=0.05, clipnorm=1.0)),
    ),
    "sgd_clipnorm": (
        lambda: opt.SGD(0.02, momentum=0.9, clipnorm=2.0),
        ("sgd", dict(lr=0.02, momentum=0.9, clipnorm=2.0)),
    ),
    "sgd_global_clipnorm": (
        lambda: opt.SGD(0.02, momentum=0.9, global_clipnorm=2.0),
        ("sgd", dict(lr=0.02, momentum=0.9, global_clipnorm=2.0)),
    ),
    "rmsprop_clipvalue": (
        lambda: opt.RMSprop(0.01, clipvalue=0.5),
        ("rmsprop", dict(lr=0.01, clipvalue=0.5)),
    ),
    "sgd_weight_decay": (
        lambda: opt.SGD(0.02, momentum=0.5, weight_decay=0.5),
        ("sgd", dict(lr=0.02, momentum=0.5, weight_decay=0.5)),
    ),
    "nadam_weight_decay_clipnorm": (
        lambda: opt.Nadam(0.05, weight_decay=0.1, global_clipnorm=1.0),
        ("nadam", dict(lr=0.05, weight_decay=0.1, global_clipnorm=1.0)),
    ),
    "adam_ema": (
        lambda: opt.Adam(0.05, use_ema=True, ema_momentum=0.8),
        ("adam", dict(lr=0.05, use_ema=True, ema_momentum=0.8)),
    ),
    "sgd_ema_overwrite": (
        lambda: opt.SGD(0.02, momentum=0.9, use_ema=True, ema_overwrite_frequency=5),
        ("sgd", dict(lr=0.02, momentum=0.9, use_ema=True, ema_overwrite_frequency=5)),
    ),
    "adagrad_schedule": (
        lambda: opt.Adagrad(opt.schedules.ExponentialDecay(0.2, 4, 0.5)),
        ("adagrad", dict(lr=lambda s: 0.2 * 0.5 ** (s / 4))),
    ),
    "adamw_schedule": (  # the weight decay follows the scheduled learning rate, as in Keras
        lambda: opt.AdamW(opt.schedules.PiecewiseConstantDecay([3, 7], [0.1, 0.05, 0.01])),
        (
            "adamw",
            dict(lr=lambda s: 0.1 if s <= 3 else 0.05 if s <= 7 else 0.01, weight_decay=0.004),
        ),
    ),  # fmt: skip
}
SLOTS = {  # per-parameter slot kinds, scalars
    "sgd": (0, 0), "sgd_momentum": (1, 0), "rmsprop": (1, 0), "rmsprop_centered_momentum": (3, 0),
    "adam": (2, 0), "adam_amsgrad": (3, 0), "nadam": (2, 1), "adamax": (2, 0), "adagrad": (1, 0),
    "adadelta": (2, 0), "lion": (1, 0), "adam_ema": (3, 0), "sgd_ema_overwrite": (2, 0),
}  # fmt: skip


def quadratic(xp, params, data):
    """f(w) = ½‖A w − b‖² with w split in two parameters, and its gradients."""
    a1, a2, a1t, a2t, b = data
    r = xp.matmul(a1, params[0]) + xp.matmul(a2, params[1]) - b
    return 0.5 * xp.sum(r * r), (xp.matmul(a1t, r), xp.matmul(a2t, r))


def grads_at(w):
    r = A1 @ w[0] + A2 @ w[1] - B
    return [A1.T @ r, A2.T @ r]


def run(optimizer, backend, steps, dtype="float64", params=W0):
    """Final params (NumPy), losses and state after ``steps`` updates on ``backend``."""
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


def keras_run(kind_and_args, steps, start=W0):
    kind, args = kind_and_args
    reference, w = KerasReference(kind, **args), list(start)
    trajectory = []
    for _ in range(steps):
        w = reference.step(w, grads_at(w))
        trajectory.append(w)
    return trajectory, reference


@pytest.mark.parametrize("name", CASES)
def test_matches_keras_formulas(backend, name):
    make, keras = CASES[name]
    expected, _ = keras_run(keras, STEPS)
    got = run(make(), backend, STEPS)[0]
    for g, e, w in zip(got, expected[-1], W0):
        np.testing.assert_allclose(g, e, rtol=1e-11, atol=1e-13)
        assert np.max(np.abs(e - w)) > 1e-3  # it moved: the test can tell optimizers apart


@pytest.mark.parametrize("name", ["adam", "rmsprop_centered_momentum", "nadam", "lion"])
def test_float32_stays_near_the_float64_formulas(backend, name):
    make, keras = CASES[name]
    expected, _ = keras_run(keras, STEPS)
    got = run(make(), backend, STEPS, dtype="float32")[0]
    for g, e in zip(got, expected[-1]):
        np.testing.assert_allclose(g, e, rtol=2e-4, atol=2e-5)


def test_keras_defaults_differ_from_torch_where_documented():
    """RMSprop puts epsilon inside the square root and Adam outside the bias correction (Keras);
    torch.optim's placements, written out, end measurably elsewhere."""
    got = run(opt.RMSprop(0.01, epsilon=0.1), "numpy", STEPS)[0]
    w, v = [np.array(p) for p in W0], [0.0, 0.0]
    for _ in range(STEPS):
        for i, g in enumerate(grads_at(w)):
            v[i] = 0.9 * v[i] + 0.1 * g * g
            w[i] = w[i] - 0.01 * g / (np.sqrt(v[i]) + 0.1)  # torch: epsilon outside
    assert not np.allclose(got[0], w[0], rtol=1e-6)


def test_clip_options_are_different_things():
    runs = {
        key: run(opt.SGD(0.02, **{key: 2.0} if key else {}), "numpy", 3)[0][0]
        for key in (None, "clipnorm", "global_clipnorm", "clipvalue")
    }
    values = list(runs.values())
    for i, a in enumerate(values):
        for b in values[i + 1 :]:
            assert not np.allclose(a, b, rtol=1e-6)


def test_small_gradients_are_not_clipped():
    small = tuple(w * 1e-3 for w in W0)
    with an.use("numpy", dtype="float64") as be:
        grads = tuple(be.asarray(g) for g in small)
        params = tuple(be.asarray(w) for w in W0)
        for clip in ({}, {"clipnorm": 1.0}, {"global_clipnorm": 1.0}, {"clipvalue": 1.0}):
            optimizer = opt.SGD(1.0, **clip)
            out = optimizer.update(be.xp, params, grads, optimizer.init(be.xp, params))[0]
            for o, w, g in zip(out, W0, small):
                np.testing.assert_array_equal(o, w - g)


def test_centered_rmsprop_stays_finite_under_a_constant_gradient(backend):
    """With g constant, v and a**2 both tend to g**2, and float32 rounding takes v - a**2
    below -epsilon for some g within a few hundred steps (Keras then goes NaN). It is clamped
    at 0; the first steps equal Keras' formula written out in float64."""
    optimizer = opt.RMSprop(learning_rate=0.001, centered=True)
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
    reference, w = KerasReference("rmsprop", lr=0.001, centered=True), [np.ones(50)]
    for _ in range(10):
        w = reference.step(w, [g.astype(np.float64)])
    np.testing.assert_allclose(tenth, w[0], rtol=1e-4)


# -- state ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SLOTS)
def test_state_layout(backend, name):
    optimizer = CASES[name][0]()
    with an.use(backend, dtype="float32") as be:
        params = tuple(be.asarray(p) for p in W0)
        state = optimizer.init(be.xp, params)
        state = optimizer.update(be.xp, params, params, state)[1]
    count, lr = to_numpy(state[0]), to_numpy(state[1])
    kinds, scalars = SLOTS[name]
    assert (count.dtype, count.shape, int(count)) == (np.int32, (), 1)
    assert (lr.dtype, lr.shape, float(lr)) == (np.float32, (), np.float32(optimizer.learning_rate))
    assert len(optimizer.slots) == kinds and len(optimizer.scalars) == scalars
    shapes = [to_numpy(s).shape for s in state]
    assert shapes == [(), ()] + [p.shape for p in W0] * kinds + [()] * scalars
    assert shapes == optimizer.state_shapes([p.shape for p in W0])
    assert {to_numpy(s).dtype for s in state[2:]} <= {np.dtype("float32")}


def test_the_ema_slot_holds_keras_averages_and_final_weights_returns_them():
    make, keras = CASES["adam_ema"]
    trajectory, reference = keras_run(keras, STEPS)
    optimizer = make()
    got, _, state = run(optimizer, "numpy", STEPS)
    with an.use("numpy", dtype="float64") as be:
        final = optimizer.final_weights(be.xp, state, tuple(be.asarray(p) for p in got))
    for f, e, w in zip(final, reference.final_weights(trajectory[-1]), got):
        np.testing.assert_allclose(to_numpy(f), e, rtol=1e-11)
        assert not np.allclose(e, w, rtol=1e-3)  # the averages are not the weights
    plain = opt.Adam(0.05)
    params = tuple(got)
    assert plain.final_weights(np, state[:6], params) is params


# -- jax.jit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_update_is_jit_traceable(name):
    jax = pytest.importorskip("jax")
    optimizer = CASES[name][0]()
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
    (opt.SGD, {"learning_rate": -0.1}, "learning_rate", ValueError),
    (opt.Adam, {"lr": float("inf")}, "lr", ValueError),
    (opt.Adam, {"learning_rate": "0.1"}, "learning_rate", TypeError),
    (opt.SGD, {"momentum": 1.0}, "momentum", ValueError),
    (opt.SGD, {"momentum": -0.5}, "momentum", ValueError),
    (opt.SGD, {"nesterov": "yes"}, "nesterov", TypeError),
    (opt.RMSprop, {"momentum": 1.5}, "momentum", ValueError),
    (opt.RMSprop, {"rho": 1.0}, "rho", ValueError),
    (opt.RMSprop, {"epsilon": 0.0}, "epsilon", ValueError),
    (opt.Adam, {"beta_1": 1.0}, "beta_1", ValueError),
    (opt.Adam, {"beta_2": -0.1}, "beta_2", ValueError),
    (opt.Adam, {"epsilon": -1e-7}, "epsilon", ValueError),
    (opt.Nadam, {"beta_2": 1.5}, "beta_2", ValueError),
    (opt.Adamax, {"epsilon": None}, "epsilon", TypeError),
    (opt.Adagrad, {"initial_accumulator_value": -0.1}, "initial_accumulator_value", ValueError),
    (opt.Adadelta, {"rho": 2}, "rho", ValueError),
    (opt.Lion, {"beta_1": 0.0}, "beta_1", ValueError),
    (opt.Lion, {"beta_2": 1.0}, "beta_2", ValueError),
    (opt.AdamW, {"weight_decay": -0.01}, "weight_decay", ValueError),
    (opt.AdamW, {"weight_decay": None}, "weight_decay", TypeError),
    (opt.SGD, {"weight_decay": "0.1"}, "weight_decay", TypeError),
    (opt.SGD, {"clipnorm": 0.0}, "clipnorm", ValueError),
    (opt.Adam, {"clipnorm": True}, "clipnorm", TypeError),
    (opt.Adam, {"global_clipnorm": -1.0}, "global_clipnorm", ValueError),
    (opt.Adam, {"clipvalue": float("nan")}, "clipvalue", ValueError),
    (opt.Adam, {"clipnorm": 1.0, "clipvalue": 1.0}, "clipvalue", ValueError),
    (opt.SGD, {"use_ema": 1}, "use_ema", TypeError),
    (opt.SGD, {"ema_momentum": 1.5}, "ema_momentum", ValueError),
    (opt.SGD, {"ema_overwrite_frequency": 0}, "ema_overwrite_frequency", ValueError),
    (opt.SGD, {"ema_overwrite_frequency": 2.5}, "ema_overwrite_frequency", TypeError),
    (opt.Adam, {"decay": 0.1}, "decay", TypeError),
]


@pytest.mark.parametrize("cls, kwargs, argument, error", BAD)
def test_bad_hyperparameters_name_the_argument(cls, kwargs, argument, error):
    with pytest.raises(error, match=f"^{argument}: "):
        cls(**kwargs)


@pytest.mark.parametrize("name", CASES)
def test_config_round_trip_gives_identical_updates(name):
    optimizer = CASES[name][0]()
    config = json.loads(json.dumps(optimizer.get_config()))
    for rebuilt in (opt.from_config(config), opt.deserialize(opt.serialize(optimizer))):
        assert type(rebuilt) is type(optimizer)
        assert rebuilt.get_config() == optimizer.get_config() == config
        for a, b in zip(run(rebuilt, "numpy", steps=5)[0], run(optimizer, "numpy", steps=5)[0]):
            np.testing.assert_array_equal(a, b)
    assert opt.get(config).get_config() == config


def test_configs_follow_keras_and_read_arraynets_earlier_ones():
    assert opt.get("adam").get_config() == {
        "name": "adam", "learning_rate": 0.001, "weight_decay": None, "clipnorm": None,
        "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
        "ema_overwrite_frequency": None, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
        "amsgrad": False,
    }  # fmt: skip
    keras_form = {"class_name": "SGD", "config": {"name": "SGD", "learning_rate": 0.1,
                  "momentum": 0.9, "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}}  # fmt: skip
    assert opt.deserialize(keras_form).get_config()["momentum"] == 0.9
    earlier = {"name": "sgd", "lr": {"name": "step_decay", "initial": 0.1, "step_size": 2.0,
               "factor": 0.5}, "momentum": 0.9, "nesterov": False, "clipnorm": 1.0}  # fmt: skip
    sgd = opt.from_config(earlier)  # clipnorm was a global norm then
    assert (sgd.global_clipnorm, sgd.clipnorm) == (1.0, None)
    assert sgd.schedule == opt.StepDecay(0.1, 2, 0.5)


def test_names_and_aliases():
    for name in ("sgd", "rmsprop", "adam", "adamw", "nadam", "adamax", "adagrad", "adadelta",
                 "lion", "Adam", "RMSprop"):  # fmt: skip
        assert opt.get(name).name == name.lower()
    assert (opt.get("sgd").learning_rate, opt.get("rmsprop").rho) == (0.01, 0.9)
    assert opt.get("adamw").weight_decay == 0.004
    assert opt.Adagrad().get_config()["initial_accumulator_value"] == 0.1
    assert (opt.Adadelta().learning_rate, opt.Adadelta().rho) == (0.001, 0.95)
    assert (opt.Lion().beta_1, opt.Lion().beta_2) == (0.9, 0.99)
    assert an.optimizers.SGD(lr=0.2).learning_rate == an.optimizers.SGD(0.2).lr == 0.2
    sgd = opt.SGD()
    assert opt.get(sgd) is sgd
    with pytest.raises(ValueError, match="^optimizer: expected"):
        opt.get("ftrl")
    with pytest.raises(ValueError, match="^optimizer name: expected"):
        opt.from_config({"name": "ftrl"})
