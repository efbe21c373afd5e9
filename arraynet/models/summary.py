"""``model.summary()``: Keras 3's table, each layer's name and type, output shape (the batch
axis None) and parameter count, then the total, trainable, non-trainable (and, once the
optimizer has state, optimizer) parameter counts with their sizes."""

from __future__ import annotations

import math

import numpy as np

HEADER = ("Layer (type)", "Output Shape", "Param #")
WIDTHS = (31, 22, 13)  # Keras's columns for a Sequential model
UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def summary(model, print_fn=print) -> None:
    graph, shape = model.graph, model.example_shape
    if graph is None:
        rows = []
    elif shape is None:
        rows = _partial_rows(graph)
    else:
        rows = _rows(graph, shape)
    print_fn(f'Model: "{model.name}"')
    for line in _table(rows):
        print_fn(line)
    trainable = non_trainable = 0
    if shape is not None and graph is not None:
        for params, states in graph.specs(shape):  # per layer: shared weights once
            trainable += sum(math.prod(p.shape) for p in params)
            non_trainable += sum(math.prod(p.shape) for p in states)
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


def _table(rows: list[tuple]) -> list[str]:
    """Keras's box-drawn table of ``rows`` (name, shape, count; the count right-aligned)."""
    widths = [max(w, *(len(row[i]) for row in rows)) for i, w in enumerate(WIDTHS)]

    def line(left, fill, middle, right):
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def cells(row, edge):
        texts = [f" {row[0]:<{widths[0]}} ", f" {row[1]:<{widths[1]}} ", f" {row[2]:>{widths[2]}} "]
        return edge + edge.join(texts) + edge

    lines = [line("┏", "━", "┳", "┓"), cells(HEADER, "┃"), line("┡", "━", "╇", "┩")]
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
    return str((None, *shape))
