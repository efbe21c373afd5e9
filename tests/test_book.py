"""Grokking Deep Learning ch. 6, reproduced to 1e-9 relative on every backend (float64).

The expected numbers are the ones printed in the book (shared seeds), not arraynet output.
"""

import pytest
from examples_loader import load_example

import arraynet as an

streetlights = load_example("streetlights")

ERROR_FOR_ALL_FIRST = [2.6561231104, 0.9628701776715985]
ERROR_FOR_ALL_LAST = [0.0006143435674831474, 0.00053373677328488]  # iterations 39 and 40
RELU_EVERY_10 = [
    0.6342311598444467,
    0.35838407676317513,
    0.0830183113303298,
    0.006467054957103705,
    0.0003292669000750734,
    1.5055622665134859e-05,
]


def test_error_for_all_the_whole_dataset(backend):
    with an.use(backend, dtype="float64"):
        errors = streetlights.whole_dataset(40)
    assert len(errors) == 40
    assert errors[:2] == pytest.approx(ERROR_FOR_ALL_FIRST, rel=1e-9)
    assert errors[-2:] == pytest.approx(ERROR_FOR_ALL_LAST, rel=1e-9)


def test_three_layer_relu_network(backend):
    with an.use(backend, dtype="float64"):
        errors = streetlights.three_layer_relu(60)
    assert errors[9::10] == pytest.approx(RELU_EVERY_10, rel=1e-9)


def test_the_example_prints_the_book_numbers(capsys, assert_printed):
    streetlights.main(["numpy"])
    out = capsys.readouterr().out
    assert_printed(out, "Error For All: 2.6561231104\n")
    assert_printed(out, "Error:0.6342311598444467")
