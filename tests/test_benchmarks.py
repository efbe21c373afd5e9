"""``python -m benchmarks --quick``: every implementation runs and they compute the same thing.

No wall-time assertions: the timings are facts of a (shared, noisy) machine, not a contract.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is a folder of the repository, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import cnn, lstm, main, peers, report  # noqa: E402

# One pytest-xdist worker runs this module (``--dist loadgroup``), so the 40-second
# ``quick_run`` below runs once, not once in each worker that draws one of its tests.
pytestmark = pytest.mark.xdist_group("benchmarks")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick run (shapes a and b, every implementation): its printout and raw results."""
    import contextlib
    import io

    path = tmp_path_factory.mktemp("bench") / "results.json"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--quick", "--repeats", "1", "--json", str(path)]) == 0
    return out.getvalue(), json.loads(path.read_text())


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("shape_key", ["a", "b"])
def test_the_table_lists_every_implementation(quick_run, shape_key):
    """arraynet on each backend here and every peer, unless its library is not installed (a
    nox session installs only its own backend) or, for sklearn on shape a, it has no
    bias-free MLP; what is left out is named in a note."""
    import arraynet as an

    text, raw = quick_run
    run = raw["shapes"][shape_key]
    backends = [b for b in ("numpy", "jax", "torch", "cupy") if b in an.available_backends()]
    names = [f"arraynet {b}" for b in backends]
    needs = [(peers.NumpyLoop, "numpy"), (peers.TorchEager, "torch"), (peers.JaxStep, "jax")]
    needs += [(peers.JaxScan, "jax"), (peers.Sklearn, "sklearn")]
    missing = {peer.name for peer, module in needs if not installed(module)}
    if shape_key == "a":
        missing.add(peers.Sklearn.name)
    left_out = {note.split(":")[0] for note in run["notes"] if "left out" in note}
    assert left_out == missing
    names += [peer.name for peer, _ in needs if peer.name not in missing]
    assert sorted(run["results"]) == sorted(names)
    table = text.split(f"\n({shape_key}) ")[1].split("\n\n")[0]
    for name in run["results"]:
        assert f"\n{name} " in table
    assert "speed targets" in text and "versions:" in text and "machine:" in text


def test_all_implementations_agree_on_the_small_shapes_final_loss(quick_run):
    _, raw = quick_run
    losses = {name: r["final_loss"] for name, r in raw["shapes"]["b"]["results"].items()}
    reference = losses["arraynet numpy"]
    assert reference > 0
    for name, loss in losses.items():
        assert loss == pytest.approx(reference, rel=1e-3), name


@pytest.mark.parametrize("shape_key", ["a", "b"])
def test_all_implementations_end_with_the_same_weights(quick_run, shape_key):
    """The final weights, taken outside the clock, differ from hand-written NumPy's by float32
    rounding only: a millionth-ish of how far training moved them (on (a) the losses are all
    near 1e-15, too small to tell implementations apart)."""
    _, raw = quick_run
    rows = raw["shapes"][shape_key]["results"]
    assert rows[peers.NumpyLoop.name]["weights_off"] == 0.0
    for name, row in rows.items():
        assert row["weights_off"] < 1e-4, name


def test_weights_agreement_sees_a_different_learning_rate():
    """The same hand-written loop at 1.1x the learning rate ends a few % of the way off."""
    from dataclasses import replace

    from benchmarks import shapes

    shape = shapes.get("b", quick=True)
    X, Y, weights = shapes.make_data(shape)
    finals = {}
    for lr, name in ((shape.lr, peers.NumpyLoop.name), (1.1 * shape.lr, "faster")):
        loop = peers.NumpyLoop(replace(shape, lr=lr), X, Y, weights)
        loop.reset()
        loop.run()
        finals[name] = loop.weights_now()
    off = report.weights_agreement(finals, weights)
    assert off[peers.NumpyLoop.name] == 0.0
    assert 0.02 < off["faster"] < 0.2  # far above the 1e-4 that float32 rounding stays under


def test_the_targets_are_reported_not_asserted(quick_run):
    _, raw = quick_run
    assert raw["targets"] and all(isinstance(t["holds"], bool) for t in raw["targets"])


@pytest.mark.parametrize("shape_key", ["a", "b"])
def test_first_fits_are_timed_on_every_backend_with_jaxs_compilations(quick_run, shape_key):
    """Beside the warm repetitions: each arraynet backend's first fit in the process, a new
    model's fit on new data and that call again, timed (reported, never asserted) with the
    compilations JAX logged; a new model of a config already compiled compiles nothing."""
    import arraynet as an

    text, raw = quick_run
    run = raw["shapes"][shape_key]
    first = run["first_fit"]
    backends = [b for b in ("numpy", "jax", "torch", "cupy") if b in an.available_backends()]
    assert sorted(first["backends"]) == sorted(f"arraynet {b}" for b in backends)
    assert first["cold_rows"] >= 1 and first["epochs"] == run["shape"]["epochs"]
    for name, row in first["backends"].items():
        assert row["first_s"] > 0 and row["cold_median_s"] > 0 and row["again_median_s"] > 0
        assert len(row["cold_s"]) == len(row["again_s"]) == run["repeats"]
        counts = [row["first_compiles"], *row["cold_compiles"], *row["again_compiles"]]
        assert all(isinstance(c, int) and c >= 0 for c in counts)
        if name != "arraynet jax":
            assert sum(counts) == 0, name
    if "arraynet jax" in first["backends"]:
        row = first["backends"]["arraynet jax"]
        assert row["cold_compiles"] == row["again_compiles"] == [0] * run["repeats"]
    table = text.split(f"\n({shape_key}) ")[1].split("\n\n")[0]
    assert "first fits" in table and all(f"\n{name} " in table for name in first["backends"])
    labels = {t["target"] for t in raw["targets"]}
    if shape_key == "b" and {"numpy", "jax"} <= set(backends):
        assert "(b) first fit of a new model on new data: arraynet jax / numpy time" in labels


def test_each_librarys_own_matmul_ceiling_is_measured(quick_run):
    """np.matmul's ceiling (the targets') and torch's and jax's own, where installed, and the
    matmul arraynet's torch namespace runs; each implementation is also read against its
    own library's."""
    _, raw = quick_run
    expected = {"numpy"} | {lib for lib in ("torch", "jax") if installed(lib)}
    expected |= {"torch-arraynet"} if installed("torch") else set()
    assert report.library("arraynet torch") == "torch-arraynet"
    assert report.library("arraynet torch", "cuda") == "torch-cuda"
    assert report.library(peers.JaxStep.name) == report.library(peers.JaxScan.name) == "jax"
    assert report.library(peers.TorchEager.name) == "torch"
    assert report.library(peers.Sklearn.name) == "numpy"
    for key in ("a", "b"):
        ceilings = raw["shapes"][key]["ceiling"]
        assert set(ceilings) == expected and all(value > 0 for value in ceilings.values())
        for name, row in raw["shapes"][key]["results"].items():
            own = ceilings[report.library(name)]
            assert row["own_ceiling_share"] == pytest.approx(row["gflops"] / own)
            assert row["ceiling_share"] == pytest.approx(row["gflops"] / ceilings["numpy"])


def test_the_gpu_shape_leaves_the_cpu_only_peers_out(tmp_path):
    """Shape (e) is for a GPU: arraynet numpy, hand-written NumPy and sklearn sit out, with a
    note; here it runs shrunk on the CPU, the rest of the table as usual."""
    import contextlib
    import io

    path = tmp_path / "e.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--quick", "--shapes", "e", "--repeats", "1", "--json", str(path)]) == 0
    run = json.loads(path.read_text())["shapes"]["e"]
    for name in ("arraynet numpy", peers.NumpyLoop.name, peers.Sklearn.name):
        assert name not in run["results"]
        assert any(note.startswith(f"{name}: left out") for note in run["notes"])
    assert "arraynet jax" in run["results"] or not installed("jax")


def test_gpu_targets_read_each_backend_against_its_gemm_and_torch_cuda():
    def row(samples, own):
        return {"samples_per_s": [samples], "own_ceiling_share": own, "ceiling_share": own}

    summaries = {
        "e": {
            "arraynet cupy": row(1100, 0.75),
            "arraynet jax": row(900, 0.65),
            report.TORCH: row(1000, 0.7),
        }
    }
    checks = {c["target"]: c["holds"] for c in report.targets(summaries, "cuda")}
    assert checks == {
        "(e) GPU arraynet cupy share of its GEMM ceiling": True,
        "(e) GPU arraynet cupy / torch eager (CUDA) throughput": True,
        "(e) GPU arraynet jax share of its GEMM ceiling": False,
        "(e) GPU arraynet jax / torch eager (CUDA) throughput": False,
    }
    assert report.targets(summaries, "cpu") == []


@pytest.mark.parametrize(
    "architecture, flags, says",
    [
        ("Haswell", {"avx2", "avx512f"}, True),  # this machine: a Zen 5 OpenBLAS took for Haswell
        ("Zen", {"avx2", "avx512f"}, True),
        ("SkylakeX", {"avx2", "avx512f"}, False),  # already AVX-512 kernels
        ("Haswell", {"avx2"}, False),  # no AVX-512 to use
    ],
)
def test_openblas_hint_only_when_avx512_lies_unused(architecture, flags, says):
    pools = [{"internal_api": "openmp"}, {"internal_api": "openblas", "architecture": architecture}]
    hint = report.openblas_hint(pools, flags)
    assert (hint is not None) == says
    if says:
        assert architecture in hint and "OPENBLAS_CORETYPE=SkylakeX" in hint


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """One quick run of shape (f), the CNN: its raw results."""
    import contextlib
    import io

    path = tmp_path_factory.mktemp("bench") / "cnn.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--quick", "--shapes", "f", "--repeats", "1", "--json", str(path)]) == 0
    return json.loads(path.read_text())


def test_the_cnn_table_lists_arraynet_torch_eager_and_hand_written_jax(cnn_run):
    import arraynet as an

    run = cnn_run["shapes"]["f"]
    backends = [b for b in ("numpy", "jax", "torch", "cupy") if b in an.available_backends()]
    needs = {cnn.TorchCnn.name: "torch", cnn.JaxCnnStep.name: "jax", cnn.JaxCnnScan.name: "jax"}
    missing = {name for name, module in needs.items() if not installed(module)}
    names = {f"arraynet {b}" for b in backends} | (set(needs) - missing)
    assert set(run["results"]) == names
    assert {note.split(":")[0] for note in run["notes"] if "left out" in note} == missing


def test_the_cnn_implementations_end_with_the_same_weights(cnn_run):
    rows = cnn_run["shapes"]["f"]["results"]
    assert len(rows) >= 1 + _peer_libraries(), sorted(rows)
    for name, row in rows.items():
        assert row["weights_off"] < 1e-4, name
        assert row["final_loss"] == pytest.approx(rows["arraynet numpy"]["final_loss"], rel=1e-4)


def test_the_cnn_targets_are_reported_not_asserted(cnn_run):
    labels = {t["target"] for t in cnn_run["targets"]}
    if installed("torch"):
        assert "(f) arraynet numpy / torch eager throughput" in labels
    assert all(isinstance(t["holds"], bool) for t in cnn_run["targets"])


def test_the_torch_cnn_takes_and_gives_keras_layouts():
    """NCHW kernels and the dense rows permuted from Keras's (H, W, C) flattening and back."""
    pytest.importorskip("torch")
    shape = cnn.CnnShape("f", "cnn", batch=4, rows=8, epochs=1)
    X, Y, weights = cnn.make_data(shape)
    assert X.shape == (8, 28, 28, 1) and Y.shape == (8, 10)
    assert [w.shape for w in weights] == [
        (3, 3, 1, 32),
        (32,),
        (3, 3, 32, 64),
        (64,),
        (1600, 10),
        (10,),
    ]
    assert shape.largest == (4 * 11 * 11, 288, 64)
    torch_cnn = cnn.TorchCnn(shape, X, Y, weights)
    torch_cnn.reset()
    for a, b in zip(torch_cnn.weights_now(), weights, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    """One quick run of shape (g), the LSTM (10 steps): its raw results."""
    import contextlib
    import io

    path = tmp_path_factory.mktemp("bench") / "lstm.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--quick", "--shapes", "g", "--repeats", "1", "--json", str(path)]) == 0
    return json.loads(path.read_text())


def test_the_lstm_table_lists_arraynet_torch_lstm_and_a_jax_scan(lstm_run):
    import arraynet as an

    run = lstm_run["shapes"]["g"]
    backends = [b for b in ("numpy", "jax", "torch", "cupy") if b in an.available_backends()]
    needs = {lstm.TorchLstm.name: "torch", lstm.JaxLstmScan.name: "jax"}
    missing = {name for name, module in needs.items() if not installed(module)}
    assert set(run["results"]) == {f"arraynet {b}" for b in backends} | (set(needs) - missing)
    assert {note.split(":")[0] for note in run["notes"] if "left out" in note} == missing


def test_the_lstm_implementations_train_the_same_weights(lstm_run):
    """torch.nn.LSTM (b_hh frozen at 0), the hand-written JAX scan and arraynet everywhere
    end where hand-written float32 rounding allows."""
    rows = lstm_run["shapes"]["g"]["results"]
    assert len(rows) >= 1 + _peer_libraries(), sorted(rows)
    for name, row in rows.items():
        assert row["weights_off"] < 1e-4, name
        assert row["final_loss"] == pytest.approx(rows["arraynet numpy"]["final_loss"], rel=1e-4)
    labels = {t["target"] for t in lstm_run["targets"]}
    if installed("torch") and installed("jax"):
        assert "(g) arraynet jax / torch eager throughput" in labels
        assert "(g) arraynet numpy / torch eager throughput" in labels


def test_the_lstm_peers_take_and_give_keras_layouts():
    """torch's weight_ih/weight_hh are the Keras kernels transposed; gates i, f, c(g), o."""
    pytest.importorskip("torch")
    shape = lstm.LstmShape("g", "lstm", batch=4, rows=8, epochs=1, steps=3)
    X, Y, weights = lstm.make_data(shape)
    assert X.shape == (8, 3, 32) and Y.shape == (8, 1)
    assert [w.shape for w in weights] == [(32, 512), (128, 512), (512,), (128, 1), (1,)]
    assert np.array_equal(weights[2][128:256], np.ones(128)) and not weights[2][:128].any()
    torch_lstm = lstm.TorchLstm(shape, X, Y, weights)
    torch_lstm.reset()
    for a, b in zip(torch_lstm.weights_now(), weights, strict=True):
        np.testing.assert_array_equal(a, b)


def _peer_libraries() -> int:
    """How many of torch and JAX are installed (each brings at least one implementation
    beside arraynet numpy; with neither, numpy alone is timed)."""
    import importlib.util

    return sum(importlib.util.find_spec(name) is not None for name in ("torch", "jax"))
