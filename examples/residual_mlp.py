"""A residual MLP (the functional API): skip connections around Dense blocks.

    python examples/residual_mlp.py [--backend numpy] [--blocks 6] [--epochs 40]

Two interleaved spirals (``an.datasets.spirals``): a point's class depends on its angle
and radius together. The model widens the 2 coordinates to 32, then adds ``blocks``
residual blocks, each ``h + Dense(32)(Dense(32, relu)(h))`` (``layers.Add``, as a ResNet
block), and ends in a softmax over the 2 classes. The same blocks without their skips (a
plain deep MLP of the same weights) train beside it with the same seed and epochs; the
held-out accuracy of both is printed: with 6 blocks the residual one
classifies nearly every point, the plain one (its gradients through 12 layers) stalls lower.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import arraynet as an
from arraynet.layers import Activation, Add, Dense

WIDTH = 32


def build(blocks: int, residual: bool = True, seed: int = 0) -> an.Model:
    """The classifier, compiled with Adam on the categorical cross-entropy."""
    x = an.Input(shape=(2,), name="point")
    h = Dense(WIDTH, activation="relu", name="widen")(x)
    for k in range(blocks):
        inner = Dense(WIDTH, activation="relu", name=f"block{k}_a")(h)
        inner = Dense(WIDTH, name=f"block{k}_b")(inner)
        h = Add(name=f"skip{k}")([h, inner]) if residual else inner
        h = Activation("relu", name=f"relu{k}")(h)
    out = Dense(2, activation="softmax", name="classes")(h)
    model = an.Model(x, out, name="residual_mlp" if residual else "plain_mlp", seed=seed)
    model.compile("categorical_crossentropy", an.optimizers.Adam(0.01), metrics=["accuracy"])
    return model


def run(blocks: int = 6, epochs: int = 40, rows: int = 1000, seed: int = 0) -> dict:
    """Held-out accuracy of the residual and the plain model, on the current backend."""
    X, y = an.datasets.spirals(rows, seed=seed, noise=0.1)
    X_train, X_test, y_train, y_test = an.datasets.train_test_split(X, y, 0.25, seed=seed)
    scores = {}
    for residual in (True, False):
        model = build(blocks, residual, seed)
        model.fit(X_train, y_train, batch_size=32, epochs=epochs, verbose=0, seed=seed)
        predicted = np.argmax(model.predict(X_test), axis=1)
        scores["residual" if residual else "plain"] = float(np.mean(predicted == y_test))
    return scores


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="array backend (default numpy)")
    parser.add_argument("--blocks", type=int, default=6, help="residual blocks (default 6)")
    parser.add_argument("--epochs", type=int, default=40, help="epochs (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="data and weights seed")
    args = parser.parse_args(argv)
    if args.blocks < 1 or args.epochs < 1:
        parser.error("--blocks and --epochs: expected integers >= 1")
    with an.use(args.backend):
        start = time.perf_counter()
        scores = run(args.blocks, args.epochs, seed=args.seed)
        seconds = time.perf_counter() - start
        build(args.blocks).summary()
    print(f"spirals, {args.blocks} blocks, on {args.backend} ({seconds:.1f} s)")
    for name, accuracy in scores.items():
        print(f"  {name:<9} test accuracy {accuracy:.3f}")
    return scores


if __name__ == "__main__":
    main()
