"""Large synthetic datasets drawn in chunks on the backend: shapes, the seed rule, chunking,
learnability, device generators, argument checks, host memory; the gpu_synthetic example."""

import tracemalloc

import numpy as np
import pytest
from examples_loader import load_example

import arraynet as an
from arraynet import datasets, random
from arraynet.backend import to_numpy

MAKERS = {
    "classification": lambda **k: datasets.make_classification(3000, 7, classes=3, **k),
    "spirals": lambda **k: datasets.make_spirals(3000, classes=3, **k),
    "parity": lambda **k: datasets.make_parity(3000, 5, noise=0.1, **k),
    "teacher": lambda **k: datasets.make_teacher(3000, 6, hidden=(8, 4), outputs=2, **k),
}
WIDTH = {"classification": 7, "spirals": 2, "parity": 5, "teacher": 6}


def host(X, y):
    return to_numpy(X), to_numpy(y)


def device_rng_backend(backend):
    with an.use(backend) as selected:
        if not random.has_device_rng(selected):
            pytest.skip(f"backend {backend!r} has no device random generator")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", MAKERS)
def test_arrays_of_the_selected_backend_in_its_dtypes(backend, name, dtype):
    with an.use(backend, dtype=dtype) as selected:
        X, y = MAKERS[name]()
        xp = selected.xp
        assert selected.owns(X) and selected.owns(y)
        assert tuple(X.shape) == (3000, WIDTH[name]) and X.dtype == selected.float_dtype
        if name == "teacher":
            assert tuple(y.shape) == (3000, 2) and y.dtype == selected.float_dtype
        else:
            assert tuple(y.shape) == (3000,) and xp.isdtype(y.dtype, "integral")
        assert bool(xp.all(xp.isfinite(X)))


@pytest.mark.parametrize("name", MAKERS)
def test_one_seed_one_dataset_and_the_same_on_every_backend(backend, name):
    reference = host(*MAKERS[name](seed=5))  # NumPy float32, the conftest default
    with an.use(backend):
        X, y = host(*MAKERS[name](seed=5))
        again = host(*MAKERS[name](seed=5))
        other = host(*MAKERS[name](seed=6))
    for a, b in zip((X, y), reference):
        np.testing.assert_array_equal(a, b)
    for a, b in zip((X, y), again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(X, other[0])


def test_float64_host_data_are_equal_on_every_backend(backend):
    with an.use("numpy", dtype="float64"):
        reference = host(*datasets.make_teacher(500, 4, noise=0.5, seed=2))
    with an.use(backend, dtype="float64"):
        X, y = host(*datasets.make_teacher(500, 4, noise=0.5, seed=2))
    np.testing.assert_array_equal(X, reference[0])
    np.testing.assert_array_equal(y, reference[1])


@pytest.mark.parametrize("name", ["classification", "parity", "teacher"])
def test_chunking_does_not_change_host_data(backend, name):
    n = random.BLOCK_ROWS + 4_000  # crosses a stream-block boundary
    make = {
        "classification": lambda c: datasets.make_classification(n, 3, classes=4, chunk_rows=c),
        "parity": lambda c: datasets.make_parity(n, 3, noise=0.2, chunk_rows=c),
        "teacher": lambda c: datasets.make_teacher(n, 3, hidden=(4,), chunk_rows=c),
    }[name]
    with an.use(backend):
        small, large = host(*make(1000)), host(*make(10**6))
    np.testing.assert_array_equal(small[0], large[0])
    if name == "teacher":  # the teacher's matrix products may round with the BLAS's blocking
        np.testing.assert_allclose(small[1], large[1], rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(small[1], large[1])


def test_the_seed_rule_spawned_block_streams_and_box_muller():
    """Block b of rows draws from PCG64(SeedSequence(seed).spawn(b + 1)[b]); each row takes a
    fixed number of uniform doubles; normals come by Box-Muller from pairs of them."""
    layout = [("uniform", 1), ("normal", 3)]
    words = random.words_per_row(layout)
    assert words == 5
    start = random.BLOCK_ROWS - 2  # two rows of block 0, three of block 1
    parts = random.host_draws(random.root_sequence(9), start, start + 5, layout)
    child = np.random.SeedSequence(9).spawn(2)[1]
    U = np.random.Generator(np.random.PCG64(child)).random((3, words))
    np.testing.assert_array_equal(parts[0][2:, 0], U[:, 0])
    radius, angle = np.sqrt(-2 * np.log(1 - U[:, 1:3])), 2 * np.pi * U[:, 3:5]
    normals = np.concatenate([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    np.testing.assert_allclose(parts[1][2:], normals[:, :3], rtol=1e-12, atol=1e-15)


def test_classes_are_balanced_and_separable_in_the_informative_features(backend):
    with an.use(backend):
        X, y = host(*datasets.make_classification(30_000, 10, informative=3, classes=3))
    assert np.all(np.abs(np.bincount(y, minlength=3) / y.size - 1 / 3) < 0.02)
    means = np.array([X[y == c].mean(axis=0) for c in range(3)])
    assert np.abs(means[:, 3:]).max() < 0.06  # noise features centred on 0
    assert np.abs(X[:, 3:].std(axis=0) - 1).max() < 0.03
    assert np.abs(means[0, :3] - means[1, :3]).max() > 0.5


def test_a_small_model_learns_well_separated_classes(backend):
    with an.use(backend):
        X, y = datasets.make_classification(1500, 10, 5, classes=3, separation=3.0, seed=1)
        model = an.Sequential(
            [an.layers.Dense(16, activation="relu"), an.layers.Dense(3)], input_dim=10, seed=0
        )
        model.compile("softmax_cross_entropy", an.optimizers.Adam(lr=0.01), ["accuracy"])
        model.fit(X, y, batch_size=64, epochs=10, verbose=0)
        _, accuracy = model.evaluate(X, y)
    assert accuracy > 0.9


def test_a_student_learns_the_teacher(backend):
    with an.use(backend):
        X, y = datasets.make_teacher(3000, 5, hidden=(16,), seed=3)
        variance = float(np.var(to_numpy(y)))
        student = an.Sequential(
            [an.layers.Dense(32, activation="tanh"), an.layers.Dense(1)], input_dim=5, seed=0
        )
        student.compile("mse", an.optimizers.Adam(lr=0.01))
        student.fit(X, y, batch_size=128, epochs=10, verbose=0)
        loss = student.evaluate(X, y)
    assert variance > 0.05
    assert loss < 0.05 * variance


@pytest.mark.parametrize("bits", [1, 2, 9])
def test_parity_labels_are_the_xor_of_the_bits(backend, bits):
    with an.use(backend):
        X, y = host(*datasets.make_parity(2000, bits, seed=bits))
        X_noisy, y_noisy = host(*datasets.make_parity(2000, bits, noise=0.1, seed=bits))
    assert set(np.unique(X).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(y, np.bitwise_xor.reduce(X.astype(np.int64), axis=1))
    assert 0.4 < y.mean() < 0.6
    np.testing.assert_array_equal(y_noisy, np.round(X_noisy).astype(np.int64).sum(1) % 2)
    assert not np.array_equal(X_noisy, np.round(X_noisy))


def test_spirals_without_noise_lie_on_their_arms(backend):
    with an.use(backend, dtype="float64"):
        X, y = host(*datasets.make_spirals(2000, classes=3, noise=0.0, turns=1.0))
    radius = np.linalg.norm(X, axis=1)
    assert radius.max() <= 1 + 1e-12 and set(np.unique(y).tolist()) == {0, 1, 2}
    t = 2 * np.pi * radius  # a point at radius t (before scaling) sits at angle t + 2πc/3
    angle = np.arctan2(X[:, 1], X[:, 0]) - t - 2 * np.pi * y / 3
    np.testing.assert_allclose(np.cos(angle), 1.0, atol=1e-9)


@pytest.mark.parametrize("name", MAKERS)
def test_device_rng_is_seeded_per_backend(backend, name):
    device_rng_backend(backend)
    with an.use(backend) as selected:
        X, y = MAKERS[name](device_rng=True, seed=1)
        assert selected.owns(X) and X.dtype == selected.float_dtype
        X, y = host(X, y)
        again = host(*MAKERS[name](device_rng=True, seed=1))
        other = host(*MAKERS[name](device_rng=True, seed=2))
        on_host = host(*MAKERS[name](device_rng=False, seed=1))
    np.testing.assert_array_equal(X, again[0])
    np.testing.assert_array_equal(y, again[1])
    assert not np.array_equal(X, other[0])
    assert not np.array_equal(X, on_host[0])  # another generator: other data, same law
    assert np.all(np.isfinite(X)) and X.shape == on_host[0].shape and y.shape == on_host[1].shape


def test_device_rng_draws_the_same_distributions(backend):
    device_rng_backend(backend)
    with an.use(backend):
        X, y = host(*datasets.make_classification(20_000, 6, informative=2, device_rng=True))
        Xp, yp = host(*datasets.make_parity(20_000, 4, device_rng=True))
    assert np.abs(X[:, 2:].mean(0)).max() < 0.05 and np.abs(X[:, 2:].std(0) - 1).max() < 0.05
    assert abs(y.mean() - 0.5) < 0.02 and abs(Xp.mean() - 0.5) < 0.02
    np.testing.assert_array_equal(yp, Xp.astype(np.int64).sum(1) % 2)


def test_auto_draws_on_the_device_only_for_large_data(backend):
    with an.use(backend) as selected:
        has = random.has_device_rng(selected)
        assert datasets._device_rng("auto", selected, datasets.AUTO_DEVICE_ELEMENTS) is False
        assert datasets._device_rng("auto", selected, datasets.AUTO_DEVICE_ELEMENTS + 1) is has
        assert datasets._device_rng(False, selected, 10**12) is False
        if has:
            assert datasets._device_rng(True, selected, 1) is True
        else:
            with pytest.raises(ValueError, match="device_rng: expected False or 'auto'"):
                datasets.make_parity(10, 2, device_rng=True)


def test_cupy_draws_on_the_gpu():
    try:
        an.use("cupy").__exit__()
    except (ImportError, RuntimeError) as err:
        pytest.skip(f"cupy's device generator needs cupy and a CUDA GPU: {err}")
    with an.use("cupy") as selected:
        X, y = datasets.make_classification(5000, 8, device_rng=True, seed=4)
        again = datasets.make_classification(5000, 8, device_rng=True, seed=4)
        assert selected.owns(X) and X.dtype == selected.float_dtype
        np.testing.assert_array_equal(to_numpy(X), to_numpy(again[0]))
        X_host, _ = host(*datasets.make_classification(5000, 8, device_rng=False, seed=4))
    # drawn on the host, seed 4 gives NumPy's seed-4 rows (the seed rule), not the device's
    np.testing.assert_array_equal(
        X_host, to_numpy(datasets.make_classification(5000, 8, seed=4)[0])
    )
    assert not np.array_equal(X_host, to_numpy(X))


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda: datasets.make_classification(0), ValueError, "n:"),
        (lambda: datasets.make_classification(10.0), TypeError, "n:"),
        (lambda: datasets.make_classification(10, features=0), ValueError, "features:"),
        (lambda: datasets.make_classification(10, 4, informative=5), ValueError, "informative:"),
        (lambda: datasets.make_classification(10, classes=1), ValueError, "classes:"),
        (lambda: datasets.make_classification(10, seed=-1), ValueError, "seed:"),
        (lambda: datasets.make_classification(10, seed="a"), TypeError, "seed:"),
        (lambda: datasets.make_classification(10, chunk_rows=0), ValueError, "chunk_rows:"),
        (lambda: datasets.make_classification(10, chunk_rows=1.5), TypeError, "chunk_rows:"),
        (lambda: datasets.make_classification(10, separation=-1), ValueError, "separation:"),
        (lambda: datasets.make_classification(10, device_rng="yes"), ValueError, "device_rng:"),
        (lambda: datasets.make_classification(10, device_rng=1), TypeError, "device_rng:"),
        (lambda: datasets.make_spirals(10, turns=0), ValueError, "turns:"),
        (lambda: datasets.make_spirals(10, noise="x"), TypeError, "noise:"),
        (lambda: datasets.make_spirals(10, classes=1), ValueError, "classes:"),
        (lambda: datasets.make_parity(10, 0), ValueError, "bits:"),
        (lambda: datasets.make_parity(10, 2, noise=-0.1), ValueError, "noise:"),
        (lambda: datasets.make_teacher(10, 3, hidden=16), TypeError, "hidden:"),
        (lambda: datasets.make_teacher(10, 3, hidden=(4, 0)), ValueError, "hidden:"),
        (lambda: datasets.make_teacher(10, 3, outputs=0), ValueError, "outputs:"),
        (lambda: datasets.make_teacher(10, 0), ValueError, "features:"),
    ],
)
def test_arguments_are_checked(call, error, argument):
    with pytest.raises(error, match=argument + " expected"):
        call()


@pytest.mark.parametrize(
    "make",
    [
        lambda: datasets.make_classification(200_000, chunk_rows=10_000),
        lambda: datasets.make_spirals(200_000, chunk_rows=10_000),
        lambda: datasets.make_parity(200_000, 20, noise=0.1, chunk_rows=10_000),
    ],
)
def test_host_memory_holds_the_result_and_one_chunk(make):
    """No full-size host temporary: on NumPy the peak traced allocation stays below 1.5 times
    the dataset plus one chunk (the float64 draws of a chunk are a few chunks' worth)."""
    tracemalloc.start()
    try:
        X, y = make()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    final = X.nbytes + y.nbytes
    assert peak < 1.5 * final + final * 10_000 / 200_000


def test_the_gpu_synthetic_example_reports_throughput_and_memory(backend, capsys):
    if backend != "numpy":
        pytest.skip("the example is run on numpy only here; it takes --backend")
    example = load_example("gpu_synthetic")
    result = example.main(["--backend", "numpy", "--rows", "20000", "--epochs", "2"])
    out = capsys.readouterr().out
    assert "rows/s" in out and "GFLOP/s" in out and "peak memory" in out
    assert result["rows_per_s"] > 0 and result["peak_bytes"] > 0
    assert len(result["losses"]) == 2 and result["losses"][1] < result["losses"][0]
