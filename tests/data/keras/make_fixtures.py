"""How the files here were made, once, with Keras 3.15.1 (KERAS_BACKEND=jax, from the
project root): two .keras files and Keras's outputs on fixed inputs (tests/test_keras_files.py)."""

import keras
import numpy as np

keras.utils.set_random_seed(0)
L = keras.layers
cnn = keras.Sequential(
    [
        keras.Input((8, 8, 1)),
        L.Rescaling(1 / 16),
        L.Conv2D(4, 3, padding="same", activation="relu"),
        L.BatchNormalization(),
        L.MaxPooling2D(2),
        L.Conv2D(6, 2),
        L.GlobalMaxPooling2D(),
        L.Dropout(0.2),
        L.Dense(3, activation="softmax"),
    ],
    name="cnn",
)
cnn.compile("adam", "sparse_categorical_crossentropy")
rng = np.random.default_rng(0)
Xc = rng.integers(0, 17, (20, 8, 8, 1)).astype("float32")
cnn.fit(Xc, rng.integers(0, 3, 20), epochs=2, verbose=0)  # moving statistics away from 0 and 1
src, tgt = keras.Input((6, 3), name="source"), keras.Input((5,), dtype="int32", name="target")
out, h, c = L.LSTM(8, return_state=True, name="encoder")(src)
emb = L.Embedding(12, 4, name="embed")(tgt)
dec = L.LSTM(8, return_sequences=True, name="decoder")(emb, initial_state=[h, c])
dec = L.LayerNormalization(name="norm")(dec)
gru = L.GRU(5, return_sequences=True, name="gru")(dec)
pooled = L.GlobalAveragePooling1D(name="pool")(gru)
head = L.Dense(2, name="head")(L.Concatenate(name="join")([pooled, out]))
seq = L.Dense(4, name="steps")(dec)
s2s = keras.Model([src, tgt], [seq, head], name="seq2seq")
Xs = [rng.standard_normal((7, 6, 3)).astype("float32"), rng.integers(0, 12, (7, 5)).astype("int32")]
cnn.save("tests/data/keras/cnn.keras")
s2s.save("tests/data/keras/seq2seq.keras")
P = s2s.predict(Xs, verbose=0)
np.savez(
    "tests/data/keras/outputs.npz",
    cnn_x=Xc,
    cnn_p=cnn.predict(Xc, verbose=0),
    s2s_x0=Xs[0],
    s2s_x1=Xs[1],
    s2s_p0=P[0],
    s2s_p1=P[1],
)

# added later, run alone after the imports and keras.utils.set_random_seed(0): a Bidirectional
# LSTM, a TimeDistributed Dense, a summed GRU pair
seqs = keras.Sequential(
    [keras.Input((6, 4)), L.Bidirectional(L.LSTM(5, return_sequences=True)),
     L.TimeDistributed(L.Dense(3)), L.Bidirectional(L.GRU(2), merge_mode="sum"), L.Dense(1)],
    name="bidirectional",
)  # fmt: skip
rng = np.random.default_rng(1)
Xb = rng.standard_normal((4, 6, 4)).astype("float32")
seqs.save("tests/data/keras/bidirectional.keras")
np.savez("tests/data/keras/bidirectional.npz", x=Xb, p=seqs.predict(Xb, verbose=0))
