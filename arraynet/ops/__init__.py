"""Small portable helpers the math shares, over any Array API namespace ``xp``: finite
checks (``finite``) and window gathers for convolution and pooling (``windows``)."""

from .finite import all_finite, keep_where

__all__ = ["all_finite", "keep_where"]
