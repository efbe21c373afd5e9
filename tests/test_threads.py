"""``an.use`` per context: each thread and asyncio task sees its own ``with`` blocks, blocks
left in any order restore what their owners expect, a bare ``use()`` in the main thread (outside
any block) is the process default, and JAX's x64 flag stays inside the block that needed it.

Real threads and an asyncio loop, on numpy and jax; the steps are ordered by events, so each
test runs the same interleaving every time.
"""

import asyncio
import contextvars
import importlib.util
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import arraynet as an

WAIT = 60  # seconds any step may wait for another thread's step
X = np.array([[1.0, 0, 1], [0, 1, 1], [0, 0, 1], [1, 1, 1]])
Y = np.array([[1.0], [1], [0], [0]])
NO_JAX = importlib.util.find_spec("jax") is None
BACKENDS = ["numpy", pytest.param("jax", marks=pytest.mark.skipif(NO_JAX, reason="no jax"))]


def _selected():
    backend = an.current_backend()
    return backend.name, backend.dtype


def _trained():
    """A model trained on the selection of the caller: (selection, predict dtype, weights dtype)."""
    model = an.Sequential([an.layers.Dense(3, activation="tanh"), an.layers.Dense(1)], seed=0)
    model.compile("squared_error", an.optimizers.SGD(lr=0.1))
    model.fit(X, Y, epochs=2, batch_size=2, verbose=0)
    return _selected(), model.predict(X).dtype.name, model.get_weights()[0].dtype.name


def _wait(event):
    assert event.wait(WAIT), "the other thread did not reach its step"


def _in_threads(*targets):
    """Run each target in its own thread; their results, or the first one's error."""
    results, errors = [None] * len(targets), []

    def run(i, target):
        try:
            results[i] = target()
        except BaseException as err:  # noqa: BLE001 - handed to the test's thread
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
        assert not thread.is_alive(), "a thread hung"
    if errors:
        raise errors[0]
    return results


# -- blocks in one thread ----------------------------------------------------------------------


def test_a_block_left_first_keeps_the_one_still_open():
    a = an.use("numpy", dtype="float64")
    b = an.use("numpy", dtype="float64")
    a.__exit__(None, None, None)
    assert _selected() == ("numpy", "float64")  # b is still open
    b.__exit__(None, None, None)
    assert _selected() == ("numpy", "float32")


@pytest.mark.parametrize("name", BACKENDS)
def test_blocks_left_out_of_order_restore_what_was_before(name):
    a = an.use(name)
    b = an.use("numpy", dtype="float64")
    a.__exit__(None, None, None)
    assert _selected() == ("numpy", "float64")
    b.__exit__(None, None, None)
    assert _selected() == ("numpy", "float32")


def test_a_bare_use_inside_a_block_ends_with_it():
    with an.use("numpy", dtype="float64"):
        an.use("numpy", dtype="float32")
        assert _selected() == ("numpy", "float32")
        with an.use("numpy", dtype="float64"):
            pass
        assert _selected() == ("numpy", "float32")
    assert _selected() == ("numpy", "float32")


# -- threads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BACKENDS)
def test_a_block_left_in_one_thread_keeps_another_threads_block(name):
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first():
        with an.use(name, dtype="float64"):
            first_in.set()
            _wait(second_in)
        first_out.set()

    def second():
        _wait(first_in)
        with an.use(name, dtype="float64"):
            second_in.set()
            _wait(first_out)
            return _trained()

    _, trained = _in_threads(first, second)
    assert trained == ((name, "float64"), "float64", "float64")


@pytest.mark.parametrize("name", BACKENDS)
def test_a_block_entered_in_another_thread_does_not_move_this_one(name):
    a_in, b_in = threading.Event(), threading.Event()
    b_done = threading.Event()

    def a():
        with an.use(name):
            a_in.set()
            _wait(b_in)
            try:
                return _trained()
            finally:
                b_done.set()

    def b():
        _wait(a_in)
        with an.use("numpy", dtype="float64"):
            b_in.set()
            _wait(b_done)
            return _selected()

    trained, other = _in_threads(a, b)
    assert trained == ((name, "float32"), "float32", "float32")
    assert other == ("numpy", "float64")


@pytest.mark.parametrize("name", BACKENDS)
def test_a_bare_use_in_a_worker_thread_stays_in_that_thread(name):
    before = _selected()

    def worker():
        an.use(name, dtype="float64")
        return _trained()

    (trained,) = _in_threads(worker)
    assert trained == ((name, "float64"), "float64", "float64")
    assert _selected() == before == ("numpy", "float32")


@pytest.mark.parametrize("name", BACKENDS)
def test_a_bare_use_in_the_main_thread_is_the_default_of_threads_without_their_own(name):
    # Outside the autouse fixture's block: a fresh context of the main thread has none.
    default = (name, "float32") if name == "jax" else ("numpy", "float64")
    block_in, seen = threading.Event(), threading.Event()

    def holder():  # a block in another thread: its own, not the others'
        with an.use("numpy"):
            block_in.set()
            _wait(seen)

    def bystander():
        _wait(block_in)
        try:
            return _trained()
        finally:
            seen.set()

    try:
        contextvars.Context().run(an.use, *default)
        _, trained = _in_threads(holder, bystander)
        assert contextvars.Context().run(_selected) == default
    finally:
        contextvars.Context().run(an.use, "numpy")
    assert trained == (default, default[1], default[1])
    assert contextvars.Context().run(_selected) == ("numpy", "float32")


# -- asyncio -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BACKENDS)
def test_asyncio_tasks_each_see_their_own_block(name):
    async def task(backend, dtype, mine, other):
        with an.use(backend, dtype=dtype):
            mine.set()
            await asyncio.wait_for(other.wait(), WAIT)
            await asyncio.sleep(0)  # the other task runs inside its block meanwhile
            return _trained()

    async def both():
        one, two = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(
            task(name, "float32", one, two), task("numpy", "float64", two, one)
        )

    first, second = asyncio.run(both())
    assert first == ((name, "float32"), "float32", "float32")
    assert second == (("numpy", "float64"), "float64", "float64")
    assert _selected() == ("numpy", "float32")


@pytest.mark.skipif(NO_JAX, reason="no jax")
def test_a_block_copied_into_a_worker_thread_trains_there_in_its_dtype():
    # asyncio.to_thread runs in the task's context: the float64 JAX block comes along, and
    # JAX's x64 flag (per thread) is turned on in the worker for it
    async def task():
        with an.use("jax", dtype="float64"):
            return await asyncio.to_thread(_trained)

    assert asyncio.run(task()) == (("jax", "float64"), "float64", "float64")


# -- JAX's x64 flag ------------------------------------------------------------------------------

_X64_SCRIPT = """
import threading
import jax, jax.numpy as jnp
import arraynet as an

def x64():
    return bool(jax.config.jax_enable_x64), jnp.asarray(1.0).dtype.name

with an.use("jax", dtype="float64"):
    inside = x64()
    other = []
    thread = threading.Thread(target=lambda: other.append(x64()))
    thread.start(); thread.join()
print("inside", *inside, "other-thread", *other[0], "after", *x64())
an.use("jax", dtype="float64")  # bare, in the main thread: the process default
other = []
thread = threading.Thread(target=lambda: other.append(x64()))
thread.start(); thread.join()
an.use("numpy")
print("bare", *x64(), "other-thread", *other[0], "after-numpy", *x64())
"""


@pytest.mark.skipif(NO_JAX, reason="no jax")
def test_jax_x64_is_scoped_to_the_block_and_its_thread():
    # A fresh process: JAX's flag is process state no other test may have touched.
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_X64_SCRIPT)],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout.split()  # fmt: skip
    assert out[:9] == ["inside", "True", "float64", "other-thread", "False", "float32",
                       "after", "False", "float32"]  # fmt: skip
    # what remains global: a bare float64 JAX selection turns x64 on for the process, for good
    assert out[9:] == ["bare", "True", "float64", "other-thread", "True", "float64",
                       "after-numpy", "True", "float64"]  # fmt: skip
