"""Metrics over confusion counts (Keras's Precision, Recall and AUC): not batch means, so
their state (true/false positive/negative counts, per threshold for AUC) is summed over
the epoch's batches and the value taken once from the sums.

As Keras, a target counts as positive when it is not 0, and every output is a yes/no of
its own (with several output units, all are pooled: Keras's ``multi_label=False``).
"""

from __future__ import annotations

from array_api_compat import device as device_of

from ..activations import sigmoid_of
from ..validation import check_choice, check_count, check_flag
from .base import Metric, check_name, divide_no_nan, rows_kept

KERAS_EPSILON = 1e-7
COMPARED = 1 << 15  # AUC: up to this many (output, threshold) pairs compared, not sorted


def _threshold(value, argument="thresholds") -> float:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"{argument}: expected one threshold (a number); got {value!r}")
        value = value[0]
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{argument}: expected a number in [0, 1]; got {value}")
    return value


class _Confusion(Metric):
    """Counts at one ``threshold``: an output above it is a positive prediction."""

    masks_rows = True

    ARGS = {"thresholds": None, "top_k": None, "class_id": None}

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        if top_k is not None:
            raise ValueError(f"top_k: expected None (not supported); got {top_k!r}")
        self.thresholds = None if thresholds is None else _threshold(thresholds)
        self.top_k = None
        self.class_id = None if class_id is None else check_count(class_id, "class_id")
        self.name = check_name(name, self.default_name)

    def state_shapes(self) -> tuple:
        return ((), ())

    def _counts(self, xp, P, Y, keep=None):
        """``(true positives, false positives, false negatives)`` of this batch (of the
        rows ``keep`` marks)."""
        kept = rows_kept(xp, keep, P)
        if self.class_id is not None:
            P, Y = P[..., self.class_id], Y[..., self.class_id]
            kept = None if kept is None else kept[..., self.class_id]
        threshold = 0.5 if self.thresholds is None else self.thresholds
        predicted, actual = threshold < P, Y != 0
        if kept is not None:
            predicted, actual = predicted & kept, actual & kept
        count = lambda mask: xp.sum(xp.astype(mask, P.dtype))  # noqa: E731
        return count(predicted & actual), count(predicted & ~actual), count(~predicted & actual)


class Precision(_Confusion):
    """``tp / (tp + fp)`` over the epoch (0 when nothing is predicted positive)."""

    default_name = "precision"

    def batch(self, xp, P, Y, keep=None) -> tuple:
        tp, fp, _ = self._counts(xp, P, Y, keep)
        return tp, fp

    def result(self, xp, state):
        tp, fp = state
        return divide_no_nan(xp, tp, tp + fp)


class Recall(_Confusion):
    """``tp / (tp + fn)`` over the epoch (0 when there is no positive target)."""

    default_name = "recall"

    def batch(self, xp, P, Y, keep=None) -> tuple:
        tp, _, fn = self._counts(xp, P, Y, keep)
        return tp, fn

    def result(self, xp, state):
        tp, fn = state
        return divide_no_nan(xp, tp, tp + fn)


class AUC(Metric):
    """Keras's ``AUC``: the area under the ROC (or PR) curve from confusion counts at
    ``num_thresholds`` thresholds (``(i + 1) / (num_thresholds - 1)``, plus -1e-7 and
    1 + 1e-7), summed by ``summation_method`` ("interpolation": trapezoids, or the
    Davis-Goadrich interpolation for PR; "minoring", "majoring"). Outputs are clipped to
    [0, 1] (``from_logits=True``: passed through a sigmoid first).

    A batch's counts come from sorting its outputs (positives and negatives apart) and
    searching the thresholds in them (``searchsorted``): no (rows x thresholds) array, no
    scatter. State: ``(tp, fp, tn, fn)``, each of ``num_thresholds`` entries.
    """

    masks_rows = True
    ARGS = {
        "num_thresholds": 200,
        "curve": "ROC",
        "summation_method": "interpolation",
        "thresholds": None,
        "multi_label": False,
        "num_labels": None,
        "label_weights": None,
        "from_logits": False,
    }

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):  # fmt: skip
        self.curve = check_choice(str(curve).upper(), "curve", ("ROC", "PR"))
        self.summation_method = check_choice(
            summation_method, "summation_method", ("interpolation", "minoring", "majoring")
        )
        if check_flag(multi_label, "multi_label") or num_labels is not None:
            raise ValueError("multi_label: expected False (labels pooled; not supported)")
        if label_weights is not None:
            raise ValueError("label_weights: expected None (not supported)")
        self.multi_label, self.num_labels, self.label_weights = False, None, None
        self.from_logits = check_flag(from_logits, "from_logits")
        if thresholds is not None:
            inner = sorted(_threshold(t) for t in thresholds)
            self.thresholds = list(inner)
        else:
            count = check_count(num_thresholds, "num_thresholds", minimum=2)
            inner = [(i + 1) / (count - 1) for i in range(count - 2)]
            self.thresholds = None
        self.values = [0.0 - KERAS_EPSILON, *inner, 1.0 + KERAS_EPSILON]
        self.num_thresholds = len(self.values)
        self.name = check_name(name, "auc")

    def state_shapes(self) -> tuple:
        return ((self.num_thresholds,),) * 4

    def batch(self, xp, P, Y, keep=None) -> tuple:
        p = xp.reshape(P, (-1,))
        if self.from_logits:
            p = sigmoid_of(xp, p)
        p = xp.clip(p, 0.0, 1.0)
        actual = xp.reshape(Y, (-1,)) != 0
        negative = ~actual
        if keep is not None:  # rows left out are neither positive nor negative
            kept = xp.reshape(rows_kept(xp, keep, P), (-1,))
            actual, negative = actual & kept, negative & kept
        n_positive = xp.sum(xp.astype(actual, P.dtype))
        n_negative = xp.sum(xp.astype(negative, P.dtype))
        # beside the sums (rows split over a mesh: the thresholds replicated)
        thresholds = xp.asarray(self.values, dtype=P.dtype, device=device_of(n_positive))
        if p.shape[0] * self.num_thresholds <= COMPARED:  # a small batch: compare them all
            above = xp.astype(thresholds[:, None] < p[None, :], P.dtype)
            tp = xp.sum(above * xp.astype(actual, P.dtype), axis=1)
            fp = xp.sum(above * xp.astype(negative, P.dtype), axis=1)
            return tp, fp, n_negative - fp, n_positive - tp
        beyond = xp.full_like(p, 2.0)  # above every threshold: never counted below one
        positives = xp.sort(xp.where(actual, p, beyond))
        negatives = xp.sort(xp.where(negative, p, beyond))
        fn = xp.astype(xp.searchsorted(positives, thresholds, side="right"), P.dtype)
        tn = xp.astype(xp.searchsorted(negatives, thresholds, side="right"), P.dtype)
        return n_positive - fn, n_negative - tn, tn, fn

    def result(self, xp, state):
        tp, fp, tn, fn = state
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr(xp, tp, fp, fn)
        recall = divide_no_nan(xp, tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(xp, fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(xp, tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = xp.minimum(y[:-1], y[1:])
        else:
            heights = xp.maximum(y[:-1], y[1:])
        return xp.sum((x[:-1] - x[1:]) * heights)

    def _interpolated_pr(self, xp, tp, fp, fn):
        """Keras's ``interpolate_pr_auc`` (Davis & Goadrich 2006, in closed form)."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(xp, dtp, xp.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = xp.where(
            both, divide_no_nan(xp, p[:-1], xp.maximum(p[1:], 0.0)), xp.ones_like(p[1:])
        )
        increments = divide_no_nan(
            xp, slope * (dtp + intercept * xp.log(ratio)), xp.maximum(tp[1:] + fn[1:], 0.0)
        )
        return xp.sum(increments)
