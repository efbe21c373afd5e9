"""Model files survive ``kill -9``: a process killed at a random moment while saving leaves a
file that loads to one complete weight set, its temp file is removed by the next save, and
training resumed from the last checkpoint ends bitwise equal to an uninterrupted run.

The rest of the reliability story is in tests/test_io.py: a failed save leaves the previous
file byte-identical (``test_a_failed_save_leaves_the_previous_file_and_no_temp``), truncation
and any flipped bit are detected (``test_truncated_at_any_offset_is_refused``,
``test_a_single_flipped_bit_anywhere_is_detected``).
"""

import inspect
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import arraynet as an
from arraynet import load, save

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

KILLS = 48
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}


def weight_set(s):
    """One of two different complete weight sets for the 32-64-10 model below."""
    rng = np.random.default_rng(100 + s)
    return [rng.normal(size=shape) for shape in [(32, 64), (64,), (64, 10), (10,)]]


SAVER = inspect.getsource(weight_set) + textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import arraynet as an
    an.use("numpy", dtype="float64")
    model = an.Sequential(
        [an.layers.Dense(64, activation="relu"), an.layers.Dense(10)], input_dim=32, seed=0
    )
    model.compile(loss="mse", optimizer="adam")
    sets = [weight_set(0), weight_set(1)]
    os.write(1, b"ready\\n")
    k = 0
    while True:
        model.set_weights(sets[k % 2])
        os.write(1, f"begin {k}\\n".encode())
        model.save(sys.argv[1])
        os.write(1, f"end {k}\\n".encode())
        k += 1
    """
)


def _start(script, *args):
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE, env=ENV, text=True
    )


def _read_until(child, line: str) -> str:
    """The child's output up to ``line`` (the kill then lands inside its save loop, however
    slowly a loaded machine started it)."""
    seen = []
    for got in iter(child.stdout.readline, ""):
        seen.append(got)
        if got == line:
            return "".join(seen)
    raise AssertionError(f"the child ended before printing {line!r}")


def _temps(folder: Path, name: str) -> set[str]:
    pattern = re.compile(re.escape(f".{name}.") + r"\d+\.[0-9a-f]{8}\.tmp")
    return {f for f in os.listdir(folder) if pattern.fullmatch(f)}


def _which_set(weights, sets) -> int | None:
    for s, expected in enumerate(sets):
        if len(weights) == len(expected) and all(
            np.array_equal(w, e) for w, e in zip(weights, expected)
        ):
            return s
    return None


def test_kill_during_save_leaves_one_complete_model(tmp_path, record_property):
    path = tmp_path / "model.arraynet"
    sets = [weight_set(0), weight_set(1)]
    with an.use("numpy", dtype="float64"):
        model = an.Sequential([an.layers.Dense(64, activation="relu"), an.layers.Dense(10)], 32)
        model.compile(loss="mse", optimizer="adam")
        model.set_weights(sets[1])
        save(model, path)
    held, mid_save, temp_left, corrupt, orphans = 1, 0, 0, [], []
    rng = np.random.default_rng(9)
    start = time.monotonic()
    for i in range(KILLS):
        child = _start(SAVER, path)
        assert child.stdout.readline() == "ready\n"
        seen = _read_until(child, f"begin {rng.integers(0, 3)}\n")  # in the loop, however loaded
        time.sleep(rng.uniform(0.0, 0.005))
        child.kill()  # SIGKILL
        out = seen + child.communicate()[0]
        began = [int(k) for k in re.findall(r"^begin (\d+)$", out, re.M)]
        ended = [int(k) for k in re.findall(r"^end (\d+)$", out, re.M)]
        allowed = {ended[-1] % 2} if ended else {held}
        if began and (not ended or began[-1] > ended[-1]):
            mid_save += 1
            allowed.add(began[-1] % 2)
        temps = _temps(tmp_path, path.name)
        temp_left += bool(temps - set(orphans))
        if ended:  # that child finished a save: earlier children's temp files are gone
            assert not temps & set(orphans), f"kill {i}: stale temp files kept"
        orphans = sorted(temps)
        try:
            with an.use("numpy", dtype="float64"):
                loaded = _which_set(load(path).get_weights(), sets)
        except Exception as err:  # counted, then failed below
            loaded = f"{type(err).__name__}: {err}"
        if loaded not in allowed:
            corrupt.append((i, loaded, sorted(allowed)))
        else:
            held = loaded
    save(model, path)  # the next save cleans every orphan
    assert os.listdir(tmp_path) == [path.name]
    figures = {
        "kills": KILLS,
        "mid_save": mid_save,
        "temp_files_left": temp_left,
        "corrupt": len(corrupt),
        "seconds": round(time.monotonic() - start, 1),
    }
    for key, value in figures.items():
        record_property(key, value)
    print(f"\nkill -9 while saving: {figures}")
    assert corrupt == []
    assert mid_save >= KILLS // 4 and temp_left > 0, figures


def _training_setup():
    """The data and the compiled model, the same in the killed child and here."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(256, 5))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 1)
    layers = [an.layers.Dense(16, activation="relu"), an.layers.Dropout(0.2), an.layers.Dense(3)]
    model = an.Sequential(layers, seed=3)
    model.compile("softmax_cross_entropy", an.optimizers.Adam(0.01))
    return X, y, model


TRAINER = (
    textwrap.dedent(
        """
    import os, sys
    import numpy as np
    import arraynet as an
    from arraynet.callbacks import Callback, ModelCheckpoint

    class Say(Callback):
        def on_epoch_end(self, epoch, logs=None):
            os.write(1, f"saved {epoch + 1}\\n".encode())

    """
    )
    + inspect.getsource(_training_setup)
    + textwrap.dedent(
        """
    X, y, model = _training_setup()
    model.fit(X, y, epochs=int(sys.argv[2]), batch_size=32, verbose=0,
              callbacks=[ModelCheckpoint(sys.argv[1]), Say()])
    """
    )
)


def test_resume_after_kill_matches_an_uninterrupted_run(tmp_path):
    epochs = 120
    X, y, straight = _training_setup()
    straight.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
    rng = np.random.default_rng(5)
    resumed_from = []
    for attempt in range(3):
        path = tmp_path / f"ckpt{attempt}.arraynet"
        child = _start(TRAINER, path, epochs)
        for line in child.stdout:
            if line.startswith("saved ") and int(line.split()[1]) >= 3:
                break
        time.sleep(rng.uniform(0.0, 0.05))
        child.kill()
        child.communicate()
        model = load(path)
        resumed_from.append(model.epoch)
        assert 3 <= model.epoch <= epochs
        model.fit(X, y, epochs=epochs, initial_epoch=model.epoch, batch_size=32, verbose=0)
        assert model.epoch == epochs
        for got, want in zip(model.get_weights(), straight.get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)
    print(f"\nresumed after kill -9 from epochs {resumed_from} of {epochs}: bitwise equal")
