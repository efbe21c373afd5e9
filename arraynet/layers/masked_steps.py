"""Keras's masking in the recurrent layers' loop over time: unused steps carry the states.

A mask ``used`` ``(time, rows, 1)`` (from Embedding's ``mask_zero`` or Masking) marks the
steps to use. At an unused step the states pass on unchanged (``where(used, new, old)``),
so backward sends its delta straight to the previous states and the step's own math gets
none. The outputs are the carried states, shown from the first used step on (before it
Keras gives zeros, the states still the initial ones), or at the used steps only with
``zero_output_for_mask`` (as Bidirectional sets for sequences).
"""

from __future__ import annotations


def masked_step(xp, step, state_count: int, carry, xs):
    """``step(carry, xw)`` where ``used``, the states carried over elsewhere; ``xs`` is
    ``(xw, used)``. The saved states are the carried ones."""
    xw, used = xs
    new, saved = step(carry, xw)
    kept = tuple(xp.where(used, n, c) for n, c in zip(new, carry))
    return kept, (*kept, *saved[state_count:])


def masked_step_back(xp, step_back, dcarry, used):
    """The backward of :func:`masked_step`: ``step_back(dcarry) -> (dprev, dZ)`` gets the
    deltas of a used step; an unused one's pass to the previous states."""
    share = xp.astype(used, dcarry[0].dtype)
    dprev, dZ = step_back(tuple(d * share for d in dcarry))
    return tuple(p + d * (1.0 - share) for p, d in zip(dprev, dcarry)), dZ


def shown_outputs(xp, H, used, zero_output_for_mask: bool):
    """``(outputs, shown)``: the carried states ``H`` (time, rows, units) times ``shown``
    (1 or 0 per step and row), Keras's outputs (see the module docstring)."""
    shown = xp.astype(used, H.dtype)
    if not zero_output_for_mask:
        shown = xp.astype(xp.cumulative_sum(shown, axis=0) > 0, H.dtype)
    return H * shown, shown
