"""How the files here were made, by arraynet at commit a6548a3, before its optimizers
followed Keras 3 (``python make_files.py DIR``): one model file per optimizer configuration,
each trained 2 epochs on NumPy float32, and in after_one_more_epoch.json the weights after
one more epoch (tests/test_optimizer_models.py checks them for SGD, whose numbers did not
change). Run today, it would write today's format instead."""

import json
import sys

import numpy as np

import arraynet as an
from arraynet import optimizers as opt

out = sys.argv[1]
rng = np.random.default_rng(3)
X = rng.normal(size=(24, 3))
y = X @ np.array([0.5, -1.0, 2.0]) + 0.3
CASES = {
    "sgd": lambda: opt.SGD(lr=0.05),
    "sgd_momentum": lambda: opt.SGD(lr=0.05, momentum=0.9, nesterov=True),
    "sgd_clipnorm": lambda: opt.SGD(lr=0.05, momentum=0.5, clipnorm=0.5),
    "sgd_step_decay": lambda: opt.SGD(lr=opt.StepDecay(0.05, 3, 0.5)),
    "sgd_exponential": lambda: opt.SGD(lr=opt.ExponentialDecay(0.05, 4, 0.5, staircase=True)),
    "sgd_cosine": lambda: opt.SGD(lr=opt.CosineDecay(0.05, 10, alpha=0.1), momentum=0.5),
    "rmsprop": lambda: opt.RMSprop(lr=0.01, momentum=0.5, centered=True),
    "adam": lambda: opt.Adam(lr=0.01, amsgrad=True),
    "adamw": lambda: opt.AdamW(lr=0.01, weight_decay=0.1),
}
expected = {}
for name, make in CASES.items():
    layers = [an.layers.Dense(2, activation="tanh"), an.layers.Dense(1)]
    model = an.Sequential(layers, input_dim=3, seed=1)
    model.compile("mse", make())
    model.fit(X, y, batch_size=8, epochs=2, verbose=0)
    if name == "sgd":
        model.learning_rate = 0.04  # a learning rate set between fits is saved in the state
    model.save(f"{out}/{name}.arraynet")
    model.fit(X, y, batch_size=8, epochs=3, initial_epoch=2, verbose=0)
    expected[name] = [w.tolist() for w in model.get_weights()]
with open(f"{out}/after_one_more_epoch.json", "w") as f:
    json.dump(expected, f)
