"""The ``arraynet`` command: ``demo`` a lesson, ``train`` on a dataset, ``info`` on backends.

    arraynet demo streetlights [args...]     run examples/streetlights.py (args passed on)
    arraynet train --dataset spirals --backend jax --epochs 200
    arraynet info

Mistakes on the command line print one line, ``arraynet: error: ...``, to stderr: exit status
2 for usage errors, 1 for errors raised by arraynet (a backend not installed, divergence,
out of memory, ...). Add
``--traceback`` before the command to see the full traceback instead.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import runpy
import sys
from pathlib import Path


def _examples_folder() -> Path:
    """examples/ beside the package (a source checkout), else in the current directory (a
    clone with arraynet installed from it)."""
    beside = Path(__file__).resolve().parents[1] / "examples"
    return beside if beside.is_dir() else Path.cwd() / "examples"


EXAMPLES = _examples_folder()
LESSONS = {
    "streetlights": "streetlights.py",
    "ch3_forward": "ch3_forward.py",
    "ch4_gradient_descent": "ch4_gradient_descent.py",
    "ch5_multiple_weights": "ch5_multiple_weights.py",
    "ch6_streetlights": "ch6_streetlights.py",
    "scratch_notebook": "scratch_notebook.py",
    "digits": "digits.py",
}

# dataset: default hidden sizes, hidden activation, epochs, learning rate, batch size
TRAINING = {
    "streetlights": ((4,), "relu", 100, 0.1, 1),
    "xor": ((8,), "tanh", 50, 0.1, 32),
    "spirals": ((64, 64), "relu", 200, 0.05, 32),
    "digits": ((128,), "relu", 30, 0.05, 32),
    "synthetic": ((32,), "relu", 10, 0.01, 32),
}

OPTIONAL = ("array-api-compat", "tqdm", "matplotlib", "scikit-learn")


class UsageError(Exception):
    """A command-line mistake found while parsing (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        raise UsageError(message)


def _number(kind, name, valid):
    """An argparse type: ``kind(text)`` that must satisfy ``valid``."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not valid(value):
            raise argparse.ArgumentTypeError(f"expected {name}; got {text!r}")
        return value

    return parse


_count = _number(int, "an integer >= 1", lambda v: v >= 1)
_seed = _number(int, "an integer >= 0", lambda v: v >= 0)
_rate = _number(float, "a finite number > 0", lambda v: 0 < v < float("inf"))


def _hidden(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected layer sizes >= 1, comma-separated (e.g. 64,64); got {text!r}"
        )
    return sizes


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``arraynet``."""
    from .backend import BACKENDS, DTYPES
    from .data import MODES

    parser = _Parser(prog="arraynet", description="arraynet: lessons, training and backends.")
    parser.add_argument("--traceback", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="{demo,train,info}")
    commands.required = True

    demo = commands.add_parser("demo", help="run a lesson from examples/")
    demo.add_argument("lesson", nargs="?", choices=list(LESSONS), help="omit to list the lessons")
    demo.add_argument("args", nargs=argparse.REMAINDER, help="passed on to the example")

    train = commands.add_parser("train", help="train a model on a dataset")
    train.add_argument("--dataset", required=True, choices=list(TRAINING))
    train.add_argument("--backend", default="numpy", choices=BACKENDS)
    train.add_argument("--dtype", default="float32", choices=DTYPES)
    train.add_argument("--mode", default="minibatch", choices=MODES)
    train.add_argument("--epochs", type=_count, help="default: per dataset")
    train.add_argument("--batch-size", type=_count, help="default: per dataset")
    train.add_argument("--lr", type=_rate, help="SGD learning rate (momentum 0.9)")
    train.add_argument("--hidden", type=_hidden, help="hidden layer sizes, e.g. 64,64")
    train.add_argument("--seed", type=_seed, default=0, help="data, split and weights seed")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)

    commands.add_parser("info", help="backends, versions and devices")
    return parser


def demo(lesson: str | None, args: list[str]) -> int:
    """Run ``examples/<lesson>.py`` as ``__main__`` with ``args``; without a lesson, list them."""
    if lesson is None:
        for name, file in LESSONS.items():
            where = EXAMPLES / file
            print(
                f"{name:22} {'examples/' + file if where.exists() else '(missing: ' + file + ')'}"
            )
        return 0
    path = EXAMPLES / LESSONS[lesson]
    if not path.is_file():
        raise FileNotFoundError(
            f"lesson {lesson!r}: example file {path} is missing (the examples come with the "
            "source repository: run arraynet from a clone)"
        )
    saved = sys.argv
    sys.argv = [str(path), *args]
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.argv = saved
    return 0


def _model(hidden, activation, classes: int, lr: float, seed: int):
    """A classifier: hidden layers, then a sigmoid unit (2 classes) or softmax logits."""
    import arraynet as an

    layers = [an.layers.Dense(units, activation=activation) for units in hidden]
    if classes == 2:
        layers.append(an.layers.Dense(1, activation="sigmoid"))
        loss = "binary_cross_entropy"
    else:
        layers.append(an.layers.Dense(classes))
        loss = "softmax_cross_entropy"
    model = an.Sequential(layers, seed=seed)
    model.compile(an.optimizers.SGD(lr=lr, momentum=0.9), loss, metrics=["accuracy"])
    return model


def train(args) -> int:
    """Train the dataset's default classifier (overridden by the options); print metrics."""
    import arraynet as an

    from . import datasets

    hidden, activation, epochs, lr, batch_size = TRAINING[args.dataset]
    hidden, epochs = args.hidden or hidden, args.epochs or epochs
    lr, batch_size = args.lr or lr, args.batch_size or batch_size
    with an.use(args.backend, dtype=args.dtype):
        loader = getattr(datasets, args.dataset)
        X, y = loader() if args.dataset in ("streetlights", "digits") else loader(seed=args.seed)
        if args.dataset == "streetlights":  # 6 rows: too few to hold any out
            X_train, X_test, y_train, y_test, held = X, X, y, y, "training rows"
        else:
            X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, seed=args.seed)
            held = "held-out 20%"
        classes = int(y.max()) + 1
        model = _model(hidden, activation, classes, lr, args.seed)
        print(
            f"{args.dataset}: {len(X_train)} training rows, {X.shape[1]} features, "
            f"{classes} classes; hidden {','.join(map(str, hidden))} {activation}; "
            f"{args.backend} {args.dtype}, {args.mode}, {epochs} epochs, lr {lr:g}"
        )
        history = model.fit(
            X_train,
            y_train,
            mode=args.mode,
            batch_size=batch_size,
            epochs=epochs,
            seed=args.seed,
            verbose=args.verbose,
        )
        loss, accuracy = model.evaluate(X_test, y_test)
    last = {key: values[-1] for key, values in history.history.items()}
    print(f"final training loss {last['loss']:.4f}, accuracy {last['accuracy']:.4f}")
    print(f"{held}: loss {loss:.4f}, accuracy {accuracy:.4f}")
    return 0


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _devices(backend) -> str:
    """The devices a backend computes on here (its library is imported already)."""
    module = sys.modules[backend.name]
    if backend.name == "jax":
        return ", ".join(str(d) for d in module.devices())
    if backend.name == "torch":
        cuda = module.cuda
        gpus = [f"cuda:{i} {cuda.get_device_name(i)}" for i in range(cuda.device_count())]
        return ", ".join(["cpu", *gpus])
    if backend.name == "cupy":
        runtime = module.cuda.runtime
        names = [runtime.getDeviceProperties(i)["name"] for i in range(runtime.getDeviceCount())]
        return ", ".join(f"cuda:{i} {name.decode()}" for i, name in enumerate(names))
    if backend.name == "array_api_strict":
        return str(backend.xp.__array_namespace_info__().default_device())
    return "cpu"


def _route(backend) -> str:
    """Where torch's large float32 CPU matmuls run (see ``backend.torch_matmul``)."""
    if backend.name != "torch":
        return ""
    if getattr(backend.xp.matmul, "onednn", False):
        return "; large float32 CPU matmuls: oneDNN (ARRAYNET_ONEDNN=0: torch.matmul)"
    return "; matmuls: torch.matmul"


def _products(backend) -> str:
    """What float32 matrix products compute in on a GPU backend (``backend.matmul``)."""
    from .backend import computed_as, on_gpu

    if not on_gpu(backend):
        return ""
    return f"; float32 products at {backend.matmul_precision!r}: {computed_as(backend)}"


MATMUL_PRECISION_LINE = (
    "matmul precision: 'highest' (full float32 products) by default on every backend; "
    "use(..., matmul_precision='high') for TF32, 'medium' for bfloat16 passes (TF32 where a "
    "library has none) on CUDA devices (cupy, jax, torch); on the CPU every backend "
    "computes float32 products in full float32 and ignores the setting"
)


def info() -> int:
    """Print arraynet's version, each backend (available or why not), its devices, and the
    precision of float32 matrix products."""
    import arraynet as an

    from .backend import BACKENDS

    print(f"arraynet {an.__version__} on Python {platform.python_version()}")
    available = an.available_backends()
    print(f"available backends: {', '.join(available)}")
    for name in BACKENDS:
        try:
            with an.use(name) as backend:
                module = sys.modules[name]
                version = getattr(module, "__version__", "?")
                print(
                    f"  {name:17} yes  {version:10} devices: {_devices(backend)}"
                    f"{_route(backend)}{_products(backend)}"
                )
        except (ImportError, RuntimeError) as err:
            print(f"  {name:17} no   {err}")
    print(MATMUL_PRECISION_LINE)
    from .backend.mesh import mesh_line

    print(mesh_line())  # the devices use("jax", devices="all") splits batches over
    found = [f"{d} {_version(d)}" if _version(d) else f"{d} (not installed)" for d in OPTIONAL]
    print(f"optional: {', '.join(found)}")
    return 0


def main(argv=None) -> int:
    """Run the ``arraynet`` command with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        return _fail(err, 2)
    except SystemExit as stop:  # --help
        return stop.code if isinstance(stop.code, int) else 0
    try:
        if args.command == "demo":
            return demo(args.lesson, args.args)
        if args.command == "train":
            return train(args)
        return info()
    except (
        ValueError,
        TypeError,
        ImportError,
        RuntimeError,
        OSError,
        ArithmeticError,  # DivergenceError, a too-large learning rate
        MemoryError,  # DeviceMemoryError, or the host out of memory
    ) as err:
        if args.traceback:
            raise
        return _fail(err, 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message, status: int) -> int:
    text = " ".join(str(message).split()) or type(message).__name__
    print(f"arraynet: error: {text}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
