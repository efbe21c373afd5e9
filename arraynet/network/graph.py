"""A graph of layer nodes: shapes, forward in topological order, backward in reverse.

Values are numbered: 0 is the model's input, ``k + 1`` the output of node ``k``. A node
calls one layer on one value (or a list of values, for layers that take several); a layer
may be called by several nodes (shared weights: their gradients add up), and a value used
by several nodes gets the sum of their deltas. A chain (``Graph.chain``) is one case.

The weights travel as one flat tuple: layer by layer, each layer's params then its state.
"""

from __future__ import annotations

from typing import NamedTuple

from ..layers.base import INFERENCE, Context


class Node(NamedTuple):
    layer: int  # index into ``Graph.layers``
    inputs: tuple  # value ids


class Graph:
    """Layers wired as nodes; ``build(input_shape)`` fixes the shapes and the weight slices."""

    def __init__(self, layers, nodes, output: int):
        self.layers, self.nodes, self.output = tuple(layers), tuple(nodes), output
        for k, node in enumerate(self.nodes):
            if not node.inputs or any(not 0 <= i <= k for i in node.inputs):
                raise ValueError(f"node {k}: expected inputs among values 0..{k}; got {node}")
        self.input_shape, self.has_state = None, False
        # a chain: node k calls layer k on value k (fast paths below, same math)
        self.is_chain = all(n.layer == k and n.inputs == (k,) for k, n in enumerate(self.nodes))
        self.noise_nodes = tuple(
            k for k, n in enumerate(self.nodes) if self.layers[n.layer].draws_noise
        )
        self.penalized = tuple(i for i, layer in enumerate(self.layers) if layer.penalized)
        self.output_node = max(k for k, n in enumerate(self.nodes) if k + 1 == output)
        self._forward_ctx = Context(training=True)
        self._backward_ctx = [
            Context(True, None, any(i != 0 for i in n.inputs)) for n in self.nodes
        ]

    @classmethod
    def chain(cls, layers) -> Graph:
        layers = tuple(layers)
        return cls(layers, [Node(i, (i,)) for i in range(len(layers))], len(layers))

    @property
    def output_layer(self):
        return self.layers[self.nodes[self.output_node].layer]

    # -- shapes and weights ---------------------------------------------------------------

    def value_shapes(self, input_shape: tuple) -> list[tuple]:
        """Every value's per-example shape for inputs of ``input_shape`` (ValueError if a
        layer cannot take its input)."""
        shapes = [tuple(input_shape)]
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
        """Per layer, ``(params, states)``: the weights it declares."""
        return [
            (layer.params(shape), layer.states(shape))
            for layer, shape in zip(self.layers, self.layer_input_shapes(input_shape))
        ]

    def weight_shapes(self, input_shape: tuple) -> list[tuple]:
        return [p.shape for params, states in self.specs(input_shape) for p in params + states]

    def build(self, input_shape: tuple) -> list:
        """Fix the input shape; returns the flat list of weight specs (params then state,
        layer by layer)."""
        specs = self.specs(input_shape)
        self.input_shape = tuple(input_shape)
        self.slices, self.trainable_index, start = [], [], 0
        self.param_counts = [len(params) for params, _ in specs]
        for params, states in specs:
            self.slices.append(slice(start, start + len(params) + len(states)))
            self.trainable_index += range(start, start + len(params))
            start += len(params) + len(states)
        self.stateful = tuple(i for i, (_, states) in enumerate(specs) if states)
        self.has_state = bool(self.stateful)
        self._plan = [  # per node: what its forward and backward look up, looked up once
            (self.layers[n.layer], self.slices[n.layer], self._backward_ctx[k])
            for k, n in enumerate(self.nodes)
        ]
        return [p for params, states in specs for p in params + states]

    def trainable(self, weights) -> tuple:
        """The trainable weights of the flat tuple, in order."""
        if not self.has_state:
            return tuple(weights)
        return tuple(weights[i] for i in self.trainable_index)

    def merge(self, trainable, states) -> tuple:
        """The flat weights from the trainable ones and each stateful layer's new state."""
        if not self.has_state:
            return tuple(trainable)
        merged, t, s = [], iter(trainable), iter(states)
        for i, count in enumerate(self.param_counts):
            merged += [next(t) for _ in range(count)]
            if i in self.stateful:
                merged += list(next(s))
        return tuple(merged)

    # -- math -------------------------------------------------------------------------------

    def forward(self, xp, weights, X, noise=None, training: bool = False):
        """``(Y, caches)``; ``noise``: one array per noise-drawing node (training only)."""
        if self.is_chain and not noise:
            ctx, caches = self._ctx(training), []
            for layer, part, _ in self._plan:
                X, cache = layer.forward(xp, weights[part], X, ctx)
                caches.append(cache)
            return X, caches
        values, caches = [X], []
        noise = dict(zip(self.noise_nodes, noise)) if noise else {}
        for k, node in enumerate(self.nodes):
            ins = node.inputs
            X = values[ins[0]] if len(ins) == 1 else [values[i] for i in ins]
            ctx = Context(True, noise[k]) if k in noise else self._ctx(training)
            Y, cache = self.layers[node.layer].forward(xp, weights[self.slices[node.layer]], X, ctx)
            values.append(Y)
            caches.append(cache)
        return values[self.output], caches

    def check_input(self, xp, X, argument: str = "X") -> None:
        """Let each layer that reads the model's input refuse values it cannot take."""
        for node in self.nodes:
            if 0 in node.inputs:
                self.layers[node.layer].check_input(xp, X, argument)

    def _ctx(self, training: bool) -> Context:
        return self._forward_ctx if training else INFERENCE

    def next_states(self, xp, weights, caches) -> list[tuple]:
        """Each stateful layer's new state after a training forward (its last call's)."""
        last = {node.layer: k for k, node in enumerate(self.nodes)}
        return [
            self.layers[i].next_state(xp, weights[self.slices[i]], caches[last[i]])
            for i in self.stateful
        ]

    def backward(self, xp, weights, caches, delta, at_preactivation: bool = False) -> list:
        """Each layer's grads (a tuple per layer), from the delta at the output (at its
        layer's pre-activation if ``at_preactivation``)."""
        if self.is_chain:
            return self._chain_backward(xp, weights, caches, delta, at_preactivation)
        grads = [None] * len(self.layers)
        deltas = {self.output: delta}
        for k in reversed(range(len(self.nodes))):
            dY = deltas.pop(k + 1, None)
            node = self.nodes[k]
            if dY is None:  # a value nothing downstream uses
                continue
            layer, part = self.layers[node.layer], weights[self.slices[node.layer]]
            ctx = self._backward_ctx[k]
            if at_preactivation and k == self.output_node:
                dX, g = layer.backward_from_preactivation(xp, part, caches[k], dY, ctx)
            else:
                dX, g = layer.backward(xp, part, caches[k], dY, ctx)
            i = node.layer
            grads[i] = g if grads[i] is None else tuple(a + b for a, b in zip(grads[i], g))
            if ctx.need_dX:
                self._pass_back(deltas, node.inputs, dX)
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

    @staticmethod
    def _pass_back(deltas: dict, inputs: tuple, dX) -> None:
        dXs = (dX,) if len(inputs) == 1 else dX
        for i, d in zip(inputs, dXs):
            if i != 0:
                deltas[i] = deltas[i] + d if i in deltas else d

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
