"""A Transformer block learns the order of two tokens; a bag of tokens cannot.

    python examples/order_transformer.py [--backend numpy] [--epochs 15]

Each sequence holds 4 to 12 tokens, padded before with zeros to 12 (Keras's
``pad_sequences`` default): filler tokens, one ``A`` and one ``B`` at random places. The
label is whether ``A`` comes before ``B``. The model is Keras's text Transformer block:
``Embedding(mask_zero=True)`` of the tokens plus an ``Embedding`` of each token's position
(a second input: 1, 2, ... from the first real token, 0 on the padding), self-attention
with a residual ``Add`` and ``LayerNormalization``, a feed-forward block, average pooling
over the real tokens, a sigmoid. The padding is masked all the way: it is neither attended
to nor pooled. Without the positions the same block sees a bag of tokens and stays at
chance (the order is all there is to learn).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import arraynet as an
from arraynet.layers import (
    Add,
    Dense,
    Embedding,
    GlobalAveragePooling1D,
    LayerNormalization,
    MultiHeadAttention,
)

A, B, VOCAB, LENGTH, WIDTH = 1, 2, 12, 12, 16


def order_data(rows: int, seed: int = 0):
    """``([tokens, positions], y)``: token rows and positions (rows, 12), pre-padded with 0;
    y 1.0 where A comes before B."""
    rng = np.random.default_rng(seed)
    tokens, positions = np.zeros((rows, LENGTH), int), np.zeros((rows, LENGTH), int)
    y = np.zeros((rows, 1))
    for i, n in enumerate(rng.integers(4, LENGTH + 1, rows)):
        row = rng.integers(B + 1, VOCAB, n)
        a, b = rng.choice(n, 2, replace=False)
        row[a], row[b] = A, B
        tokens[i, LENGTH - n :], positions[i, LENGTH - n :] = row, np.arange(1, n + 1)
        y[i] = float(a < b)
    return [tokens, positions], y


def build(positions: bool = True, seed: int = 0) -> an.Model:
    """The Transformer classifier (with or without the position embedding), compiled."""
    tokens, places = an.Input((LENGTH,)), an.Input((LENGTH,))
    x = Embedding(VOCAB, WIDTH, mask_zero=True)(tokens)
    if positions:
        x = Add()([x, Embedding(LENGTH + 1, WIDTH)(places)])
    x = LayerNormalization()(Add()([x, MultiHeadAttention(num_heads=2, key_dim=8)(x, x)]))
    ffn = Dense(WIDTH)(Dense(2 * WIDTH, activation="relu")(x))
    x = LayerNormalization()(Add()([x, ffn]))
    out = Dense(1, activation="sigmoid")(GlobalAveragePooling1D()(x))
    model = an.Model([tokens, places], out, seed=seed)
    model.compile(optimizer=an.optimizers.Adam(3e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    return model


def run(rows: int = 3000, epochs: int = 15, seed: int = 0) -> dict[str, float]:
    """Held-out accuracy of the block with and without positions."""
    X, y = order_data(rows, seed)
    X_test, y_test = order_data(1000, seed + 1)
    scores = {}
    for name, positions in (("with positions", True), ("bag of tokens", False)):
        model = build(positions, seed)
        model.fit(X, y, batch_size=64, epochs=epochs, verbose=0, seed=seed)
        scores[name] = float(model.evaluate(X_test, y_test, verbose=0)[1])
    return scores


def main(argv=None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="array backend (default numpy)")
    parser.add_argument("--rows", type=int, default=3000, help="training sequences")
    parser.add_argument("--epochs", type=int, default=15, help="epochs (default 15)")
    parser.add_argument("--seed", type=int, default=0, help="data and weights seed")
    args = parser.parse_args(argv)
    if min(args.rows, args.epochs) < 1:
        parser.error("--rows and --epochs: expected integers >= 1")
    with an.use(args.backend):
        start = time.perf_counter()
        scores = run(args.rows, args.epochs, args.seed)
        seconds = time.perf_counter() - start
    print(f"order of two tokens, on {args.backend} ({seconds:.1f} s)")
    for name, accuracy in scores.items():
        print(f"  {name:<15} test accuracy {accuracy:.3f}")
    return scores


if __name__ == "__main__":
    main()
