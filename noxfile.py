"""One session per backend, each installing only what it needs; plus lint and examples.

``nox`` runs them all; ``nox -s jax`` one. The cupy session skips, saying why, without a
CUDA device.
"""

import os
import shutil
import subprocess

import nox

nox.options.sessions = [
    "numpy", "jax", "torch", "array_api_strict", "cupy", "multidevice", "lint", "examples",
]  # fmt: skip
nox.options.reuse_existing_virtualenvs = True

EXTRAS = {
    "numpy": "test",
    "jax": "test,jax",
    "torch": "test,torch",
    "array_api_strict": "test",
    "cupy": "test,cupy",
}


def _suite(session, backend):
    session.install("-e", f".[{EXTRAS[backend]}]")
    session.run("pytest", "-q", *session.posargs, env={"ARRAYNET_BACKEND": backend})


@nox.session
def numpy(session):
    _suite(session, "numpy")


@nox.session
def jax(session):
    _suite(session, "jax")


@nox.session
def torch(session):
    _suite(session, "torch")


@nox.session
def array_api_strict(session):
    _suite(session, "array_api_strict")


def _cuda_device_count() -> int:
    if not shutil.which("nvidia-smi"):
        return 0
    listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return listing.stdout.count("GPU ")


@nox.session
def cupy(session):
    if _cuda_device_count() == 0:
        session.skip("no CUDA device here (nvidia-smi lists none): the cupy backend needs one")
    _suite(session, "cupy")


@nox.session
def multidevice(session):
    """Data-parallel training on JAX over 8 simulated CPU devices, in one process and in
    two processes of four (the tests start child processes with ``JAX_NUM_CPU_DEVICES``)."""
    session.install("-e", ".[test,jax]")
    session.run(
        "pytest", "-q", "-m", "multidevice", *session.posargs, env={"ARRAYNET_BACKEND": "jax"}
    )


GPU_BACKENDS = ("cupy", "jax", "torch")
GPU_ENV = {
    "ARRAYNET_TORCH_DEVICE": "cuda",  # torch's tests on the GPU (tests/conftest.py)
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # JAX and CuPy share the card
}


@nox.session
def gpu(session):
    """The GPU selection (``pytest -m gpu``, tests/gpu_selection.py) on each CUDA backend:
    cupy, jax on CUDA, torch on "cuda". ``ARRAYNET_CUDA=12`` installs the CUDA 12 wheels
    (default 13); ``nox -s gpu -- -n 4`` passes pytest options on."""
    if _cuda_device_count() == 0:
        session.skip("no CUDA device here (nvidia-smi lists none)")
    cuda = os.environ.get("ARRAYNET_CUDA", "13")
    session.install("-e", f".[test,torch,cuda{cuda}]")
    for backend in GPU_BACKENDS:
        env = {**GPU_ENV, "ARRAYNET_BACKEND": backend}
        session.run("pytest", "-q", "-m", "gpu", *session.posargs, env=env)


@nox.session
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


LESSONS = [
    "streetlights",
    "ch3_forward",
    "ch4_gradient_descent",
    "ch5_multiple_weights",
    "ch6_streetlights",
    "scratch_notebook",
]


@nox.session
def examples(session):
    """Every lesson on NumPy and array-api-strict, then digits (MLP, CNN, scikit-learn grid), the
    recurrent examples (shortened: the sine forecast whole, the others a few epochs) and
    the pictures."""
    session.install("-e", ".[strict,plot,digits,progress,sklearn]")
    for lesson in LESSONS:
        session.run("python", f"examples/{lesson}.py", "numpy", "array_api_strict")
    session.run("python", "examples/digits.py")
    session.run("python", "examples/digits_cnn.py")
    session.run("python", "examples/sklearn_digits_grid.py")
    session.run("python", "examples/sine_forecast.py")
    session.run("python", "examples/adding_problem.py", "--steps", "20", "--rows", "512",
                "--epochs", "2")  # fmt: skip
    session.run("python", "examples/char_model.py", "--epochs", "2", "--units", "32",
                "--length", "80")  # fmt: skip
    session.run("python", "examples/plots.py", session.create_tmp())
