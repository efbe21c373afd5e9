"""Two inputs, two heads (the functional API): an image and tabular features in, a class
and a value out.

    python examples/two_inputs_two_heads.py [--backend numpy] [--epochs 15]

Each example is an 8x8 grey image holding one bright 3x3 square on a noisy background, and
4 tabular features. The class is where the square lies (left or right half); the value is
a linear function of the features plus the image's mean brightness, so the value head needs
both inputs. A small CNN (Conv2D, max pooling) reads the image, a Dense layer the features;
their outputs are concatenated and feed a softmax class head and a linear value head,
trained together (``loss={"kind": ..., "value": ...}`` with loss weights). Printed: the
held-out accuracy and the value's mean squared error beside the variance of the value
(what predicting its mean would score).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import arraynet as an
from arraynet.layers import Concatenate, Conv2D, Dense, Flatten, MaxPooling2D

SIZE, FEATURES = 8, 4
COEFFICIENTS = np.array([0.5, -1.0, 0.25, 2.0])


def make_data(rows: int, seed: int = 0):
    """``({"image": (rows, 8, 8, 1), "features": (rows, 4)}, {"kind": (rows,), "value":
    (rows, 1)})``."""
    rng = np.random.default_rng(seed)
    images = 0.1 * rng.standard_normal((rows, SIZE, SIZE, 1))
    kind = rng.integers(0, 2, rows)
    top = rng.integers(0, SIZE - 2, rows)
    left = np.where(
        kind == 0, rng.integers(0, SIZE // 2 - 2, rows), rng.integers(SIZE // 2, SIZE - 2, rows)
    )
    for i in range(rows):
        images[i, top[i] : top[i] + 3, left[i] : left[i] + 3, 0] += 1.0
    features = rng.standard_normal((rows, FEATURES))
    value = features @ COEFFICIENTS + 10.0 * images.mean(axis=(1, 2, 3))
    return {"image": images, "features": features}, {"kind": kind, "value": value[:, None]}


def build(seed: int = 0) -> an.Model:
    image = an.Input(shape=(SIZE, SIZE, 1), name="image")
    features = an.Input(shape=(FEATURES,), name="features")
    seen = Flatten()(MaxPooling2D(2)(Conv2D(8, 3, activation="relu", name="conv")(image)))
    read = Dense(16, activation="relu", name="tabular")(features)
    both = Concatenate(name="joined")([seen, read])
    hidden = Dense(32, activation="relu", name="hidden")(both)
    kind = Dense(2, activation="softmax", name="kind")(hidden)
    value = Dense(1, name="value")(hidden)
    model = an.Model([image, features], [kind, value], name="image_and_features", seed=seed)
    model.compile(
        loss={"kind": "categorical_crossentropy", "value": "mse"},
        optimizer=an.optimizers.Adam(0.005),
        loss_weights={"kind": 1.0, "value": 0.5},
        metrics={"kind": ["accuracy"]},
    )
    return model


def run(epochs: int = 15, rows: int = 2000, seed: int = 0, verbose: int = 0) -> dict:
    """Train on the current backend: held-out accuracy, value MSE and the value's variance."""
    X, Y = make_data(rows, seed)
    X_test, Y_test = make_data(500, seed + 1)
    model = build(seed)
    history = model.fit(X, Y, batch_size=32, epochs=epochs, verbose=verbose, seed=seed,
                        validation_data=(X_test, Y_test))  # fmt: skip
    scores = model.evaluate(X_test, Y_test, return_dict=True)
    return {
        "accuracy": scores["kind_accuracy"],
        "value_mse": scores["value_loss"],
        "value_variance": float(np.var(Y_test["value"])),
        "history_keys": list(history.history),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="array backend (default numpy)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs (default 15)")
    parser.add_argument("--seed", type=int, default=0, help="data and weights seed")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs: expected an integer >= 1")
    with an.use(args.backend):
        start = time.perf_counter()
        scores = run(args.epochs, seed=args.seed)
        seconds = time.perf_counter() - start
        build().summary()
    print(f"image + features, two heads, on {args.backend} ({seconds:.1f} s)")
    print(f"  History keys: {', '.join(scores['history_keys'])}")
    print(f"  kind:  test accuracy {scores['accuracy']:.3f}")
    print(f"  value: test MSE {scores['value_mse']:.4f} (variance {scores['value_variance']:.4f})")
    return scores


if __name__ == "__main__":
    main()
