"""Handwritten digits with a small CNN: scikit-learn's 8x8 images as (8, 8, 1), ~99% held out.

    python examples/digits_cnn.py [--backend numpy] [--dtype float32] [--epochs 20]

Two 3x3 convolutions (relu, "same") with batch normalization and 2x2 max pooling, then a
dense softmax head on logits (``softmax_cross_entropy`` with integer labels), Adam, batches
of 32; the same seeded 80/20 split as ``examples/digits.py`` (whose MLP reaches about 97%).
Needs scikit-learn: ``pip install arraynet[digits]``.
"""

from __future__ import annotations

import argparse
import time

import arraynet as an
from arraynet import datasets
from arraynet.layers import BatchNormalization, Conv2D, Dense, Flatten, MaxPooling2D


def build(seed: int = 0) -> an.Sequential:
    """The CNN, compiled."""
    model = an.Sequential(
        [
            Conv2D(16, 3, padding="same", activation="relu"),
            BatchNormalization(),
            MaxPooling2D(2),
            Conv2D(32, 3, padding="same", activation="relu"),
            BatchNormalization(),
            MaxPooling2D(2),
            Flatten(),
            Dense(64, activation="relu"),
            Dense(10),
        ],
        input_shape=(8, 8, 1),
        seed=seed,
    )
    model.compile(
        loss="softmax_cross_entropy",
        optimizer=an.optimizers.Adam(lr=0.003),
        metrics=["accuracy"],
    )
    return model


def images(X):
    """The 64 pixel columns as (rows, 8, 8, 1) images (row-major, as sklearn stores them)."""
    return X.reshape(len(X), 8, 8, 1)


def run(epochs: int = 20, seed: int = 0, verbose: int = 0):
    """Train on 80% of the digits on the current backend; ``(model, history, test accuracy)``."""
    X, y = datasets.digits()
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.2, seed=seed)
    model = build(seed)
    history = model.fit(
        images(X_train), y_train, mode="minibatch", batch_size=32, epochs=epochs, verbose=verbose
    )
    _, accuracy = model.evaluate(images(X_test), y_test)
    return model, history, accuracy


def main(argv=None) -> float:
    """Parse the arguments, train, print and return the test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="array backend (default numpy)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--epochs", type=int, default=20, help="epochs (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="weights and split seed (default 0)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs: expected an integer >= 1; got {args.epochs}")
    with an.use(args.backend, dtype=args.dtype):
        start = time.perf_counter()
        _, history, accuracy = run(args.epochs, args.seed, verbose=0)
        seconds = time.perf_counter() - start
    print(
        f"digits CNN on {args.backend} ({args.dtype}): train loss "
        f"{history.history['loss'][-1]:.4f}, test accuracy {accuracy:.4f} ({seconds:.1f} s)"
    )
    return accuracy


if __name__ == "__main__":
    main()
