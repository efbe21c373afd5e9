"""``an.utils.pad_sequences`` and ``normalize`` against Keras 3's documented behaviour,
written out by hand."""

import numpy as np
import pytest

import arraynet as an

SEQUENCES = [[1, 2, 3], [4, 5], [], [6]]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, [[1, 2, 3], [0, 4, 5], [0, 0, 0], [0, 0, 6]]),
        ({"padding": "post"}, [[1, 2, 3], [4, 5, 0], [0, 0, 0], [6, 0, 0]]),
        ({"maxlen": 2}, [[2, 3], [4, 5], [0, 0], [0, 6]]),
        ({"maxlen": 2, "truncating": "post"}, [[1, 2], [4, 5], [0, 0], [0, 6]]),
        ({"maxlen": 4, "value": -1}, [[-1, 1, 2, 3], [-1, -1, 4, 5], [-1] * 4, [-1, -1, -1, 6]]),
    ],
)
def test_pad_sequences_as_keras(kwargs, expected):
    out = an.utils.pad_sequences(SEQUENCES, **kwargs)
    assert out.dtype == np.int32 and out.tolist() == expected


def test_pad_sequences_of_vectors_and_float_values():
    out = an.utils.pad_sequences([np.ones((2, 3)), np.ones((1, 3)) * 2], dtype="float32",
                                 value=0.5)  # fmt: skip
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    assert np.array_equal(out[1], [[0.5] * 3, [2.0] * 3])


def test_pad_sequences_refusals():
    with pytest.raises(ValueError, match="padding: expected one of"):
        an.utils.pad_sequences(SEQUENCES, padding="middle")
    with pytest.raises(ValueError, match="maxlen"):
        an.utils.pad_sequences(SEQUENCES, maxlen=0)
    with pytest.raises(ValueError, match="steps of one shape"):
        an.utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


def test_normalize_divides_by_the_norm():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 1.0]])
    out = an.utils.normalize(x)
    assert np.allclose(out, [[0.6, 0.8], [0.0, 0.0], [2**-0.5, 2**-0.5]])
    assert np.allclose(an.utils.normalize(x, axis=0, order=1)[:, 0], [0.75, 0.0, 0.25])
