"""Devices: whether an array's device is the selected one, as a user means it.

Libraries name one device in several ways: torch's ``"cuda"`` is its current CUDA device
(``"cuda:0"`` unless ``torch.cuda.set_device`` chose another), a torch tensor always says
which (``cuda:0``); CuPy has one ``Device`` object per call, equal by ``id``; a JAX array
spread over several devices reports a sharding, not a device, and a JAX selection over a
mesh (``use("jax", devices=...)``) has a sharding for its device: an array on any of the
mesh's devices is on it (JAX moves it into place).
"""

from __future__ import annotations

import sys


def same_device(found, selected) -> bool:
    """Whether ``found`` (an array's device) is ``selected`` (the backend's device; None:
    whatever the library chose, so any device is)."""
    if selected is None or found is selected:
        return True
    if hasattr(selected, "device_set"):  # a JAX mesh (use(devices=)): any of its devices
        found = found.device_set if hasattr(found, "device_set") else {found}
        return bool(found) and set(found) <= set(selected.device_set)
    if _torch_like(found) or _torch_like(selected):
        return _torch_key(found) == _torch_key(selected)
    if hasattr(selected, "device_set"):  # a JAX mesh (use(devices=)): any of its devices
        return all(_in(d, selected.device_set) for d in _devices(found))
    if hasattr(found, "device_set"):  # a JAX sharding: the array lives on these devices
        return _in(selected, found.device_set)
    if _cupy_like(found) and _cupy_like(selected):
        return found.id == selected.id
    try:
        return bool(found == selected)
    except Exception:  # a device type that refuses comparison with another
        return False


def _devices(device) -> list:
    """The devices of a JAX sharding, or ``[device]``."""
    return list(device.device_set) if hasattr(device, "device_set") else [device]


def _in(device, devices) -> bool:
    return any(same_device(device, other) for other in devices)


def _torch_like(device) -> bool:
    """A torch device (or its name): something with a ``type`` and an ``index``, or a string
    such as ``"cuda:1"``."""
    return isinstance(device, str) or (hasattr(device, "type") and hasattr(device, "index"))


def _cupy_like(device) -> bool:
    return type(device).__module__.split(".")[0] == "cupy" and hasattr(device, "id")


def _torch_key(device) -> tuple:
    """``(type, index)`` with the index filled in: a device named without one ("cuda") is
    the library's current device of that type, which is where torch puts its tensors."""
    if isinstance(device, str):
        kind, _, index = device.partition(":")
        index = int(index) if index.isdigit() else None
    else:
        kind, index = getattr(device, "type", None), getattr(device, "index", None)
    if index is None:
        index = current_index(kind)
    return kind, index


def current_index(kind) -> int:
    """The current device index of torch device type ``kind`` ("cuda", "xpu", ...): 0 for the
    CPU, or where torch is not loaded or has no such device."""
    torch = sys.modules.get("torch")
    module = getattr(torch, kind, None) if torch is not None and kind != "cpu" else None
    current = getattr(module, "current_device", None)
    if current is None:
        return 0
    try:
        return int(current())
    except Exception:  # a build without that device type
        return 0
