"""scikit-learn stays optional: ``import arraynet`` does not load it, and asking for an
estimator without it names the extra to install."""

import subprocess
import sys

PROGRAM = """
import sys
sys.modules["sklearn"] = None  # as if scikit-learn were not installed
import arraynet as an
assert "arraynet.wrappers.estimators" not in sys.modules
try:
    an.wrappers.SKLearnClassifier
except ImportError as err:
    print(err)
"""


def test_without_scikit_learn_the_estimators_name_the_extra():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pip install 'arraynet[sklearn]'" in done.stdout


def test_importing_arraynet_does_not_load_scikit_learn():
    program = "import sys, arraynet; print('sklearn' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr[-2000:]
