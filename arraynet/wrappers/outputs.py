"""A classifier network's output read as probabilities and decision values, in the output's
own array namespace (NumPy, or the dispatched library's)."""

from __future__ import annotations

import array_api_compat


def probabilities(out, n_classes: int, from_logits: bool):
    """Rows of class probabilities: a width-1 output is P(second class) of two."""
    xp = array_api_compat.array_namespace(out)
    if out.shape[1] == 1 and n_classes == 2:
        p = out[:, 0]
        if from_logits:
            p = 1.0 / (1.0 + xp.exp(-p))
        p = xp.clip(p, 0.0, 1.0)
        return xp.stack([1.0 - p, p], axis=1)
    if from_logits:
        shifted = xp.exp(out - xp.max(out, axis=1, keepdims=True))
        return shifted / xp.sum(shifted, axis=1, keepdims=True)
    return out


def decision_values(out, n_classes: int, from_logits: bool):
    """Log-odds of the second class (two classes, shape (n,)), else per-class logits or
    log-probabilities; positive (or largest) where ``predict`` chooses that class."""
    xp = array_api_compat.array_namespace(out)
    tiny = xp.finfo(out.dtype).smallest_normal
    if out.shape[1] == 1 and n_classes == 2:
        if from_logits:
            return out[:, 0]
        p = xp.clip(out[:, 0], tiny, 1.0 - xp.finfo(out.dtype).eps)
        return xp.log(p) - xp.log(1.0 - p)
    scores = out if from_logits else xp.log(xp.clip(out, tiny, None))
    if n_classes == 2:
        return scores[:, 1] - scores[:, 0]
    return scores
