"""Direct calls: Keras-style functions called on arrays outside a model.

``an.activations.relu(x)``, ``an.losses.mean_squared_error(y_true, y_pred)`` and
``an.metrics.binary_accuracy(y_true, y_pred)`` compute on the selected backend:
:func:`on_backend` gives its namespace and the arguments as its arrays (arrays of that
library are used as they are; lists, scalars, NumPy and other libraries' arrays are copied
in, as float in the backend's dtype unless they are already arrays of the backend).
"""

from __future__ import annotations

from .select import current_backend
from .transfer import host_array


def on_backend(*arrays):
    """``(xp, arrays)``: the selected backend's namespace and ``arrays`` as its arrays."""
    backend = current_backend()
    moved = tuple(a if backend.owns(a) else backend.asarray(host_array(a)) for a in arrays)
    return backend.xp, moved
