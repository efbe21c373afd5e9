"""``datasets.make_images``: textured discs for CNNs, drawn in chunks on the backend.

Shapes and dtypes on every backend; host draws equal on every backend and for any
``chunk_rows``; device draws seeded per backend; balanced labels; the picture (stripes seen
through a disc, nothing outside it without noise); argument checks; a tiny CNN learns it in
a few epochs where an MLP of the pixels generalises far worse.
"""

import numpy as np
import pytest

import arraynet as an
from arraynet import datasets, random
from arraynet.backend import to_numpy
from arraynet.layers import Conv2D, Dense, Flatten, GlobalMaxPooling2D, MaxPooling2D


def host(X, y):
    return to_numpy(X), to_numpy(y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_images_of_the_selected_backend_in_its_dtypes(backend, dtype):
    with an.use(backend, dtype=dtype) as selected:
        X, y = datasets.make_images(50, size=12, channels=2, classes=3)
        assert selected.owns(X) and selected.owns(y)
        assert tuple(X.shape) == (50, 12, 12, 2) and X.dtype == selected.float_dtype
        assert tuple(y.shape) == (50,) and selected.xp.isdtype(y.dtype, "integral")
        assert bool(selected.xp.all(selected.xp.isfinite(X)))


def test_host_draws_are_the_same_on_every_backend_and_for_any_chunking(backend):
    reference = host(*datasets.make_images(40, size=10, seed=3))  # NumPy float32
    with an.use(backend):
        chunked = host(*datasets.make_images(40, size=10, seed=3, chunk_rows=7))
        whole = host(*datasets.make_images(40, size=10, seed=3, chunk_rows=40))
        other = host(*datasets.make_images(40, size=10, seed=4))
    for got in (chunked, whole):
        np.testing.assert_array_equal(got[0], reference[0])
        np.testing.assert_array_equal(got[1], reference[1])
    assert not np.array_equal(other[0], reference[0])


def test_device_draws_are_seeded_per_backend(backend):
    with an.use(backend) as selected:
        if not random.has_device_rng(selected):
            with pytest.raises(ValueError, match="device_rng: expected False or 'auto'"):
                datasets.make_images(10, size=8, device_rng=True)
            return
        X, y = datasets.make_images(30, size=8, device_rng=True, seed=1, chunk_rows=15)
        assert selected.owns(X) and X.dtype == selected.float_dtype
        X, y = host(X, y)
        again = host(*datasets.make_images(30, size=8, device_rng=True, seed=1, chunk_rows=15))
        on_host = host(*datasets.make_images(30, size=8, seed=1))
    np.testing.assert_array_equal(X, again[0])
    np.testing.assert_array_equal(y, again[1])
    assert X.shape == on_host[0].shape and not np.array_equal(X, on_host[0])
    assert np.isfinite(X).all() and set(np.unique(y)) <= {0, 1, 2, 3}


def test_labels_are_balanced_on_average():
    _, y = datasets.make_images(4000, size=4, classes=5, seed=0)
    counts = np.bincount(y, minlength=5)
    assert len(counts) == 5 and np.abs(counts - 800).max() < 5 * np.sqrt(800)


def test_without_noise_the_stripes_show_only_through_the_disc():
    X, _ = datasets.make_images(20, size=16, channels=3, noise=0.0, seed=2, device_rng=False)
    assert np.abs(X).max() <= 1.0
    for image in X:
        lit = np.abs(image).max(axis=2) > 0
        assert 20 < lit.sum() < 16 * 16  # a disc, neither empty nor the whole image
        rows, cols = np.nonzero(lit)
        assert np.ptp(rows) < 16 and np.ptp(cols) < 16
        assert (image.max() > 0.2) and (image.min() < -0.2)  # stripes: both signs
    assert not np.array_equal(np.abs(X[0]) > 0, np.abs(X[1]) > 0)  # discs move


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"n": 0}, "n:"),
        ({"n": 5, "size": 3}, "size:"),
        ({"n": 5, "channels": 0}, "channels:"),
        ({"n": 5, "classes": 1}, "classes:"),
        ({"n": 5, "noise": -1.0}, "noise:"),
        ({"n": 5, "device_rng": "yes"}, "device_rng:"),
        ({"n": 5, "chunk_rows": 0}, "chunk_rows:"),
    ],
)
def test_arguments_are_checked(kwargs, argument):
    with pytest.raises(ValueError, match=argument + " expected"):
        datasets.make_images(**kwargs)


def test_a_tiny_cnn_learns_it_in_a_few_epochs_an_mlp_far_less():
    X, y = datasets.make_images(800, size=16, seed=0)
    X_test, y_test = datasets.make_images(400, size=16, seed=1)
    found = {}
    for name, layers in {
        "cnn": [
            Conv2D(8, 5, activation="relu"),
            MaxPooling2D(2),
            Conv2D(8, 3, activation="relu"),
            GlobalMaxPooling2D(),
            Dense(4),
        ],
        "mlp": [Flatten(), Dense(64, activation="relu"), Dense(4)],
    }.items():
        model = an.Sequential(layers, input_shape=(16, 16, 3), seed=0)
        model.compile("softmax_cross_entropy", an.optimizers.Adam(lr=0.01), metrics=["accuracy"])
        model.fit(X, y, epochs=4, batch_size=32, verbose=0)
        found[name] = model.evaluate(X_test, y_test)[1]
    assert found["cnn"] >= 0.9, found
    assert found["mlp"] < found["cnn"] - 0.1, found
