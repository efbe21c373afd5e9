"""Forecasting noisy (squashed) sines: the next value from the last 30, by a GRU.

    python examples/sine_forecast.py [--backend numpy] [--epochs 20]

Each series is a sum of two sines of random frequency, phase and amplitude, squashed by
``tanh(2 x)`` (plain sines obey a linear recurrence, which least squares would find
exactly), plus Gaussian noise (standard deviation 0.1). A window of 30 noisy values
predicts the next clean one. A GRU of 16 units reads the window; its held-out mean squared
error is printed beside two baselines: repeating the last value, and a linear
autoregression on the 30 values fitted by least squares. The GRU beats both (0.009
against 0.015 and 0.025 with the defaults).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import arraynet as an
from arraynet.layers import GRU, Dense

WINDOW = 30


def sine_data(series: int, seed: int = 0, length: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: windows (rows, 30, 1) of noisy series and the clean value after each (three
    windows per series)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length + 1)
    freq = rng.uniform(0.05, 0.25, (series, 2, 1))
    phase = rng.uniform(0, 2 * np.pi, (series, 2, 1))
    amp = rng.uniform(0.3, 1.0, (series, 2, 1))
    clean = np.tanh(2.0 * (amp * np.sin(freq * t + phase)).sum(axis=1))
    noisy = clean + 0.1 * rng.standard_normal(clean.shape)
    starts = np.arange(0, length - WINDOW + 1, 10)
    X = np.concatenate([noisy[:, s : s + WINDOW] for s in starts])
    y = np.concatenate([clean[:, s + WINDOW] for s in starts])
    return X[..., None], y[:, None]


def baselines(X, y, X_train, y_train) -> dict[str, float]:
    """The last value, and least-squares autoregression fitted on the training windows."""
    A = np.c_[X_train[..., 0], np.ones(len(X_train))]
    coef = np.linalg.lstsq(A, y_train[:, 0], rcond=None)[0]
    linear = np.c_[X[..., 0], np.ones(len(X))] @ coef
    return {
        "last value": float(np.mean((X[:, -1, 0] - y[:, 0]) ** 2)),
        "linear autoregression": float(np.mean((linear - y[:, 0]) ** 2)),
    }


def run(epochs: int = 20, series: int = 1000, seed: int = 0, verbose: int = 0):
    """Train the GRU on the current backend: ``(test MSE, baselines)``."""
    X, y = sine_data(series, seed)
    X_test, y_test = sine_data(300, seed + 1)
    model = an.Sequential([GRU(16), Dense(1)], input_shape=(WINDOW, 1), seed=seed)
    model.compile(loss="mse", optimizer=an.optimizers.Adam(lr=0.01))
    model.fit(X, y, batch_size=32, epochs=epochs, verbose=verbose)
    return float(model.evaluate(X_test, y_test)), baselines(X_test, y_test, X, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="array backend (default numpy)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="data and weights seed")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs: expected an integer >= 1; got {args.epochs}")
    with an.use(args.backend):
        start = time.perf_counter()
        mse, base = run(args.epochs, seed=args.seed)
        seconds = time.perf_counter() - start
    print(f"noisy sines, next value from {WINDOW}, on {args.backend} ({seconds:.1f} s)")
    for name, value in base.items():
        print(f"  {name:<22} test MSE {value:.4f}")
    print(f"  {'GRU(16)':<22} test MSE {mse:.4f}")
    return mse, base


if __name__ == "__main__":
    main()
