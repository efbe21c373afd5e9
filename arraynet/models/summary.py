"""``model.summary()``: each layer, its output shape and parameter count, and the total."""

from __future__ import annotations

import math


def summary(model, print_fn=print) -> None:
    shape = model.input_shape
    if shape is None:
        inputs = "inputs not known yet"
    else:
        inputs = f"{shape[0]} inputs" if len(shape) == 1 else f"inputs of shape {shape}"
    rows = [("layer", "outputs", "params")]
    graph = model.graph
    if shape is None:
        rows += _partial_rows(graph)
    else:
        values, specs, seen = graph.value_shapes(shape), graph.specs(shape), set()
        for k, node in enumerate(graph.nodes):
            params, states = specs[node.layer]
            shared = node.layer in seen  # a layer called again: its weights counted once
            count = 0 if shared else sum(math.prod(p.shape) for p in params + states)
            seen.add(node.layer)
            rows.append((repr(graph.layers[node.layer]), _shape(values[k + 1]), f"{count:,}"))
    width = max(len(row[0]) for row in rows)
    print_fn(f"{type(model).__name__}: {inputs}, seed {model.seed}")
    for name, outputs, params in rows:
        print_fn(f"  {name:<{width}}  {outputs:>7}  {params:>10}")
    if shape is not None:
        total = sum(math.prod(s) for s in model.weight_shapes())
        print_fn(f"  total params: {total:,}")


def _partial_rows(graph) -> list[tuple]:
    """Rows before the input shape is known: "?" where a node's input is not known yet
    (1-D inputs of unknown width assumed, so later Dense layers are counted)."""
    shapes, rows = [(None,)], []
    for node in graph.nodes:
        layer, given = graph.layers[node.layer], shapes[node.inputs[0]]
        try:
            out = tuple(layer.output_shape(*[shapes[i] for i in node.inputs]))
        except Exception:  # a layer that needs the unknown width
            out = None
        shapes.append(out)
        if given is None or None in given or out is None or None in out:
            rows.append((repr(layer), "?", "?"))
            continue
        count = sum(math.prod(p.shape) for p in layer.params(given) + layer.states(given))
        rows.append((repr(layer), _shape(out), f"{count:,}"))
    return rows


def _shape(shape: tuple) -> str:
    return str(shape[0]) if len(shape) == 1 else str(shape)
