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

# added later, run alone after the imports and keras.utils.set_random_seed(0): Keras's masks
# (Embedding mask_zero, Masking; the file records NotEqual/Any operations for them) before a
# Bidirectional LSTM and a GRU; a causal self-attention Transformer block over a mask
tokens = keras.Input((7,), dtype="int32", name="tokens")
h = L.Embedding(20, 6, mask_zero=True, name="embed")(tokens)
h = L.Bidirectional(L.LSTM(4, return_sequences=True), name="bi")(h)  # its output: no mask
m = L.Masking(name="masking")(L.Dense(8, name="mix")(L.Embedding(20, 3, mask_zero=True)(tokens)))
h = L.Add(name="join")([h, m])  # the masked input's mask
masked = keras.Model(tokens, L.Dense(2, name="head")(L.GRU(3, name="gru")(h)), name="masked")
x = L.Embedding(20, 8, mask_zero=True, name="embed")(tokens)
attended = L.MultiHeadAttention(2, 4, name="attention")(x, x, use_causal_mask=True)
x = L.LayerNormalization(name="norm")(L.Add(name="residual")([x, attended]))
x = L.GlobalAveragePooling1D(name="pool")(L.Dense(8, activation="relu", name="ffn")(x))
attention = keras.Model(tokens, L.Dense(2, name="head")(x), name="attention")
rng = np.random.default_rng(2)
lengths = rng.integers(1, 8, 6)
Xm = np.where(np.arange(7) < lengths[:, None], rng.integers(1, 20, (6, 7)), 0).astype("int32")
masked.save("tests/data/keras/masked.keras")
attention.save("tests/data/keras/attention.keras")
np.savez("tests/data/keras/masks.npz", x=Xm, masked=masked.predict(Xm, verbose=0),
         attention=attention.predict(Xm, verbose=0))  # fmt: skip
