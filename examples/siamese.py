"""A siamese network (the functional API): one encoder shared by two inputs.

    python examples/siamese.py [--backend numpy] [--epochs 20]

Points of 8 features come from 6 Gaussian clusters. A pair is labelled 1 when both points
come from the same cluster. The same encoder (two Dense layers: one set of weights, called
on each input, its gradients from both calls added up) maps each point to 4 numbers; the
head sees the squared difference of the two codes (``Subtract``, then ``Multiply`` of it
with itself) and gives the probability that the pair matches. Held-out pairs are scored
on clusters seen in training; the encoder alone then embeds points (``an.Model(first,
code_first)``, starting from the trained layers' weights): same-cluster codes lie closer
than other-cluster ones.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import arraynet as an
from arraynet.layers import Dense, Multiply, Subtract

FEATURES, CLUSTERS = 8, 6


def make_pairs(rows: int, seed: int = 0, centers=None):
    """``([first, second], same, centers)``: half the pairs from one cluster, half from two."""
    rng = np.random.default_rng(seed)
    if centers is None:
        centers = 2.0 * rng.standard_normal((CLUSTERS, FEATURES))
    a = rng.integers(0, CLUSTERS, rows)
    same = rng.integers(0, 2, rows)
    b = np.where(same == 1, a, (a + rng.integers(1, CLUSTERS, rows)) % CLUSTERS)
    noise = 0.7

    def points(c):
        return centers[c] + noise * rng.standard_normal((rows, FEATURES))

    return [points(a), points(b)], same.astype(float)[:, None], centers


def build(seed: int = 0):
    """``(siamese, encoder_layers)``: the pair model (compiled) and the shared layers."""
    first = an.Input(shape=(FEATURES,), name="first")
    second = an.Input(shape=(FEATURES,), name="second")
    hidden = Dense(16, activation="tanh", name="encode_hidden")
    code = Dense(4, name="encode_code")
    code_first, code_second = code(hidden(first)), code(hidden(second))
    difference = Subtract(name="difference")([code_first, code_second])
    squared = Multiply(name="squared")([difference, difference])
    match = Dense(1, activation="sigmoid", name="match")(squared)
    model = an.Model([first, second], match, name="siamese", seed=seed)
    model.compile("binary_crossentropy", an.optimizers.Adam(0.01), metrics=["accuracy"])
    return model, (first, code_first)


def run(epochs: int = 20, rows: int = 4000, seed: int = 0) -> dict:
    """Train on the current backend: held-out pair accuracy and the encoder's distances."""
    X, y, centers = make_pairs(rows, seed)
    X_test, y_test, _ = make_pairs(1000, seed + 1, centers)
    model, (first, code_first) = build(seed)
    model.fit(X, y, batch_size=64, epochs=epochs, verbose=0, seed=seed)
    accuracy = float(model.evaluate(X_test, y_test, return_dict=True)["accuracy"])
    encoder = an.Model(first, code_first, name="encoder")  # the trained layers' weights
    codes = [encoder.predict(x) for x in X_test]
    distance = np.sum((codes[0] - codes[1]) ** 2, axis=1)
    same = y_test[:, 0] == 1
    return {
        "accuracy": accuracy,
        "same_distance": float(np.median(distance[same])),
        "other_distance": float(np.median(distance[~same])),
        "layers": len(model.layers),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="array backend (default numpy)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="data and weights seed")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs: expected an integer >= 1")
    with an.use(args.backend):
        start = time.perf_counter()
        scores = run(args.epochs, seed=args.seed)
        seconds = time.perf_counter() - start
        build()[0].summary()
    print(f"siamese pairs, {CLUSTERS} clusters, on {args.backend} ({seconds:.1f} s)")
    print(f"  test pair accuracy {scores['accuracy']:.3f}")
    print(
        f"  encoder: median squared code distance {scores['same_distance']:.3f} (same "
        f"cluster) vs {scores['other_distance']:.3f} (other)"
    )
    return scores


if __name__ == "__main__":
    main()
