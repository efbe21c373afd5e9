"""A character-level language model on the text arraynet ships (``arraynet.texts``).

    python examples/char_model.py [--backend numpy] [--epochs 30] [--length 300]

Every 40-character window of about 5 KB of public-domain English (the Declaration of
Independence's opening, the Gettysburg Address, Sonnet 18, "Jabberwocky") predicts the
character that follows: Embedding(vocabulary, 24) -> LSTM(128) -> Dense(vocabulary) on
logits, ``softmax_cross_entropy`` on the integer labels, Adam. It prints the loss in bits
per character beside the entropy of the character frequencies (what a model without
context scores), then text sampled from the model (temperature 0.5), seeded with the
text's first 40 characters.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import arraynet as an
from arraynet import texts
from arraynet.layers import LSTM, Dense, Embedding

WINDOW = 40


def build(vocabulary: int, units: int = 128, seed: int = 0) -> an.Sequential:
    model = an.Sequential(
        [Embedding(vocabulary, 24), LSTM(units), Dense(vocabulary)], input_shape=(WINDOW,),
        seed=seed,
    )  # fmt: skip
    model.compile("softmax_cross_entropy", an.optimizers.Adam(lr=0.005), metrics=["accuracy"])
    return model


def unigram_bits(indices: np.ndarray) -> float:
    """The entropy of the character frequencies, in bits per character."""
    p = np.bincount(indices) / len(indices)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def sample(model, seed_indices, vocabulary: str, length: int, temperature: float = 0.5,
           seed: int = 0) -> str:  # fmt: skip
    """``length`` characters drawn one at a time from the model's softmax at ``temperature``."""
    rng = np.random.default_rng(seed)
    window, out = list(seed_indices[-WINDOW:]), []
    for _ in range(length):
        logits = model.predict(np.array([window], dtype=np.float64))[0] / temperature
        p = np.exp(logits - logits.max())
        k = int(rng.choice(len(p), p=p / p.sum()))
        out.append(vocabulary[k])
        window = window[1:] + [k]
    return "".join(out)


def run(epochs: int = 30, units: int = 128, seed: int = 0, verbose: int = 0):
    """Train on the current backend: ``(model, history, bits per character, unigram bits,
    indices, vocabulary)``."""
    indices, vocabulary = texts.encode(texts.load())
    X, y = texts.windows(indices, WINDOW)
    model = build(len(vocabulary), units, seed)
    history = model.fit(X, y, batch_size=64, epochs=epochs, verbose=verbose)
    bits = history.history["loss"][-1] / np.log(2.0)
    return model, history, bits, unigram_bits(indices), indices, vocabulary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="array backend (default numpy)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    parser.add_argument("--units", type=int, default=128, help="LSTM units (default 128)")
    parser.add_argument("--length", type=int, default=300, help="characters to sample")
    parser.add_argument("--seed", type=int, default=0, help="weights, order and sampling seed")
    args = parser.parse_args(argv)
    if min(args.epochs, args.units) < 1 or args.length < 0:
        parser.error("--epochs, --units: expected integers >= 1; --length >= 0")
    with an.use(args.backend):
        start = time.perf_counter()
        model, history, bits, unigram, indices, vocabulary = run(args.epochs, args.units, args.seed)
        seconds = time.perf_counter() - start
        text = sample(model, indices[:WINDOW], vocabulary, args.length, seed=args.seed)
    accuracy = history.history["accuracy"][-1]
    print(
        f"char model on {args.backend}: {len(indices)} characters, {len(vocabulary)} distinct; "
        f"{bits:.2f} bits/char after {args.epochs} epochs (unigram {unigram:.2f}), "
        f"next-character accuracy {accuracy:.3f} ({seconds:.1f} s)"
    )
    print(texts.load()[:WINDOW] + text)
    return bits, unigram


if __name__ == "__main__":
    main()
