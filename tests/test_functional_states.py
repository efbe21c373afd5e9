"""A recurrent layer's states in a functional model (issue 20): ``return_state=True`` gives
one tensor per output, ``initial_state=`` takes them, as Keras's encoder-decoder
(``lstm_seq2seq``) wires them.

The encoder's output and its states are read by several layers and are model outputs too,
so the deltas of a layer's several outputs meet in one list. References: torch's
``nn.LSTM``/``nn.GRU`` fed the encoder's final states (the forward, float64), central
differences (the gradients, on every backend), and the model trained on NumPy (the same
training on every backend, the three modes).
"""

import numpy as np
import pytest

import arraynet as an
from arraynet.layers import GRU, LSTM, Concatenate, Dense, Input, OutputPart
from tests import torch_rnn

KINDS = {"LSTM": LSTM, "GRU": GRU}
ROWS, UNITS = 6, 4
ENCODED, DECODED = (5, 3), (4, 2)


def encoder_decoder(kind: str, seed: int = 0):
    """Keras's seq2seq shape: the encoder's final states start the decoder; two outputs
    (the decoded sequence, and a head on the encoder's output and first state)."""
    source, target = Input(shape=ENCODED, name="source"), Input(shape=DECODED, name="target")
    output, *states = KINDS[kind](UNITS, return_state=True, name="encoder")(source)
    decoded = KINDS[kind](UNITS, return_sequences=True, name="decoder")(
        target, initial_state=states
    )
    sequence = Dense(2, name="readout")(decoded)
    head = Dense(3, activation="tanh", name="head")(Concatenate(name="join")([output, states[0]]))
    return an.Model([source, target], [sequence, head], seed=seed)


def data(seed: int = 1):
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((ROWS, *ENCODED)), rng.standard_normal((ROWS, *DECODED))]
    Y = [rng.standard_normal((ROWS, DECODED[0], 2)), rng.standard_normal((ROWS, 3))]
    return X, Y


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_decoder_starts_from_the_encoders_states_as_in_torch(kind):
    torch = pytest.importorskip("torch")
    an.use("numpy", dtype="float64")
    model, (X, _) = encoder_decoder(kind), data()
    sequence, head = model.predict(X)
    weights = {layer.name: layer.get_weights() for layer in model.own_layers}
    encoder = torch_rnn.module(kind, weights["encoder"], ENCODED[1], UNITS)
    decoder = torch_rnn.module(kind, weights["decoder"], DECODED[1], UNITS)
    with torch.no_grad():
        out, final = encoder(torch.from_numpy(X[0]))
        decoded, _ = decoder(torch.from_numpy(X[1]), final)
    W, b = weights["readout"]
    np.testing.assert_allclose(sequence, decoded.numpy() @ W + b, rtol=1e-12, atol=1e-13)
    first = (final[0] if kind == "LSTM" else final)[0].numpy()
    np.testing.assert_allclose(first, out[:, -1].numpy(), rtol=1e-12)  # h is the output
    W, b = weights["head"]
    expected = np.tanh(np.concatenate([out[:, -1].numpy(), first], axis=1) @ W + b)
    np.testing.assert_allclose(head, expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", list(KINDS))
def test_gradients_through_the_states_match_central_differences(backend, kind):
    an.use(backend, dtype="float64")
    model, (X, Y) = encoder_decoder(kind), data()
    model.compile(loss="mse", optimizer="sgd")
    report = an.gradcheck(model, X, Y)
    assert report.passed, str(report)


@pytest.mark.parametrize("mode", ["full", "minibatch", "stochastic"])
def test_trained_alike_on_every_backend(backend, mode):
    def trained(name):
        an.use(name, dtype="float64")
        model, (X, Y) = encoder_decoder("LSTM", seed=3), data(4)
        model.compile(loss="mse", optimizer=an.optimizers.SGD(learning_rate=0.05))
        model.fit(X, Y, epochs=2, batch_size=4, mode=mode, shuffle=False, verbose=0)
        return model.get_weights()

    expected = trained("numpy")
    for got, want in zip(trained(backend), expected):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_the_parts_are_wiring_not_layers(tmp_path):
    """``model.layers``, ``summary()`` and the weights list the layers only (Keras's view);
    the saved model wires the parts again."""
    an.use("numpy", dtype="float64")
    model, (X, _) = encoder_decoder("LSTM"), data()
    assert [layer.name for layer in model.layers] == [
        "source",
        "target",
        "encoder",
        "decoder",
        "join",
        "readout",
        "head",
    ]  # fmt: skip: Keras's order (an input at its depth)
    assert sum(isinstance(layer, OutputPart) for layer in model.graph.layers) == 3
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "OutputPart" not in text
    assert "[(None, 4), (None, 4), (None, 4)]" in text  # the encoder's three outputs
    assert "target[0][0], encoder[0][1], encoder[0][2]" in text  # Keras's layer[call][part]
    assert len(model.get_weights()) == 3 + 3 + 2 + 2
    path = tmp_path / "seq2seq.arraynet"
    model.save(path)
    again = an.models.load_model(path)
    for got, want in zip(again.predict(X), model.predict(X)):
        np.testing.assert_array_equal(got, want)
    rebuilt = an.Model.from_config(model.get_config())
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]


def test_an_output_part_refuses_a_wrong_index():
    with pytest.raises(ValueError, match="index: expected below count 3; got 3"):
        OutputPart(3, 3)
