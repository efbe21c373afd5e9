"""Learning-rate schedules against Keras 3's formulas written out by hand
(tests/optimizer_reference.py) on every backend: their values, each update's learning rate
through an optimizer, rescaling by the base learning rate, configs and argument checks."""

import json

import numpy as np
import optimizer_reference as ref
import pytest

import arraynet as an
from arraynet import optimizers as opt
from arraynet.backend import to_numpy
from arraynet.optimizers import schedules

SCHEDULES = {
    "exponential": (
        lambda: schedules.ExponentialDecay(0.1, 10, 0.3),
        ref.exponential_decay(0.1, 10, 0.3),
    ),
    "exponential_staircase": (
        lambda: schedules.ExponentialDecay(
            initial_learning_rate=0.1, decay_steps=10, decay_rate=0.3, staircase=True
        ),
        ref.exponential_decay(0.1, 10, 0.3, staircase=True),
    ),
    "piecewise": (
        lambda: schedules.PiecewiseConstantDecay([3, 9, 20], [0.1, 0.05, 0.02, 0.001]),
        ref.piecewise_constant([3, 9, 20], [0.1, 0.05, 0.02, 0.001]),
    ),
    "polynomial": (
        lambda: schedules.PolynomialDecay(0.1, 20),
        ref.polynomial_decay(0.1, 20),
    ),
    "polynomial_power_cycle": (
        lambda: schedules.PolynomialDecay(0.1, 7, end_learning_rate=0.01, power=0.5, cycle=True),
        ref.polynomial_decay(0.1, 7, end=0.01, power=0.5, cycle=True),
    ),
    "inverse_time": (
        lambda: schedules.InverseTimeDecay(0.1, 5, 0.5),
        ref.inverse_time_decay(0.1, 5, 0.5),
    ),
    "inverse_time_staircase": (
        lambda: schedules.InverseTimeDecay(0.1, 5, 0.5, staircase=True),
        ref.inverse_time_decay(0.1, 5, 0.5, staircase=True),
    ),
    "cosine": (
        lambda: schedules.CosineDecay(0.1, 20, alpha=0.2),
        ref.cosine_decay(0.1, 20, alpha=0.2),
    ),
    "cosine_warmup": (
        lambda: schedules.CosineDecay(0.01, 20, warmup_target=0.1, warmup_steps=6),
        ref.cosine_decay(0.01, 20, warmup_target=0.1, warmup_steps=6),
    ),
    "cosine_warmup_from_zero": (
        lambda: schedules.CosineDecay(0.0, 10, alpha=0.1, warmup_target=0.2, warmup_steps=4),
        ref.cosine_decay(0.0, 10, alpha=0.1, warmup_target=0.2, warmup_steps=4),
    ),
    "cosine_restarts": (
        lambda: schedules.CosineDecayRestarts(0.1, 4),
        ref.cosine_decay_restarts(0.1, 4),
    ),
    "cosine_restarts_m_mul": (
        lambda: schedules.CosineDecayRestarts(0.1, 3, t_mul=1.0, m_mul=0.5, alpha=0.1),
        ref.cosine_decay_restarts(0.1, 3, t_mul=1.0, m_mul=0.5, alpha=0.1),
    ),
    "cosine_restarts_t_mul": (
        lambda: schedules.CosineDecayRestarts(0.1, 2, t_mul=1.5, m_mul=0.8),
        ref.cosine_decay_restarts(0.1, 2, t_mul=1.5, m_mul=0.8),
    ),
    "step": (lambda: opt.StepDecay(0.1, 4, 0.5), ref.step_decay(0.1, 4, 0.5)),
}
STEPS = np.array([0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 15, 19, 20, 21, 33, 100], dtype=np.float64)

RNG = np.random.default_rng(1)
A, B, W0 = RNG.normal(size=(6, 3)), RNG.normal(size=6), RNG.normal(size=3)


@pytest.mark.parametrize("name", SCHEDULES)
def test_values_follow_keras_formulas(backend, name):
    make, keras = SCHEDULES[name]
    expected = [keras(s) for s in STEPS]
    assert len(set(expected)) > 3  # it changes over these steps
    with an.use(backend, dtype="float64") as be:
        got = to_numpy(make().value(be.xp, be.asarray(STEPS)))
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    assert make()(5) == pytest.approx(keras(5), rel=1e-14)  # Keras' call, on the host


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_update_uses_the_schedule_at_its_step(backend, name):
    """12 SGD steps on a quadratic: update k (0-based) uses the schedule at step k."""
    make, keras = SCHEDULES[name]
    optimizer = opt.SGD(learning_rate=make())
    with an.use(backend, dtype="float64") as be:
        xp = be.xp
        a, at, b = be.asarray(A), be.asarray(A.T), be.asarray(B)
        params = (be.asarray(W0),)
        state = optimizer.init(xp, params)
        for _ in range(12):
            grads = (xp.matmul(at, xp.matmul(a, params[0]) - b),)
            params, state = optimizer.update(xp, params, grads, state)
        got = to_numpy(params[0])
    w = W0.copy()
    for k in range(12):
        w = w - keras(k) * (A.T @ (A @ w - B))
    np.testing.assert_allclose(got, w, rtol=1e-12)


def test_setting_the_base_learning_rate_rescales_the_schedule():
    with an.use("numpy", dtype="float64") as be:
        params = tuple(be.asarray(w) for w in (W0,))
        grads = (be.asarray(np.ones(3)),)
        for optimizer in (opt.SGD(0.1), opt.SGD(opt.ExponentialDecay(0.1, 1, 0.5))):
            state = optimizer.init(be.xp, params)
            assert float(optimizer.current_learning_rate(state)) == 0.1
            state = optimizer.with_learning_rate(be.xp, state, 0.4)
            assert optimizer.current_learning_rate(state).dtype == np.float64
            out, state = optimizer.update(be.xp, params, grads, state)
            np.testing.assert_allclose(out[0], W0 - 0.4, rtol=1e-15)
            out, state = optimizer.update(be.xp, out, grads, state)
            step = 0.2 if optimizer.schedule else 0.4  # 0.4 * 0.5 ** 1
            np.testing.assert_allclose(out[0], W0 - 0.4 - step, rtol=1e-15)


def test_a_warmup_from_zero_starts_the_base_at_its_target():
    optimizer = opt.SGD(schedules.CosineDecay(0.0, 10, warmup_target=0.2, warmup_steps=4))
    assert optimizer.learning_rate == 0.0  # the rate of the first update
    with an.use("numpy", dtype="float64") as be:
        state = optimizer.init(be.xp, (be.asarray(W0),))
    assert float(state[1]) == 0.2


@pytest.mark.parametrize("name", SCHEDULES)
def test_config_round_trip(name):
    schedule = SCHEDULES[name][0]()
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    rebuilt = schedules.deserialize(config)
    assert rebuilt == schedule and rebuilt.get_config() == schedule.get_config()
    optimizer = opt.Adam(learning_rate=schedule)
    assert opt.from_config(optimizer.get_config()).schedule == schedule


def test_arraynets_earlier_spellings_still_work():
    assert opt.ExponentialDecay(initial=0.1, decay_steps=10, decay_rate=0.5) == (
        schedules.ExponentialDecay(0.1, 10, 0.5)
    )
    for config, expected in [
        ({"name": "step_decay", "initial": 0.1, "step_size": 4.0, "factor": 0.5},
         opt.StepDecay(0.1, 4, 0.5)),
        ({"name": "exponential_decay", "initial": 0.1, "decay_steps": 10.0, "decay_rate": 0.3,
          "staircase": True}, opt.ExponentialDecay(0.1, 10, 0.3, staircase=True)),
        ({"name": "cosine_decay", "initial": 0.1, "decay_steps": 20.0, "alpha": 0.2},
         opt.CosineDecay(0.1, 20, alpha=0.2)),
    ]:  # fmt: skip
        assert schedules.deserialize(config) == expected
    assert an.optimizers.schedules.ExponentialDecay is opt.ExponentialDecay


BAD = [
    (schedules.ExponentialDecay, (0.0, 5, 0.5), "initial_learning_rate", ValueError),
    (schedules.ExponentialDecay, (-0.1, 5, 0.5), "initial_learning_rate", ValueError),
    (schedules.ExponentialDecay, (0.1, 0, 0.5), "decay_steps", ValueError),
    (schedules.ExponentialDecay, (0.1, 5, 0), "decay_rate", ValueError),
    (schedules.ExponentialDecay, (0.1, 5, 0.5, "yes"), "staircase", TypeError),
    (schedules.ExponentialDecay, (0.1,), "decay_steps", TypeError),
    (schedules.PiecewiseConstantDecay, ([1, 2], [0.1, 0.2]), "values", ValueError),
    (schedules.PiecewiseConstantDecay, ([2, 1], [0.1, 0.2, 0.3]), "boundaries", ValueError),
    (schedules.PiecewiseConstantDecay, (5, [0.1]), "boundaries", TypeError),
    (schedules.PiecewiseConstantDecay, ([1], [0.0, 0.0]), "values", ValueError),
    (schedules.PiecewiseConstantDecay, ([1], [0.1, -1.0]), r"values\[1\]", ValueError),
    (schedules.PolynomialDecay, (0.1, -3), "decay_steps", ValueError),
    (schedules.PolynomialDecay, (0.1, 3, 0.0, 0.0), "power", ValueError),
    (schedules.InverseTimeDecay, (0.1, 3, -1.0), "decay_rate", ValueError),
    (schedules.CosineDecay, (0.1, 5, 1.5), "alpha", ValueError),
    (schedules.CosineDecay, (0.0, 5), "initial_learning_rate", ValueError),
    (schedules.CosineDecay, (0.1, 5, 0.0, "c", -0.1), "warmup_target", ValueError),
    (schedules.CosineDecayRestarts, (0.1, 0), "first_decay_steps", ValueError),
    (schedules.CosineDecayRestarts, (0.1, 3, 0.0), "t_mul", ValueError),
    (opt.StepDecay, (0.1, 0, 0.5), "step_size", ValueError),
]


@pytest.mark.parametrize("cls, args, argument, error", BAD)
def test_bad_arguments_name_the_argument(cls, args, argument, error):
    with pytest.raises(error, match=f"^{argument}: expected"):
        cls(*args)


def test_a_schedule_cannot_be_set_but_the_model_rescales_it():
    optimizer = opt.SGD(opt.ExponentialDecay(0.1, 2, 0.5))
    with pytest.raises(TypeError, match="^learning_rate: .*schedule"):
        optimizer.learning_rate = 0.01
    with pytest.raises(ValueError, match="^schedule class_name: expected"):
        schedules.deserialize({"class_name": "OneCycle", "config": {}})
    with pytest.raises(ValueError, match="^schedule name: expected"):
        schedules.deserialize({"name": "one_cycle"})
