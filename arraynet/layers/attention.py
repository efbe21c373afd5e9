"""MultiHeadAttention (Keras 3): scaled dot-product attention over several heads, with its
hand-written backward.

Inputs: ``query`` ``(rows, T, dq)``, ``value`` ``(rows, S, dv)``, ``key`` ``(rows, S, dk)``
(the value when not given), called as Keras's ``layer(query, value, key=None,
use_causal_mask=False)``. Weights in Keras's order and layouts, so ``get_weights()`` moves
to and from Keras unchanged: query kernel ``(dq, H, Dk)`` and bias ``(H, Dk)``, key kernel
``(dk, H, Dk)`` and bias, value kernel ``(dv, H, Dv)`` and bias ``(H, Dv)``, output kernel
``(H, Dv, d)`` and bias ``(d,)``, with ``d`` = dq unless ``output_shape`` says.

Forward, for each head: ``Q = xq Wq + bq`` (likewise ``K``, ``V``), ``A = softmax(Q K^T /
sqrt(Dk))`` over the keys, ``O = A V``; then ``Y = concat_heads(O) Wo + bo``. A position a
mask hides gets -1e9 before the softmax and 0 after (Keras's Softmax: a query that sees no
key gets zeros). Backward: the softmax's ``dZ = A * (dA - sum(dA * A))``, then products.

Masks (Keras's): the query's ``(rows, T)``, the value's and a separate key's ``(rows, S)``
(from Embedding's ``mask_zero`` or Masking) and ``use_causal_mask`` (query t sees keys
s <= t) are ANDed; the output keeps the query's mask. ``return_attention_scores=True``
gives ``[output, scores]``, the scores ``A`` ``(rows, heads, T, S)`` (their delta joins the
softmax's; the output keeps the query's mask, the scores none). Not supported (refused when
called): an explicit ``attention_mask``, ``dropout`` > 0 (a Dropout layer after it is the
usual alternative), attention over other axes.
"""

from __future__ import annotations

import math

from array_api_compat import device

from .. import initializers
from ..ops.sums import sum_rows
from ..validation import check_count, check_flag
from .base import TRAINING, Context, Layer, Param
from .input import FIRST_CALLS
from .masking import all_of
from .outputs import output_parts


class MultiHeadAttention(Layer):
    """Keras 3's MultiHeadAttention (see the module docstring)."""

    supports_masking = True  # the output keeps the query's mask
    independent_rows = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", seed=None, use_causal_mask=False,
                 return_attention_scores=False):  # fmt: skip
        self.num_heads = check_count(num_heads, "num_heads", minimum=1)
        self.key_dim = check_count(key_dim, "key_dim", minimum=1)
        self.value_dim = (
            self.key_dim if value_dim is None else check_count(value_dim, "value_dim", 1)
        )
        if dropout != 0:
            raise ValueError(
                f"dropout: expected 0 (attention dropout is not supported; a Dropout layer "
                f"after the attention is); got {dropout!r}"
            )
        self.use_bias = check_flag(use_bias, "use_bias")
        if isinstance(output_shape, (tuple, list)) and len(output_shape) == 1:
            output_shape = output_shape[0]
        self.output_dim = (
            None if output_shape is None else check_count(output_shape, "output_shape", 1)
        )
        if attention_axes not in (None, 1, (1,), [1], -2, (-2,), [-2]):
            raise ValueError(
                f"attention_axes: expected None (the time axis; other axes are not "
                f"supported); got {attention_axes!r}"
            )
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.seed = seed
        self.use_causal_mask = check_flag(use_causal_mask, "use_causal_mask")  # the calls'
        self.return_attention_scores = check_flag(return_attention_scores,
                                                  "return_attention_scores")  # fmt: skip
        self.source_dims = None  # (dv, dk): the value's and the key's features, when called

    def __call__(self, query, value, key=None, attention_mask=None,
                 return_attention_scores=False, training=None, use_causal_mask=False):  # fmt: skip
        """Keras's call on symbolic tensors: ``[query, value]``, and ``key`` when it is not
        the value. ``use_causal_mask`` belongs to the layer here (one value per layer)."""
        who = f"MultiHeadAttention '{self.name}'"
        if attention_mask is not None:
            raise ValueError(
                f"{who}: attention_mask is not supported; masks come from the inputs "
                "(Embedding(mask_zero=True), Masking) or use_causal_mask"
            )
        for name, given in (("use_causal_mask", use_causal_mask),
                            ("return_attention_scores", return_attention_scores)):  # fmt: skip
            given = check_flag(given, name)
            if self in FIRST_CALLS and given != getattr(self, name):
                raise ValueError(f"{who}: expected {name}={getattr(self, name)}, as at its "
                                 f"first call; got {given}")  # fmt: skip
            setattr(self, name, given)
        inputs = [query, value] if key is None or key is value else [query, value, key]
        out = super().__call__(inputs, training)
        return output_parts(out, 2) if self.return_attention_scores else out

    # -- shapes and weights ---------------------------------------------------------------

    def output_shape(self, query_shape, value_shape=None, key_shape=None) -> tuple:
        if value_shape is None:
            raise ValueError("expected [query, value] (and key): called as layer(query, value)")
        shapes = [s for s in (query_shape, value_shape, key_shape) if s is not None]
        if any(len(s) != 2 for s in shapes):
            raise ValueError(
                f"expected query, value (and key) of shape (rows, time, features); got "
                f"per-example shapes {[tuple(s) for s in shapes]}"
            )
        if (
            key_shape is not None
            and None not in (key_shape[0], value_shape[0])
            and (key_shape[0] != value_shape[0])
        ):
            raise ValueError(f"expected a key as long as the value; got {key_shape[0]} and "
                             f"{value_shape[0]} steps")  # fmt: skip
        dims = (value_shape[-1], (key_shape or value_shape)[-1])
        if self.source_dims not in (None, dims):
            raise ValueError(f"expected value and key features {self.source_dims} (its "
                             f"weights' first call); got {dims}")  # fmt: skip
        self.source_dims = dims
        out = (query_shape[0], self.output_dim or query_shape[-1])
        if self.return_attention_scores:  # and the scores (heads, T, S)
            return [out, (self.num_heads, query_shape[0], value_shape[0])]
        return out

    def params(self, input_shape: tuple) -> list[Param]:
        dq = input_shape[-1]
        dv, dk = self.source_dims or (dq, dq)
        heads, out = self.num_heads, self.output_dim or dq
        shapes = {"query": (dq, self.key_dim), "key": (dk, self.key_dim),
                  "value": (dv, self.value_dim)}  # fmt: skip
        params = []
        for name, (features, width) in shapes.items():
            params.append(Param(f"{name}_kernel", (features, heads, width),
                                self.kernel_initializer, f"W{name[0]}"))  # fmt: skip
            if self.use_bias:
                params.append(Param(f"{name}_bias", (heads, width), self.bias_initializer,
                                    f"b{name[0]}"))  # fmt: skip
        params.append(Param("output_kernel", (heads, self.value_dim, out),
                            self.kernel_initializer, "Wo"))  # fmt: skip
        if self.use_bias:
            params.append(Param("output_bias", (out,), self.bias_initializer, "bo"))
        return params

    def memory(self, input_shape: tuple) -> int:
        steps = input_shape[0] or 1
        width = self.num_heads * (2 * self.key_dim + 3 * self.value_dim)
        return steps * (width + 3 * self.num_heads * steps + 3 * (self.output_dim or 1))

    def compute_mask(self, xp, X, mask):
        return mask[0] if isinstance(mask, tuple) else mask

    # -- math --------------------------------------------------------------------------

    def _split(self, weights):
        """``[(kernel, bias)]`` for query, key, value and the output (bias None without)."""
        step = 2 if self.use_bias else 1
        pairs = [weights[i : i + step] for i in range(0, len(weights), step)]
        return [(p[0], p[1] if self.use_bias else None) for p in pairs]

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        query, value = X[0], X[1]
        key = X[2] if len(X) > 2 else value
        (Wq, bq), (Wk, bk), (Wv, bv), (Wo, bo) = self._split(weights)
        scale = 1.0 / math.sqrt(self.key_dim)
        Q = _heads(xp, query, Wq, bq) * scale  # (rows, H, T, Dk)
        K, V = _heads(xp, key, Wk, bk), _heads(xp, value, Wv, bv)
        logits = xp.matmul(Q, xp.matrix_transpose(K))  # (rows, H, T, S)
        allowed = self._allowed(xp, ctx, logits)
        if allowed is not None:
            hidden = -3e4 if xp.finfo(logits.dtype).max < 1e9 else -1e9  # Keras's (float16)
            logits = xp.where(allowed, logits, xp.full_like(logits, hidden))
        A = xp.exp(logits - xp.max(logits, axis=-1, keepdims=True))
        A = A / xp.sum(A, axis=-1, keepdims=True)
        if allowed is not None:
            A = xp.where(allowed, A, xp.zeros_like(A))
        joined = _joined(xp, xp.matmul(A, V))  # (rows * T, H * Dv)
        rows, steps = query.shape[0], query.shape[1]
        Y = xp.matmul(joined, xp.reshape(Wo, (-1, Wo.shape[-1])))
        if bo is not None:
            Y = Y + bo
        cache = (query, value, key if len(X) > 2 else None, Q, K, V, A, joined)
        Y = xp.reshape(Y, (rows, steps, -1))
        return ([Y, A] if self.return_attention_scores else Y), cache

    def _allowed(self, xp, ctx, logits):
        """Where a query may see a key, ``(rows or 1, 1, T, S)`` booleans (None: all)."""
        masks = ctx.masks if ctx.masks is not None else (ctx.mask,)
        found = []
        if masks[0] is not None:
            found.append(masks[0][:, None, :, None])
        for other in masks[1:]:
            if other is not None:
                found.append(other[:, None, None, :])
        if self.use_causal_mask:
            steps, keys = logits.shape[-2], logits.shape[-1]
            at = device(logits)
            later = xp.arange(steps, device=at)[:, None] >= xp.arange(keys, device=at)[None, :]
            found.append(later[None, None, ...])
        return all_of(xp, found)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        query, value, key, Q, K, V, A, joined = cache
        (Wq, bq), (Wk, bk), (Wv, bv), (Wo, bo) = self._split(weights)
        rows, heads = query.shape[0], self.num_heads
        dY, dScores = dY if self.return_attention_scores else (dY, None)
        if dY is None:  # only the scores were read
            dY = xp.zeros((rows, joined.shape[0] // rows, Wo.shape[-1]), dtype=A.dtype,
                          device=device(A))  # fmt: skip
        dY2 = xp.reshape(dY, (-1, dY.shape[-1]))
        dWo = xp.reshape(xp.matmul(joined.mT, dY2), Wo.shape)
        dO = _unjoined(xp, xp.matmul(dY2, xp.reshape(Wo, (-1, Wo.shape[-1])).mT), rows, heads)
        dA = xp.matmul(dO, xp.matrix_transpose(V))
        dA = dA if dScores is None else dA + dScores
        dV = xp.matmul(xp.matrix_transpose(A), dO)
        dZ = A * (dA - xp.sum(dA * A, axis=-1, keepdims=True))  # 0 where A is
        dQ = xp.matmul(dZ, K) / math.sqrt(self.key_dim)
        dK = xp.matmul(xp.matrix_transpose(dZ), Q)
        sources = (query, key if key is not None else value, value)
        grads, dX = [], []
        for source, W, b, d in zip(sources, (Wq, Wk, Wv), (bq, bk, bv), (dQ, dK, dV)):
            dW, db, dx = _heads_back(xp, source, W, d, ctx.need_dX)
            grads += [dW, db] if b is not None else [dW]
            dX.append(dx)
        grads += [dWo, sum_rows(xp, dY2)] if bo is not None else [dWo]
        if not ctx.need_dX:
            return None, tuple(grads)
        dq, dk, dv = dX
        inputs = [dq, dv, dk] if key is not None else [dq, dv + dk]
        return inputs, tuple(grads)

    def get_config(self) -> dict:
        return {
            "class": "MultiHeadAttention",
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "use_bias": self.use_bias,
            "output_shape": self.output_dim,
            "use_causal_mask": self.use_causal_mask,
            "return_attention_scores": self.return_attention_scores,
            "kernel_initializer": initializers.name_of(self.kernel_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
        }


def _heads(xp, X, W, b):
    """``X (rows, T, d) @ W (d, H, k) (+ b (H, k))`` as ``(rows, H, T, k)``."""
    rows, steps, features = X.shape
    heads, width = W.shape[1], W.shape[2]
    P = xp.matmul(xp.reshape(X, (rows * steps, features)), xp.reshape(W, (features, -1)))
    if b is not None:
        P = P + xp.reshape(b, (-1,))
    return xp.permute_dims(xp.reshape(P, (rows, steps, heads, width)), (0, 2, 1, 3))


def _heads_back(xp, X, W, dP, need_dX: bool):
    """``(dW, db, dX)`` of :func:`_heads` from the delta ``dP`` ``(rows, H, T, k)``."""
    rows, steps, features = X.shape
    dP2 = xp.reshape(xp.permute_dims(dP, (0, 2, 1, 3)), (rows * steps, -1))
    X2 = xp.reshape(X, (rows * steps, features))
    dW = xp.reshape(xp.matmul(X2.mT, dP2), W.shape)
    db = xp.reshape(sum_rows(xp, dP2), W.shape[1:])
    dX = xp.reshape(xp.matmul(dP2, xp.reshape(W, (features, -1)).mT), X.shape) if need_dX else None
    return dW, db, dX


def _joined(xp, outputs):
    """The heads' outputs ``(rows, H, T, Dv)`` side by side: ``(rows * T, H * Dv)``."""
    rows, heads, steps, width = outputs.shape
    return xp.reshape(xp.permute_dims(outputs, (0, 2, 1, 3)), (rows * steps, heads * width))


def _unjoined(xp, D, rows: int, heads: int):
    """The inverse of :func:`_joined`: ``(rows * T, H * Dv)`` to ``(rows, H, T, Dv)``."""
    steps = D.shape[0] // rows
    return xp.permute_dims(xp.reshape(D, (rows, steps, heads, -1)), (0, 2, 1, 3))
