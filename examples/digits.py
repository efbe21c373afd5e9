"""Handwritten digits: scikit-learn's 1,797 8x8 images, one hidden relu layer, ~98% held out.

    python examples/digits.py [--backend numpy] [--dtype float32] [--epochs 30]

A 64-128-10 network trained on logits with ``softmax_cross_entropy`` and integer labels,
mini-batches of 32, SGD with momentum 0.9; 20% of the images are held out (seeded split) and
the test accuracy is printed. Needs scikit-learn: ``pip install arraynet[digits]``.
"""

from __future__ import annotations

import argparse
import time

import arraynet as an
from arraynet import datasets


def build(hidden: int = 128, seed: int = 0) -> an.Sequential:
    """The 64-hidden-10 classifier, compiled."""
    model = an.Sequential(
        [an.layers.Dense(hidden, activation="relu"), an.layers.Dense(10)], input_dim=64, seed=seed
    )
    model.compile(
        loss="softmax_cross_entropy",
        optimizer=an.optimizers.SGD(lr=0.05, momentum=0.9),
        metrics=["accuracy"],
    )
    return model


def run(epochs: int = 30, hidden: int = 128, seed: int = 0, verbose: int = 0):
    """Train on 80% of the digits on the current backend; ``(model, history, test accuracy)``."""
    X, y = datasets.digits()
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.2, seed=seed)
    model = build(hidden, seed)
    history = model.fit(
        X_train, y_train, mode="minibatch", batch_size=32, epochs=epochs, verbose=verbose
    )
    _, accuracy = model.evaluate(X_test, y_test)
    return model, history, accuracy


def main(argv=None) -> float:
    """Parse the arguments, train, print and return the test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="array backend (default numpy)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    parser.add_argument("--hidden", type=int, default=128, help="hidden units (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="weights and split seed (default 0)")
    args = parser.parse_args(argv)
    for name in ("epochs", "hidden"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}: expected an integer >= 1; got {getattr(args, name)}")
    with an.use(args.backend, dtype=args.dtype):
        start = time.perf_counter()
        _, history, accuracy = run(args.epochs, args.hidden, args.seed, verbose=2)
        seconds = time.perf_counter() - start
    print(
        f"digits on {args.backend} ({args.dtype}): train loss {history.history['loss'][-1]:.4f}, "
        f"test accuracy {accuracy:.4f} ({seconds:.1f} s)"
    )
    return accuracy


if __name__ == "__main__":
    main()
