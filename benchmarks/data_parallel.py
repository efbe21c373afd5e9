"""The data-parallel row: arraynet jax on one device and on a "batch" mesh of simulated CPU
devices (``use("jax", devices="all")``), same shape, data and weights.

JAX fixes its device count when it starts, so the row runs in a child process started with
``JAX_NUM_CPU_DEVICES``; alone: ``python -m benchmarks.data_parallel --shapes c,d``
(``--devices 0``: the real devices, several GPUs say).
Simulated devices share the machine's cores, so no speed-up is possible here: the row
shows what splitting each batch and all-reducing the gradients costs (the ratio of the
mesh's time to one device's); on a machine with several GPUs it is the scaling. On a
machine with fewer cores than ``DEVICES`` a second row runs one simulated device per core:
there the ratio is the cost of splitting alone, without eight device programs contending
for fewer cores (hand-written JAX pays that contention too, more than arraynet).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
DEVICES = 8
KEYS = ("c", "d")
BOUND = 1.5  # the mesh's time per repetition at most this many times one device's


def _mesh_scan(shape, X, Y, weights):
    """The hand-written JAX scan epoch (``peers.JaxScan``) on the same mesh: weights
    replicated, the stacked batches split along their rows. The engine's own cost of
    splitting, for comparison."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    from arraynet.backend import mesh

    from .peers import JaxScan

    peer = JaxScan(shape, X, Y, weights)
    sharding = mesh.batch_mesh(jax.devices())
    rows = NamedSharding(sharding.mesh, PartitionSpec(None, mesh.AXIS))
    peer.X, peer.Y = jax.device_put(peer.X, rows), jax.device_put(peer.Y, rows)
    reset = peer.reset

    def replicated_reset():
        reset()
        peer.params = jax.device_put(peer.params, sharding)

    peer.reset = replicated_reset
    peer.name = f"{JaxScan.name}, {jax.device_count()} devices"
    return peer


def _one_device_scan(shape, X, Y, weights):
    from .peers import JaxScan

    peer = JaxScan(shape, X, Y, weights)
    peer.name = f"{JaxScan.name}, 1 device"
    return peer


def _impls(shape, X, Y, weights):
    import arraynet as an
    from arraynet.backend import mesh

    from .peers import Arraynet

    one = Arraynet("jax", shape, X, Y, weights)
    one.name = "arraynet jax, 1 device"
    many = Arraynet("jax", shape, X, Y, weights)
    many.use_kwargs = {"devices": "all"}
    with an.use("jax", devices="all") as backend:  # the rows split over the devices once
        many.X, many.Y = mesh.data_on(backend, X), mesh.data_on(backend, Y, argument="y")
        many.name = f"arraynet jax, {mesh.device_count(backend)} devices"
    return [one, many, _mesh_scan(shape, X, Y, weights), _one_device_scan(shape, X, Y, weights)]


def measure(keys, repeats: int | None, quick: bool) -> dict:
    """Per shape: each implementation's seconds per repetition, the ratio of medians and
    the largest weight difference after training (float32)."""
    import jax
    import numpy as np

    from . import shapes, timing

    found = {"devices": jax.device_count(), "platform": jax.devices()[0].platform, "shapes": {}}
    for key in keys:
        shape = shapes.get(key, quick)
        X, Y, weights = shapes.make_data(shape)
        impls = _impls(shape, X, Y, weights)
        results, _, finals = timing.measure(impls, repeats or shape.repeats or 5)
        one, many, engine, engine_one = (
            statistics.median(results[i.name]["seconds"]) for i in impls
        )
        difference = max(
            float(np.max(np.abs(a - b))) for a, b in zip(*(finals[i.name] for i in impls[:2]))
        )
        found["shapes"][key] = {
            "describe": shape.describe(),
            "seconds": {i.name: results[i.name]["seconds"] for i in impls},
            "ratio": many / one,
            "engine_ratio": engine / engine_one,  # hand-written JAX: the mesh / one device
            "over_engine": many / engine,  # arraynet on the mesh / hand-written JAX on it
            "weights_difference": difference,
        }
    return found


def device_counts(gpus: bool) -> list[int]:
    """The rows to run: every GPU (0); else ``DEVICES`` simulated devices and, where the
    cores are fewer, one simulated device per core (at least 2)."""
    if gpus:
        return [0]
    cores = os.cpu_count() or DEVICES
    return [DEVICES] if cores >= DEVICES else [DEVICES, max(2, cores)]


def run_child(
    keys, repeats: int | None, quick: bool, gpus: bool = False, devices: int = DEVICES
) -> dict:
    """``measure`` in a child process: on ``devices`` simulated CPU devices, or with
    ``gpus`` on every GPU here (the scaling)."""
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "row.json")
        child = "import sys; from benchmarks.data_parallel import main; main(sys.argv[1:])"
        args = [sys.executable, "-c", child, "--json", out]
        args += ["--shapes", ",".join(keys), "--devices", "0" if gpus else str(devices)]
        args += ["--quick"] * quick + (["--repeats", str(repeats)] if repeats else [])
        env = dict(os.environ)
        if not gpus:
            env.update(JAX_NUM_CPU_DEVICES=str(devices), JAX_PLATFORMS="cpu")
            env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": (done.stdout + done.stderr)[-2000:]}
        with open(out) as f:
            return json.load(f)


def table(found: dict) -> str:
    if "error" in found:
        return f"data-parallel row: the child process failed:\n{found['error']}"
    simulated = found.get("platform", "cpu") == "cpu"
    where = (
        "simulated CPU devices sharing this machine's cores against one device; median "
        "seconds per repetition (no speed-up is possible here: the ratio is the cost of "
        "splitting)"
        if simulated
        else f"{found.get('platform')} devices against one; median seconds per repetition"
    )
    lines = [f"data parallel (arraynet jax, use('jax', devices='all')): {found['devices']} {where}"]
    for row in found["shapes"].values():
        medians = {name: statistics.median(s) for name, s in row["seconds"].items()}
        timed = ", ".join(f"{name} {t:.3f} s" for name, t in medians.items())
        lines.append(
            f"  {row['describe']}\n    {timed}\n    arraynet {found['devices']} devices / 1 "
            f"device: {row['ratio']:.2f}x (hand-written JAX: {row['engine_ratio']:.2f}x); "
            f"arraynet / hand-written JAX on the same mesh: {row['over_engine']:.2f}x; "
            f"weights agree to {row['weights_difference']:.1e}"
        )
        if not simulated:  # the global batch fixed: ideally N devices take 1/N of the time
            efficiency = 1 / (row["ratio"] * found["devices"])
            lines.append(f"    scaling efficiency {100 * efficiency:.0f}%")
    return "\n".join(lines)


def targets(found: dict) -> list[dict]:
    from .report import _check

    rows = found.get("shapes", {})
    return [
        _check(
            f"({key}) data parallel: {found['devices']} simulated devices' time / 1 device's",
            row["ratio"],
            BOUND,
            at_most=True,
        )
        for key, row in rows.items()
    ]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.data_parallel", description=__doc__)
    p.add_argument("--shapes", default=",".join(KEYS))
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument(
        "--devices", type=int, default=DEVICES, help="simulated CPU devices (0: the real ones)"
    )
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    if args.devices and "JAX_NUM_CPU_DEVICES" not in os.environ and "jax" not in sys.modules:
        os.environ["JAX_NUM_CPU_DEVICES"] = str(args.devices)  # simulated CPU devices
    keys = [k.strip() for k in args.shapes.split(",") if k.strip()]
    found = measure(keys, args.repeats, args.quick)
    print(table(found))
    print("\n".join(f"  {c['text']}" for c in targets(found)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(found, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
