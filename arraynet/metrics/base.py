"""The metric protocol: additive device state, read once per epoch.

A metric keeps its running value as a tuple of arrays on the device (its *state*), which
only ever adds up, batch after batch, and gives its value from that state at the end::

    state = metric.init(xp, dtype, device)      # zeros, shapes metric.state_shapes()
    part = metric.batch(xp, P, Y)               # this batch's contribution (sums, counts)
    state = metric.update(xp, state, part)      # state + part
    value = metric.result(xp, state)            # a 0-d array; read back once per epoch

``batch(xp, P, Y)`` gives a batch's statistics (sums over its rows: per-sample values and
their count, confusion counts, squared errors), so states also add across batches, chunks,
devices and calls. A metric whose ``masks_rows`` is True also takes ``batch(xp, P, Y,
keep)``, counting only the rows the boolean ``keep`` marks (the padded short batch of the
compiled JAX epoch); for any other the loop takes each row's contribution apart
(``jax.vmap``) and adds the kept ones. ``Y`` arrives as the model's targets (class labels
one-hot encoded for a loss that takes them).

Mean metrics (``streaming = False``: the accuracies, mean squared and absolute errors,
Keras's loss functions as metrics) are means of per-sample values, and calling one,
``metric(xp, P, Y)``, gives the batch mean: the training step reports that one value and
the loops average it weighted by batch size (``train/loops.py``, ``jax_loop.py``), no
dearer than a plain mean. The others (``streaming = True``: AUC, Precision, Recall,
RootMeanSquaredError) are no mean of batch values, so calling one raises: the step reports
their ``batch`` contribution, the loop sums it over the epoch on the device, and the
trainer takes ``result`` once per epoch (``train/step.py``'s ``Scores``). ``evaluate`` uses
``init``/``update``/``result`` for every metric, over all rows.
"""

from __future__ import annotations


class Metric:
    """The base of every metric (see the module docstring)."""

    name = ""
    streaming = True
    masks_rows = False  # batch(xp, P, Y, keep) counts only the rows keep marks
    ARGS: dict = {}  # Keras's arguments -> defaults (``name`` aside), stored as attributes

    def state_shapes(self) -> tuple:
        raise NotImplementedError

    def init(self, xp, dtype, device=None) -> tuple:
        """Zeros in the float ``dtype`` (counts too: exact up to 2**24 in float32, beyond
        that rounded by at most 6e-8 relative per batch added)."""
        return tuple(xp.zeros(shape, dtype=dtype, device=device) for shape in self.state_shapes())

    def batch(self, xp, P, Y) -> tuple:
        raise NotImplementedError

    def update(self, xp, state, contribution) -> tuple:
        """``state`` plus a batch's ``contribution`` (what :meth:`batch` gave)."""
        return tuple(s + xp.astype(b, s.dtype) for s, b in zip(state, contribution))

    def result(self, xp, state):
        raise NotImplementedError

    def __call__(self, xp, P, Y):
        if self.streaming:
            raise TypeError(
                f"metric {self.name!r} is no mean of batch values: a training loop must carry "
                "its state (init/update, once per batch) and take its result once per epoch "
                "(see arraynet/metrics/base.py)"
            )
        return self.result(xp, self.batch(xp, P, Y))

    def get_config(self) -> dict:
        return {"name": self.name, **{arg: getattr(self, arg) for arg in self.ARGS}}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"<metric {type(self).__name__}({args})>"


class MeanMetric(Metric):
    """The mean of per-sample values ``values(xp, P, Y)`` (shape ``P.shape[:-1]``); state:
    their sum and their count."""

    streaming = False

    def values(self, xp, P, Y):
        raise NotImplementedError

    def state_shapes(self) -> tuple:
        return ((), ())

    def batch(self, xp, P, Y) -> tuple:
        V = self.values(xp, P, Y)
        count = 1
        for d in V.shape:
            count *= d
        total = xp.sum(V)  # the count made beside it (rows split over a mesh: replicated)
        return total, xp.full_like(total, float(count))

    def result(self, xp, state):
        total, count = state
        return total / count

    def __call__(self, xp, P, Y):
        """The batch mean."""
        return xp.mean(self.values(xp, P, Y))


def rows_kept(xp, keep, like):
    """The rows mask ``keep`` (shape ``(rows,)``, None: every row) broadcast to ``like``'s
    shape (None stays None)."""
    if keep is None:
        return None
    return xp.broadcast_to(xp.reshape(keep, (-1,) + (1,) * (like.ndim - 1)), like.shape)


def divide_no_nan(xp, a, b):
    """``a / b``, 0 where ``b`` is 0 (Keras's ``divide_no_nan``)."""
    nonzero = b != 0
    return xp.where(nonzero, a / xp.where(nonzero, b, xp.ones_like(b)), xp.zeros_like(a))


def check_name(name, default: str) -> str:
    if name is None:
        return default
    if not isinstance(name, str) or not name:
        raise TypeError(f"name: expected a non-empty string; got {name!r}")
    return name
