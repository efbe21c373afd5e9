"""Keras's losses: value and hand-written delta against torch autograd of Keras's formulas
(float64, every backend) and central differences; the fused log-sum-exp paths; names,
arguments, function forms, user losses and configs."""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy

torch = pytest.importorskip("torch")
EPS = 1e-7  # keras.backend.epsilon()
RNG = np.random.default_rng(7)
N, K = 6, 4


def _hinge_labels(y):
    return 2 * y - 1 if bool(((y == 0) | (y == 1)).all()) else y


def _l2n(x, axis):
    return x * torch.rsqrt(torch.clamp((x * x).sum(axis, keepdim=True), min=EPS * EPS))


# Keras's per-sample formulas, written in torch (the reference's autograd gives the delta)
TORCH = {
    "mean_squared_error": lambda P, Y: ((P - Y) ** 2).mean(-1),
    "mean_absolute_error": lambda P, Y: (P - Y).abs().mean(-1),
    "mean_absolute_percentage_error": lambda P, Y: (
        100 * ((Y - P).abs() / torch.clamp(Y.abs(), min=EPS)).mean(-1)
    ),
    "mean_squared_logarithmic_error": lambda P, Y: (
        (torch.log(torch.clamp(P, min=EPS) + 1) - torch.log(torch.clamp(Y, min=EPS) + 1)) ** 2
    ).mean(-1),
    "huber_loss": lambda P, Y, delta=1.0: torch.where(
        (P - Y).abs() <= delta, 0.5 * (P - Y) ** 2, delta * (P - Y).abs() - 0.5 * delta**2
    ).mean(-1),
    "log_cosh": lambda P, Y: torch.log(torch.cosh(P - Y)).mean(-1),
    "cosine_similarity": lambda P, Y, axis=-1: -(_l2n(Y, axis) * _l2n(P, axis)).sum(axis),
    "binary_crossentropy": lambda P, Y, from_logits=False, label_smoothing=0.0: (
        torch.nn.functional.binary_cross_entropy_with_logits(
            P, Y * (1 - label_smoothing) + 0.5 * label_smoothing, reduction="none"
        )
        if from_logits
        else -(
            (Y * (1 - label_smoothing) + 0.5 * label_smoothing) * torch.log(P)
            + (1 - (Y * (1 - label_smoothing) + 0.5 * label_smoothing)) * torch.log(1 - P)
        )
    ).mean(-1),
    "categorical_crossentropy": lambda P, Y, from_logits=False, label_smoothing=0.0: (
        -(
            (Y * (1 - label_smoothing) + label_smoothing / Y.shape[-1])
            * (torch.log_softmax(P, -1) if from_logits else torch.log(P / P.sum(-1, keepdim=True)))
        ).sum(-1)
    ),
    "sparse_categorical_crossentropy": lambda P, Y, from_logits=False: (
        -(
            Y
            * (torch.log_softmax(P, -1) if from_logits else torch.log(P / P.sum(-1, keepdim=True)))
        ).sum(-1)
    ),
    "kl_divergence": lambda P, Y: (
        torch.clamp(Y, EPS, 1) * torch.log(torch.clamp(Y, EPS, 1) / torch.clamp(P, EPS, 1))
    ).sum(-1),
    "poisson": lambda P, Y: (P - Y * torch.log(P + EPS)).mean(-1),
    "hinge": lambda P, Y: torch.clamp(1 - _hinge_labels(Y) * P, min=0).mean(-1),
    "squared_hinge": lambda P, Y: (torch.clamp(1 - _hinge_labels(Y) * P, min=0) ** 2).mean(-1),
    "categorical_hinge": lambda P, Y: torch.clamp(
        ((1 - Y) * P).amax(-1) - (Y * P).sum(-1) + 1, min=0
    ),
}


def _data(name, shape=(N, K)):
    """``(P, Y)`` for ``name``, away from kinks and clips (central differences need that)."""
    normal = RNG.normal(size=shape)
    onehot = np.eye(shape[-1])[RNG.integers(0, shape[-1], shape[:-1])]
    if name in ("binary_crossentropy",):
        return RNG.uniform(0.05, 0.95, shape), (RNG.random(shape) < 0.5).astype(float)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        return RNG.uniform(0.1, 2.0, shape), onehot  # rows not summing to 1: Keras divides
    if name == "kl_divergence":
        Y = RNG.uniform(0.1, 1.0, shape)
        return RNG.uniform(0.05, 0.95, shape), Y / Y.sum(-1, keepdims=True)
    if name == "poisson":
        return RNG.uniform(0.2, 3.0, shape), RNG.poisson(1.5, shape).astype(float)
    if name == "mean_squared_logarithmic_error":
        return RNG.uniform(0.1, 3.0, shape), RNG.uniform(0.0, 3.0, shape)
    if name == "mean_absolute_percentage_error":
        return normal, RNG.uniform(0.5, 2.0, shape) * np.sign(RNG.normal(size=shape))
    if name in ("hinge", "squared_hinge"):
        P = 3 * normal
        Y = (RNG.random(shape) < 0.5).astype(float)
        return np.where(np.abs(1 - (2 * Y - 1) * P) < 0.05, P + 0.2, P), Y
    if name == "categorical_hinge":
        return 2 * normal, onehot
    if name == "huber_loss":
        P, Y = 2 * normal, RNG.normal(size=shape)
        return np.where(np.abs(np.abs(P - Y) - 1.0) < 0.05, P + 0.2, P), Y
    return normal, RNG.normal(size=shape)


CASES = [(name, {}) for name in TORCH] + [
    ("huber_loss", {"delta": 0.5}),
    ("cosine_similarity", {"axis": 0}),
    ("binary_crossentropy", {"label_smoothing": 0.2}),
    ("binary_crossentropy", {"from_logits": True}),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}),
    ("categorical_crossentropy", {"label_smoothing": 0.1}),
    ("categorical_crossentropy", {"from_logits": True}),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.3}),
    ("sparse_categorical_crossentropy", {"from_logits": True}),
]
IDS = [name + "".join(f"-{k}={v}" for k, v in config.items()) for name, config in CASES]


def _loss(name, config):
    return an.losses.get({"name": name, "config": config})


def _torch_reference(name, config, P, Y):
    Pt = torch.tensor(P, requires_grad=True)
    value = TORCH[name](Pt, torch.tensor(Y), **config).mean()  # sum_over_batch_size
    value.backward()
    return value.item(), Pt.grad.numpy()


@pytest.mark.parametrize(("name", "config"), CASES, ids=IDS)
def test_value_and_delta_match_torch_autograd(backend, name, config):
    P, Y = _data(name)
    if config.get("from_logits"):
        P = 3 * RNG.normal(size=P.shape)
    expected_value, expected_delta = _torch_reference(name, config, P, Y)
    with an.use(backend, dtype="float64") as be:
        value, delta = _loss(name, config)(be.xp, be.asarray(P), be.asarray(Y))
        value, delta = float(value), to_numpy(delta)
    assert value == pytest.approx(expected_value, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(delta, expected_delta, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(("name", "config"), CASES, ids=IDS)
def test_delta_matches_central_differences_on_rank_3_outputs(name, config):
    """(rows, steps, units) outputs: per-sample losses over the last axis, averaged over
    rows and steps (Keras's sum_over_batch_size)."""
    P, Y = _data(name, (3, 2, K))
    loss, eps = _loss(name, config), 1e-6
    value, delta = loss(np, P, Y)
    assert value == pytest.approx(np.mean(loss.per_sample(np, P, Y)), rel=1e-12)
    numerical = np.zeros_like(P)
    for i in np.ndindex(P.shape):
        up, down = P.copy(), P.copy()
        up[i] += eps
        down[i] -= eps
        numerical[i] = (loss(np, up, Y)[0] - loss(np, down, Y)[0]) / (2 * eps)
    np.testing.assert_allclose(delta, numerical, rtol=1e-6, atol=1e-9)


# -- fused with the output activation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "activation", "config"),
    [
        ("binary_crossentropy", "sigmoid", {}),
        ("binary_crossentropy", "sigmoid", {"label_smoothing": 0.2}),
        ("categorical_crossentropy", "softmax", {}),
        ("categorical_crossentropy", "softmax", {"label_smoothing": 0.1}),
        ("sparse_categorical_crossentropy", "softmax", {}),
    ],
)
def test_fused_delta_equals_the_logits_loss(backend, name, activation, config):
    """On a sigmoid/softmax output the loss is taken from the logits: the same value and
    delta as ``from_logits=True`` on the logits, and the probability form's value where no
    output is clipped."""
    Z = 3 * RNG.normal(size=(N, K))
    Y = np.eye(K)[RNG.integers(0, K, N)]
    expected_value, expected_delta = _torch_reference(name, {**config, "from_logits": True}, Z, Y)
    loss = _loss(name, config)
    assert loss.fuses_with == activation
    assert _loss(name, {**config, "from_logits": True}).fuses_with is None
    with an.use(backend, dtype="float64") as be:
        Zb = be.asarray(Z)
        A = an.activations.get(activation).forward(be.xp, Zb)
        value, dZ = loss.fused(be.xp, Zb, A, be.asarray(Y))
        unfused = float(loss(be.xp, A, be.asarray(Y))[0])
    assert float(value) == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(to_numpy(dZ), expected_delta, rtol=1e-10, atol=1e-15)
    assert unfused == pytest.approx(expected_value, rel=1e-9)


def test_fused_cross_entropy_stays_finite_where_keras_clips(backend):
    Z = np.array([[60.0, -60.0, 0.0], [-50.0, 50.0, 5.0]])
    Y = np.eye(3)[[1, 0]]
    with an.use(backend, dtype="float64") as be:
        A = an.activations.softmax.forward(be.xp, be.asarray(Z))
        loss = an.losses.CategoricalCrossentropy()
        fused = float(loss.fused(be.xp, be.asarray(Z), A, be.asarray(Y))[0])
        clipped = float(loss(be.xp, A, be.asarray(Y))[0])
    assert fused == pytest.approx(np.mean([120.0, 100.0]), rel=1e-12)  # log-sum-exp
    assert clipped == pytest.approx(-np.log(1e-7), rel=1e-12)  # Keras's clip at 1e-7


# -- training through compile ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "out", "kind"),
    [
        (an.losses.Huber(delta=0.3), "identity", "reg"),
        ("log_cosh", "tanh", "reg"),
        ("mae", "identity", "reg"),
        (an.losses.CosineSimilarity(), "identity", "reg"),
        (an.losses.BinaryCrossentropy(label_smoothing=0.1), "sigmoid", "binary"),
        (an.losses.BinaryCrossentropy(from_logits=True), "identity", "binary"),
        (an.losses.CategoricalCrossentropy(label_smoothing=0.2), "softmax", "onehot"),
        ("categorical_crossentropy", "sigmoid", "onehot"),
        (an.losses.SparseCategoricalCrossentropy(from_logits=True), "identity", "int"),
        ("kld", "softmax", "onehot"),
        ("poisson", "softplus", "counts"),
        ("hinge", "tanh", "binary"),
        ("squared_hinge", "identity", "binary"),
        ("categorical_hinge", "identity", "onehot"),
    ],
)
def test_models_with_keras_losses_pass_gradcheck(backend, loss, out, kind):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, 3))
    if kind == "reg":
        y = rng.normal(size=(N, K))
    elif kind == "binary":
        y = (rng.random((N, K)) < 0.5).astype(float)
    elif kind == "counts":
        y = rng.poisson(1.0, (N, K)).astype(float)
    else:
        labels = rng.integers(0, K, N)
        y = labels if kind == "int" else np.eye(K)[labels]
    model = an.Sequential(
        [an.layers.Dense(5, activation="tanh"), an.layers.Dense(K, activation=out)],
        input_dim=3,
        seed=4,
    )
    model.compile(loss=loss, optimizer="sgd")
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(model, X, y)
    assert report.passed, str(report)


# -- names, arguments, function forms, own losses ----------------------------------------------


@pytest.mark.parametrize(
    ("given", "cls"),
    [
        ("mse", an.losses.MeanSquaredError),
        ("mean_squared_error", an.losses.MeanSquaredError),
        ("MeanSquaredError", an.losses.MeanSquaredError),
        (an.losses.mean_squared_error, an.losses.MeanSquaredError),
        ("mae", an.losses.MeanAbsoluteError),
        ("mape", an.losses.MeanAbsolutePercentageError),
        ("msle", an.losses.MeanSquaredLogarithmicError),
        ("huber", an.losses.Huber),
        (an.losses.huber, an.losses.Huber),
        ("log_cosh", an.losses.LogCosh),
        ("logcosh", an.losses.LogCosh),
        ("kld", an.losses.KLDivergence),
        ("kl_divergence", an.losses.KLDivergence),
        ("poisson", an.losses.Poisson),
        ("hinge", an.losses.Hinge),
        ("squared_hinge", an.losses.SquaredHinge),
        ("categorical_hinge", an.losses.CategoricalHinge),
        ("cosine_similarity", an.losses.CosineSimilarity),
        ("binary_crossentropy", an.losses.BinaryCrossentropy),
        ("categorical_crossentropy", an.losses.CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", an.losses.SparseCategoricalCrossentropy),
        (an.losses.SparseCategoricalCrossentropy, an.losses.SparseCategoricalCrossentropy),
        ("binary_cross_entropy", an.losses.BinaryCrossEntropy),
        ("categorical_cross_entropy", an.losses.CategoricalCrossEntropy),
        ("softmax_cross_entropy", an.losses.SoftmaxCrossEntropy),
        ("squared_error", an.losses.SquaredError),
    ],
)
def test_names_classes_and_functions(given, cls):
    loss = an.losses.get(given)
    assert type(loss) is cls and loss.is_default


def test_keras_defaults():
    assert an.losses.Huber().delta == 1.0
    assert an.losses.CosineSimilarity().axis == -1
    for cls in (an.losses.BinaryCrossentropy, an.losses.CategoricalCrossentropy):
        assert (cls().from_logits, cls().label_smoothing) == (False, 0.0)
    assert an.losses.SparseCategoricalCrossentropy().from_logits is False
    with pytest.raises(ValueError, match="reduction"):
        an.losses.MeanSquaredError(reduction="sum")


def test_function_forms_give_per_sample_losses(backend):
    P, Y = RNG.uniform(0.1, 0.9, (N, K)), np.eye(K)[RNG.integers(0, K, N)]
    labels = np.argmax(Y, axis=1)
    with an.use(backend, dtype="float64") as be:
        mse = an.losses.mean_squared_error(Y, P)
        assert be.owns(mse) and tuple(mse.shape) == (N,)
        np.testing.assert_allclose(to_numpy(mse), ((P - Y) ** 2).mean(-1), rtol=1e-12)
        sparse = to_numpy(an.losses.sparse_categorical_crossentropy(labels, P))
        dense = to_numpy(an.losses.categorical_crossentropy(Y, P))
        np.testing.assert_allclose(sparse, dense, rtol=1e-12)
        np.testing.assert_allclose(dense, -np.log(P[np.arange(N), labels] / P.sum(1)), rtol=1e-12)
        huber = to_numpy(an.losses.huber(Y, P, delta=0.2))
        x = np.abs(P - Y)
        np.testing.assert_allclose(
            huber, np.where(x <= 0.2, 0.5 * x**2, 0.2 * x - 0.02).mean(-1), rtol=1e-12
        )
        logits = to_numpy(an.losses.binary_crossentropy(Y, 3 * P - 1, from_logits=True))
        np.testing.assert_allclose(
            logits,
            torch.nn.functional.binary_cross_entropy_with_logits(
                torch.tensor(3 * P - 1), torch.tensor(Y), reduction="none"
            ).mean(-1),
            rtol=1e-12,
        )


def test_a_plain_function_is_refused_with_how_to_subclass():
    model = an.Sequential([an.layers.Dense(1)], input_dim=2)
    with pytest.raises(TypeError, match=r"subclass an\.losses\.Loss"):
        model.compile(loss=lambda y_true, y_pred: (y_true - y_pred) ** 2)


class MeanFourthPower(an.losses.Loss):
    name = "mean_fourth_power"

    def __call__(self, xp, P, Y):
        D = P - Y
        n = D.shape[0] * D.shape[1]
        return xp.sum(D**4) / n, 4 * D**3 / n


def test_a_loss_subclass_trains_and_passes_gradcheck(backend):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    model = an.Sequential([an.layers.Dense(2)], input_dim=3, seed=0)
    model.compile(loss=MeanFourthPower(), optimizer=an.optimizers.SGD(lr=0.01))
    with an.use(backend, dtype="float64"):
        assert an.gradcheck(model, X, y).passed
        history = model.fit(X, y, epochs=5, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize(
    "loss",
    [an.losses.Huber(delta=2.5), an.losses.BinaryCrossentropy(True, 0.1), an.losses.Poisson()],
)
def test_configs_round_trip(loss):
    config = an.losses.serialize(loss)
    assert an.losses.get(config) == loss
    if loss.is_default:
        assert config == loss.name


def test_against_keras_itself():
    keras = pytest.importorskip("keras")
    P, Y = RNG.uniform(0.05, 0.95, (N, K)), np.eye(K)[RNG.integers(0, K, N)]
    pairs = [
        (keras.losses.Huber(0.5), an.losses.Huber(0.5)),
        (keras.losses.LogCosh(), an.losses.LogCosh()),
        (keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
         an.losses.CategoricalCrossentropy(label_smoothing=0.1)),
        (keras.losses.KLDivergence(), an.losses.KLDivergence()),
        (keras.losses.CategoricalHinge(), an.losses.CategoricalHinge()),
    ]  # fmt: skip
    for theirs, ours in pairs:
        expected = float(np.asarray(theirs(Y.astype("float32"), P.astype("float32"))))
        assert float(ours(np, P, Y)[0]) == pytest.approx(expected, rel=1e-5), ours


def test_configured_loss_and_metrics_survive_save_and_load(tmp_path):
    model = an.Sequential([an.layers.Dense(2, activation="sigmoid")], input_dim=3, seed=0)
    model.compile(
        loss=an.losses.BinaryCrossentropy(label_smoothing=0.1),
        metrics=["accuracy", an.metrics.AUC(num_thresholds=17, name="auc17"), "precision"],
    )
    model.save(tmp_path / "m.arraynet")
    loaded = an.load(tmp_path / "m.arraynet")
    assert loaded.network.loss == an.losses.BinaryCrossentropy(label_smoothing=0.1)
    assert [name for name, _ in loaded.metrics] == ["accuracy", "auc17", "precision"]
    auc = loaded.metrics[1][1]
    assert isinstance(auc, an.metrics.AUC) and auc.num_thresholds == 17
    plain = an.Sequential([an.layers.Dense(1)], input_dim=3, seed=0)
    plain.compile("mse", metrics=["mae"])
    config = plain.get_config()
    assert (config["loss"], config["metrics"]) == ("mean_squared_error", ["mae"])  # names
