"""Kinds of data scikit-learn and Keras users pass: each trains as the same values given as a
float64 NumPy array, or is refused naming the argument, before any weight changes."""

import warnings

import numpy as np
import pytest

import arraynet as an

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 3))
LABELS = np.array([0, 1, 2, 0, 1, 2])
with warnings.catch_warnings():  # np.matrix is pending deprecation, and still passed in
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    MATRIX_COLUMN = np.matrix(LABELS).T


def _classifier(units=3):
    model = an.Sequential([an.layers.Dense(units, activation="softmax")], input_dim=3, seed=0)
    model.compile("categorical_cross_entropy", an.optimizers.SGD(lr=0.1))
    return model


def _binary():
    model = an.Sequential(
        [an.layers.Dense(4, activation="relu"), an.layers.Dense(1, activation="sigmoid")],
        input_dim=3,
        seed=0,
    )
    model.compile("binary_cross_entropy", an.optimizers.SGD(lr=0.1))
    return model


@pytest.mark.parametrize(
    "labels",
    [
        LABELS.astype(np.uint8),
        LABELS.astype(np.int8),
        LABELS.astype(float),
        LABELS[:, None],
        LABELS.astype(float)[:, None],
        MATRIX_COLUMN,
    ],
    ids=["uint8", "int8", "whole-floats", "column", "float-column", "np.matrix-column"],
)
def test_class_labels_in_any_form_equal_int64_labels(labels):
    expected = _classifier().evaluate(X, LABELS)
    assert _classifier().evaluate(X, labels) == expected


def test_uint8_labels_past_255_classes_are_not_wrapped():
    """A uint8 arange of 300 classes would wrap, matching label 5 in columns 5 and 261."""
    labels = np.array([0, 1, 2, 5, 200, 255])
    model = _classifier(300)
    assert model.evaluate(X, labels.astype(np.uint8)) == model.evaluate(X, labels)


def test_labels_that_are_not_whole_numbers_are_refused():
    with pytest.raises(ValueError, match="^y: expected integer class labels"):
        _classifier().evaluate(X, LABELS + 0.5)


def test_float16_soft_labels_summing_to_one_within_float16_are_accepted():
    soft = np.array([[0.1, 0.2, 0.7]] * 6, np.float16)  # each row sums to 1.00012 in float16
    model = _classifier()
    exact = np.array([[0.1, 0.2, 0.7]] * 6)
    assert model.evaluate(X, soft) == pytest.approx(model.evaluate(X, exact), rel=1e-3)
    with pytest.raises(ValueError, match="one-hot rows"):  # in float64 1.00012 is not 1
        model.evaluate(X, soft.astype(np.float64))


def test_masked_entries_are_refused_and_unmasked_arrays_used():
    masked = np.ma.masked_array(X.copy(), mask=np.zeros(X.shape, bool))
    assert np.array_equal(_binary().predict(masked), _binary().predict(X))
    masked[0, 0] = np.nan
    masked.mask[0, 0] = True
    with pytest.raises(TypeError, match="^X: expected an array without masked entries; got 1"):
        _binary().predict(masked)
    labels = np.ma.masked_array(LABELS, mask=[0, 0, 0, 0, 0, 1])
    with pytest.raises(TypeError, match="^y: expected an array without masked entries"):
        _classifier().fit(X, labels, verbose=0)


def test_object_arrays_get_a_hint():
    with pytest.raises(TypeError, match=r"dtype object \(convert it with \.astype\(float\)"):
        _binary().predict(X.astype(object))


def test_torch_tensors_that_require_grad_are_detached():
    """Autograd on an input would tie every new weight to the graph of the last one."""
    torch = pytest.importorskip("torch")
    with an.use("torch"):
        model = _binary()
        X_t = torch.tensor(X, dtype=torch.float32, requires_grad=True)
        y_t = torch.tensor(LABELS % 2, dtype=torch.float32, requires_grad=True)
        model.fit(X_t, y_t, epochs=2, verbose=0)
        assert not any(p.requires_grad for p in model.variables.weights)
        streamed = _binary()
        streamed.fit(X_t, y_t, epochs=2, chunk_rows=4, verbose=0)
        plain = _binary()
        plain.fit(X, LABELS % 2, epochs=2, verbose=0)
    np.testing.assert_allclose(model.get_weights()[0], plain.get_weights()[0], rtol=1e-6)
    assert X_t.grad is None


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_native_float64_values_that_overflow_float32_are_refused(library):
    if library not in an.available_backends():
        pytest.skip(f"{library} is not available here")
    with an.use(library, dtype="float64") as backend:
        big = backend.asarray(X * 1e300)
    with an.use(library), pytest.raises(ValueError, match="^X: expected values that fit float32"):
        _binary().predict(big)


def test_array_api_strict_bool_targets_equal_numpy_ones():
    xs = pytest.importorskip("array_api_strict")
    expected = _binary().evaluate(X, LABELS % 2)
    with an.use("array_api_strict"):
        got = _binary().evaluate(xs.asarray(X), xs.asarray((LABELS % 2).astype(bool)))
    assert got == pytest.approx(expected, rel=1e-6)


def test_a_file_of_no_rows_is_named(tmp_path):
    np.save(tmp_path / "X.npy", np.zeros((0, 3)))
    model = an.Sequential([an.layers.Dense(1)])
    model.compile("mse")
    with pytest.raises(ValueError, match=r"^X: expected at least 1 row .* got shape \(0, 3\)"):
        model.fit(np.load(tmp_path / "X.npy", mmap_mode="r"), np.zeros(0), verbose=0)
    with pytest.raises(ValueError, match="^y: expected 6 rows, as in X; got int 3"):
        model.fit(X, 3, chunk_rows=4, verbose=0)
