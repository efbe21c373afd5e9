"""A graph of layer nodes: shapes, forward in topological order, backward in reverse.

Values are numbered: ``0 .. m-1`` are the model's ``m`` inputs, ``m + k`` the output of
node ``k``. A node calls one layer on one value (or a list of values, for layers that take
several); a layer may be called by several nodes (shared weights: their gradients add up),
and a value used by several nodes gets the sum of their deltas. A layer of several outputs
(``return_state``) makes a value that is a list, read by ``OutputPart`` nodes, one per
output; its delta is a list too (None for an output nothing read). The model's outputs are
values too (``outputs``). With one input, the inputs and input shapes are a plain array
and shape; with several, tuples of them (one per input, in order); likewise the outputs
and their deltas. A chain (``Graph.chain``: one input, node ``k`` calling layer ``k`` on
value ``k``, one output) is one case, with a fast path for the same math.

The weights travel as one flat tuple: layer by layer, each layer's params then its state.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..layers.base import INFERENCE, Context
from .masks import masked_values
from .parts import TrainableParts


def pack(xp, arrays):
    """Arrays of the same rows as one ``(rows, total)`` array: each flattened per row, side
    by side (how several inputs or outputs travel through the training loops)."""
    return xp.concat([xp.reshape(a, (a.shape[0], -1)) for a in arrays], axis=1)


def unpack(xp, packed, shapes) -> tuple:
    """The arrays :func:`pack` joined, of per-example ``shapes``."""
    parts, start = [], 0
    for shape in shapes:
        stop = start + math.prod(shape)
        parts.append(xp.reshape(packed[:, start:stop], (packed.shape[0], *shape)))
        start = stop
    return tuple(parts)


class Node(NamedTuple):
    layer: int  # index into ``Graph.layers``
    inputs: tuple  # value ids


class Graph(TrainableParts):
    """Layers wired as nodes; ``build(input_shape)`` fixes the shapes and the weight slices."""

    def __init__(self, layers, nodes, outputs, inputs: int = 1):
        self.layers, self.nodes, self.n_inputs = tuple(layers), tuple(nodes), inputs
        m = inputs
        for k, node in enumerate(self.nodes):
            if not node.inputs or any(not 0 <= i < m + k for i in node.inputs):
                raise ValueError(
                    f"node {k}: expected inputs among values 0..{m + k - 1}; got {node}"
                )
        self.single_output = isinstance(outputs, int)
        self.outputs = (outputs,) if self.single_output else tuple(outputs)
        if not self.outputs or any(not m <= o < m + len(self.nodes) for o in self.outputs):
            raise ValueError(
                f"outputs: expected node outputs among values {m}..{m + len(self.nodes) - 1}; "
                f"got {self.outputs}"
            )
        self.output = self.outputs[0]  # the (first) output
        self.output_nodes = tuple(o - m for o in self.outputs)
        self.output_node = self.output_nodes[0]
        self.input_shape, self.has_state, self.masked = None, False, ()
        # a chain: node k calls layer k on value k (fast paths below, same math)
        self.is_chain = (
            m == 1
            and self.single_output
            and self.output == len(self.nodes)
            and all(n.layer == k and n.inputs == (k,) for k, n in enumerate(self.nodes))
        )
        self.noise_nodes = tuple(
            k for k, n in enumerate(self.nodes) if self.layers[n.layer].draws_noise
        )
        self.penalized = tuple(i for i, layer in enumerate(self.layers) if layer.penalized)
        # values some node reads (an output read by a node cannot take a fused delta)
        self.consumed = frozenset(i for n in self.nodes for i in n.inputs)
        self._forward_ctx = Context(training=True)
        self._backward_ctx = [
            Context(True, None, any(i >= m for i in n.inputs)) for n in self.nodes
        ]

    @classmethod
    def chain(cls, layers) -> Graph:
        """Each layer feeding the next (a ``Sequential``)."""
        layers = tuple(layers)
        return cls(layers, [Node(i, (i,)) for i in range(len(layers))], len(layers))

    @property
    def output_layer(self):
        return self.layers[self.nodes[self.output_node].layer]

    @property
    def output_layers(self) -> tuple:
        return tuple(self.layers[self.nodes[k].layer] for k in self.output_nodes)

    def input_shapes(self, input_shape) -> list[tuple]:
        """The shape of each input, from the one shape (one input) or the tuple of them."""
        if self.n_inputs == 1:
            return [tuple(input_shape)]
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) != self.n_inputs:
            raise ValueError(
                f"input_shape: expected {self.n_inputs} shapes, one per input; got {input_shape!r}"
            )
        return [tuple(s) for s in input_shape]

    def outputs_of(self, values: list):
        """The outputs among ``values`` (one value, or a tuple of them)."""
        if self.single_output:
            return values[self.output]
        return tuple(values[o] for o in self.outputs)

    # -- shapes and weights ---------------------------------------------------------------

    def value_shapes(self, input_shape) -> list[tuple]:
        """Every value's per-example shape for inputs of ``input_shape`` (ValueError if a
        layer cannot take its input)."""
        shapes = self.input_shapes(input_shape)
        for node in self.nodes:
            ins = [shapes[i] for i in node.inputs]
            shapes.append(tuple(self.layers[node.layer].output_shape(*ins)))
        return shapes

    def layer_input_shapes(self, input_shape: tuple) -> list[tuple]:
        """The input shape of each layer's first call."""
        shapes, found = self.value_shapes(input_shape), {}
        for node in self.nodes:
            found.setdefault(node.layer, shapes[node.inputs[0]])
        return [found[i] for i in range(len(self.layers))]

    def specs(self, input_shape: tuple) -> list[tuple[list, list]]:
        """Per layer, ``(params, states)``: the weights it declares (ValueError where a
        weight's shape would depend on an input axis of unknown size, None)."""
        specs = []
        for layer, shape in zip(self.layers, self.layer_input_shapes(input_shape)):
            params, states = layer.params(shape), layer.states(shape)
            unknown = [p.name for p in params + states if None in p.shape]
            if unknown:
                raise ValueError(
                    f"{type(layer).__name__} '{layer.name}': expected the input axes its "
                    f"weights ({', '.join(unknown)}) are sized by to be known; got per-example "
                    f"input shape {tuple(shape)} (None: any size)"
                )
            specs.append((params, states))
        return specs

    def weight_shapes(self, input_shape: tuple) -> list[tuple]:
        return [p.shape for params, states in self.specs(input_shape) for p in params + states]

    def build(self, input_shape) -> list:
        """Fix the input shape; returns the flat list of weight specs (params then state,
        layer by layer)."""
        specs = self.specs(input_shape)
        shapes = self.input_shapes(input_shape)
        self.input_shape = shapes[0] if self.n_inputs == 1 else tuple(shapes)
        values = self.value_shapes(input_shape)
        self.built_input_shapes = tuple(shapes)
        self.output_shapes = tuple(values[o] for o in self.outputs)
        self.slices, start = [], 0
        self.param_counts = [len(params) for params, _ in specs]
        for params, states in specs:
            self.slices.append(slice(start, start + len(params) + len(states)))
            start += len(params) + len(states)
        self.stateful = tuple(i for i, (_, states) in enumerate(specs) if states)
        self.masked = masked_values(self)
        self.freeze()
        self._plan = [  # per node: what its forward and backward look up, looked up once
            (self.layers[n.layer], self.slices[n.layer], self._backward_ctx[k])
            for k, n in enumerate(self.nodes)
        ]
        return [p for params, states in specs for p in params + states]

    # -- math -------------------------------------------------------------------------------

    def forward(self, xp, weights, X, noise=None, training: bool = False):
        """``(Y, caches)``; ``noise``: one array per noise-drawing node (training only)."""
        if self.is_chain and not noise and not self.masked:
            ctx, caches = self._ctx(training), []
            for layer, part, _ in self._plan:
                X, cache = layer.forward(xp, weights[part], X, ctx)
                caches.append(cache)
            return X, caches
        values, caches = [X] if self.n_inputs == 1 else list(X), []
        noise = dict(zip(self.noise_nodes, noise)) if noise else {}
        masks = [None] * len(values)
        for k, node in enumerate(self.nodes):
            ins, layer = node.inputs, self.layers[node.layer]
            X = values[ins[0]] if len(ins) == 1 else [values[i] for i in ins]
            ctx = Context(True, noise[k]) if k in noise else self._ctx(training)
            mask = masks[ins[0]]
            if self.masked and len(ins) > 1:
                mask = tuple(masks[i] for i in ins)
                ctx = ctx._replace(mask=mask[0], masks=mask)
            elif mask is not None:
                ctx = ctx._replace(mask=mask)
            Y, cache = layer.forward(xp, weights[self.slices[node.layer]], X, ctx)
            masked = self.masked and self.masked[len(values)]
            masks.append(layer.compute_mask(xp, values[ins[0]], mask) if masked else None)
            values.append(Y)
            caches.append(cache)
        return self.outputs_of(values), caches

    def noise_for(self, rng, rows: int, input_shape=None) -> list:
        """Each noise-drawing node's noise for ``rows`` rows of per-example ``input_shape``
        (default: the built one), drawn from ``rng`` on the host."""
        shapes = self.value_shapes(self.input_shape if input_shape is None else input_shape)
        return [
            self.layers[self.nodes[k].layer].noise(rng, rows, shapes[self.nodes[k].inputs[0]])
            for k in self.noise_nodes
        ]

    def check_input(self, xp, X, argument: str = "X") -> None:
        """Let each layer that reads a model input refuse values it cannot take."""
        single = self.n_inputs == 1
        for node in self.nodes:
            for i in node.inputs:
                if i < self.n_inputs:
                    name = argument if single else f"{argument}[{i}]"
                    self.layers[node.layer].check_input(xp, X if single else X[i], name)

    def _ctx(self, training: bool) -> Context:
        return self._forward_ctx if training else INFERENCE

    def next_states(self, xp, weights, caches) -> list[tuple]:
        """Each updating layer's new state after a training forward (its last call's)."""
        last = {node.layer: k for k, node in enumerate(self.nodes)}
        return [
            self.layers[i].next_state(xp, weights[self.slices[i]], caches[last[i]])
            for i in self.updating
        ]

    def backward(self, xp, weights, caches, delta, at_preactivation=False) -> list:
        """Each layer's grads (a tuple per layer), from the delta at the output (at its
        layer's pre-activation if ``at_preactivation``); with several outputs, a tuple of
        deltas and one flag per output (an output some node reads takes no fused delta)."""
        if self.is_chain:
            return self._chain_backward(xp, weights, caches, delta, at_preactivation)
        m = self.n_inputs
        if self.single_output:
            delta, at_preactivation = (delta,), (at_preactivation,)
        grads, deltas, fused = [None] * len(self.layers), {}, set()
        for value, d, at_Z in zip(self.outputs, delta, at_preactivation):
            if at_Z:
                fused.add(value - m)
            deltas[value] = deltas[value] + d if value in deltas else d
        for k in reversed(range(len(self.nodes))):
            dY = deltas.pop(m + k, None)
            node = self.nodes[k]
            if dY is None:  # a value nothing downstream uses
                continue
            layer, part = self.layers[node.layer], weights[self.slices[node.layer]]
            ctx = self._backward_ctx[k]
            if k in fused:
                dX, g = layer.backward_from_preactivation(xp, part, caches[k], dY, ctx)
            else:
                dX, g = layer.backward(xp, part, caches[k], dY, ctx)
            i = node.layer
            grads[i] = g if grads[i] is None else tuple(a + b for a, b in zip(grads[i], g))
            if ctx.need_dX:
                pass_back(deltas, node.inputs, dX, m)
        return [g if g is not None else self._zeros(xp, weights, i) for i, g in enumerate(grads)]

    def _chain_backward(self, xp, weights, caches, delta, at_preactivation: bool) -> list:
        plan, grads = self._plan, [()] * len(self.nodes)
        k = len(plan) - 1
        if at_preactivation:
            layer, part, ctx = plan[k]
            delta, grads[k] = layer.backward_from_preactivation(
                xp, weights[part], caches[k], delta, ctx
            )
            k -= 1
        while k >= 0:
            layer, part, ctx = plan[k]
            delta, grads[k] = layer.backward(xp, weights[part], caches[k], delta, ctx)
            k -= 1
        return grads

    def _zeros(self, xp, weights, i: int) -> tuple:
        part = weights[self.slices[i]]
        return tuple(xp.zeros_like(w) for w in part[: self.param_counts[i]])

    def penalties(self, xp, weights, grads=None):
        """The regularization penalties' sum; their gradients are added into ``grads`` (a
        list of per-layer tuples)."""
        total = 0.0
        for i in self.penalized:
            value, dparams = self.layers[i].penalty(xp, weights[self.slices[i]])
            total = total + value
            if grads is not None:
                grads[i] = tuple(g + dg for g, dg in zip(grads[i], dparams))
        return total


def pass_back(deltas: dict, inputs: tuple, dX, m: int) -> None:
    """Add a node's input delta(s) ``dX`` into ``deltas`` at its input values (not the model's
    ``m`` inputs)."""
    dXs = (dX,) if len(inputs) == 1 else dX
    for i, d in zip(inputs, dXs):
        if i >= m:
            deltas[i] = _added(deltas[i], d) if i in deltas else d


def _added(a, b):
    """Two deltas at one value, summed; a value of several outputs (a layer's, read by its
    ``OutputPart`` nodes) has a list of them, None where nothing read that output."""
    if not isinstance(a, list):
        return a + b
    return [y if x is None else x if y is None else x + y for x, y in zip(a, b)]
