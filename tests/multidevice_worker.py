"""A child process for tests/test_distributed.py: JAX on simulated CPU devices.

The device count must be set before JAX starts (the test process has started it with one
device), so each check runs here, in a fresh interpreter, and writes what it found as JSON:

    python tests/multidevice_worker.py single OUT            # 8 devices, one process
    python tests/multidevice_worker.py process OUT PORT I N  # process I of N, 4 devices each
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np

CASES = [("full", None), ("minibatch", 64), ("minibatch", 100), ("weighted", 64)]
ROWS, FEATURES, CLASSES, EPOCHS = 480, 6, 3, 4


def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(ROWS, FEATURES))
    y = (X[:, 0] + np.sin(2 * X[:, 1]) > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y


def sample_weights():
    return np.random.default_rng(8).uniform(0.2, 2.0, ROWS)


def model(an, dropout: bool):
    layers = [an.layers.Dense(16, activation="tanh")]
    if dropout:
        layers.append(an.layers.Dropout(0.2))
    layers.append(an.layers.Dense(CLASSES, activation="softmax"))
    net = an.Sequential(layers, seed=3)
    net.compile(optimizer=an.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return net


def train(an, X, y, mode, batch_size, devices, rows=slice(None)):
    """Weights, History losses and predictions of one fit, on one device or a mesh; the
    "weighted" mode is minibatch with sample weights (``rows``: this process's)."""
    weighted = mode == "weighted"
    extra = {"sample_weight": sample_weights()[rows]} if weighted else {}
    mode = "minibatch" if weighted else mode
    with an.use("jax", dtype="float64", devices=devices):
        net = model(an, dropout=mode == "minibatch")
        history = net.fit(
            X, y, mode=mode, batch_size=batch_size, epochs=EPOCHS, shuffle=True, verbose=0,
            **extra,
        )  # fmt: skip
        return {
            "weights": [w.tolist() for w in net.get_weights()],
            "losses": list(history.history["loss"]),
            "predictions": net.predict(X, verbose=0).tolist(),
            "evaluate": net.evaluate(X, y, verbose=0),  # over every process's rows
        }, net


def features(an, devices) -> dict:
    """Validation data, streamed chunks, a batch callback, an on-device generator's data
    and evaluate: what each gives on one device or the mesh."""
    X, y = data()
    calls = []
    spy = an.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: calls.append(batch))
    options = {
        "validation": {"validation_data": (X[:96], y[:96])},
        "chunks": {"chunk_rows": 160},
        "batch_callback": {"callbacks": [spy]},
    }
    found = {}
    with an.use("jax", dtype="float64", devices=devices):
        for name, extra in options.items():
            net = model(an, dropout=True)  # the programs of the minibatch-64 case serve
            history = net.fit(X, y, mode="minibatch", batch_size=64, epochs=2, verbose=0, **extra)
            found[name] = {
                "weights": [w.tolist() for w in net.get_weights()],
                "history": history.history,
                "evaluate": net.evaluate(X, y, verbose=0),
            }
        Xg, yg = an.datasets.make_classification(512, FEATURES, classes=CLASSES, device_rng=True)
        net = model(an, dropout=False)
        history = net.fit(Xg, yg, mode="minibatch", batch_size=64, epochs=2, verbose=0)
        found["generator"] = {"weights": [w.tolist() for w in net.get_weights()],
                              "history": history.history}  # fmt: skip
    found["batch_calls"] = len(calls)
    return found


SPLIT, CHUNK, PREDICT_BATCH = 0.12, 80, 40  # over 2 processes of 240 rows and 4 devices


def own_parts(X, count: int = 2) -> list:
    """Each process's rows of ``X``, in process order."""
    return [X[k * ROWS // count : (k + 1) * ROWS // count] for k in range(count)]


def process_features(an, X, y, W) -> dict:
    """Over several processes, on this process's rows: ``validation_split`` (each process
    holds out its own last rows, the cut a multiple of its devices), streamed chunks and
    batched ``predict``/``evaluate``."""
    found = {}
    options = {"split": {"validation_split": SPLIT, "sample_weight": W},
               "chunks": {"chunk_rows": CHUNK}}  # fmt: skip
    with an.use("jax", dtype="float64", devices="all"):
        for name, extra in options.items():
            net = model(an, dropout=True)
            history = net.fit(X, y, mode="minibatch", batch_size=64, epochs=2, verbose=0, **extra)
            found[name] = {"weights": [w.tolist() for w in net.get_weights()],
                           "history": history.history}  # fmt: skip
        found["predict"] = {
            "batched": net.predict(X, batch_size=PREDICT_BATCH, verbose=0).tolist(),
            "whole": net.predict(X, verbose=0).tolist(),
            "evaluate_batched": net.evaluate(X, y, batch_size=PREDICT_BATCH, verbose=0),
            "evaluate": net.evaluate(X, y, verbose=0),
            "evaluate_weighted": net.evaluate(X, y, sample_weight=W, verbose=0),
            # many batches, one after another: op by op these programs deadlocked XLA's
            # CPU collectives in 4 of 5 runs (each process stuck in a different op)
            "evaluate_repeated": [
                net.evaluate(X, y, batch_size=PREDICT_BATCH, verbose=0) for _ in range(8)
            ],
        }
        P = np.asarray(found["predict"]["whole"])
        found["predict"]["own_weighted_sum"] = float(np.sum(W * -np.log(P[np.arange(len(y)), y])))
    return found


def arranged_reference(an, X, y, W) -> dict:
    """What ``process_features`` should give, on one device: the training rows of both
    processes' splits and their held-out rows as ``validation_data``; the chunks in the
    order the processes stream them together (chunk k: each process's chunk k)."""
    cut = int(ROWS // 2 * (1 - SPLIT)) // 4 * 4  # 211 rows rounded down to 4 devices: 208
    parts = [own_parts(a) for a in (X, y, W)]
    train = [np.concatenate([p[:cut] for p in part]) for part in parts]
    held = tuple(np.concatenate([p[cut:] for p in part]) for part in parts)
    chunks = [
        np.concatenate([p[a : a + CHUNK] for a in range(0, ROWS // 2, CHUNK) for p in part])
        for part in parts[:2]
    ]
    found = {}
    calls = {"split": (train[:2], {"validation_data": held, "sample_weight": train[2]}),
             "chunks": (chunks, {"chunk_rows": 2 * CHUNK})}  # fmt: skip
    with an.use("jax", dtype="float64"):
        for name, ((Xa, ya), extra) in calls.items():
            net = model(an, dropout=True)
            history = net.fit(Xa, ya, mode="minibatch", batch_size=64, epochs=2, verbose=0, **extra)
            found[name] = {"weights": [w.tolist() for w in net.get_weights()],
                           "history": history.history}  # fmt: skip
    return found


def spy_on_placement(found: dict):
    """Record how the training data and each compiled batch are split."""
    import jax

    from arraynet.backend import mesh

    pad_rows, batch_taker = mesh.pad_rows, mesh.batch_taker

    def padded(a, rows, mesh_):
        out = pad_rows(a, rows, mesh_)
        indices = sorted((s.index[0].start or 0, s.device.id) for s in out.addressable_shards)
        found.setdefault("data_shards", []).append(
            {"shards": len(out.addressable_shards), "starts": [i for i, _ in indices],
             "devices": len({d for _, d in indices}), "rows": rows}
        )  # fmt: skip
        return out

    def taker(arrays, size, mesh_):
        take = batch_taker(arrays, size, mesh_)

        def spied(i, start):
            parts = take(i, start)
            seen = found.setdefault("batch", [])
            jax.debug.inspect_array_sharding(
                parts[0], callback=lambda s: seen.append(str(getattr(s, "spec", s)))
            )
            return parts

        return spied

    mesh.pad_rows, mesh.batch_taker = padded, taker

    def restore():
        mesh.pad_rows, mesh.batch_taker = pad_rows, batch_taker

    return restore


def single(out: str) -> None:
    import arraynet as an
    from arraynet.backend import mesh

    X, y = data()
    found = {"devices": len(__import__("jax").devices()), "cases": {}}
    for mode, batch_size in CASES:
        one, _ = train(an, X, y, mode, batch_size, devices=None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            many, net = train(an, X, y, mode, batch_size, devices="all")
        weights = net.variables.weights
        found["cases"][f"{mode}-{batch_size}"] = {
            "one": one,
            "many": many,
            "weight_devices": [len(w.sharding.device_set) for w in weights],
            "replicated": [bool(w.sharding.is_fully_replicated) for w in weights],
            "warnings": [str(w.message) for w in caught],
        }
    spied = {}
    restore = spy_on_placement(spied)
    an.backend.clear_session()  # compile again, with the spies
    train(an, X, y, "minibatch", 64, devices="all")
    restore()
    an.backend.clear_session()
    found["spied"] = spied
    found["stochastic"] = stochastic(an, X, y)
    found["features"] = {str(d): features(an, d) for d in (None, "all")}
    found["info"] = mesh.mesh_line()  # what ``arraynet info`` prints about the mesh
    found["memory"] = {str(d): memory(an, X, y, d) for d in (None, "all")}
    found["arranged"] = arranged_reference(an, X, y, sample_weights())
    with open(out, "w") as f:
        json.dump(found, f)


def stochastic(an, X, y) -> dict:
    with an.use("jax", dtype="float64", devices="all"):
        net = model(an, dropout=False)
        net.fit(X, y, mode="minibatch", batch_size=64, epochs=1, verbose=0)
        before = net.get_weights()
        try:
            net.fit(X, y, mode="stochastic", epochs=1, verbose=0)
        except ValueError as err:
            message = str(err)
        else:
            message = None
        same = all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
        return {"message": message, "unchanged": same}


def memory(an, X, y, devices) -> dict:
    """What a too-small ``memory_limit`` says, on one device and on the mesh."""
    with an.use("jax", dtype="float64", devices=devices, memory_limit=1000):
        try:
            model(an, dropout=False).fit(X, y, mode="minibatch", batch_size=64, verbose=0)
        except an.DeviceMemoryError as err:
            return {"needed": err.needed, "message": str(err)}
    return {}


def process(out: str, port: str, index: str, count: str) -> None:
    import arraynet as an

    index, count = int(index), int(count)
    an.distributed.initialize(f"127.0.0.1:{port}", num_processes=count, process_id=index)
    X, y = data()
    rows = slice(index * ROWS // count, (index + 1) * ROWS // count)  # this process's rows
    found = {"devices": len(__import__("jax").devices()), "cases": {}}
    for mode, batch_size in CASES:
        many, net = train(an, X[rows], y[rows], mode, batch_size, devices="all", rows=rows)
        found["cases"][f"{mode}-{batch_size}"] = {"many": many}
    found["features"] = process_features(an, X[rows], y[rows], sample_weights()[rows])
    path = os.path.join(os.path.dirname(out), "model.arraynet")
    with an.use("jax", dtype="float64", devices="all"):
        net.save(path)
        loaded = an.load(path)
        found["loaded_equal"] = all(
            np.array_equal(a, b) for a, b in zip(net.get_weights(), loaded.get_weights())
        )
    with open(out, "w") as f:
        json.dump(found, f)


if __name__ == "__main__":
    {"single": single, "process": process}[sys.argv[1]](*sys.argv[2:])
