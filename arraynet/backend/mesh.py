"""Placement on a JAX device mesh: data-parallel training over several devices.

``use("jax", devices="all" | n | [devices])`` selects a one-axis mesh named ``"batch"``
(``AxisType.Auto``: XLA propagates the shardings itself). The backend's ``device`` is then
the mesh's replicated sharding, so whatever ``Backend.asarray`` places (weights, optimizer
state, scalars) is replicated on every device; rows of data are split along the batch axis
(:func:`put_rows`); inside the compiled epoch every minibatch is constrained to one shard
per device (:func:`constrain_stacked`), and ``jax.jit`` inserts the gradient all-reduce.
The layers never see a device count: a loss divides by the global batch.

Over several processes (``arraynet.distributed.initialize``) the mesh spans every
process's devices; each process feeds its own rows (``jax.make_array_from_process_local_data``)
and reads back its own rows of a result (``local_rows``).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np

AXIS = "batch"


def mesh_devices(devices) -> list:
    """The JAX devices ``devices`` names: "all", a count (the first ``n``), or a list of
    devices or indices into ``jax.devices()``."""
    import jax

    every = jax.devices()
    if isinstance(devices, str):
        if devices != "all":
            raise ValueError(
                f"devices: expected 'all', a count or a list of devices; got {devices!r}"
            )
        return every
    if isinstance(devices, int) and not isinstance(devices, bool):
        if not 1 <= devices <= len(every):
            raise ValueError(
                f"devices: expected a count from 1 to {len(every)} (the devices here); "
                f"got {devices}"
            )
        return every[:devices]
    if isinstance(devices, (list, tuple)) and devices:
        chosen = [every[d] if _index(d, len(every)) else d for d in devices]
        if any(d not in every for d in chosen) or len(set(chosen)) != len(chosen):
            raise ValueError(
                f"devices: expected distinct indices below {len(every)} or devices of "
                f"jax.devices(); got {devices!r}"
            )
        return chosen
    raise ValueError(f"devices: expected 'all', a count or a list of devices; got {devices!r}")


def _index(d, count: int) -> bool:
    return isinstance(d, int) and not isinstance(d, bool) and 0 <= d < count


def batch_mesh(devices):
    """The replicated sharding of a one-axis ``"batch"`` mesh over ``devices`` (Auto axis
    type: an explicit one refuses ``X.mT @ dZ`` over a sharded batch)."""
    import jax.sharding as sharding
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    auto = getattr(sharding, "AxisType", None)  # older JAX: every axis is Auto
    kinds = {} if auto is None else {"axis_types": (auto.Auto,)}
    mesh = Mesh(np.array(devices), (AXIS,), **kinds)
    return NamedSharding(mesh, PartitionSpec())


def mesh_of(backend):
    """The backend's mesh, or None (one device, or not JAX)."""
    if backend.name != "jax":
        return None
    return getattr(backend.device, "mesh", None)


def device_count(backend) -> int:
    """How many devices share each batch (1 off a mesh)."""
    mesh = mesh_of(backend)
    return 1 if mesh is None else mesh.size


def process_devices(backend) -> int:
    """This process's devices on the backend's mesh where it spans several processes (each
    process's rows must then be a multiple of them); 0 otherwise."""
    mesh = mesh_of(backend)
    return len(mesh.local_devices) if mesh is not None and mesh.is_multi_process else 0


def one_program_at_a_time(backend) -> bool:
    """Whether work outside the compiled epoch (``evaluate``, ``predict``) must run as one
    compiled program per batch, each finished before the next starts: on a mesh over several
    processes. There many small programs in flight at once deadlocked XLA's CPU collectives
    (``evaluate`` op by op, 10 batches cut from the global rows, two processes of four
    devices: 4 hangs in 5 runs, each process stuck in a different op)."""
    mesh = mesh_of(backend)
    return mesh is not None and mesh.is_multi_process


@functools.cache
def awaited(fn, static: int):
    """``fn`` compiled by ``jax.jit`` (its first ``static`` arguments fixed per program: a
    network, a namespace, a dtype) and waited for before it returns."""
    import jax

    compiled = jax.jit(fn, static_argnums=tuple(range(static)))
    return lambda *args: jax.block_until_ready(compiled(*args))


def rows_sharding(mesh):
    """Axis 0 split over the mesh."""
    from jax.sharding import NamedSharding, PartitionSpec

    return NamedSharding(mesh, PartitionSpec(AXIS))


def replicated(mesh):
    from jax.sharding import NamedSharding, PartitionSpec

    return NamedSharding(mesh, PartitionSpec())


def put(host: np.ndarray, sharding):
    """A host array placed as ``sharding`` says. Over several processes a replicated array
    is the same in every process; a split one is this process's rows."""
    import jax

    if sharding.is_fully_addressable:
        return jax.device_put(host, sharding)
    return jax.make_array_from_process_local_data(sharding, host)


def put_rows(host: np.ndarray, mesh, argument: str = "X"):
    """Rows of data on the mesh, split along axis 0 (replicated where they do not divide
    evenly over the devices of one process; the compiled epoch pads and splits them).
    Over several processes each gives its own rows, as many as every other process, a
    multiple of its devices: together they are one array."""
    local = len(mesh.local_devices)
    if mesh.is_multi_process:
        _check_process_rows(host.shape[0], local, argument)
    if host.shape[0] % local == 0:
        return put(host, rows_sharding(mesh))
    return put(host, replicated(mesh))


def _check_process_rows(rows: int, local: int, argument: str) -> None:
    from jax.experimental import multihost_utils

    every = multihost_utils.process_allgather(np.array([rows]))  # each process's count
    if rows % local or len(set(np.ravel(every).tolist())) > 1:
        raise ValueError(
            f"{argument}: expected the same number of rows in every process, a multiple of "
            f"its {local} devices; got {', '.join(map(str, np.ravel(every)))} rows"
        )


def process_rows(a) -> int:
    """How many of ``a``'s rows are this process's (all of them in one process)."""
    if getattr(a, "is_fully_addressable", True):
        return a.shape[0]
    starts = {s.index[0].start or 0: s.data.shape[0] for s in a.addressable_shards}
    return sum(starts.values())


def constrain_rows(a, mesh, axis: int = 0):
    """Inside a compiled program: ``a`` split over the mesh along ``axis``."""
    from jax import lax
    from jax.sharding import NamedSharding, PartitionSpec

    spec = PartitionSpec(*([None] * axis), AXIS)
    return lax.with_sharding_constraint(a, NamedSharding(mesh, spec))


def constrain_replicated(tree, mesh):
    """Inside a compiled program: every array of ``tree`` replicated."""
    import jax
    from jax import lax

    return jax.tree.map(lambda a: lax.with_sharding_constraint(a, replicated(mesh)), tree)


def room_for(rows: int, batch_size: int, mesh) -> int:
    """``rows`` rounded up to whole batches that split over the mesh."""
    step = math.lcm(batch_size, mesh.size)
    return -(-rows // step) * step


def pad_rows(a, rows: int, mesh):
    """``a`` with zero rows appended up to ``rows``, split over the mesh: on the host where
    ``a`` is there (or wholly in this process), else by a compiled pad on the devices."""
    import jax

    target = rows_sharding(mesh)
    if isinstance(a, np.ndarray) or a.is_fully_addressable:
        host = np.asarray(a)
        if host.shape[0] == rows and not isinstance(a, np.ndarray) and a.sharding == target:
            return a
        out = np.zeros((rows, *host.shape[1:]), host.dtype)
        out[: host.shape[0], ...] = host
        return jax.device_put(out, target)
    if a.shape[0] == rows and a.sharding == target:
        return a
    widths = [(0, rows - a.shape[0])] + [(0, 0)] * (a.ndim - 1)
    return jax.jit(lambda a: jax.numpy.pad(a, widths), out_shardings=target)(a)


def local_rows(a) -> np.ndarray:
    """This process's rows of an array split over several processes (its shards in order,
    replicas once)."""
    if a.is_fully_replicated or a.ndim == 0:
        return np.array(a.addressable_shards[0].data)
    shards = {}
    for shard in a.addressable_shards:
        start = shard.index[0].start or 0 if shard.index else 0
        shards.setdefault(start, shard.data)
    return np.concatenate([np.asarray(shards[k]) for k in sorted(shards)], axis=0)


def process_batches(arrays, batch_size: int):
    """Over several processes, ``(rows, size, read)`` for batches of about ``batch_size``
    rows of ``arrays`` (split over them alike; None stays None): this process's ``rows`` cut
    every ``size`` (``batch_size`` shared by the processes, rounded up to a multiple of this
    process's devices); ``read(a, b)`` is one batch of each on the mesh, every process's
    rows ``a:b``, so its output's rows here are this process's, in order."""
    mesh = arrays[0].sharding.mesh
    local, processes = len(mesh.local_devices), mesh.size // len(mesh.local_devices)
    owns = [None if a is None else local_rows(a) for a in arrays]
    size = -(-batch_size // (processes * local)) * local
    sharding = rows_sharding(mesh)

    def read(a, b):
        return tuple(None if own is None else put(own[a:b, ...], sharding) for own in owns)

    return owns[0].shape[0], size, read


def describe(backend) -> str:
    """The devices a backend computes on, for messages and ``arraynet info``."""
    mesh = mesh_of(backend)
    if mesh is None:
        return str(backend.device or backend.name)
    devices = list(mesh.devices.flat)
    names = ", ".join(str(d) for d in devices[:4]) + (", ..." if len(devices) > 4 else "")
    processes = len({d.process_index for d in devices})
    spread = f" in {processes} processes" if processes > 1 else ""
    return f"each of {len(devices)} devices of a 'batch' mesh{spread} ({names})"


def check_batches(backend, mode: str, batch_size: int | None = None) -> None:
    """Refuse stochastic training on a mesh (a one-row batch cannot be split); with
    ``batch_size``, warn (once per size) where a batch does not split evenly."""
    count = device_count(backend)
    if count == 1:
        return
    if mode == "stochastic":
        raise ValueError(
            f"mode: expected 'full' or 'minibatch' on {count} devices (a one-row batch cannot "
            f"be split over them: use minibatch with a batch size that is a multiple of "
            f"{count}); got 'stochastic'"
        )
    if batch_size is not None and batch_size % count:
        warnings.warn(
            f"batch_size={batch_size} is not a multiple of the {count} devices: each batch is "
            f"padded to {-(-batch_size // count) * count} rows across them (the same "
            f"result, some devices idle); a multiple of {count} splits it evenly",
            stacklevel=4,
        )


def on_mesh(backend, device, devices):
    """``backend`` (JAX's) on a batch mesh over ``devices`` (``use(devices=)``)."""
    import dataclasses

    if backend.name != "jax":
        raise ValueError(
            f"devices: expected None on {backend.name!r} (only 'jax' splits batches over "
            f"several devices: arraynet.use('jax', devices=...)); got {devices!r}"
        )
    if device is not None:
        raise ValueError(
            f"device: expected None with devices= (the mesh places arrays); got {device!r}"
        )
    return dataclasses.replace(backend, device=batch_mesh(mesh_devices(devices)))


def batch_taker(arrays, size: int, mesh):
    """Inside the compiled epoch: ``take(i, start)``, the ``size`` rows from ``start`` of
    each of ``arrays`` (batch ``i``). On a mesh the arrays are first stacked as whole
    batches, ``(rows // size, size, ...)``, split over the devices along the batch's rows:
    batch ``i`` is then already one shard per device (slicing a split array at a moving
    offset would gather it whole on every device, several times slower). The rows are
    padded to whole batches there (``room_for``), so ``start`` is ``i * size``."""
    from jax import lax

    if mesh is None:
        return lambda i, start: [lax.dynamic_slice_in_dim(a, start, size) for a in arrays]
    stacks = [
        constrain_rows(a.reshape((a.shape[0] // size, size, *a.shape[1:])), mesh, axis=1)
        for a in arrays
    ]
    return lambda i, start: [lax.dynamic_index_in_dim(s, i, 0, False) for s in stacks]


def mesh_line() -> str:
    """``arraynet info``'s line on data parallelism: the mesh ``use("jax", devices="all")``
    makes here (every process's devices once ``arraynet.distributed.initialize`` ran)."""
    try:
        import jax

        devices = jax.devices()
    except (ImportError, RuntimeError) as err:
        return f"data-parallel mesh: none (jax: {err})"
    processes = jax.process_count()
    kinds = sorted({d.platform for d in devices})
    names = ", ".join(str(d) for d in devices[:4]) + (", ..." if len(devices) > 4 else "")
    return (
        f"data-parallel mesh: use('jax', devices='all') splits each batch over a 'batch' "
        f"mesh of {len(devices)} {'/'.join(kinds)} device{'s' * (len(devices) > 1)} in "
        f"{processes} process{'es' * (processes > 1)} ({names})"
    )


def data_on(backend, host: np.ndarray, dtype=None, argument: str = "X"):
    """Rows of data (a host array) moved to ``backend``: on a mesh split along the rows,
    over several processes this process's rows of one array; elsewhere ``asarray``."""
    mesh = mesh_of(backend)
    if mesh is None:
        return backend.asarray(host, dtype)
    dtype = backend.float_dtype if dtype is None else dtype
    return put_rows(np.asarray(host, dtype=np.dtype(dtype)), mesh, argument)
