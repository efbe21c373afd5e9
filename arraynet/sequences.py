"""Keras's ``keras.utils.pad_sequences`` and ``keras.utils.normalize`` (host NumPy helpers
that Keras scripts call on their data before ``fit``)."""

from __future__ import annotations

import numpy as np

from .validation import check_choice, check_count

SIDES = ("pre", "post")


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0) -> np.ndarray:  # fmt: skip
    """Sequences of different lengths as one array ``(len(sequences), maxlen, ...)``, as
    Keras: ``maxlen`` (default: the longest) entries each, shorter ones filled with
    ``value`` before (``padding="pre"``) or after them, longer ones cut at the start
    (``truncating="pre"``) or at the end."""
    check_choice(padding, "padding", SIDES)
    check_choice(truncating, "truncating", SIDES)
    if isinstance(sequences, np.ndarray) and sequences.dtype != object:
        sequences = list(sequences)
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"sequences: expected a list of sequences; got {type(sequences)}")
    rows = [np.asarray(s) for s in sequences]
    if any(r.ndim == 0 for r in rows):
        raise ValueError("sequences: expected each entry to be a sequence; got a scalar")
    lengths = [len(r) for r in rows]
    maxlen = max(lengths, default=0) if maxlen is None else check_count(maxlen, "maxlen", 1)
    shapes = {r.shape[1:] for r in rows if len(r)}
    if len(shapes) > 1:
        raise ValueError(
            f"sequences: expected steps of one shape; got steps of shapes {sorted(shapes)}"
        )
    sample_shape = shapes.pop() if shapes else ()
    out = np.full((len(rows), maxlen, *sample_shape), value, dtype=dtype)
    for i, row in enumerate(rows):
        kept = row[-maxlen:] if truncating == "pre" else row[:maxlen]
        if len(kept):
            start = maxlen - len(kept) if padding == "pre" else 0
            out[i, start : start + len(kept)] = kept
    return out


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms left as zero), as
    ``keras.utils.normalize``."""
    x = np.asarray(x, dtype=np.float64 if np.asarray(x).dtype.kind in "iub" else None)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)
