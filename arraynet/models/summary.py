"""``model.summary()``: Keras 3's table, each layer's name and type, output shape (the batch
axis None) and parameter count, then the total, trainable, non-trainable (and, once the
optimizer has state, optimizer) parameter counts with their sizes. A functional model's
table lists its inputs first, then each layer once with Keras's "Connected to" column:
the tensors each of its calls reads, as ``layer[call][0]`` (the layer's call that made
the tensor, counted from 0 in the model's order)."""

from __future__ import annotations

import math

import numpy as np

HEADER = ("Layer (type)", "Output Shape", "Param #")
WIDTHS = (31, 22, 13)  # Keras's columns for a Sequential model
FUNCTIONAL_HEADER = (*HEADER, "Connected to")
FUNCTIONAL_WIDTHS = (29, 20, 9, 24)
UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def summary(model, print_fn=print) -> None:
    graph, shape = model.graph, model.example_shape
    if graph is None:
        rows = []
    elif shape is None:
        rows = _partial_rows(graph)
    else:
        rows = _rows(graph, shape)
    table = _table(rows)
    if getattr(model, "input_names", None) is not None and shape is not None:  # functional
        table = _table(_functional_rows(model, shape), FUNCTIONAL_HEADER, FUNCTIONAL_WIDTHS)
    print_fn(f'Model: "{model.name}"')
    for line in table:
        print_fn(line)
    trainable = non_trainable = 0
    if shape is not None and graph is not None:
        for layer, (params, states) in zip(graph.layers, graph.specs(shape)):  # shared: once
            counts = [sum(math.prod(p.shape) for p in part) for part in (params, states)]
            trainable += counts[0] if layer.trainable else 0
            non_trainable += counts[1] + (0 if layer.trainable else counts[0])
    optimizer = sum(int(s.size) for s in model.variables.host_state())
    itemsize = np.dtype(model.variables.backend.dtype).itemsize
    total = trainable + non_trainable + optimizer
    print_fn(f" Total params: {_count(total, itemsize)}")
    print_fn(f" Trainable params: {_count(trainable, itemsize)}")
    print_fn(f" Non-trainable params: {_count(non_trainable, itemsize)}")
    if optimizer:
        print_fn(f" Optimizer params: {_count(optimizer, itemsize)}")


def _title(layer) -> str:
    return f"{layer.name} ({type(layer).__name__})"


def _rows(graph, shape) -> list[tuple]:
    values, specs, seen, rows = graph.value_shapes(shape), graph.specs(shape), set(), []
    for k, node in enumerate(graph.nodes):
        params, states = specs[node.layer]
        shared = node.layer in seen  # a layer called again: its weights counted once
        count = 0 if shared else sum(math.prod(p.shape) for p in params + states)
        seen.add(node.layer)
        rows.append((_title(graph.layers[node.layer]), _shape(values[k + 1]), f"{count:,}"))
    return rows


def _functional_rows(model, shape) -> list[tuple]:
    """The inputs' rows, then each layer's: its output shape(s), weights, the tensors its
    calls read."""
    graph = model.graph
    values, specs = graph.value_shapes(shape), graph.specs(shape)
    m = graph.n_inputs
    inputs = {id(t.input_layer): i for i, t in enumerate(model.inputs)}
    made_by = [f"{name}[0][0]" for name in model.input_names]  # each value: the tensor
    calls, outputs, connected = {}, {}, {}
    for k, node in enumerate(graph.nodes):
        layer = graph.layers[node.layer]
        if layer.internal:  # one output of a layer of several: Keras's layer[call][part]
            made_by.append(f"{made_by[node.inputs[0]][:-3]}[{layer.index}]")
            continue
        count = calls.get(node.layer, 0)
        calls[node.layer] = count + 1
        made_by.append(f"{layer.name}[{count}][0]")
        outputs.setdefault(node.layer, []).append(_shape(values[m + k]))
        connected.setdefault(node.layer, []).extend(made_by[i] for i in node.inputs)
    rows, own = [], iter(range(len(model.own_layers)))
    for layer in model.layers:  # Keras's order: an input's row at its depth
        if id(layer) in inputs:
            j = inputs[id(layer)]
            rows.append((f"{model.input_names[j]} (InputLayer)", _shape(values[j]), "0", "-"))
            continue
        i = next(own)
        count = sum(math.prod(p.shape) for p in specs[i][0] + specs[i][1])
        shapes = ", ".join(dict.fromkeys(outputs[i]))
        rows.append((_title(layer), shapes, f"{count:,}", ", ".join(connected[i]) or "-"))
    return rows


def _partial_rows(graph) -> list[tuple]:
    """Rows before the input shape is known: "?" and "0 (unbuilt)" where a layer's input
    is not known yet (1-D inputs of unknown width assumed, so later layers are shown)."""
    shapes, rows = [(None,)], []
    for node in graph.nodes:
        layer, given = graph.layers[node.layer], shapes[node.inputs[0]]
        try:
            out = tuple(layer.output_shape(*[shapes[i] for i in node.inputs]))
        except Exception:  # a layer that needs the unknown width
            out = None
        shapes.append(out)
        if given is None or None in given or out is None or None in out:
            rows.append((_title(layer), "?", "0 (unbuilt)"))
            continue
        count = sum(math.prod(p.shape) for p in layer.params(given) + layer.states(given))
        rows.append((_title(layer), _shape(out), f"{count:,}"))
    return rows


def _table(rows: list[tuple], header=HEADER, widths=WIDTHS) -> list[str]:
    """Keras's box-drawn table of ``rows`` (name, shape, count[, connected to]; the count
    right-aligned)."""
    widths = [max(w, *(len(row[i]) for row in rows)) for i, w in enumerate(widths)]

    def line(left, fill, middle, right):
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def cells(row, edge):
        texts = [
            f" {text:>{w}} " if i == 2 else f" {text:<{w}} "
            for i, (text, w) in enumerate(zip(row, widths))
        ]
        return edge + edge.join(texts) + edge

    lines = [line("┏", "━", "┳", "┓"), cells(header, "┃"), line("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        if i:
            lines.append(line("├", "─", "┼", "┤"))
        lines.append(cells(row, "│"))
    lines.append(line("└", "─", "┴", "┘"))
    return lines


def _count(count: int, itemsize: int) -> str:
    """``50,890 (198.79 KB)``: the count and its size in bytes, as Keras prints them."""
    size = float(count * itemsize)
    for unit in UNITS:
        if size / 1024 < 1:
            return f"{count:,} ({size:.2f} {unit})"
        size /= 1024
    return f"{count:,} ({size:.2f} {UNITS[-1]})"


def _shape(shape: tuple) -> str:
    """Keras's shape: ``(None, 6)``; a layer of several outputs: ``[(None, 6), (None, 6)]``."""
    if shape and isinstance(shape[0], tuple):
        return f"[{', '.join(_shape(s) for s in shape)}]"
    return str((None, *shape))
