"""Array-API dispatch (issue 23): with ``sklearn.set_config(array_api_dispatch=True)``, torch
and JAX inputs train and predict on that library's backend and come back as its arrays;
without it, NumPy out, trained on the selected backend. scikit-learn needs
``SCIPY_ARRAY_API=1`` before SciPy is imported, so each case runs in a fresh process."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("sklearn", minversion="1.6")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import sklearn
    import arraynet as an
    from arraynet.backend import library_of
    from arraynet.wrappers import SKLearnClassifier, SKLearnRegressor

    library, dispatch = sys.argv[1], sys.argv[2] == "on"
    if library == "torch":
        import torch
        convert = lambda a, dtype: torch.asarray(a, dtype=getattr(torch, dtype))
    else:
        import jax.numpy as jnp
        convert = lambda a, dtype: jnp.asarray(a, dtype=getattr(jnp, dtype))

    def mlp(X, y, loss="categorical_crossentropy", activation="softmax"):
        model = an.Sequential([an.layers.Dense(8, activation="tanh"),
                               an.layers.Dense(y.shape[1], activation=activation)])
        model.compile(loss=loss, optimizer=an.optimizers.Adam(learning_rate=0.05))
        return model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    labels = (X @ np.array([1.0, -1.0, 0.5]) > 0).astype(np.int64)
    Xa, ya = convert(X, "float32"), convert(labels, "int64")
    out = {}
    with sklearn.config_context(array_api_dispatch=dispatch):
        est = SKLearnClassifier(mlp, fit_kwargs={"epochs": 30}, random_state=0).fit(Xa, ya)
        reference = SKLearnClassifier(mlp, fit_kwargs={"epochs": 30}, random_state=0)
        reference.fit(X.astype(np.float32), labels)
        proba, pred = est.predict_proba(Xa), est.predict(Xa)
        out["trained_on"] = est.model_.variables.weights_backend.name
        out["proba"] = library_of(proba)
        out["predict"] = library_of(pred)
        out["decision"] = library_of(est.decision_function(Xa))
        out["proba_dtype"] = str(proba.dtype)
        out["score"] = float(est.score(Xa, ya))
        out["gap"] = float(np.max(np.abs(np.asarray(proba) - reference.predict_proba(X))))
        Xd = convert(X, "float64")
        reg = SKLearnRegressor(mlp, model_kwargs={"loss": "mse", "activation": None},
                               fit_kwargs={"epochs": 5}, random_state=0)
        reg.fit(Xd, convert(X[:, 0], "float64"))
        pred = reg.predict(Xd)
        out["regressor"] = [library_of(pred), str(pred.dtype), list(pred.shape), str(Xd.dtype)]
    print(json.dumps(out))
    """
)


def _run(library: str, dispatch: str) -> dict:
    env = {**os.environ, "SCIPY_ARRAY_API": "1", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, library, dispatch],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_dispatch_trains_on_the_inputs_library_and_answers_in_it(library):
    if importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed")
    out = _run(library, "on")
    assert out["trained_on"] == library
    assert out["proba"] == out["predict"] == out["decision"] == library
    assert out["proba_dtype"].endswith("float32")
    assert out["score"] > 0.9
    assert out["gap"] < 1e-3  # the same seed on NumPy: the same network, float32 rounding apart
    kind, dtype, shape, _ = out["regressor"]  # float64 in, the selected float32 out
    assert kind == library and dtype.endswith("float32") and shape == [80]


def test_without_dispatch_torch_inputs_train_on_the_selected_backend_numpy_out():
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    out = _run("torch", "off")
    assert out["trained_on"] == "numpy"
    assert out["proba"] == out["predict"] == out["decision"] == "numpy"
    assert out["gap"] == 0.0
    assert out["regressor"][0] == "numpy"


def test_scikit_learns_array_api_checks_pass():
    """The estimators declare array-API support; scikit-learn's own array-API checks (torch
    on the CPU, array-api-strict on two devices, mixed namespaces, the same-namespace rule)
    run only with SCIPY_ARRAY_API=1, so they run here in a fresh pytest."""
    tests = os.path.dirname(__file__)
    env = {**os.environ, "SCIPY_ARRAY_API": "1", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         os.path.join(tests, "test_sklearn_checks.py"), "-k", "array_api"],
        capture_output=True, text=True, env=env, timeout=600, cwd=os.path.dirname(tests),
    )  # fmt: skip
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0, done.stdout[-3000:]
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed >= 18 and "failed" not in summary
