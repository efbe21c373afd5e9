"""A graph with its loss and dtype policy: the forward, loss and hand-written gradients.

Pure functions of ``(xp, weights, X, Y, noise)``; ``weights`` is the model's flat tuple.
A loss whose ``fuses_with`` names the output layer's activation takes its delta at that
layer's pre-activation (log-sum-exp: the book's ``P - Y`` without dividing by a saturated
derivative). Under a mixed-precision :class:`~arraynet.precision.Policy` the layers run
in the 16-bit compute dtype and the loss in float32.

Several inputs or outputs travel packed (``graph.pack``): ``X`` is one ``(rows, total)``
array holding every input flattened side by side, ``P`` and ``Y`` likewise for the
outputs, so the data intake, batching, shuffling and JAX's compiled loops see one array;
the network unpacks them around the graph (a loss over several outputs is
``models/multi_io.py``'s ``MultiLoss``, on the packed arrays).
"""

from __future__ import annotations

from ..precision import FULL, Policy
from .graph import Graph, pack, unpack


def _first(flags):
    return flags[0] if isinstance(flags, tuple) else flags


class Network:
    """``graph`` with its ``loss`` (None before compile) and dtype ``policy``."""

    def __init__(self, graph: Graph, loss=None, policy: Policy = FULL):
        self.graph, self.loss, self.policy = graph, loss, policy
        self.compute = policy.compute
        activation = graph.output_layer.activation
        self.fused = bool(
            loss
            and activation
            and loss.fuses_with == activation.name
            and graph.output not in graph.consumed  # no other delta arrives there
        )
        # a loss over several outputs (``MultiLoss``) says which of them fuse
        flags = getattr(loss, "fused_outputs", None) if loss is not None else None
        self.fused_outputs = tuple(flags) if flags and any(flags) else None
        # nodes whose layer penalizes its output (Keras's activity_regularizer)
        self.activity = tuple(
            (k, graph.layers[n.layer])
            for k, n in enumerate(graph.nodes)
            if graph.layers[n.layer].activity_penalized
        )

    @property
    def layers(self):
        return self.graph.layers

    def on(self, backend) -> Network:
        """This network with the policy ``backend`` can run (see ``Policy.on``)."""
        policy = self.policy.on(backend)
        return self if policy is self.policy else Network(self.graph, self.loss, policy)

    def forward(self, xp, weights, X, noise=None, training: bool = False):
        """``(P, caches)``; under mixed precision the layers compute low, ``P`` comes back up."""
        if self.compute is None:
            return self._graph_forward(xp, weights, X, noise, training)
        low = self.policy.low
        noise = low(xp, noise) if noise else noise
        P, caches = self._graph_forward(xp, low(xp, weights), low(xp, (X,))[0], noise, training)
        return self.policy.high(xp, (P,), X)[0], caches

    def _graph_forward(self, xp, weights, X, noise, training):
        """The graph's forward, several inputs unpacked and several outputs packed."""
        graph = self.graph
        if graph.n_inputs > 1:
            X = unpack(xp, X, graph.built_input_shapes)
        P, caches = graph.forward(xp, weights, X, noise, training)
        return (P if graph.single_output else pack(xp, P)), caches

    def _backward(self, xp, weights, caches, delta, at_Z):
        """The graph's backward from the (packed) delta at the output(s); ``at_Z``: one
        flag, or one per output."""
        graph = self.graph
        if graph.single_output:
            return graph.backward(xp, weights, caches, delta, bool(_first(at_Z)))
        delta = unpack(xp, delta, graph.output_shapes)
        at_Z = at_Z if isinstance(at_Z, tuple) else (at_Z,) * len(delta)
        return graph.backward(xp, weights, caches, delta, at_Z)

    def _fused_parts(self, xp, P, caches, Y):
        """The loss over several outputs, each fused one taking its delta at its layer's
        pre-activation: ``(value, packed delta, flags)``."""
        graph, single = self.graph, self.graph.single_output
        Ps = (P,) if single else unpack(xp, P, graph.output_shapes)
        Zs, As = [], []
        for fused, k, Pi in zip(self.fused_outputs, graph.output_nodes, Ps):
            Z = A = Pi
            if fused:
                Z, A = graph.layers[graph.nodes[k].layer].pre_activation(caches[k])
                if self.compute is not None:
                    Z, A = self.policy.high(xp, (Z, A), Y)
            Zs.append(Z)
            As.append(A)
        joined = (lambda arrays: arrays[0]) if single else (lambda arrays: pack(xp, arrays))
        value, delta = self.loss.fused(xp, joined(Zs), joined(As), Y)
        return value, delta, self.fused_outputs

    def predict(self, xp, weights, X):
        return self.forward(xp, weights, X)[0]

    def forward_training(self, xp, weights, X, noise):
        """``(P, weights)``: a training forward (``noise`` on, batch statistics) and the
        weights with each updating layer's new state (Keras's ``model(x, training=True)``)."""
        P, caches = self.forward(xp, weights, X, noise, training=True)
        graph = self.graph
        if not graph.has_state:
            return P, weights
        states = graph.next_states(xp, weights, caches)
        if self.compute is not None:  # state kept in the master dtype
            states = [self.policy.high(xp, s, X) for s in states]
        return P, graph.merge(graph.trainable(weights), states, weights)

    def _loss(self, xp, P, caches, Y):
        """``(value, delta, delta_is_at_preactivation)`` for the output (the flag one per
        output where a loss over several outputs fuses some)."""
        if self.fused_outputs is not None:
            return self._fused_parts(xp, P, caches, Y)
        if self.fused:
            graph = self.graph
            Z, A = graph.output_layer.pre_activation(caches[graph.output_node])
            if self.compute is not None:
                Z, A = self.policy.high(xp, (Z, A), Y)
            value, dZ = self.loss.fused(xp, Z, A, Y)
            return value, dZ, True
        value, dP = self.loss(xp, P, Y)
        return value, dP, False

    def loss_value(self, xp, weights, X, Y):
        """``(loss, P)`` at inference (no noise), penalties included."""
        P, caches = self.forward(xp, weights, X)
        value = self._loss(xp, P, caches, Y)[0]
        if self.graph.penalized:
            value = value + self.graph.penalties(xp, weights)
        if self.activity:
            value = value + self._activity_penalties(xp, caches, value)
        return value, P

    def _activity_penalties(self, xp, caches, like):
        """The layers' penalties on their outputs (their gradients are in their backward),
        in the loss's dtype."""
        total = sum(layer.activity_penalty(xp, caches[k]) for k, layer in self.activity)
        return xp.astype(total, like.dtype)

    def loss_and_grads(self, xp, weights, X, Y, noise=None, scale=None, training=True):
        """``(loss, grads, P, states)``: backprop of the deltas, last node first.

        ``grads`` align with the trainable weights; ``P`` is the output before the update;
        ``states`` the stateful layers' new state (training only). ``scale``: the loss scale
        of mixed float16 (the delta is multiplied by it, the grads divided).
        """
        graph = self.graph
        if self.compute is None:
            P, caches = self._graph_forward(xp, weights, X, noise, training)
        else:
            P, caches = self.forward(xp, weights, X, noise, training)
        value, delta, at_Z = self._loss(xp, P, caches, Y)
        if scale is not None:
            delta = delta * scale
        if self.compute is None:
            grads = self._backward(xp, weights, caches, delta, at_Z)
        else:
            low = self.policy.low
            grads = self._backward(xp, low(xp, weights), caches, low(xp, (delta,))[0], at_Z)
            grads = [self.policy.high(xp, g, X) for g in grads]
        if scale is not None:
            grads = [tuple(g / scale for g in layer) for layer in grads]
        if graph.penalized:
            value = value + graph.penalties(xp, weights, grads)
        if self.activity:
            value = value + self._activity_penalties(xp, caches, value)
        states = graph.next_states(xp, weights, caches) if training and graph.has_state else ()
        if states and self.compute is not None:  # state kept in the master dtype
            states = [self.policy.high(xp, s, X) for s in states]
        return value, graph.per_layer_trainable(grads), P, states
