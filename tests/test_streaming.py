"""Streaming chunks: the same numbers as in memory, bounded host memory, errors up front."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import arraynet as an

RNG = np.random.default_rng(0)
X = RNG.normal(size=(1000, 5))
Y = X[:, :1] * 2 - X[:, 1:2] + 0.1 * RNG.normal(size=(1000, 1))


def _model(seed=0):
    model = an.Sequential(
        [an.layers.Dense(8, activation="tanh"), an.layers.Dense(1)], input_dim=5, seed=seed
    )
    model.compile(optimizer=an.optimizers.SGD(lr=0.05, momentum=0.5))
    return model


@pytest.fixture
def memmaps(tmp_path):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", Y)
    return (np.load(tmp_path / "X.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r"))


def test_streaming_in_order_equals_training_in_memory(backend, memmaps):
    with an.use(backend, dtype="float64"):
        whole, streamed, pairs = _model(), _model(), _model()
        h_whole = whole.fit(X, Y, batch_size=50, epochs=3, shuffle=False, verbose=0)
        h_stream = streamed.fit(
            *memmaps, batch_size=50, epochs=3, shuffle=False, verbose=0, chunk_rows=200
        )
        chunks = [(X[i : i + 250], Y[i : i + 250]) for i in range(0, 1000, 250)]
        h_pairs = pairs.fit(chunks, None, batch_size=50, epochs=3, shuffle=False, verbose=0)
    for history in (h_stream, h_pairs):
        np.testing.assert_allclose(history.history["loss"], h_whole.history["loss"], rtol=1e-12)
    for model in (streamed, pairs):
        for a, b in zip(model.get_weights(), whole.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def _shuffled_reference(seed, chunk_rows, batch, epochs, lr=0.05, momentum=0.5):
    """NumPy float64 by hand: chunk order then row order per chunk from one generator."""
    with an.use("numpy", dtype="float64"):
        W1, b1, W2, b2 = _model().get_weights()
    params = [W1.astype(float), b1.astype(float), W2.astype(float), b2.astype(float)]
    velocity = [np.zeros_like(p) for p in params]
    rng = np.random.default_rng(seed)
    starts = list(range(0, len(X), chunk_rows))
    for _ in range(epochs):
        for c in rng.permutation(len(starts)):
            Xc, Yc = X[starts[c] : starts[c] + chunk_rows], Y[starts[c] : starts[c] + chunk_rows]
            order = rng.permutation(len(Xc))
            Xc, Yc = Xc[order], Yc[order]
            for a in range(0, len(Xc), batch):
                x, t = Xc[a : a + batch], Yc[a : a + batch]
                W1, b1, W2, b2 = params
                H = np.tanh(x @ W1 + b1)
                dP = (H @ W2 + b2 - t) / len(x)
                dZ = (dP @ W2.T) * (1 - H * H)
                grads = [x.T @ dZ, dZ.sum(0), H.T @ dP, dP.sum(0)]
                velocity = [momentum * v - lr * g for v, g in zip(velocity, grads)]
                params = [p + v for p, v in zip(params, velocity)]
    return params


def test_shuffling_across_and_within_chunks_matches_a_hand_written_loop(backend, memmaps):
    with an.use(backend, dtype="float64"):
        model = _model()
        model.fit(*memmaps, batch_size=40, epochs=2, seed=3, verbose=0, chunk_rows=300)
    expected = _shuffled_reference(seed=3, chunk_rows=300, batch=40, epochs=2)
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_a_bad_row_in_the_last_chunk_is_refused_before_any_update(backend, tmp_path):
    bad = X.copy()
    bad[-1, 2] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with an.use(backend, dtype="float64"):
        model = _model()
        before = model.get_weights()
        with pytest.raises(ValueError, match=r"X: expected finite numbers"):
            model.fit(np.load(tmp_path / "bad.npy", mmap_mode="r"), Y, chunk_rows=100, verbose=0)
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)


def test_divergence_in_a_later_chunk_names_its_batch(backend):
    big = np.full((40, 1), 2.0)
    with an.use(backend, dtype="float64"):
        model = an.Sequential([an.layers.Dense(1, use_bias=False)], input_dim=1, seed=0)
        model.set_weights([np.array([[0.5]])])
        model.compile(optimizer=an.optimizers.SGD(lr=1e100))  # overflows at the 3rd update
        with np.errstate(all="ignore"), pytest.raises(an.DivergenceError) as info:
            model.fit(
                big,
                np.full(40, 0.8),
                batch_size=4,
                epochs=5,
                shuffle=False,
                chunk_rows=8,
                verbose=0,
            )
    assert info.value.epoch == 0 and info.value.batch >= 2  # past the first chunk (2 batches)
    assert np.all(np.isfinite(model.get_weights()[0]))


def test_streaming_refuses_validation_split():
    with pytest.raises(ValueError, match="validation_split"):
        _model().fit(X, Y, chunk_rows=100, validation_split=0.2, verbose=0)


BUDGET_SCRIPT = """
import sys, tracemalloc
import numpy as np
import arraynet as an
path, backend, chunk_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
Xm = np.load(path + "/X.npy", mmap_mode="r")
ym = np.load(path + "/y.npy", mmap_mode="r")
with an.use(backend):
    model = an.Sequential([an.layers.Dense(16, activation="relu"), an.layers.Dense(1)],
                          input_dim=Xm.shape[1], seed=0)
    model.compile(optimizer=an.optimizers.SGD(lr=0.01))
    tracemalloc.start()
    model.fit(Xm, ym, batch_size=512, epochs=1, chunk_rows=chunk_rows, verbose=0)
    print("PEAK", tracemalloc.get_traced_memory()[1], Xm.nbytes + ym.nbytes)
"""


@pytest.mark.parametrize("backend_name", ["numpy", "torch", "array_api_strict"])
def test_host_memory_stays_within_a_budget_smaller_than_the_file(tmp_path, backend_name):
    """A 96 MB dataset streams with a 24 MB budget for host allocations (tracemalloc)."""
    if backend_name not in an.available_backends():
        pytest.skip(f"{backend_name} is not installed")
    rows, features = 600_000, 40
    rng = np.random.default_rng(1)
    X_file = np.lib.format.open_memmap(tmp_path / "X.npy", "w+", np.float32, (rows, features))
    for a in range(0, rows, 100_000):
        X_file[a : a + 100_000] = rng.normal(size=(100_000, features))
    X_file.flush()
    np.save(tmp_path / "y.npy", rng.normal(size=(rows, 1)).astype(np.float32))
    del X_file
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(BUDGET_SCRIPT),
            str(tmp_path),
            backend_name,
            "16384",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    peak, data_bytes = map(int, result.stdout.split("PEAK")[1].split())
    budget = 24 * 2**20
    print(f"{backend_name}: data {data_bytes / 2**20:.0f} MiB, peak host {peak / 2**20:.1f} MiB")
    assert data_bytes > 3 * budget and peak < budget


class _FakeCuda:
    """Records what ``Backend.copy_stream`` asks of CuPy's streams (no GPU here)."""

    def __init__(self, log):
        self.log, self.current = log, "compute"
        cuda = self

        class Stream:
            def __init__(self, non_blocking=False):
                self.name = "side" if non_blocking else "blocking"
                log.append(("new stream", non_blocking))

            def __enter__(self):
                self.previous, cuda.current = cuda.current, self.name
                log.append(("enter", self.name))

            def __exit__(self, *exc):
                cuda.current = self.previous
                log.append(("exit", self.name))

            def record(self):
                log.append(("record", self.name))
                return f"event of {self.name}"

        class Current:
            def wait_event(self, event):
                log.append(("wait", cuda.current, event))

        self.Stream, self._current = Stream, Current()

    def get_current_stream(self):
        return self._current


class _FakeDevice:
    id = 0

    def __init__(self, log):
        self.log = log

    def __enter__(self):
        self.log.append(("device", 0))

    def __exit__(self, *exc):
        self.log.append(("device done", 0))


def test_cupy_chunks_are_copied_on_a_second_stream_the_compute_stream_waits_for(monkeypatch):
    """The protocol of the CuPy copy stream, with CuPy's stream calls recorded: the copy runs
    on a non-blocking stream, made once per device, and the compute stream waits on an
    event recorded there after the copy, before anything uses the chunk."""
    import types

    from arraynet.backend import base as backend_module

    log = []
    fake = types.SimpleNamespace(cuda=_FakeCuda(log))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(backend_module, "_COPY_STREAMS", {})
    cupy_like = backend_module.Backend("cupy", np, "float32", device=_FakeDevice(log))
    for _ in range(2):
        with cupy_like.copy_stream():
            log.append(("copy", fake.cuda.current))
    copy = [
        ("enter", "side"),
        ("copy", "side"),
        ("exit", "side"),
        ("record", "side"),
        ("wait", "compute", "event of side"),
        ("device done", 0),
    ]
    assert log == [("device", 0), ("new stream", True), *copy, ("device", 0), *copy]


def test_host_backends_copy_chunks_in_place(backend):
    """Everywhere but CuPy the copy stream changes nothing."""
    with an.use(backend) as chosen, chosen.copy_stream():
        X_dev = chosen.asarray(X[:3])
    np.testing.assert_array_equal(an.backend.to_numpy(X_dev), X[:3].astype(np.float32))


class _BatchSizes(an.callbacks.Callback):
    def __init__(self):
        self.sizes = []

    def on_batch_end(self, batch, logs=None):
        self.sizes.append(logs["size"])


@pytest.mark.parametrize(
    ("mode", "rows", "expected"),
    [("full", 2700, [1000, 1000, 700]), ("minibatch", 2001, [100] * 20 + [1])],
)
def test_a_short_last_chunk_does_not_shrink_the_batches(mode, rows, expected):
    """A short chunk trains as one partial batch; "full" is one update per chunk (the
    smallest chunk used to set every batch: 2001 updates of 1 row instead of 21)."""
    rng = np.random.default_rng(0)
    X_big, y_big = rng.standard_normal((rows, 4)), rng.integers(0, 3, rows)
    model = an.Sequential([an.layers.Dense(3)], seed=0)
    model.compile("softmax_cross_entropy", "sgd")
    sizes = _BatchSizes()
    history = model.fit(
        X_big,
        y_big,
        mode=mode,
        batch_size=100,
        chunk_rows=1000,
        shuffle=False,
        verbose=0,
        callbacks=[sizes],
    )
    assert sizes.sizes == expected
    assert history.params["batch_size"] == expected[0]


def test_array_api_strict_arrays_stream_in_chunks():
    xs = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(1)
    X_host, y_host = rng.standard_normal((300, 4)), rng.integers(0, 3, 300)
    weights = []
    for X_in, y_in in ((X_host, y_host), (xs.asarray(X_host), xs.asarray(y_host))):
        with an.use("array_api_strict", dtype="float64"):
            model = an.Sequential([an.layers.Dense(3)], seed=0)
            model.compile("softmax_cross_entropy", "sgd")
            model.fit(X_in, y_in, chunk_rows=100, shuffle=False, verbose=0)
            weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
