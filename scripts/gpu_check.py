"""The GPU check: the one script to run on a CUDA machine, each part time-boxed.

    python3 scripts/gpu_check.py LOGDIR [--parts env,tests,bench,synthetic,profile] [--budget 540]
    python3 scripts/gpu_check.py LOGDIR --dry-run     # the same steps, on the CPU, quickly
    python3 scripts/gpu_check.py LOGDIR --plan        # print the commands, run nothing

Parts, in order, each a child process with its own time limit (cut further so that the whole
stays within ``--budget`` seconds):

- env: the wheels in ``.whl/`` installed with ``pip --target`` (the GPU machine lacks
  array-api-compat; children get them through PYTHONPATH), nvidia-smi, ``arraynet info``.
- tests: ``pytest -m gpu`` (tests/gpu_selection.py) once per CUDA backend: cupy, jax on
  CUDA, torch on "cuda" (ARRAYNET_TORCH_DEVICE), 4 xdist workers, TF32 off.
- bench: ``python -m benchmarks --device cuda --shapes d,e`` (raw results in bench.json).
- synthetic: ``examples/gpu_synthetic.py`` on jax and cupy, 2,000,000 rows, 2 epochs, at
  matmul_precision "highest" (``--precisions highest,high`` adds TF32 runs).
- profile: ``scripts/gpu_profile.py`` on shape d for cupy and jax: ms per update, the
  host's share of the wall time, the functions by own time (where the time goes).

Logs go to LOGDIR (7 files: env.log, tests.log, bench.log, bench.json, synthetic.log,
profile.log, summary.txt); the summary table is printed last. ``--dry-run`` runs the same
parts on the CPU: the selection on numpy, the benchmark's shape a shrunk, the example on a
few thousand rows. On a GPU machine without array-api-compat, put its wheel (and
array-api-strict's) in ``.whl/`` first; there, with ``PYTHONUNBUFFERED=1``, the output
streams as it runs. The default budget leaves a minute of a ten-minute slot.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("env", "tests", "bench", "synthetic", "profile")
GPU_BACKENDS = ("cupy", "jax", "torch")
LIMITS = {"env": 60, "tests": 90, "bench": 150, "synthetic": 40, "profile": 60}  # s per command
TEST_ENV = {
    "ARRAYNET_TORCH_DEVICE": "cuda",  # torch's tests on the GPU (tests/conftest.py)
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # JAX and CuPy share the card
    "CUPY_TF32": "0",
}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("logdir", type=Path)
    p.add_argument("--parts", default=",".join(PARTS), help="some of " + ",".join(PARTS))
    p.add_argument("--budget", type=float, default=540.0, help="seconds for everything")
    p.add_argument("--dry-run", action="store_true", help="the same steps on the CPU, quickly")
    p.add_argument("--plan", action="store_true", help="print the commands; run nothing")
    p.add_argument("--select", help="pytest -k expression narrowing the GPU selection")
    p.add_argument("--backends", help="backends for the tests (default cupy,jax,torch)")
    p.add_argument("--precisions", default="highest", help="gpu_synthetic's matmul precisions")
    p.add_argument("--workers", type=int, default=4, help="pytest-xdist workers per backend")
    args = p.parse_args(argv)
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        p.error(f"--parts: expected some of {','.join(PARTS)}; got {sorted(unknown)}")
    args.parts = parts
    return args


class Step:
    """One command of a part: its name, argv, extra environment, log file and time limit."""

    def __init__(self, part, name, argv, log, env=None, limit=None):
        self.part, self.name, self.argv, self.log = part, name, argv, log
        self.env, self.limit = env or {}, limit or LIMITS[part]

    def __str__(self):
        env = " ".join(f"{k}={v}" for k, v in self.env.items())
        return f"[{self.part}] {env + ' ' if env else ''}{' '.join(self.argv)}  > {self.log}"


def _python(*args):
    return [sys.executable, *args]


def _wheel_steps(args):
    wheels = sorted(glob.glob(str(ROOT / ".whl" / "*.whl")))
    if not wheels:
        return []
    install = ["-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile"]
    install += ["--upgrade", "--target", str(_site(args)), *wheels]
    return [Step("env", "wheels", _python(*install), "env.log")]


def _site(args) -> Path:
    return args.logdir / "site" if args.dry_run else Path("/tmp/site")


def env_steps(args):
    steps = _wheel_steps(args)
    if shutil.which("nvidia-smi") and not args.dry_run:
        steps.append(Step("env", "nvidia-smi", ["nvidia-smi", "-L"], "env.log"))
    probe = "import jax; print('jax devices:', jax.devices())"
    steps.append(Step("env", "jax devices", _python("-c", probe), "env.log"))
    steps.append(Step("env", "arraynet info", _python("-m", "arraynet.cli", "info"), "env.log"))
    return steps


def test_steps(args):
    backends = args.backends.split(",") if args.backends else None
    backends = backends or (["numpy"] if args.dry_run else list(GPU_BACKENDS))
    steps = []
    for backend in backends:
        argv = _python("-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "-rfE")
        argv += ["--durations=5"]
        if args.workers > 1 and not args.dry_run:
            argv += ["-n", str(args.workers)]
        if args.select:
            argv += ["-k", args.select]
        env = {**TEST_ENV, "ARRAYNET_BACKEND": backend}
        if args.dry_run:
            del env["ARRAYNET_TORCH_DEVICE"]  # torch on the CPU
        steps.append(Step("tests", backend, argv, "tests.log", env))
    return steps


def bench_steps(args):
    argv = _python("-m", "benchmarks", "--json", str(args.logdir / "bench.json"))
    if args.dry_run:
        argv += ["--quick", "--shapes", "a", "--repeats", "1", "--backends", "numpy"]
    else:
        argv += ["--device", "cuda", "--shapes", "d,e"]
    return [Step("bench", "benchmarks", argv, "bench.log")]


def synthetic_steps(args):
    steps = []
    backends = ["numpy"] if args.dry_run else ["jax", "cupy"]
    rows = ["--rows", "4000" if args.dry_run else "2000000"]
    for backend in backends:
        for precision in args.precisions.split(","):
            argv = _python("examples/gpu_synthetic.py", "--backend", backend, *rows)
            argv += ["--epochs", "2", "--matmul-precision", precision]
            env = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
            steps.append(Step("synthetic", f"{backend} {precision}", argv, "synthetic.log", env))
    return steps


def profile_steps(args):
    argv = _python("scripts/gpu_profile.py", "--shape", "d")
    argv += ["--quick", "--backends", "numpy", "--epochs", "1"] if args.dry_run else []
    env = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    return [Step("profile", "shape d", argv, "profile.log", env)]


MAKERS = {
    "env": env_steps,
    "tests": test_steps,
    "bench": bench_steps,
    "synthetic": synthetic_steps,
    "profile": profile_steps,
}


def plan(args) -> list[Step]:
    return [step for part in args.parts for step in MAKERS[part](args)]


def _environment(args) -> dict:
    paths = [str(_site(args)), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def run_step(step, args, deadline) -> dict:
    """Run ``step`` within its limit and the budget left; its log appended; a result row."""
    left = deadline - time.monotonic()
    limit = min(step.limit, max(left - 5, 0))
    if limit < 5:
        return {"step": step, "status": "not run (budget spent)", "seconds": 0.0, "tail": ""}
    start = time.monotonic()
    env = {**_environment(args), **step.env}
    with open(args.logdir / step.log, "a") as log:
        log.write(f"\n$ {step}\n")
        log.flush()
        try:
            done = subprocess.run(
                step.argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=limit
            )
            status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
        except subprocess.TimeoutExpired:
            status = f"timed out after {limit:.0f} s"
        except OSError as err:
            status = f"could not start: {err}"
    seconds = time.monotonic() - start
    text = (args.logdir / step.log).read_text(errors="replace")
    return {"step": step, "status": status, "seconds": seconds, "tail": _result(step, text)}


def _result(step, text: str) -> str:
    """The line that says how the step went: pytest's summary, the throughput, the targets."""
    section = text.rsplit(f"$ {step}\n", 1)[-1]
    patterns = {
        "tests": r"^=*\s*(\d+ (?:passed|failed).*?) in [\d.]+s",
        "synthetic": r"^(throughput: .*)$",
        "bench": r"^\s+(\([a-g]\) .* -> .*)$",
        "env": r"^(available backends: .*|jax devices: .*)$",
        "profile": r"^arraynet (\w+) .*= ([\d.]+ ms/update, [\d,]+ samples/s); host CPU "
        r"[\d.]+ s \((\d+%) of the wall time\)",
    }
    found = re.findall(patterns[step.part], section, flags=re.MULTILINE)
    found = [f"{f[0]} {f[1]}, host {f[2]}" if isinstance(f, tuple) else f for f in found]
    return "; ".join(found[-3:]) if found else ""


def summary(rows, total) -> str:
    lines = [f"{'part':10} {'step':16} {'status':26} {'s':>6}  result"]
    for row in rows:
        step = row["step"]
        lines.append(
            f"{step.part:10} {step.name:16} {row['status']:26} {row['seconds']:6.1f}  {row['tail']}"
        )
    lines.append(f"total {total:.1f} s")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse(argv)
    steps = plan(args)
    if args.plan:
        print("\n".join(str(step) for step in steps))
        return 0
    args.logdir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    deadline = start + args.budget
    rows = []
    for step in steps:
        print(f"{time.monotonic() - start:6.1f} s  {step}", flush=True)
        rows.append(run_step(step, args, deadline))
        print(f"        {rows[-1]['status']} in {rows[-1]['seconds']:.1f} s", flush=True)
    table = summary(rows, time.monotonic() - start)
    (args.logdir / "summary.txt").write_text(table + "\n")
    print(table, flush=True)
    return 0 if all(row["status"] == "ok" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
