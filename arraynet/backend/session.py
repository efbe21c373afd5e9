"""The session: Keras's automatic object names and ``clear_session``.

Layers and models get Keras 3's names when none is given: the class name in snake case,
then ``_1``, ``_2``, ... for the next ones of that name in the session ("dense",
"dense_1", ...). :func:`clear_session` starts the counts again and clears what modules
registered with :func:`on_clear_session` (the compiled runners, say), as
``keras.backend.clear_session()`` does.
"""

from __future__ import annotations

import gc
import re
import threading
from collections import defaultdict

_LOCK = threading.Lock()
_COUNTS: defaultdict[str, int] = defaultdict(int)
_ON_CLEAR: list = []


def to_snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: "Dense" -> "dense", "Conv2D" -> "conv2d",
    "BatchNormalization" -> "batch_normalization", "LeakyReLU" -> "leaky_re_lu"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name(class_name: str) -> str:
    """The next name for an object of ``class_name``: its snake case the first time, then
    with ``_1``, ``_2``, ... appended (Keras's ``auto_name``)."""
    prefix = to_snake_case(class_name)
    with _LOCK:
        count = _COUNTS[prefix]
        _COUNTS[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def on_clear_session(clear) -> None:
    """Have :func:`clear_session` call ``clear()`` (once per function registered)."""
    with _LOCK:
        if clear not in _ON_CLEAR:
            _ON_CLEAR.append(clear)


def clear_session(free_memory: bool = True) -> None:
    """Reset the automatic names (the next Dense is "dense" again) and clear the caches
    registered here (compiled runners); ``free_memory`` also runs the garbage collector.

    Models and layers made before keep their names and weights: as in Keras, this only
    frees what the session holds globally."""
    with _LOCK:
        _COUNTS.clear()
        clears = list(_ON_CLEAR)
    for clear in clears:
        clear()
    if free_memory:
        gc.collect()
