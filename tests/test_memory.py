"""Device memory: a batch that does not fit raises one DeviceMemoryError, weights unchanged,
and training goes on with a smaller batch or streamed chunks."""

import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import out_of_memory

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2000, 50))
Y = X[:, :1] - X[:, 1:2]


def _model():
    model = an.Sequential(
        [an.layers.Dense(256, activation="relu"), an.layers.Dense(1)], input_dim=50, seed=0
    )
    model.compile(optimizer=an.optimizers.SGD(lr=0.01, momentum=0.9))
    return model


def test_a_batch_over_a_simulated_limit_is_refused_then_a_smaller_one_trains(backend):
    # float32: data 2000 x 51 x 2 copies, weights 13,313 x 4 (momentum), batch 1024 x 821
    with an.use(backend, memory_limit=4_200_000):
        model = _model()
        before = model.get_weights()
        with pytest.raises(an.DeviceMemoryError) as info:
            model.fit(X, Y, batch_size=1024, verbose=0)
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)
        model.fit(X, Y, batch_size=128, epochs=1, verbose=0)  # the process goes on
        assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
    error = info.value
    assert isinstance(error, MemoryError)
    expected = 4 * (2000 * 51 * 2 + 13_313 * 4 + 1024 * (50 + 3 * 257))
    assert error.batch_size == 1024 and error.needed == expected and error.limit == 4_200_000
    message = str(error)
    assert "batch_size=1024" in message and f"{expected:,} bytes" in message
    assert "batch_size=512" in message and "chunk_rows" in message  # the hint


def test_streaming_fits_where_the_whole_dataset_does_not(backend):
    with an.use(backend, memory_limit=1_200_000):
        model = _model()
        with pytest.raises(an.DeviceMemoryError):
            model.fit(X, Y, batch_size=100, verbose=0)
        model.fit(X, Y, batch_size=100, chunk_rows=500, verbose=0)


def test_a_backend_out_of_memory_error_becomes_one_device_memory_error(monkeypatch):
    model = _model()
    model.fit(X[:10], Y[:10], verbose=0)
    before = model.get_weights()

    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 8.00 GiB")

    monkeypatch.setattr("arraynet.train.trainer.make_runner", lambda *a, **k: exhausted)
    with pytest.raises(an.DeviceMemoryError) as info:
        model.fit(X, Y, batch_size=2000, verbose=0)
    assert isinstance(info.value.__cause__, MemoryError) and info.value.batch_size == 2000
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "error, expected",
    [
        (MemoryError(), True),
        (type("OutOfMemoryError", (Exception,), {})("Out of memory allocating 1 bytes"), True),
        (type("XlaRuntimeError", (RuntimeError,), {})("RESOURCE_EXHAUSTED: Out of memory"), True),
        (RuntimeError("shape mismatch"), False),
        (ValueError("memory"), False),
    ],
)
def test_out_of_memory_errors_are_recognised(error, expected):
    assert out_of_memory(error) is expected


def test_memory_limit_is_checked():
    with pytest.raises(ValueError, match="memory_limit"):
        an.use("numpy", memory_limit=0)


CUPY_SCRIPT = """
import numpy as np, arraynet as an
X = np.random.default_rng(0).normal(size=(200_000, 512)).astype(np.float32)
with an.use("cupy"):
    model = an.Sequential([an.layers.Dense(4096, activation="relu"), an.layers.Dense(1)], seed=0)
    model.compile()
    try:
        model.fit(X, X[:, :1], batch_size=200_000, verbose=0)
    except an.DeviceMemoryError as err:
        print("REFUSED", err)
    model.fit(X[:4096], X[:4096, :1], batch_size=256, verbose=0)
    print("SMALLER OK")
"""


def test_cupy_with_a_real_limit():
    if "cupy" not in an.available_backends():
        pytest.skip("cupy needs a CUDA device; none is visible here")
    env = {**os.environ, "CUPY_GPU_MEMORY_LIMIT": str(256 * 2**20)}
    out = subprocess.run(
        [sys.executable, "-c", CUPY_SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "REFUSED batch_size=200000" in out and "SMALLER OK" in out


ALLOCATOR_PROBE = """
import resource, sys
import numpy as np
import arraynet as an
from arraynet.backend import reuse_freed_host_memory

np._core.multiarray._set_madvise_hugepage(False)  # 4 KiB pages: one fault per page


def faults():  # minor page faults while 64 MiB arrays are made and freed five times
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        a = np.ones(1 << 24, np.float32)
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults()
untuned = faults()
if sys.argv[1] == "fit":  # a fit on a host backend sets it
    model = an.Sequential([an.layers.Dense(1)], input_dim=2)
    model.compile()
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    tuned = an.backend.ALLOCATOR["tuned"]
else:
    tuned = reuse_freed_host_memory()
faults()
print(untuned, faults(), tuned)
"""


def _allocator_probe(how, **env):
    out = subprocess.run(
        [sys.executable, "-c", ALLOCATOR_PROBE, how],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout.split()
    return int(out[0]), int(out[1]), out[2] == "True"


GLIBC = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the allocator setting is glibc's mallopt"
)


@GLIBC
@pytest.mark.parametrize("how", ["call", "fit"])
def test_freed_host_blocks_are_reused_once_tuned(how):
    """Fresh 64 MiB arrays page-fault in zeroed pages (16,384 faults of 4 KiB each; fewer
    where the kernel backs them with huge pages) until the allocator keeps freed blocks;
    then they reuse the freed ones."""
    untuned, tuned_faults, tuned = _allocator_probe(how)
    assert tuned
    assert untuned >= 5 * 16, untuned  # at least one fault per 2 MiB page
    assert tuned_faults * 10 < untuned, (tuned_faults, untuned)


@GLIBC
def test_the_users_malloc_settings_stand():
    untuned, again, tuned = _allocator_probe("call", MALLOC_TRIM_THRESHOLD_="131072")
    assert not tuned
    assert again * 2 > untuned >= 5 * 16, (again, untuned)


def test_torch_cpu_allocator_failure_is_out_of_memory():
    from arraynet.backend import out_of_memory

    err = RuntimeError(
        "[enforce fail at alloc_cpu.cpp:127] . DefaultCPUAllocator: can't "
        "allocate memory: you tried to allocate 32000000000 bytes."
    )
    assert out_of_memory(err)
    assert not out_of_memory(RuntimeError("shape mismatch"))
