"""The digits in a scikit-learn Pipeline: StandardScaler, then an arraynet MLP, grid-searched.

    python examples/sklearn_digits_grid.py [--epochs 20] [--jobs 2] [--torch]

``Pipeline(StandardScaler(), SKLearnClassifier(...))`` on scikit-learn's 1,797 8x8 digits
(a stratified 75/25 split); ``GridSearchCV`` (3 folds, in ``n_jobs=2`` worker processes that
receive the pipeline pickled) over the hidden width and Adam's learning rate, each an
argument of the model-building function, reached as ``sklearnclassifier__model__hidden``.
Prints the grid's mean fold accuracies, the best parameters and the held-out accuracy.

``--torch`` then fits the best pipeline again on torch tensors with
``sklearn.set_config(array_api_dispatch=True)``: the scaler runs in torch, the network trains
on arraynet's torch backend, and the predictions come back as a torch tensor. (scikit-learn
needs ``SCIPY_ARRAY_API=1`` before SciPy loads; this script sets it.) Needs scikit-learn >=
1.6: ``pip install arraynet[sklearn]`` (and ``arraynet[torch]`` for ``--torch``).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before SciPy loads: array-API dispatch needs it

import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import arraynet as an  # noqa: E402
from arraynet.backend import library_of  # noqa: E402
from arraynet.wrappers import SKLearnClassifier  # noqa: E402

GRID = {
    "sklearnclassifier__model__hidden": [16, 64],
    "sklearnclassifier__model__learning_rate": [1e-3, 1e-2],
}


def mlp(X, y, hidden: int = 64, learning_rate: float = 1e-2) -> an.Sequential:
    """features -> hidden relu -> one logit per class (``y`` arrives one-hot), compiled."""
    model = an.Sequential(
        [an.layers.Dense(hidden, activation="relu"), an.layers.Dense(y.shape[1])],
        input_dim=X.shape[1],
    )
    model.compile(
        loss="softmax_cross_entropy", optimizer=an.optimizers.Adam(learning_rate=learning_rate)
    )
    return model


def pipeline(epochs: int = 20):
    """StandardScaler, then the network (seeded: every fit is reproducible)."""
    network = SKLearnClassifier(
        mlp, fit_kwargs={"epochs": epochs, "batch_size": 32}, random_state=0
    )
    return make_pipeline(StandardScaler(), network)


def split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def grid_search(epochs: int = 20, jobs: int = 2, grid=None):
    """Grid-search the pipeline on the training split; ``(search, held-out accuracy)``."""
    X_train, X_test, y_train, y_test = split()
    search = GridSearchCV(pipeline(epochs), grid or GRID, cv=3, n_jobs=jobs)
    search.fit(X_train, y_train)
    return search, float(search.score(X_test, y_test))


def fit_on_torch(params: dict, epochs: int = 20):
    """The pipeline with ``params``, fitted and scored on torch tensors under array-API
    dispatch; ``(held-out accuracy, the predictions' library, where the network trained)``."""
    import torch

    X_train, X_test, y_train, y_test = (torch.asarray(a) for a in split())
    X_train, X_test = X_train.to(torch.float32), X_test.to(torch.float32)
    with sklearn.config_context(array_api_dispatch=True):
        pipe = pipeline(epochs).set_params(**params).fit(X_train, y_train)
        predicted = pipe.predict(X_test)
        accuracy = float(torch.mean((predicted == y_test).to(torch.float32)))
    trained_on = pipe[-1].model_.variables.weights_backend.name
    return accuracy, library_of(predicted), trained_on


def main(argv=None) -> dict:
    """Parse the arguments, run, print and return the accuracies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs per fit (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="grid search processes (default 2)")
    parser.add_argument("--torch", action="store_true", help="also fit on torch tensors")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs: expected an integer >= 1; got {args.epochs}")
    start = time.perf_counter()
    search, accuracy = grid_search(args.epochs, args.jobs)
    results = search.cv_results_
    for params, score in zip(results["params"], results["mean_test_score"]):
        hidden = params["sklearnclassifier__model__hidden"]
        rate = params["sklearnclassifier__model__learning_rate"]
        print(f"hidden {hidden:3d}, learning rate {rate:g}: mean fold accuracy {score:.4f}")
    best = {key.split("__", 2)[-1]: value for key, value in search.best_params_.items()}
    print(
        f"best {best}: held-out accuracy {accuracy:.4f} (numpy, "
        f"{time.perf_counter() - start:.1f} s)"
    )
    out = {"grid": accuracy, "best": search.best_params_}
    if args.torch:
        torch_accuracy, library, trained_on = fit_on_torch(search.best_params_, args.epochs)
        print(
            f"the same pipeline on torch tensors (array-API dispatch): held-out accuracy "
            f"{torch_accuracy:.4f}, predictions a {library} tensor, trained on {trained_on}"
        )
        out["torch"] = torch_accuracy
    return out


if __name__ == "__main__":
    main()
