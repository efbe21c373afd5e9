"""Weight initializers. All draw on the host from a seeded ``numpy.random.Generator``.

Drawing on the host, in float64, and moving the result once is what gives every backend
the same initial weights for the same seed.
"""

from __future__ import annotations

import numpy as np


def uniform(rng, shape):
    """The book's ``2 * random - 1``: uniform on [-1, 1)."""
    return 2.0 * rng.random(shape) - 1.0


def zeros(rng, shape):
    return np.zeros(shape)


def ones(rng, shape):
    return np.ones(shape)


def _fans(shape):
    """``(fan_in, fan_out)``; for a kernel of rank > 2 (a convolution's ``(kh, kw, C, F)``)
    each is times the receptive field ``kh * kw``, as Keras counts them."""
    if len(shape) > 2:
        field = int(np.prod(shape[:-2]))
        return shape[-2] * field, shape[-1] * field
    fan_in = shape[0] if len(shape) > 1 else 1
    return fan_in, shape[-1]


def glorot_uniform(rng, shape):
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def glorot_normal(rng, shape):
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape)


def he_uniform(rng, shape):
    limit = np.sqrt(6.0 / _fans(shape)[0])
    return rng.uniform(-limit, limit, shape)


def he_normal(rng, shape):
    return rng.normal(0.0, np.sqrt(2.0 / _fans(shape)[0]), shape)


def lecun(rng, shape):
    return rng.normal(0.0, np.sqrt(1.0 / _fans(shape)[0]), shape)


def orthogonal(rng, shape):
    """Keras's ``Orthogonal``: a standard normal ``(max(r, c), min(r, c))`` matrix (``r`` the
    product of all axes but the last, ``c`` the last), its QR's ``Q`` with each column's sign
    set by the sign of ``R``'s diagonal (so ``Q`` is uniform over orthogonal matrices), transposed
    when ``r < c``: orthonormal columns, or rows for a wide kernel such as an LSTM's (U, 4U)."""
    if len(shape) < 2:
        raise ValueError(f"orthogonal: expected a shape of at least 2 axes; got {tuple(shape)}")
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape)


def unit_forget_bias(initializer, units: int):
    """Keras's LSTM bias with ``unit_forget_bias``: ``initializer`` for the i gate, ones for
    the f gate, ``initializer`` for the c and o gates, drawn in that order."""

    def draw(rng, shape):
        ones = np.ones(units)
        return np.concatenate([initializer(rng, (units,)), ones, initializer(rng, (2 * units,))])

    return draw


def random_uniform(rng, shape):
    """Keras's ``RandomUniform()`` (its ``"uniform"``, Embedding's default): on [-0.05, 0.05)."""
    return rng.uniform(-0.05, 0.05, shape)


INITIALIZERS = {
    f.__name__: f
    for f in (uniform, zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal, lecun)
}
INITIALIZERS.update(orthogonal=orthogonal, random_uniform=random_uniform)


# -- Keras's classes and names ------------------------------------------------------------------


def keras_fans(shape) -> tuple[int, int]:
    """Keras's ``compute_fans``: ``(1, 1)`` for a scalar, ``(n, n)`` for a vector, the two
    axes of a matrix, and for a kernel of rank > 2 its last two times the receptive field."""
    shape = tuple(shape)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    return _fans(shape)


def truncated_normal_draw(rng, shape, mean: float, stddev: float):
    """Normal draws within two standard deviations of the mean: whole batches are drawn
    and the draws beyond kept out until there are enough (Keras's NumPy backend)."""
    size = int(np.prod(shape))
    kept = np.empty(0)
    while kept.size < size:
        batch = rng.normal(mean, stddev, size)
        kept = np.append(kept, batch[np.abs(batch - mean) <= 2.0 * stddev])
    return kept[:size].reshape(shape)


class Initializer:
    """Keras's initializer classes. Called as arraynet's ``(rng, shape)`` they draw on the
    host in float64 from ``rng`` (the model's generator), or, given a ``seed``, from their
    own ``numpy.random.default_rng(seed)``: the same numbers at every call, as Keras 3's
    integer seeds. Called as Keras's ``(shape, dtype=None)`` they return an array of the
    selected backend. ``get_config()`` is Keras's; models save them as ``{"class_name",
    "config"}``."""

    ARGS: dict = {}

    def draw(self, rng, shape):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], np.random.Generator):
            rng, shape = args
            seed = getattr(self, "seed", None)
            return self.draw(rng if seed is None else np.random.default_rng(seed), tuple(shape))
        return self._keras_call(*args, **kwargs)

    def _keras_call(self, shape, dtype=None):
        from .backend import current_backend

        values = self(np.random.default_rng(), tuple(shape))
        backend = current_backend()
        return backend.asarray(values, None if dtype is None else getattr(backend.xp, dtype))

    def get_config(self) -> dict:
        return {arg: getattr(self, arg) for arg in self.ARGS}

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.get_config().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed: expected an integer or None; got {seed!r}")
    return seed


class Zeros(Initializer):
    def draw(self, rng, shape):
        return np.zeros(shape)


class Ones(Initializer):
    def draw(self, rng, shape):
        return np.ones(shape)


class Constant(Initializer):
    ARGS = {"value": 0.0}

    def __init__(self, value=0.0):
        self.value = float(value)

    def draw(self, rng, shape):
        return np.full(shape, self.value)


class Identity(Initializer):
    """``gain`` times the (rectangular) identity; 2-D shapes only, as Keras."""

    ARGS = {"gain": 1.0}

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def draw(self, rng, shape):
        if len(shape) != 2:
            raise ValueError(f"identity: expected a 2-D shape; got {tuple(shape)}")
        return self.gain * np.eye(*shape)


class RandomNormal(Initializer):
    ARGS = {"mean": 0.0, "stddev": 0.05, "seed": None}

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), _seed(seed)

    def draw(self, rng, shape):
        return rng.normal(self.mean, self.stddev, shape)


class TruncatedNormal(RandomNormal):
    """Normal draws within two standard deviations (drawn again beyond them)."""

    def draw(self, rng, shape):
        return truncated_normal_draw(rng, shape, self.mean, self.stddev)


class RandomUniform(Initializer):
    ARGS = {"minval": -0.05, "maxval": 0.05, "seed": None}

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), _seed(seed)

    def draw(self, rng, shape):
        return rng.uniform(self.minval, self.maxval, shape)


class VarianceScaling(Initializer):
    """Keras's ``VarianceScaling``: ``scale`` over the fan (``mode``: fan_in, fan_out or
    fan_avg, at least 1), drawn ``uniform`` on ±sqrt(3 s), ``truncated_normal`` (two
    standard deviations, stddev sqrt(s) / 0.8796..., so the variance is s) or
    ``untruncated_normal`` (``"normal"`` means truncated, as Keras)."""

    ARGS = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": None}

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if isinstance(scale, bool) or not float(scale) > 0:
            raise ValueError(f"scale: expected a number > 0; got {scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode: expected fan_in, fan_out or fan_avg; got {mode!r}")
        distribution = str(distribution).lower()
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(
                "distribution: expected uniform, truncated_normal or untruncated_normal; "
                f"got {distribution!r}"
            )
        self.scale, self.mode, self.distribution = float(scale), mode, distribution
        self.seed = _seed(seed)

    def draw(self, rng, shape):
        fan_in, fan_out = keras_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        fan = max(1.0, fan[self.mode])
        if self.distribution == "uniform":
            limit = np.sqrt(3.0 * self.scale / fan)
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, np.sqrt(self.scale / fan), shape)
        stddev = np.sqrt(self.scale / fan) / 0.87962566103423978
        return truncated_normal_draw(rng, shape, 0.0, stddev)


def _scaling(class_name: str, scale: float, mode: str, distribution: str, doc: str):
    """A VarianceScaling with Keras's fixed arguments: only ``seed`` is configurable."""

    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}

    return type(class_name, (VarianceScaling,),
                {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                 "ARGS": {"seed": None}, "__module__": __name__})  # fmt: skip


GlorotUniform = _scaling("GlorotUniform", 1.0, "fan_avg", "uniform", "±sqrt(6 / (in + out))")
GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal", "var 2/(in+out)")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform", "±sqrt(6 / fan_in)")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal", "variance 2 / fan_in")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform", "±sqrt(3 / fan_in)")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal", "variance 1 / fan_in")


_orthogonal_draw = orthogonal


class Orthogonal(Initializer):
    """``gain`` times an orthogonal matrix (see :func:`orthogonal`)."""

    ARGS = {"gain": 1.0, "seed": None}

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), _seed(seed)

    def draw(self, rng, shape):
        return self.gain * _orthogonal_draw(rng, shape)


def _keras_name(cls, name: str):
    """Keras's lower-case name for ``cls``: called as arraynet's ``(rng, shape)`` it draws
    with Keras's defaults; called with Keras's arguments (``he_normal(seed=1)``) it gives
    the configured ``cls`` instance, as Keras's alias of the class does."""

    def initializer(*args, **kwargs):
        if args and isinstance(args[0], np.random.Generator):
            return cls()(*args)
        return cls(*args, **kwargs)

    initializer.__name__ = initializer.__qualname__ = name
    initializer.__doc__ = f"Keras's ``{name}``: :class:`{cls.__name__}`, or its draw."
    initializer.initializer_class = cls
    return initializer


zeros = _keras_name(Zeros, "zeros")
ones = _keras_name(Ones, "ones")
constant = _keras_name(Constant, "constant")
identity = _keras_name(Identity, "identity")
random_normal = _keras_name(RandomNormal, "random_normal")
random_uniform = _keras_name(RandomUniform, "random_uniform")
truncated_normal = _keras_name(TruncatedNormal, "truncated_normal")
variance_scaling = _keras_name(VarianceScaling, "variance_scaling")
glorot_uniform = _keras_name(GlorotUniform, "glorot_uniform")
glorot_normal = _keras_name(GlorotNormal, "glorot_normal")
he_uniform = _keras_name(HeUniform, "he_uniform")
he_normal = _keras_name(HeNormal, "he_normal")
lecun_uniform = _keras_name(LecunUniform, "lecun_uniform")
lecun_normal = _keras_name(LecunNormal, "lecun_normal")
orthogonal = _keras_name(Orthogonal, "orthogonal")

CLASSES = {
    cls.__name__: cls
    for cls in (
        Zeros, Ones, Constant, Identity, RandomNormal, TruncatedNormal, RandomUniform,
        VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
        LecunNormal, Orthogonal,
    )
}  # fmt: skip
INITIALIZERS.update(
    {f.__name__: f for f in (zeros, ones, constant, identity, random_normal, random_uniform,
                             truncated_normal, variance_scaling, glorot_uniform, glorot_normal,
                             he_uniform, he_normal, lecun_uniform, lecun_normal, orthogonal)}
)  # fmt: skip
_ALIASES = {"normal": "random_normal", "one": "ones", "zero": "zeros"}  # Keras's; not "uniform"


def get(initializer, argument="initializer"):
    """An initializer by name (Keras's too; arraynet's "uniform" is the book's), a
    callable ``(rng, shape) -> ndarray`` as given, an :class:`Initializer` class (made with
    its defaults) or a config saved by :func:`name_of`."""
    if isinstance(initializer, type) and issubclass(initializer, Initializer):
        return initializer()
    if callable(initializer):
        return initializer
    if isinstance(initializer, dict):
        cls = CLASSES.get(initializer.get("class_name"))
        if cls is None:
            raise ValueError(
                f"{argument}: expected a class_name in {', '.join(CLASSES)}; got {initializer!r}"
            )
        return cls(**initializer.get("config", {}))
    name = _ALIASES.get(initializer, initializer) if isinstance(initializer, str) else None
    if name in CLASSES:
        return CLASSES[name]()
    if name not in INITIALIZERS:
        raise ValueError(
            f"{argument}: expected one of {', '.join(INITIALIZERS)}; got {initializer!r}"
        )
    return INITIALIZERS[name]


def name_of(initializer):
    """What saves an initializer in a model's architecture: its registered name, or, for an
    :class:`Initializer` object, ``{"class_name": ..., "config": ...}``."""
    if isinstance(initializer, Initializer):
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    name = getattr(initializer, "__name__", None)
    if INITIALIZERS.get(name) is not initializer:
        raise ValueError(f"initializer: only named initializers can be saved; got {initializer!r}")
    return name
