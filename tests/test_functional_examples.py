"""The functional API's examples run quickly and learn what they claim."""

import pytest
from examples_loader import load_example

import arraynet as an


def test_residual_mlp_classifies_the_spirals():
    example = load_example("residual_mlp")
    with an.use("numpy"):
        scores = example.run(blocks=3, epochs=30, rows=600)
    assert scores["residual"] > 0.9


def test_two_inputs_two_heads_learns_both_heads():
    example = load_example("two_inputs_two_heads")
    with an.use("numpy"):
        scores = example.run(epochs=8, rows=1000)
    assert scores["accuracy"] > 0.9
    assert scores["value_mse"] < 0.1 * scores["value_variance"]
    assert scores["history_keys"][:4] == ["loss", "kind_loss", "value_loss", "kind_accuracy"]
    assert "val_kind_accuracy" in scores["history_keys"]


def test_siamese_shares_its_encoder_and_separates_clusters(capsys):
    example = load_example("siamese")
    scores = example.main(["--epochs", "10"])
    assert scores["accuracy"] > 0.9
    assert scores["same_distance"] < scores["other_distance"] / 5
    assert scores["layers"] == 7  # two InputLayers (as Keras); the shared encoder's two once
    assert "first[0][0], second[0][0]" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["residual_mlp", "two_inputs_two_heads", "siamese"])
def test_examples_refuse_bad_arguments(name):
    example = load_example(name)
    with pytest.raises(SystemExit):
        example.main(["--epochs", "0"])
