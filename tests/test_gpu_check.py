"""scripts/gpu_check.py, the one script to run on a CUDA machine: what it would run
there (its plan), its dry run on the CPU (the same steps, quickly), its time budget."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gpu_plan_runs_the_selection_per_cuda_backend_then_the_benchmark(
    gpu_check, tmp_path, capsys
):
    assert gpu_check.main([str(tmp_path), "--plan"]) == 0
    lines = capsys.readouterr().out.splitlines()
    tests = [line for line in lines if line.startswith("[tests]")]
    assert [line.split("ARRAYNET_BACKEND=")[1].split()[0] for line in tests] == [
        "cupy",
        "jax",
        "torch",
    ]
    for line in tests:
        assert "-m pytest -q -m gpu" in line and "-n 4" in line
        assert (
            "ARRAYNET_TORCH_DEVICE=cuda" in line and "XLA_PYTHON_CLIENT_PREALLOCATE=false" in line
        )
    bench = [line for line in lines if line.startswith("[bench]")]
    assert len(bench) == 1 and "-m benchmarks" in bench[0]
    assert "--device cuda --shapes d,e" in bench[0]
    assert lines.index(tests[-1]) < lines.index(bench[0])
    synthetic = [line for line in lines if line.startswith("[synthetic]")]
    assert {line.split("--backend ")[1].split()[0] for line in synthetic} == {"jax", "cupy"}
    assert all("--matmul-precision highest" in line for line in synthetic)
    profile = [line for line in lines if line.startswith("[profile]")]
    assert len(profile) == 1 and "scripts/gpu_profile.py --shape d" in profile[0]
    assert not list(tmp_path.iterdir()), "a plan writes nothing"


def test_the_dry_run_passes_on_the_cpu(gpu_check, tmp_path, capsys):
    """The tests and example parts on the CPU (narrowed to one test: the whole dry run, with
    the benchmark, is ``--dry-run`` alone)."""
    logs = tmp_path / "logs"
    parts = "tests,synthetic,profile"
    argv = [str(logs), "--dry-run", "--parts", parts, "--select", "checker_can_fail"]
    assert gpu_check.main(argv) == 0, capsys.readouterr().out
    table = (logs / "summary.txt").read_text()
    assert "tests      numpy" in table and "1 passed" in table
    assert "throughput:" in table and "rows/s" in table
    assert "matmul_precision 'highest'" in (logs / "synthetic.log").read_text()
    assert "profile    shape d" in table and "ms/update" in table and "samples/s" in table
    assert "tottime" in (logs / "profile.log").read_text()
    files = [p for p in logs.rglob("*") if p.is_file()]
    assert len(files) <= 8  # few logs: easy to copy off a borrowed machine


def test_a_spent_budget_runs_nothing_more_and_says_so(gpu_check, tmp_path, capsys):
    assert gpu_check.main([str(tmp_path), "--dry-run", "--parts", "bench", "--budget", "1"]) == 1
    assert "not run (budget spent)" in (tmp_path / "summary.txt").read_text()


def test_unknown_parts_are_refused(gpu_check, tmp_path, capsys):
    with pytest.raises(SystemExit):
        gpu_check.main([str(tmp_path), "--parts", "tests,speed"])
    assert "--parts: expected some of env,tests,bench,synthetic,profile" in capsys.readouterr().err


def test_the_script_runs_as_a_program(tmp_path):
    import subprocess

    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), "--plan", "--parts", "bench"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "[bench]" in done.stdout, done.stderr
