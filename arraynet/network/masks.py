"""Which values of a graph carry a mask (Keras's masking), worked out once per build.

Embedding's ``mask_zero`` and Masking make a mask (``(rows, time)``: True at the steps to
use); the layers that act on each step alone keep it (``supports_masking``); any other
ends it, as in Keras 3, a recurrent layer included (it reads the mask and carries its
states over the unused steps). A node reads its first input's mask (``ctx.mask``), and
with several inputs each one's (``ctx.masks``: the elementwise merges AND them, attention
masks the keys by the value's).
"""

from __future__ import annotations


def masked_values(graph) -> tuple:
    """Per value (inputs, then node outputs), whether it carries a mask; () when none does.
    ValueError for a masked model output: arraynet's losses do not weigh by a mask."""
    masked = [False] * graph.n_inputs
    for node in graph.nodes:
        given = any(masked[i] for i in node.inputs)
        masked.append(graph.layers[node.layer].output_masked(given))
    for value in graph.outputs:
        if masked[value]:
            layer = graph.layers[graph.nodes[value - graph.n_inputs].layer]
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}': expected a model output without a "
                "mask; got one that carries the mask of Embedding(mask_zero=True) or "
                "Masking, which arraynet's losses do not weigh by: end the masked steps with "
                "a layer that reads the mask (a recurrent layer, GlobalAveragePooling1D)"
            )
    return tuple(masked) if any(masked) else ()
