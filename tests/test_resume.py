"""Resume after Ctrl-C is bitwise: a ``fit`` interrupted mid-epoch (shuffle on), then ``save``,
``load`` and ``fit(initial_epoch=model.epoch)``, ends with the weights of an uninterrupted run.

The interrupted call had already drawn its epoch's order (and dropout masks); abandoning it
puts the generator, the weights and the optimizer state back at the last epoch counted.
"""

import numpy as np
import pytest

import arraynet as an

RNG = np.random.default_rng(3)
X = RNG.normal(size=(40, 5))
Y = (X[:, :1] * X[:, 1:2] > 0).astype(np.float64)
EPOCHS = 6
TRAIN = {"batch_size": 8, "shuffle": True, "verbose": 0}


def _model():
    model = an.Sequential(
        [an.layers.Dense(6, activation="tanh"), an.layers.Dropout(0.25), an.layers.Dense(1)],
        seed=7,
    )
    model.compile("squared_error", an.optimizers.Adam(lr=0.01))
    return model


class _Batches(an.callbacks.Callback):
    """Sees every batch (so each epoch is its own call); raises KeyboardInterrupt, as Ctrl-C
    does, after batch ``at[1]`` of epoch ``at[0]`` (0-based)."""

    def __init__(self, at=None):
        self.at, self.epoch = at, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def _uninterrupted(callbacks):
    model = _model()
    model.fit(X, Y, epochs=EPOCHS, callbacks=callbacks, **TRAIN)
    return model.get_weights()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ctrl_c_during_epoch_4_then_save_load_resume_is_bitwise(dtype, tmp_path):
    with an.use("numpy", dtype=dtype):
        expected = _uninterrupted([_Batches()])
        model = _model()
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, Y, epochs=EPOCHS, callbacks=[_Batches(at=(3, 2))], **TRAIN)
        assert model.epoch == 3  # epochs 1-3 counted, the 4th abandoned
        model.save(tmp_path / "interrupted.arraynet")
        resumed = an.load(tmp_path / "interrupted.arraynet")
        resumed.fit(
            X, Y, epochs=EPOCHS, initial_epoch=resumed.epoch, callbacks=[_Batches()], **TRAIN
        )
    for got, want in zip(resumed.get_weights(), expected):
        np.testing.assert_array_equal(got, want)


def test_ctrl_c_in_a_call_of_several_epochs_rolls_back_to_its_start(tmp_path, monkeypatch):
    # No callback needs each epoch: all six epochs are one runner call, interrupted at once.
    expected = _uninterrupted([])
    model = _model()
    original = an.train.Trainer.run

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(an.train.Trainer, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, epochs=EPOCHS, **TRAIN)
    monkeypatch.setattr(an.train.Trainer, "run", original)
    assert model.epoch == 0
    model.save(tmp_path / "interrupted.arraynet")
    resumed = an.load(tmp_path / "interrupted.arraynet")
    resumed.fit(X, Y, epochs=EPOCHS, initial_epoch=resumed.epoch, **TRAIN)
    for got, want in zip(resumed.get_weights(), expected):
        np.testing.assert_array_equal(got, want)


def test_an_error_mid_epoch_leaves_the_model_at_the_last_epoch_counted():
    # the same rollback for any exception: the model equals one trained 3 epochs
    three = _model()
    three.fit(X, Y, epochs=3, callbacks=[_Batches()], **TRAIN)

    class Boom(_Batches):
        def on_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == (3, 1):
                raise RuntimeError("boom")

    model = _model()
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(X, Y, epochs=EPOCHS, callbacks=[Boom()], **TRAIN)
    assert model.epoch == 3
    assert model.rng.bit_generator.state == three.rng.bit_generator.state
    for got, want in zip(model.get_weights(), three.get_weights()):
        np.testing.assert_array_equal(got, want)
