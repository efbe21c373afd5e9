"""ZeroPadding, Cropping and UpSampling (1-D and 2-D) through the Layer protocol.

Forward against NumPy written by hand (``np.pad``, slicing, ``np.repeat``) and backward
against torch autograd of the same forward in torch ops, on every backend in float64;
central differences (``an.gradcheck``); shapes with axes of any size; each layer in a small
model that trains one epoch, and its summary; refusals naming the argument; configs.
"""

import json

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import TRAINING, Context
from arraynet.layers.resampling import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)

RNG = np.random.default_rng(0)


# -- references: NumPy forward, torch forward for autograd -------------------------------------


def np_pad(X, sides):
    return np.pad(X, [(0, 0), *sides, (0, 0)])


def np_crop(X, sides):
    return X[(slice(None), *(slice(b, n - a) for (b, a), n in zip(sides, X.shape[1:])))]


def np_up(X, sizes):
    for axis, size in enumerate(sizes, start=1):
        X = np.repeat(X, size, axis=axis)
    return X


def torch_pad(torch, X, sides):
    flat = [p for before_after in reversed(sides) for p in before_after]  # last axis first
    return torch.nn.functional.pad(X, [0, 0, *flat])


def torch_crop(torch, X, sides):
    return X[(slice(None), *(slice(b, n - a) for (b, a), n in zip(sides, X.shape[1:])))]


def torch_up(torch, X, sizes):
    for axis, size in enumerate(sizes, start=1):
        X = torch.repeat_interleave(X, size, dim=axis)
    return X


# (layer, per-example input shape, kind, per-axis sides or sizes the references use)
CASES = [
    (ZeroPadding2D(), (4, 5, 2), "pad", ((1, 1), (1, 1))),
    (ZeroPadding2D(2), (3, 3, 1), "pad", ((2, 2), (2, 2))),
    (ZeroPadding2D((2, 0)), (5, 4, 3), "pad", ((2, 2), (0, 0))),
    (ZeroPadding2D(((1, 2), (0, 3))), (5, 4, 2), "pad", ((1, 2), (0, 3))),
    (ZeroPadding2D([3, [1, 0]]), (1, 7, 2), "pad", ((3, 3), (1, 0))),
    (ZeroPadding1D(), (5, 3), "pad", ((1, 1),)),
    (ZeroPadding1D((0, 3)), (7, 2), "pad", ((0, 3),)),
    (ZeroPadding1D((2, 1)), (1, 4), "pad", ((2, 1),)),
    (Cropping2D(), (4, 5, 2), "crop", ((0, 0), (0, 0))),
    (Cropping2D(1), (5, 7, 2), "crop", ((1, 1), (1, 1))),
    (Cropping2D((0, 2)), (3, 5, 3), "crop", ((0, 0), (2, 2))),
    (Cropping2D(((1, 0), (2, 1))), (5, 4, 2), "crop", ((1, 0), (2, 1))),
    (Cropping2D(((0, 3), (0, 0))), (4, 3, 1), "crop", ((0, 3), (0, 0))),
    (Cropping1D(), (5, 3), "crop", ((1, 1),)),
    (Cropping1D((0, 2)), (7, 2), "crop", ((0, 2),)),
    (Cropping1D((3, 1)), (5, 4), "crop", ((3, 1),)),
    (UpSampling2D(), (3, 4, 2), "up", (2, 2)),
    (UpSampling2D((3, 2)), (5, 3, 2), "up", (3, 2)),
    (UpSampling2D((1, 3)), (3, 5, 1), "up", (1, 3)),
    (UpSampling2D(1), (3, 3, 2), "up", (1, 1)),
    (UpSampling1D(), (5, 3), "up", (2,)),
    (UpSampling1D(3), (7, 2), "up", (3,)),
]
IDS = [f"{layer!r}-{shape}" for layer, shape, _, _ in CASES]
NUMPY = {"pad": np_pad, "crop": np_crop, "up": np_up}
TORCH = {"pad": torch_pad, "crop": torch_crop, "up": torch_up}


def _through_protocol(backend, layer, X, dY):
    """``(Y, dX, grads, dX without need_dX)`` of ``layer`` on ``backend`` in float64."""
    with an.use(backend, dtype="float64") as b:
        Y, cache = layer.forward(b.xp, (), b.asarray(X), TRAINING)
        dX, grads = layer.backward(b.xp, (), cache, b.asarray(dY), TRAINING)
        skipped = Context(training=True, need_dX=False)
        none, _ = layer.backward(b.xp, (), cache, b.asarray(dY), skipped)
        return to_numpy(Y), to_numpy(dX), grads, none


@pytest.mark.parametrize(("layer", "shape", "kind", "arg"), CASES, ids=IDS)
def test_forward_is_numpy_and_backward_is_torch_autograd(backend, layer, shape, kind, arg):
    torch = pytest.importorskip("torch")
    X = RNG.normal(size=(3, *shape))
    expected = NUMPY[kind](X, arg)
    dY = RNG.normal(size=expected.shape)
    Y, dX, grads, none = _through_protocol(backend, layer, X, dY)

    assert layer.output_shape(shape) == expected.shape[1:]
    assert Y.shape == expected.shape and Y.dtype == np.float64
    np.testing.assert_array_equal(Y, expected)
    Xt = torch.tensor(X, requires_grad=True)
    Yt = TORCH[kind](torch, Xt, arg)
    np.testing.assert_array_equal(Yt.detach().numpy(), expected)  # the two references agree
    (Yt * torch.from_numpy(dY)).sum().backward()
    assert dX.shape == X.shape
    np.testing.assert_allclose(dX, Xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert grads == () and none is None


GRADCHECK = [
    ZeroPadding2D(((1, 2), (0, 1))),
    ZeroPadding1D((2, 1)),
    Cropping2D(((1, 0), (0, 2))),
    Cropping1D((0, 2)),
    UpSampling2D((2, 3)),
    UpSampling1D(3),
]


@pytest.mark.parametrize("layer", GRADCHECK, ids=repr)
def test_gradcheck_passes(backend, layer):
    shape = (5, 2) if layer.rank == 1 else (4, 3, 2)
    X = RNG.normal(size=(2, *shape))
    y = RNG.normal(size=(2, *layer.output_shape(shape)))
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(layer, X, y)
    assert report.passed, str(report)
    assert report.names == ("X",)


# -- shapes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "expected"),
    [
        (ZeroPadding1D(), (None, 8), (None, 8)),
        (ZeroPadding1D((0, 3)), (4, 8), (7, 8)),
        (ZeroPadding2D(((1, 2), (0, 3))), (None, 5, 2), (None, 8, 2)),
        (ZeroPadding2D(1), (None, None, 3), (None, None, 3)),
        (Cropping1D((1, 2)), (None, 4), (None, 4)),
        (Cropping1D((1, 2)), (6, 4), (3, 4)),
        (Cropping2D(((1, 0), (2, 2))), (5, None, 1), (4, None, 1)),
        (UpSampling1D(3), (None, 2), (None, 2)),
        (UpSampling1D(3), (4, 2), (12, 2)),
        (UpSampling2D((2, 3)), (None, 4, 2), (None, 12, 2)),
        (UpSampling2D((2, 3)), (3, None, 2), (6, None, 2)),
    ],
    ids=str,
)
def test_output_shape_passes_axes_of_any_size(layer, shape, expected):
    assert layer.output_shape(shape) == expected


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (ZeroPadding1D(), (4, 4, 2)),
        (ZeroPadding2D(), (4, 2)),
        (Cropping1D(), (4,)),
        (Cropping2D(), (2, 4, 4, 2)),
        (UpSampling1D(), (3, 3, 3)),
        (UpSampling2D(), (3, 3)),
    ],
    ids=str,
)
def test_wrong_rank_is_refused_naming_layer_and_shape(layer, shape):
    with pytest.raises(ValueError, match=rf"{type(layer).__name__}: .*{re_shape(shape)}"):
        layer.output_shape(shape)


def re_shape(shape) -> str:
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (Cropping1D((2, 2)), (4, 3)),
        (Cropping1D((5, 0)), (5, 3)),
        (Cropping2D(((1, 1), (0, 0))), (2, 5, 1)),
        (Cropping2D(((0, 0), (3, 4))), (8, 7, 1)),
    ],
    ids=str,
)
def test_cropping_that_leaves_nothing_is_refused(backend, layer, shape):
    says = rf"{type(layer).__name__}: .*cropping.*{re_shape(shape)}"
    with pytest.raises(ValueError, match=says):
        layer.output_shape(shape)
    with an.use(backend, dtype="float64") as b, pytest.raises(ValueError, match=says):
        layer.forward(b.xp, (), b.asarray(np.ones((2, *shape))), TRAINING)


# -- in a model --------------------------------------------------------------------------------


def _image_model(layer):
    return an.Sequential(
        [
            an.Input((8, 8, 2)),
            layer,
            an.layers.Conv2D(3, 3, activation="relu"),
            an.layers.Flatten(),
            an.layers.Dense(1),
        ],
        seed=0,
    )


def _sequence_model(layer):
    return an.Sequential(
        [
            an.Input((8, 2)),
            layer,
            an.layers.Conv1D(3, 3, activation="relu"),
            an.layers.Flatten(),
            an.layers.Dense(1),
        ],
        seed=0,
    )


MODELS = [  # (model builder, layer, its output with the batch axis, Conv output)
    (_image_model, ZeroPadding2D(((1, 2), (0, 1))), (None, 11, 9, 2), (None, 9, 7, 3)),
    (_image_model, Cropping2D(((1, 0), (2, 1))), (None, 7, 5, 2), (None, 5, 3, 3)),
    (_image_model, UpSampling2D((2, 1)), (None, 16, 8, 2), (None, 14, 6, 3)),
    (_sequence_model, ZeroPadding1D((2, 1)), (None, 11, 2), (None, 9, 3)),
    (_sequence_model, Cropping1D((1, 2)), (None, 5, 2), (None, 3, 3)),
    (_sequence_model, UpSampling1D(3), (None, 24, 2), (None, 22, 3)),
]


def _rows(printed):
    """The cells of each layer row of Keras's summary table."""
    return [[c.strip() for c in line.split("│")[1:-1]] for line in printed if line[0] == "│"]


@pytest.mark.parametrize(
    ("build", "layer", "out", "conv"), MODELS, ids=[repr(case[1]) for case in MODELS]
)
def test_a_model_with_the_layer_trains_and_summarizes(backend, build, layer, out, conv):
    X = RNG.normal(size=(10, 8, 8, 2) if build is _image_model else (10, 8, 2))
    y = RNG.normal(size=(10, 1))
    with an.use(backend):
        model = build(layer)
        model.compile("mse", "sgd")
        history = model.fit(X, y, epochs=1, batch_size=4, verbose=0)
        predicted = model.predict(X, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert predicted.shape == (10, 1) and np.isfinite(predicted).all()
    flat = int(np.prod(conv[1:]))
    assert model.output_shape == (None, 1)
    printed = []
    model.summary(print_fn=printed.append)
    rows = _rows(printed)
    assert rows[0] == [f"{layer.name} ({type(layer).__name__})", str(out), "0"]
    kernel = 3 ** (len(conv) - 2) * 2 * 3  # (3, [3,] 2 channels, 3 filters)
    assert rows[1][1:] == [str(conv), str(kernel + 3)]
    assert rows[2][1] == f"(None, {flat})"


def test_a_sequence_of_any_length_pads_and_upsamples(backend):
    """Steps of any size (None) pass through, and each batch's length is its own."""
    with an.use(backend, dtype="float64"):
        model = an.Sequential(
            [
                an.Input((None, 2)),
                ZeroPadding1D((1, 2)),
                UpSampling1D(2),
                Cropping1D((1, 0)),
                an.layers.Conv1D(3, 3),
                an.layers.GlobalAveragePooling1D(),
                an.layers.Dense(1),
            ],
            seed=0,
        )
        model.compile("mse", "sgd")
        assert model.output_shape == (None, 1)
        for steps in (4, 7):
            X, y = RNG.normal(size=(6, steps, 2)), RNG.normal(size=(6, 1))
            history = model.fit(X, y, epochs=1, verbose=0)
            assert np.isfinite(history.history["loss"][0])


# -- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: ZeroPadding2D(-1), "padding"),
        (lambda: ZeroPadding2D((1, 2, 3)), "padding"),
        (lambda: ZeroPadding2D(((1, 2), (3,))), "padding"),
        (lambda: ZeroPadding2D(((1, 2), (3, -1))), "padding"),
        (lambda: ZeroPadding2D("same"), "padding"),
        (lambda: ZeroPadding2D(1.5), "padding"),
        (lambda: ZeroPadding1D((1, 2, 3)), "padding"),
        (lambda: ZeroPadding1D(((1, 2),)), "padding"),
        (lambda: ZeroPadding1D(True), "padding"),
        (lambda: Cropping2D(((0, 0), (0, -1))), "cropping"),
        (lambda: Cropping2D((1,)), "cropping"),
        (lambda: Cropping1D(-2), "cropping"),
        (lambda: Cropping1D((1, 1.0)), "cropping"),
        (lambda: UpSampling2D(0), "size"),
        (lambda: UpSampling2D((2, 2, 2)), "size"),
        (lambda: UpSampling1D(0), "size"),
        (lambda: UpSampling2D(interpolation="bilinear"), "interpolation"),
        (lambda: ZeroPadding2D(data_format="channels_first"), "data_format"),
        (lambda: ZeroPadding1D(data_format="channels_first"), "data_format"),
        (lambda: Cropping2D(data_format="channels_first"), "data_format"),
        (lambda: UpSampling2D(data_format="channels_first"), "data_format"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_arguments_are_refused_naming_them(make, argument):
    with pytest.raises(ValueError, match=rf"^{argument}: expected"):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: UpSampling1D(2.0),
        lambda: UpSampling2D(("2", 2)),
        lambda: Cropping1D(cropping=1, data_format="channels_last"),  # Keras has none there
        lambda: UpSampling1D(size=2, interpolation="nearest"),
        lambda: ZeroPadding2D(1, mode="reflect"),
    ],
)
def test_unknown_keywords_and_non_integer_sizes_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


LAYERS = [
    ZeroPadding2D(),
    ZeroPadding2D(((1, 2), (0, 3)), data_format="channels_last", name="pad"),
    ZeroPadding1D(),
    ZeroPadding1D((0, 4)),
    Cropping2D(),
    Cropping2D((1, (2, 0))),
    Cropping1D(),
    Cropping1D(3),
    UpSampling2D(),
    UpSampling2D((3, 1), interpolation="nearest"),
    UpSampling1D(),
    UpSampling1D(size=4),
]


@pytest.mark.parametrize("layer", LAYERS, ids=repr)
def test_config_round_trips_as_json(layer):
    config = layer.get_config()
    assert config["class"] == type(layer).__name__
    assert json.loads(json.dumps(config)) == config  # lists, not tuples
    again = type(layer)(**{k: v for k, v in config.items() if k != "class"})
    assert again.get_config() == config
    shape = (9, 8, 2)[-layer.rank - 1 :]
    assert again.output_shape(shape) == layer.output_shape(shape)
    assert layer.independent_rows


def test_configs_hold_keras_argument_names_and_values():
    assert ZeroPadding2D(1).get_config()["padding"] == [[1, 1], [1, 1]]
    assert ZeroPadding2D((2, 3)).get_config()["padding"] == [[2, 2], [3, 3]]
    assert ZeroPadding1D(2).get_config()["padding"] == [2, 2]
    assert Cropping2D(((1, 2), (3, 4))).get_config()["cropping"] == [[1, 2], [3, 4]]
    assert Cropping1D().get_config()["cropping"] == [1, 1]
    assert UpSampling2D(3).get_config() == {
        "class": "UpSampling2D",
        "size": [3, 3],
        "interpolation": "nearest",
    }
    assert UpSampling1D().get_config() == {"class": "UpSampling1D", "size": 2}
    assert ZeroPadding2D(name="edge").name == "edge"
