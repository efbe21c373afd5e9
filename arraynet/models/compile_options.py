"""What ``compile`` takes besides the loss, optimizer, metrics and precision: Keras 3's
arguments, and which of two positional orders a call used; and ``CompiledMixin``, what a
model reads of its compile settings (checks, the learning rate, Keras's flags).

``compile``'s signature is Keras's, ``compile(optimizer, loss, ...)``, so that
``compile(Adam(1e-3), loss="mse")`` works. arraynet's earlier positional order, the loss
first (``compile("mse", "adam")``, ``compile("mse")``), is still read: loss and optimizer
names never coincide, so what the arguments are tells which is which. Defaults: the loss
``"squared_error"`` (the book's), the optimizer ``"sgd"``. Keras's other arguments:

- ``run_eagerly=True`` or ``jit_compile=False``: on JAX, ``fit`` runs its step op by op
  (no ``jax.jit``), so that a custom layer or loss can be stepped through; the other
  backends always run op by op. Default: JAX compiles whole epochs.
- ``steps_per_execution``: accepted (an int >= 1); JAX already runs a whole epoch per call.
- ``auto_scale_loss``: with ``precision="mixed_float16"``, whether the loss is scaled
  dynamically (Keras's default True); no effect otherwise.
- ``weighted_metrics``: refused unless empty (metrics are not weighted by sample weights).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import losses, optimizers
from ..validation import check_count, check_flag

JIT_CHOICES = ("auto", True, False)


def is_optimizer(value) -> bool:
    """Whether ``value`` names or is an optimizer (as ``compile`` takes one)."""
    if isinstance(value, optimizers.Optimizer):
        return True
    if isinstance(value, type) and issubclass(value, optimizers.Optimizer):
        return True
    return isinstance(value, str) and value.lower() in optimizers.OPTIMIZERS


class NotGiven:
    """compile's default for the optimizer and the loss: "sgd" and "squared_error"."""

    def __repr__(self) -> str:
        return "default"


DEFAULT = NotGiven()


def is_loss(value) -> bool:
    """Whether ``value`` is a loss as ``compile`` takes one (a name, a Loss, one per output
    in a list or a dict by output name)."""
    if isinstance(value, (list, tuple)):
        return bool(value) and all(v is None or is_loss(v) for v in value)
    if isinstance(value, dict) and not {"name", "class_name"} & set(value):
        return bool(value) and all(v is None or is_loss(v) for v in value.values())
    try:
        losses.get(value)
    except (ValueError, TypeError):
        return False
    return True


def loss_and_optimizer(optimizer, loss) -> tuple:
    """``(loss, optimizer)`` from compile's first two arguments (``DEFAULT``: not given),
    in Keras's order or, positionally, arraynet's (see the module docstring)."""
    if is_optimizer(loss) and optimizer is not DEFAULT and not is_optimizer(optimizer):
        optimizer, loss = loss, optimizer  # compile(loss, optimizer): a loss's own error
    elif loss is DEFAULT and is_loss(optimizer):
        optimizer, loss = DEFAULT, optimizer  # compile(loss): the loss alone
    loss = "squared_error" if loss is DEFAULT else loss
    return loss, ("sgd" if optimizer is DEFAULT else optimizer)


@dataclass(frozen=True)
class CompileOptions:
    """Keras's further ``compile`` arguments, checked (see the module docstring)."""

    run_eagerly: bool = False
    jit_compile: object = "auto"
    steps_per_execution: int = 1
    auto_scale_loss: bool = True

    @property
    def compiled(self) -> bool:
        """Whether a JAX ``fit`` compiles its epochs (else its step runs op by op)."""
        return not self.run_eagerly and self.jit_compile is not False


def compile_options(run_eagerly=False, jit_compile="auto", steps_per_execution=1,
                    auto_scale_loss=True, weighted_metrics=None,
                    loss_weights=None) -> CompileOptions:  # fmt: skip
    """The options, each checked; ValueError or TypeError naming the one that is off.
    ``loss_weights`` reaches here from a model of one output: None only."""
    if loss_weights is not None:
        raise ValueError(
            "loss_weights: expected None for a model with one output (a functional Model "
            f"weighs several outputs' losses); got {loss_weights!r}"
        )
    if jit_compile not in JIT_CHOICES or not isinstance(jit_compile, (str, bool)):
        raise ValueError(f"jit_compile: expected 'auto', True or False; got {jit_compile!r}")
    if weighted_metrics:
        raise ValueError(
            "weighted_metrics: expected None (metrics weighted by sample_weight are not "
            f"supported; the loss is weighted); got {weighted_metrics!r}"
        )
    return CompileOptions(
        check_flag(run_eagerly, "run_eagerly"),
        jit_compile,
        check_count(steps_per_execution, "steps_per_execution", minimum=1),
        check_flag(auto_scale_loss, "auto_scale_loss"),
    )


class CompiledMixin:
    """What a model's compile settles: its checks, the learning rate, Keras's flags."""

    def check_compiled(self) -> None:
        self.require_layers()
        if self.optimizer is None:
            raise RuntimeError("model: call compile(loss=..., optimizer=...) first")

    def check_trainable(self) -> None:
        """Compiled, and every layer has a backward (no step activation)."""
        self.check_compiled()
        for i, layer in enumerate(self.graph.layers):
            layer.check_differentiable(i)

    @property
    def learning_rate(self) -> float:
        """The optimizer's base learning rate, as training sees it now."""
        return float(self.optimizer.current_learning_rate(self._opt_state_here()))

    @learning_rate.setter
    def learning_rate(self, lr: float) -> None:
        state, xp = self._opt_state_here(), self.variables.backend.xp
        new_state = self.optimizer.with_learning_rate(xp, state, lr)
        self.variables.commit(self.variables.weights, new_state)

    def _opt_state_here(self):
        """The optimizer state where the weights are (made there if there is none yet)."""
        self.check_compiled()
        self.require_weights()
        backend = self.variables.backend
        return self.variables.state_on(backend, self.optimizer, self.graph.trainable)

    @property
    def run_eagerly(self) -> bool:
        """Whether a JAX ``fit`` runs its step op by op (``compile(run_eagerly=True)``)."""
        return not self.compile_options.compiled

    @property
    def jit_compile(self):
        """``compile``'s ``jit_compile`` ("auto", True or False)."""
        return self.compile_options.jit_compile
