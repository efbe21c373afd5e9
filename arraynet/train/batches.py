"""What every epochs runner shares: the fit's :class:`Plan`, the reordering of the rows,
and how a call reports its statistics and the update that failed (``failed``)."""

from __future__ import annotations

from typing import NamedTuple

from ..ops import all_finite

NOT_FINITE = -2  # ``failed``: every loss was finite, a weight is not
ROWS_PER_CALL = 1 << 16  # epochs are grouped into calls of about this many rows


class Plan(NamedTuple):
    """How a fit calls its runner: ``grouped`` when several epochs go in one call (no
    callback needs each on time), ``rows`` the most rows a call gets (a stream's largest
    chunk). JAX compiles for them, so that every call of the fit runs the same program."""

    grouped: bool
    rows: int


def gather(xp, X, Y, order, W=None):
    """The rows in ``order`` (None: as they are) of X, Y and the sample weights W."""
    if order is None:
        return (X, Y) if W is None else (X, Y, W)
    taken = (xp.take(X, order, axis=0), xp.take(Y, order, axis=0))
    return taken if W is None else (*taken, xp.take(W, order, axis=0))


def flag(summed, k: int) -> bool:
    """Whether statistic ``k`` is summed (a streaming metric's state), not averaged."""
    return k < len(summed) and summed[k]


def failed_at(xp, alive, good, params, checked: bool):
    """The call's ``failed`` on the device: -1, the failed update's index, or
    ``NOT_FINITE`` (every loss finite, a weight not: only where ``checked`` is False)."""
    failed = xp.where(alive, -1, good)
    if checked:
        return failed
    return xp.where(all_finite(xp, params), failed, NOT_FINITE)


def host_failed(xp, failed: int, params) -> int:
    """``failed_at`` for weights in host memory."""
    return failed if bool(all_finite(xp, params)) else NOT_FINITE


def epoch_columns(xp, means, summed=()):
    """Per statistic, the list of the epochs' means, summed states stacked (None if no
    epoch ended)."""
    if not means:
        return None
    columns = zip(*means)
    return tuple(xp.stack(c) if flag(summed, k) else list(c) for k, c in enumerate(columns))


def epochs_per_call(rows: int, remaining: int, timely: bool) -> int:
    """How many epochs one runner call trains: 1 where callbacks need each epoch on time,
    else enough to amortise the call (and, on JAX, its dispatch)."""
    if timely:
        return 1
    return max(1, min(remaining, ROWS_PER_CALL // rows))
