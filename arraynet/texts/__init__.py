"""Small texts shipped with arraynet, for character-level models (``examples/char_model.py``).

``public_domain``: about 5 KB of English in the public domain, ASCII: the opening of the US
Declaration of Independence (1776), Lincoln's Gettysburg Address (1863, the Bliss copy),
Shakespeare's Sonnet 18 (1609) and Lewis Carroll's "Jabberwocky" (1871).

``load(name)`` reads one as a string (``importlib.resources``: it works from an installed
wheel as from the source tree); ``encode(text)`` gives its characters as indices into a
sorted vocabulary.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

TEXTS = ("public_domain",)


def load(name: str = "public_domain") -> str:
    """The text ``name`` (one of ``TEXTS``)."""
    if name not in TEXTS:
        raise ValueError(f"name: expected one of {', '.join(TEXTS)}; got {name!r}")
    return resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="ascii")


def encode(text: str) -> tuple[np.ndarray, str]:
    """``(indices, vocabulary)``: each character's index (int64) into ``vocabulary``, the
    text's distinct characters sorted."""
    vocabulary = "".join(sorted(set(text)))
    lookup = {c: i for i, c in enumerate(vocabulary)}
    return np.array([lookup[c] for c in text], dtype=np.int64), vocabulary


def windows(indices: np.ndarray, length: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: every ``length``-character window starting at a multiple of ``step`` and
    the character that follows it (X of shape (windows, length))."""
    starts = np.arange(0, len(indices) - length, step)
    X = indices[starts[:, None] + np.arange(length)]
    return X, indices[starts + length]
