"""The ``backend`` fixture: every test that takes it runs on each backend under test.

``ARRAYNET_BACKEND=jax pytest`` (what each nox session sets) runs one backend; without it,
every backend installed here runs, and one that cannot run here (no CUDA device for CuPy,
say) is skipped, with the reason printed. An asked-for backend that cannot run is skipped too.

Which tests exist depends only on what is installed, never on probing a device: pytest-xdist
needs every worker to collect the same tests, and a device probe (``an.available_backends()``
initialises CUDA, JAX's platforms...) can answer differently in two processes.

``ARRAYNET_TORCH_DEVICE=cuda`` makes "cuda" the torch backend's device where a test names
none (the GPU selection runs torch on the GPU so). Tests in tests/gpu_selection.py are
marked ``gpu``: ``pytest -m gpu`` runs them.

Each test draws afresh from its module's ``RNG``, seeded by its id, whatever ran before it.

``assert_printed`` checks a line a book example prints: its numbers to 1e-12 relative, not
their digits (the 17th can differ between CPUs), its words exactly.
"""

import importlib.util
import math
import os
import re
import zlib

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import BACKENDS

_MODULES = {"array_api_strict": "array_api_strict"}  # backend name -> module, where they differ


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(_MODULES.get(name, name)) is not None
    except (ImportError, ValueError):
        return False


def _backends_under_test() -> list[str]:
    asked = os.environ.get("ARRAYNET_BACKEND")
    if asked:
        return [name.strip() for name in asked.split(",")]
    return [name for name in BACKENDS if _installed(name)]


def _skip_reason(name: str) -> str | None:
    if name not in BACKENDS:
        return None  # an unknown name fails loudly in the test itself
    try:
        an.use(name).__exit__()
    except (ImportError, RuntimeError) as err:
        return f"backend {name!r} cannot run here: {err}"
    return None


def _torch_default_device(device: str) -> None:
    """The torch backend's device where ``use`` names none: ``device`` (for this run)."""
    from arraynet.backend import libraries

    plain = libraries._LOADERS["torch"]
    libraries._LOADERS["torch"] = lambda dtype, asked: plain(
        dtype, device if asked is None else asked
    )


if os.environ.get("ARRAYNET_TORCH_DEVICE"):
    _torch_default_device(os.environ["ARRAYNET_TORCH_DEVICE"])


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "gpu: the GPU selection (tests/gpu_selection.py; pytest -m gpu, nox -s gpu)"
    )


def _selection_pattern(entry: str) -> re.Pattern:
    """``entry`` (``*`` any text) as a pattern of whole test ids, under any folder."""
    return re.compile("(?:.*/)?" + re.escape(entry).replace(r"\*", ".*"))


def collected_id(item) -> str:
    """The test's id as collected: without the ``@group`` pytest-xdist appends under
    ``--dist loadgroup``, so that a test is the same test in and out of a worker."""
    return re.sub(r"@[\w-]+$", "", item.nodeid)


def pytest_collection_modifyitems(config, items):
    """Mark the tests of the GPU selection ``gpu`` (their ids, whatever the backends)."""
    from gpu_selection import GPU_TESTS

    patterns = [_selection_pattern(entry) for entry in GPU_TESTS]
    for item in items:
        if any(p.fullmatch(collected_id(item)) for p in patterns):
            item.add_marker(pytest.mark.gpu)


@pytest.fixture(params=_backends_under_test())
def backend(request):
    """A backend name; the test selects it itself with ``an.use(backend, dtype=...)``."""
    reason = _skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    return request.param


@pytest.fixture(autouse=True)
def _restore_backend():
    """Each test starts and ends on NumPy float32, whatever it selected."""
    with an.use("numpy"):
        yield


@pytest.fixture(autouse=True)
def _own_draws(request):
    """A test module's ``RNG`` (a NumPy generator its tests draw from) starts each test
    afresh, seeded by the test's id: its data do not depend on which tests ran before it
    in the process (pytest-xdist deals them out differently from run to run)."""
    if isinstance(getattr(request.module, "RNG", None), np.random.Generator):
        request.module.RNG = np.random.default_rng(zlib.crc32(collected_id(request.node).encode()))
    yield


# -- printed numbers ---------------------------------------------------------------------------

NUMBER = r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
PRINTED_REL = 1e-12


def _printed_lines(out: str, expected: str, rel: float) -> tuple[bool, list[str]]:
    """Whether ``out`` holds ``expected`` with each number within ``rel``, and the near misses
    (the same words, other numbers)."""
    words = re.split(NUMBER, expected)
    wanted = [float(x) for x in re.findall(NUMBER, expected)]
    pattern = "".join(
        re.escape(word) + (f"({NUMBER})" if i < len(wanted) else "") for i, word in enumerate(words)
    )
    seen = []
    for match in re.finditer(pattern, out):
        got = [float(x) for x in match.groups()]
        if all(math.isclose(g, w, rel_tol=rel, abs_tol=0.0) for g, w in zip(got, wanted)):
            return True, []
        seen.append(match.group(0))
    return False, seen


@pytest.fixture
def assert_printed():
    """``assert_printed(out, "Error: 8.3e-06 Prediction:-0.0028")`` asserts that ``out`` holds that
    text, its words exactly and its numbers to 1e-12 relative."""

    def check(out: str, expected: str, rel: float = PRINTED_REL) -> None:
        found, seen = _printed_lines(out, expected, rel)
        assert found, f"{expected!r} (numbers to rel {rel:g}) not printed; same words: {seen}"

    return check
