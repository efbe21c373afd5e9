"""Which of a graph's weights train: the flat weights split into the trainable ones (what
the optimizer sees) and the rest (a frozen layer's weights, a layer's moving state), and put
back together after an update."""

from __future__ import annotations

from itertools import chain


class TrainableParts:
    """Mixed into ``Graph``: needs its ``layers``, ``slices`` (each layer's part of the flat
    weights, params then state), ``param_counts`` and ``stateful`` (layers with state)."""

    def freeze(self) -> None:
        """Take which layers train from their ``trainable`` now (at build and at compile,
        as Keras): ``frozen`` layers keep their weights, state included; ``updating``, the
        stateful layers whose state training moves; ``partial``: some weight does not
        train."""
        self.frozen = frozenset(
            i for i, layer in enumerate(self.layers) if not getattr(layer, "trainable", True)
        )
        self.trainable_index = [
            j
            for i, part in enumerate(self.slices)
            if i not in self.frozen
            for j in range(part.start, part.start + self.param_counts[i])
        ]
        self.updating = tuple(i for i in self.stateful if i not in self.frozen)
        self.has_state = bool(self.updating)
        self.partial = bool(self.stateful or self.frozen)

    def trainable(self, weights) -> tuple:
        """The trainable weights of the flat tuple, in order."""
        if not self.partial:
            return tuple(weights)
        return tuple(weights[i] for i in self.trainable_index)

    def per_layer_trainable(self, grads) -> tuple:
        """The flat trainable grads from the per-layer tuples of every layer's."""
        if not self.frozen:
            return tuple(chain.from_iterable(grads))
        return tuple(g for i, layer in enumerate(grads) if i not in self.frozen for g in layer)

    def merge(self, trainable, states, weights) -> tuple:
        """The flat weights from the trainable ones, each updating layer's new state and,
        for the rest, ``weights`` as they were."""
        if not self.partial:
            return tuple(trainable)
        merged, t, s = [], iter(trainable), iter(states)
        for i, count in enumerate(self.param_counts):
            if i in self.frozen:
                merged += list(weights[self.slices[i]])
                continue
            merged += [next(t) for _ in range(count)]
            if i in self.updating:  # every stateful layer that is not frozen
                merged += list(next(s))
        return tuple(merged)
