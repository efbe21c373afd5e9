"""A model as data: its config (architecture and training setup) and its whole state
(config, weights, optimizer state, epoch, generator), and restoring a state into a model."""

from __future__ import annotations


def get_config(model) -> dict:
    """The architecture and training setup as JSON-able data (1-D inputs as ``input_dim``,
    others as ``input_shape``)."""
    model.check_compiled()
    config = {
        "layers": [layer.get_config() for layer in model.graph.layers],
        "input_dim": model.input_dim,
        "seed": model.seed,
        "loss": model.network.loss.name,
        "optimizer": model.optimizer.get_config(),
        "metrics": [name for name, _ in model.metrics],
        "precision": model.precision,
    }
    if model.input_shape is not None and model.input_dim is None:
        config["input_shape"] = list(model.input_shape)
    return config


def get_state(model) -> dict:
    """Everything needed to resume: config, weights, optimizer state, epoch, shuffle rng."""
    return {
        "config": get_config(model),
        "weights": model.get_weights(),
        "optimizer_state": model.variables.host_state(),
        "has_optimizer_state": model.variables.opt_state is not None,
        "epoch": model.epoch,
        "rng_state": model.rng.bit_generator.state,
    }


def restore(model, state: dict) -> None:
    """Put ``state``'s weights, optimizer state, epoch and generator into ``model`` (built
    from ``state["config"]``), checking the optimizer state's shapes."""
    model.set_weights(state["weights"])
    if state["has_optimizer_state"]:
        trainable = model.graph.trainable([w.shape for w in state["weights"]])
        expected = model.optimizer.state_shapes(list(trainable))
        shapes = [s.shape for s in state["optimizer_state"]]
        if shapes != expected:
            raise ValueError(
                f"optimizer.npz: expected shapes {expected} for {model.optimizer!r}; got {shapes}"
            )
        model.variables.set_state(state["optimizer_state"])
    elif state["optimizer_state"]:
        raise ValueError("optimizer.npz: expected no arrays (has_optimizer_state is false)")
    model.epoch = int(state["epoch"])
    model.rng.bit_generator.state = state["rng_state"]
