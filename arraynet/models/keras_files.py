"""Keras 3's ``.keras`` files read into arraynet models: ``an.models.load_keras(path)``.

A ``.keras`` file is a zip of ``config.json`` (the architecture) and ``model.weights.h5``
(the weights, read with h5py: ``pip install arraynet[keras-files]``). A ``Sequential`` or
functional model comes back with its layers (Keras's names and arguments: the two
libraries share them) and its weights; not compiled (``compile`` it as in Keras).

Bounded and inert, as :func:`arraynet.load`: the config is JSON read up to 16 MiB, nothing
in it is imported or run (layers come from arraynet's registry; an unknown layer is refused,
naming it), and each stored array's shape is checked against the weight the model expects
before it is read. Keras arguments arraynet cannot honour are refused, naming them (a
constraint, a recurrent layer's dropout, a Bidirectional's backward layer of its own...);
those that change nothing computed (dtype policies, initializers: the weights come from
the file) are dropped.

Where the weights are: Keras stores each layer's variables under ``layers/<path>/vars/<i>``,
``<path>`` being its class name in snake case, numbered in the model's layer order
(``dense``, ``dense_1``...), a recurrent layer's under ``<path>/cell/vars``, a
Bidirectional's under ``<path>/forward_layer/...`` and ``<path>/backward_layer/...``.
"""

from __future__ import annotations

import inspect
import io
import json
import re
import zipfile

from .. import layers as layer_registry
from .. import regularizers
from ..io import ModelFileError
from ..layers.input import Input

CONFIG_BYTES = 16 * 2**20
KEPT = ("name", "trainable")
# arguments that change nothing arraynet computes: the weights come from the file
DROPPED = re.compile(r".*_initializer$|^dtype$|^seed$|^quantization_config$|^use_cudnn$|^lora_.*")
# Keras's defaults of arguments arraynet does not take: others are refused
DEFAULTS = {"dropout": (0.0,), "recurrent_dropout": (0.0,), "stateful": (False,),
            "unroll": (False,), "sparse": (False,), "use_gate": (False,),
            "sliding_window": (None,), "noise_shape": (None,), "keepdims": (False,),
            "data_format": (None, "channels_last"), "synchronized": (False,),
            "renorm": (False,), "renorm_clipping": (None,), "renorm_momentum": (0.99,),
            "rms_scaling": (False,)}  # fmt: skip


def load_keras(path):
    """The model in the Keras 3 ``.keras`` file at ``path`` (see the module docstring)."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = _read_config(archive)
            model = _model(config)
            weights = _read_weights(archive, config, model)
    except (KeyError, TypeError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise ModelFileError(
            f"{path}: expected a Keras 3 .keras file (config.json, model.weights.h5); {err!r}"
        ) from err
    model.set_weights(weights)
    return model


def is_keras_file(path) -> bool:
    """Whether ``path`` is a zip holding Keras 3's ``config.json`` and ``model.weights.h5``."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {"config.json", "model.weights.h5"} <= set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _read_config(archive) -> dict:
    info = archive.getinfo("config.json")
    if info.file_size > CONFIG_BYTES:
        raise ValueError(
            f"config.json: expected at most {CONFIG_BYTES} bytes; got {info.file_size}"
        )
    return json.loads(archive.read(info))


def _model(config: dict):
    from .functional import Functional
    from .sequential import Sequential

    kind, spec = config["class_name"], config["config"]
    if kind == "Sequential":
        entries = spec["layers"]
        shape = _input_shape(entries)
        body = [_layer(e) for e in entries if e["class_name"] != "InputLayer"]
        return Sequential(body, input_shape=shape, name=spec.get("name"))
    if kind in ("Functional", "Model"):
        inputs, outputs = _graph(spec)
        return Functional(inputs, outputs, name=spec.get("name"))
    raise ValueError(f"config: expected a Sequential or functional model; got {kind!r}")


def _input_shape(entries: list) -> tuple:
    first = entries[0]
    if first["class_name"] == "InputLayer":
        return tuple(first["config"]["batch_shape"][1:])
    return tuple(first["build_config"]["input_shape"][1:])


def _layer(entry: dict):
    """An arraynet layer from a Keras layer's config entry."""
    name, who = entry["class_name"], f"layer {entry['config'].get('name')!r}"
    cls = layer_registry.LAYERS.get(name)
    if cls is None or name == "OutputPart":
        raise ValueError(f"{who}: Keras's {name} is not among arraynet's layers")
    if name in ("Bidirectional", "TimeDistributed"):
        return _wrapper(cls, entry["config"])
    given, accepted = dict(entry["config"]), _arguments(cls)
    kwargs = {k: given.pop(k) for k in KEPT if k in given}
    for key, value in given.items():
        if DROPPED.match(key) or (key not in accepted and value in DEFAULTS.get(key, ())):
            continue
        if key.endswith(("_constraint", "_regularizer")) and value is None:
            continue
        if key not in accepted:
            raise ValueError(
                f"layer {kwargs.get('name')!r}: Keras's {name} argument {key}={value!r} is not "
                "supported by arraynet"
            )
        kwargs[key] = _regularizer(value) if key.endswith("_regularizer") else value
    return cls(**kwargs)


def _wrapper(cls, config: dict):
    """A Bidirectional or TimeDistributed around the layer its config holds (arraynet makes
    a Bidirectional's backward layer itself: Keras's must be the forward one reversed)."""
    inner, kept = _layer(config["layer"]), {k: config[k] for k in KEPT if k in config}
    if cls.__name__ == "TimeDistributed":
        return cls(inner, **kept)
    backward = config.get("backward_layer", {}).get("config", {})
    forward = config["layer"]["config"]
    same = all(backward.get(k) == forward.get(k) for k in ("units", "return_sequences"))
    if backward and not (same and backward.get("go_backwards") != forward.get("go_backwards")):
        raise ValueError(f"layer {config.get('name')!r}: a backward_layer of its own")
    return cls(inner, merge_mode=config.get("merge_mode", "concat"), **kept)


def _arguments(cls) -> set:
    """The keyword arguments ``cls`` takes, its bases' included (passed on by ``**kwargs``)."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            names.update(inspect.signature(init).parameters)
    return names - {"self", "args", "kwargs"}


def _regularizer(value):
    if value is None:
        return None
    kind, config = value["class_name"], value["config"]
    if kind not in ("L1", "L2", "L1L2"):
        raise ValueError(f"regularizer: expected L1, L2 or L1L2; got Keras's {kind}")
    return regularizers.L1L2(l1=config.get("l1", 0.0), l2=config.get("l2", 0.0))


# -- functional graphs ------------------------------------------------------------------


def _graph(spec: dict) -> tuple[list, list]:
    """The input and output tensors of the graph the config's layers and nodes describe."""
    tensors, made, skipped = {}, {}, _mask_ops(spec)
    for entry in spec["layers"]:
        name = entry["config"]["name"]
        if name in skipped:
            continue
        if entry["class_name"] == "InputLayer":
            shape = tuple(entry["config"]["batch_shape"][1:])
            tensors[(name, 0, 0)] = Input(shape=shape, name=name)
            continue
        layer = made[name] = _layer(entry)
        for k, node in enumerate(entry["inbound_nodes"]):
            _call(layer, node, tensors, (name, k))
    inputs = [tensors[tuple(h)] for h in _histories(spec["input_layers"])]
    outputs = [tensors[tuple(h)] for h in _histories(spec["output_layers"])]
    return inputs, outputs


def _histories(value) -> list:
    return [value] if value and isinstance(value[0], str) else value


def _mask_ops(spec: dict) -> set:
    """The names of the Keras operations (NotEqual, Any, LogicalOr...) a file records only
    to compute masks, passed as ``mask=``: arraynet makes the same masks itself (from
    Embedding's ``mask_zero`` and Masking, through the layers), so they are left out."""
    uses: dict = {}
    for entry in spec["layers"]:
        for node in entry.get("inbound_nodes", []):
            kwargs = node.get("kwargs") or {}
            for source in _sources(node["args"]) + _sources([v for k, v in kwargs.items()
                                                              if k != "mask"]):  # fmt: skip
                uses.setdefault(source, set()).add(entry["config"]["name"])
    known = {*layer_registry.LAYERS, "InputLayer"}
    ops = {e["config"]["name"] for e in spec["layers"] if e["class_name"] not in known}
    while True:  # an op whose output something other than a mask op reads is not one
        kept = {name for name in ops if uses.get(name, set()) <= ops}
        if kept == ops:
            return ops
        ops = kept


def _sources(value) -> list:
    """The names of the layers whose tensors ``value`` (a call's arguments) holds."""
    if isinstance(value, (list, tuple)):
        return [name for item in value for name in _sources(item)]
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value["config"]["keras_history"][0]]
    return []


def _call(layer, node: dict, tensors: dict, where: tuple) -> None:
    args, kwargs = node["args"], dict(node.get("kwargs") or {})
    kwargs.pop("mask", None)  # arraynet's layers make and pass the masks themselves
    if kwargs.pop("training", None) not in (None, False):
        raise ValueError(f"layer {where[0]!r}: a call with training= is not supported")
    extra = {k: v if isinstance(v, bool) else _tensors(v, tensors) for k, v in kwargs.items()}
    out = layer(*(_tensors(a, tensors) for a in args), **extra)
    for i, tensor in enumerate(out if isinstance(out, list) else [out]):
        tensors[(*where, i)] = tensor


def _tensors(value, tensors: dict):
    if isinstance(value, list):
        return [_tensors(v, tensors) for v in value]
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return tensors[tuple(value["config"]["keras_history"])]
    raise ValueError(f"a layer call's argument: expected tensors; got {value!r}")


# -- weights ----------------------------------------------------------------------------


def snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: ``BatchNormalization`` -> ``batch_normalization``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _paths(config: dict) -> dict:
    """Each layer's name -> its group in the weights file (see the module docstring)."""
    used, paths, sequential = {}, {}, config["class_name"] == "Sequential"
    for entry in config["config"]["layers"]:
        if sequential and entry["class_name"] == "InputLayer":
            continue  # not among a Sequential's layers
        base = snake_case(entry["class_name"])
        count = used.get(base)
        used[base] = 0 if count is None else count + 1
        paths[entry["config"]["name"]] = base if count is None else f"{base}_{count + 1}"
    return paths


def _read_weights(archive, config: dict, model) -> list:
    import h5py  # arraynet[keras-files]

    paths, shapes = _paths(config), iter(model.weight_shapes())
    weights = []
    with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as stored:
        for layer in model.own_layers:
            group = stored["layers"][paths[layer.name]]
            for dataset in _variables(group):
                expected = next(shapes)
                if tuple(dataset.shape) != tuple(expected):
                    raise ValueError(
                        f"layer {layer.name!r}: expected a weight of shape {tuple(expected)}; "
                        f"got {tuple(dataset.shape)} in the file"
                    )
                weights.append(dataset[()])
    return weights


ATTENTION_PARTS = ("query_dense", "key_dense", "value_dense", "output_dense")


def _variables(group) -> list:
    """A layer's stored variables in order: its own, then those of the layers it holds (a
    recurrent layer's cell, a Bidirectional's forward then backward layer, a
    TimeDistributed's layer)."""
    found = [group["vars"][str(i)] for i in range(len(group["vars"]))] if "vars" in group else []
    for inner in ("cell", "forward_layer", "backward_layer", "layer", *ATTENTION_PARTS):
        if inner in group:
            found += _variables(group[inner])
    return found
