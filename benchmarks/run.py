"""The command: ``python -m benchmarks [--shapes a,b,c,d] [--repeats R] [--quick] ...``."""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import pstats
import statistics
import time

from . import ceiling, cnn, data_parallel, first_fit, lstm, peers, report, shapes, timing

ARRAYNET_BACKENDS = ("numpy", "jax", "torch", "cupy")  # not array_api_strict: correctness only


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--shapes",
        help="which of a,b,c,d,e,f,g (default a-d, f and g, a-g with --device cuda; a,b with "
        "--quick); f is the CNN, g the LSTM",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed repetitions per implementation (default 5, 3 for d)",
    )
    p.add_argument("--quick", action="store_true", help="shrunk sizes (for the test)")
    p.add_argument(
        "--backends",
        default=None,
        help="arraynet backends (default: numpy,jax,torch,cupy as installed)",
    )
    p.add_argument("--json", metavar="PATH", help="write the raw results there")
    p.add_argument(
        "--device",
        default="cpu",
        choices=("cpu", "cuda"),
        help="the torch peer's device; ignored without a CUDA device",
    )
    p.add_argument(
        "--profile", action="store_true", help="also cProfile one arraynet numpy run per shape"
    )
    p.add_argument(
        "--no-data-parallel",
        action="store_true",
        help="skip the data-parallel row (c and d on 8 simulated JAX devices, a child process)",
    )
    return p.parse_args(argv)


def _backends(asked):
    import arraynet as an

    if asked:
        return [b.strip() for b in asked.split(",") if b.strip()]
    available = an.available_backends()
    return [b for b in ARRAYNET_BACKENDS if b in available]


def _device(asked):
    if asked == "cpu":
        return "cpu", None
    if any(ceiling.has_gpu(name) for name in ("torch-cuda", "cupy")):
        return "cuda", None
    return "cpu", "--device cuda ignored: no CUDA device here, everything runs on the CPU"


def _profile(impl, top=15) -> str:
    impl.reset()
    profiler = cProfile.Profile()
    profiler.enable()
    impl.run()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    body = out.getvalue().strip().splitlines()
    return "\n".join([f"profile of one {impl.name} run, by own time:", *body[-(top + 2) :]])


def _ceilings(libraries, m, k, n, repeats=5) -> dict[str, float]:
    """Each library's float32 matmul GFLOP/s for ``(m, k) @ (k, n)``, each after a rest
    (``timing.SETTLE_S``: the previous library's threads stop spinning)."""
    found = {}
    for lib in libraries:
        time.sleep(timing.SETTLE_S)
        found[lib] = ceiling.matmul_gflops(m, k, n, repeats, library=lib)
    return found


def _shape_keys(args, device) -> list[str]:
    default = "a,b,c,d,e,f,g" if device == "cuda" else "a,b,c,d,f,g"
    chosen = args.shapes or ("a,b" if args.quick else default)
    keys = [k.strip() for k in chosen.split(",") if k.strip()]
    unknown = set(keys) - set(shapes.SHAPES)
    if unknown:
        raise SystemExit(f"--shapes: expected letters of a,b,c,d,e,f,g; got {sorted(unknown)}")
    return keys


def _run_shape(shape, args, backends, libraries, device, notes) -> tuple[dict, dict | None]:
    """Time every implementation on ``shape`` and print its table: ``(raw, summary)``, the
    summary None when nothing installed here runs the shape."""
    X, Y, weights = shapes.make_data(shape)
    build = cnn.build if isinstance(shape, cnn.CnnShape) else peers.build
    build = lstm.build if isinstance(shape, lstm.LstmShape) else build
    impls, left_out = build(shape, X, Y, weights, backends, device)
    notes = left_out + notes
    if not impls:  # a GPU shape where only CPU-only libraries are installed
        print(f"\n{shape.describe()}\nnothing installed here runs this shape")
        print("\n".join(f"note: {note}" for note in notes), flush=True)
        return {"shape": shape.__dict__, "notes": notes, "results": {}}, None
    repeats = args.repeats or shape.repeats or 5
    first = first_fit.first(impls, shape, X, Y, weights, device)  # JAX compiles here
    probe = functools.partial(_ceilings, libraries, *shape.largest, repeats=3)
    results, probes, finals = timing.measure(impls, repeats, probe)
    first = first_fit.cold(impls, shape, repeats, device, first)
    layer_ceiling = {lib: statistics.median(p[lib] for p in probes) for lib in libraries}
    agreement = report.weights_agreement(finals, weights)
    summary = report.summarize(shape, results, layer_ceiling, device, agreement)
    print()
    print(report.table(shape, summary, layer_ceiling, notes), flush=True)
    if first["backends"]:
        print(first_fit.table(shape, first), flush=True)
    profiled = [i for i in impls if i.name == "arraynet numpy"]
    if args.profile and profiled:
        print(_profile(profiled[0]), flush=True)
    raw = {"shape": shape.__dict__, "repeats": repeats, "notes": notes, "first_fit": first}
    return {**raw, "ceiling": layer_ceiling, "results": summary}, summary


def main(argv=None) -> int:
    """Run the benchmarks, print the tables and targets; 0 when it ran."""
    import arraynet as an

    args = parse(argv)
    device, device_note = _device(args.device)
    arithmetic = ceiling.full_float32_on_gpu() if device == "cuda" else None  # before timing
    keys = _shape_keys(args, device)
    environment = report.environment()  # runs git and threadpoolctl: once
    print(environment, flush=True)
    print(report.load(), flush=True)
    side = 512 if args.quick else 2048
    libraries = ceiling.available(device)
    big = _ceilings(libraries, side, side, side)
    print(f"matmul ceilings {side}^3 float32 (median, GFLOP/s): {report.ceilings_text(big)}")
    if device == "cuda":
        print(f"TF32: {arithmetic} (float32 matmuls in full float32)")
    print(
        f"arraynet matmul_precision={an.current_backend().matmul_precision!r} on every backend "
        "(the default: float32 products in full float32)"
    )
    print(report.FLOPS_NOTE, flush=True)
    raw = {"environment": environment, "square_ceiling": [side, big], "shapes": {}}
    summaries = {}
    notes = [device_note] if device_note else []
    with an.use("numpy"):  # arraynet's selection is the caller's again afterwards
        backends = _backends(args.backends)
        for key in keys:
            shape = shapes.get(key, args.quick)
            raw["shapes"][key], summary = _run_shape(
                shape, args, backends, libraries, device, notes
            )
            if summary is not None:
                summaries[key] = summary
    checks = report.targets(summaries, device)
    parallel = [k for k in keys if k in data_parallel.KEYS]
    if parallel and "jax" in backends and not args.no_data_parallel:
        rows = []
        for count in data_parallel.device_counts(device == "cuda"):
            found = data_parallel.run_child(
                parallel, args.repeats, args.quick, device == "cuda", count
            )
            rows.append(found)
            print("\n" + data_parallel.table(found), flush=True)
            checks += data_parallel.targets(found)
        raw["data_parallel"] = rows
    checks += first_fit.targets({k: r.get("first_fit", {}) for k, r in raw["shapes"].items()})
    raw["targets"] = checks
    print(report.load(), "(at the end)")
    print("\nspeed targets (facts of this run, not assertions):")
    print("\n".join(f"  {c['text']}" for c in checks) or "  (none measured)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    return 0
