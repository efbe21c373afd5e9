"""The ``arraynet`` command, called in-process: info, train, demo, and one-line errors."""

import sys

import pytest

from arraynet import cli


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(err, *words):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("arraynet: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


def test_info_lists_the_backends(capsys):
    status, out, _ = run(capsys, "info")
    assert status == 0
    assert "available backends: numpy" in out
    for name in ("numpy", "cupy", "jax", "torch", "array_api_strict"):
        assert f"  {name} " in out
    assert "devices: cpu" in out


def test_train_on_xor_prints_an_accuracy(capsys, backend):
    status, out, err = run(
        capsys,
        "train",
        "--dataset",
        "xor",
        "--backend",
        backend,
        "--epochs",
        "3",
        "--hidden",
        "4,4",
    )
    assert status == 0, err
    assert "held-out 20%: loss" in out and "accuracy" in out
    assert "3/3" in err  # the progress bar


@pytest.mark.parametrize("dataset", ["streetlights", "spirals", "synthetic"])
def test_train_each_dataset(capsys, dataset):
    status, out, err = run(
        capsys,
        "train",
        "--dataset",
        dataset,
        "--epochs",
        "2",
        "--mode",
        "full",
        "--verbose",
        "0",
        "--dtype",
        "float64",
    )
    assert status == 0, err
    assert "accuracy" in out.splitlines()[-1]


def test_train_digits(capsys):
    pytest.importorskip("sklearn")
    status, out, _ = run(
        capsys,
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--lr",
        "0.1",
        "--seed",
        "1",
        "--verbose",
        "2",
    )
    assert status == 0
    assert "Epoch 2/2" in out and "10 classes" in out


def test_demo_streetlights_prints_the_books_number(capsys, assert_printed):
    status, out, _ = run(capsys, "demo", "streetlights", "numpy")
    assert status == 0
    assert_printed(out, "Error For All: 2.6561231104\n")


def test_demo_without_a_lesson_lists_them(capsys):
    status, out, _ = run(capsys, "demo")
    assert status == 0
    assert out.startswith("streetlights") and "digits" in out


def test_demo_with_a_missing_example_says_so(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "EXAMPLES", tmp_path)
    status, _, err = run(capsys, "demo", "ch3_forward")
    assert status == 1
    assert_one_line_error(err, "ch3_forward", "missing")


def test_demo_passes_the_exit_status_on(capsys, monkeypatch, tmp_path):
    (tmp_path / "digits.py").write_text("import sys\nprint(sys.argv[1:])\nsys.exit(3)\n")
    monkeypatch.setattr(cli, "EXAMPLES", tmp_path)
    status, out, _ = run(capsys, "demo", "digits", "--epochs", "1")
    assert status == 3 and out == "['--epochs', '1']\n"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "--dataset", "mnist"], ["--dataset", "invalid choice: 'mnist'"]),
        (["train", "--dataset", "xor", "--backend", "tensorflow"], ["--backend", "tensorflow"]),
        (["train", "--dataset", "xor", "--epochs", "-3"], ["--epochs", "integer >= 1"]),
        (["train", "--dataset", "xor", "--epochs", "ten"], ["--epochs", "'ten'"]),
        (["train", "--dataset", "xor", "--lr", "0"], ["--lr", "> 0"]),
        (["train", "--dataset", "xor", "--hidden", "4,,2"], ["--hidden"]),
        (["train"], ["--dataset"]),
        (["demo", "ch99"], ["lesson", "ch99"]),
        (["frobnicate"], ["frobnicate"]),
        ([], ["required"]),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, words):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert_one_line_error(err, *words)


def test_a_backend_not_installed_is_one_line(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # importing cupy fails
    status, _, err = run(capsys, "train", "--dataset", "xor", "--backend", "cupy")
    assert status == 1
    assert_one_line_error(err, "'cupy' is not installed", "pip install arraynet[cupy]")


def test_errors_from_arraynet_are_one_line(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # scikit-learn missing
    status, _, err = run(capsys, "train", "--dataset", "digits")
    assert status == 1
    assert_one_line_error(err, "scikit-learn", "pip install arraynet[digits]")


def test_traceback_flag_re_raises(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(ImportError):
        cli.main(["--traceback", "train", "--dataset", "xor", "--backend", "cupy"])


def test_help_exits_0(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "demo" in out and "train" in out


def test_divergence_is_one_line(capsys):
    """The book's ch. 4 lesson from the command line: too large a learning rate."""
    status, _, err = run(
        capsys, "train", "--dataset", "spirals", "--lr", "1e9", "--epochs", "3", "--verbose", "0"
    )
    assert status == 1
    assert_one_line_error(err, "training diverged", "learning rate 1e+09", "e.g. 1e+08")
    assert "RuntimeWarning" not in err  # NumPy's overflow warnings stay quiet in fit


def test_out_of_memory_is_one_line(capsys):
    status, _, err = run(capsys, "train", "--dataset", "xor", "--hidden", "1000000,1000000")
    assert status == 1
    assert_one_line_error(err)
