"""Data-parallel training on JAX (issue 21): a batch mesh over 8 simulated CPU devices, and
two processes of four devices each, against the one-device run, in float64.

JAX fixes its device count when it starts, and this process started it with one device,
so the multi-device runs happen in child processes (``multidevice_worker.py``) with
``JAX_NUM_CPU_DEVICES`` set, which report what they found as JSON. ``nox -s multidevice``
(or ``pytest -m multidevice``) runs these alone.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import arraynet as an

pytest.importorskip("jax")
pytestmark = [pytest.mark.multidevice, pytest.mark.xdist_group("multidevice")]

WORKER = Path(__file__).with_name("multidevice_worker.py")
ROOT = WORKER.parents[1]
CASES = ["full-None", "minibatch-64", "minibatch-100", "weighted-64"]
TOLERANCE = 1e-12

asked = os.environ.get("ARRAYNET_BACKEND")
if asked and "jax" not in asked.split(","):
    pytest.skip(f"JAX not under test (ARRAYNET_BACKEND={asked})", allow_module_level=True)


def _child(args, devices: int):
    env = dict(os.environ, JAX_NUM_CPU_DEVICES=str(devices), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"  # older JAX
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(child, timeout=300) -> str:
    try:
        output, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        output, _ = child.communicate()
    assert child.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """8 devices, one process: every case on one device and on the mesh."""
    out = tmp_path_factory.mktemp("single") / "found.json"
    _finish(_child(["single", str(out)], 8))
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    """Two processes of four devices, each with half the rows."""
    folder = tmp_path_factory.mktemp("processes")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outs = [folder / f"process{i}.json" for i in range(2)]
    children = [_child(["process", str(o), str(port), str(i), "2"], 4) for i, o in enumerate(outs)]
    for child in children:
        _finish(child, timeout=400)  # two processes share the cores with the other tests
    return [json.loads(o.read_text()) for o in outs]


def _largest_difference(a, b) -> float:
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a, b))


@pytest.mark.parametrize("case", CASES)
def test_eight_devices_equal_one(single, case):
    found = single["cases"][case]
    one, many = found["one"], found["many"]
    assert single["devices"] == 8
    assert _largest_difference(one["weights"], many["weights"]) < TOLERANCE
    assert len(one["losses"]) == len(many["losses"]) == 4
    assert _largest_difference([one["losses"]], [many["losses"]]) < TOLERANCE
    assert _largest_difference([one["predictions"]], [many["predictions"]]) < TOLERANCE
    assert abs(one["evaluate"] - many["evaluate"]) < TOLERANCE
    # and training moved the weights: equal, not both untouched
    assert one["losses"][-1] < one["losses"][0]


@pytest.mark.parametrize("case", CASES)
def test_weights_are_replicated_on_every_device(single, case):
    found = single["cases"][case]
    assert found["weight_devices"] == [8] * len(found["weight_devices"])
    assert all(found["replicated"])


def test_training_data_arrive_in_one_shard_per_device(single):
    shards = single["spied"]["data_shards"]
    assert shards  # X and Y, padded to whole batches
    for placed in shards:
        assert placed["shards"] == placed["devices"] == 8
        assert placed["starts"] == [k * placed["rows"] // 8 for k in range(8)]
    # inside the compiled epoch each minibatch is split along its rows
    assert single["spied"]["batch"] and set(single["spied"]["batch"]) == {"P('batch',)"}


def test_uneven_batch_trains_with_one_warning(single):
    assert single["cases"]["minibatch-64"]["warnings"] == []
    (warning,) = single["cases"]["minibatch-100"]["warnings"]
    assert "batch_size=100" in warning and "multiple of the 8 devices" in warning


def test_stochastic_is_refused_before_any_weight_changes(single):
    refused = single["stochastic"]
    assert refused["unchanged"]
    assert "minibatch with a batch size that is a multiple of 8" in refused["message"]


def test_memory_is_estimated_per_device(single):
    one, many = single["memory"]["None"], single["memory"]["all"]
    assert many["needed"] < one["needed"]  # a share of the data and of each batch
    assert "each of 8 devices of a 'batch' mesh" in many["message"]


@pytest.mark.parametrize("feature", ["validation", "chunks", "batch_callback", "generator"])
def test_the_rest_of_fit_works_unchanged(single, feature):
    """Validation data, streamed chunks, batch callbacks, an on-device generator's data and
    evaluate give on the mesh what they give on one device."""
    one, many = single["features"]["None"][feature], single["features"]["all"][feature]
    assert _largest_difference(one["weights"], many["weights"]) < TOLERANCE
    assert one["history"].keys() == many["history"].keys()
    for name, values in one["history"].items():
        assert _largest_difference([values], [many["history"][name]]) < TOLERANCE, name
    if "evaluate" in one:
        assert abs(one["evaluate"] - many["evaluate"]) < TOLERANCE
    assert "val_loss" in one["history"] or feature != "validation"
    assert single["features"]["all"]["batch_calls"] == 2 * 8  # 480 rows / 64, 2 epochs


@pytest.mark.parametrize("case", CASES)
def test_two_processes_equal_one(single, processes, case):
    one = single["cases"][case]["one"]
    first, second = (p["cases"][case]["many"] for p in processes)
    assert processes[0]["devices"] == 8
    for found in (first, second):  # every process has the whole model and History
        assert _largest_difference(one["weights"], found["weights"]) < TOLERANCE
        assert _largest_difference([one["losses"]], [found["losses"]]) < TOLERANCE
    predictions = np.concatenate([first["predictions"], second["predictions"]])  # own rows
    assert _largest_difference([one["predictions"]], [predictions]) < TOLERANCE
    assert abs(first["evaluate"] - one["evaluate"]) < TOLERANCE  # the loss over all rows
    assert first["evaluate"] == second["evaluate"]


@pytest.mark.parametrize("feature", ["split", "chunks"])
def test_two_processes_split_and_stream_as_one(single, processes, feature):
    """``validation_split``: each process holds out its own last rows; streamed chunks:
    chunk k of the run is every process's chunk k. Both equal one process fed the rows so
    arranged."""
    one = single["arranged"][feature]
    for found in (p["features"][feature] for p in processes):
        assert _largest_difference(one["weights"], found["weights"]) < TOLERANCE
        assert one["history"].keys() == found["history"].keys()
        for name, values in one["history"].items():
            assert _largest_difference([values], [found["history"][name]]) < TOLERANCE, name
    assert "val_loss" in one["history"] or feature != "split"


def test_batched_predict_gives_each_process_its_own_rows(processes):
    for found in (p["features"]["predict"] for p in processes):
        assert np.shape(found["batched"]) == np.shape(found["whole"]) == (240, 3)
        assert _largest_difference([found["whole"]], [found["batched"]]) < TOLERANCE
        assert abs(found["evaluate_batched"] - found["evaluate"]) < TOLERANCE
        assert found["evaluate_repeated"] == [found["evaluate_batched"]] * 8
    # the weighted loss over every process's rows: each one's sum of w * -log p[y], by hand
    total = sum(p["features"]["predict"]["own_weighted_sum"] for p in processes)
    for p in processes:
        assert abs(p["features"]["predict"]["evaluate_weighted"] - total / 480) < TOLERANCE


def test_every_process_loads_the_file_process_zero_wrote(processes):
    assert all(p["loaded_equal"] for p in processes)


def test_devices_needs_jax():
    with pytest.raises(ValueError, match="devices: .*'jax'"):
        an.use("numpy", devices=2)


@pytest.mark.parametrize("devices", [0, 2, "some", [0, 0], True])
def test_devices_refuses_what_is_not_here(devices):
    with pytest.raises(ValueError, match="devices: expected"):
        an.use("jax", devices=devices)  # this process has one device


def test_one_device_mesh_trains_as_one_device():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))
    weights = []
    for devices in (None, 1):
        with an.use("jax", dtype="float64", devices=devices):
            net = an.Sequential([an.layers.Dense(4, activation="tanh"), an.layers.Dense(1)], seed=1)
            net.compile(optimizer="sgd", loss="mse")
            net.fit(X, y, mode="minibatch", batch_size=8, epochs=3, verbose=0)
            weights.append(net.get_weights())
    assert _largest_difference(*weights) < TOLERANCE


def test_the_benchmark_row_reports_the_ratio_against_its_bound():
    sys.path.insert(0, str(ROOT))
    from benchmarks import data_parallel

    row = {"describe": "(c) medium", "ratio": 1.2, "engine_ratio": 1.6, "over_engine": 0.9,
           "weights_difference": 1e-8, "seconds": {"one": [1.0], "eight": [1.2]}}  # fmt: skip
    found = {"devices": 8, "platform": "cpu", "shapes": {"c": row, "d": {**row, "ratio": 1.7}}}
    checks = data_parallel.targets(found)
    assert [c["holds"] for c in checks] == [True, False]
    assert "1.20x" in data_parallel.table(found) and "efficiency" not in data_parallel.table(found)
    gpus = data_parallel.table({**found, "platform": "gpu"})
    assert "scaling efficiency 10%" in gpus  # 1 / (1.2 * 8)


@pytest.mark.parametrize(("cores", "rows"), [(2, [8, 2]), (1, [8, 2]), (6, [8, 6]), (16, [8])])
def test_the_benchmark_adds_a_row_of_one_simulated_device_per_core(monkeypatch, cores, rows):
    sys.path.insert(0, str(ROOT))
    from benchmarks import data_parallel

    monkeypatch.setattr(data_parallel.os, "cpu_count", lambda: cores)
    assert data_parallel.device_counts(gpus=False) == rows
    assert data_parallel.device_counts(gpus=True) == [0]


def test_arraynet_info_shows_the_mesh(single, capsys):
    from arraynet.cli import main

    assert main(["info"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "mesh" in x)
    assert "devices='all'" in line and "in 1 process" in line
    assert "'batch' mesh of 8 cpu devices in 1 process" in single["info"]
