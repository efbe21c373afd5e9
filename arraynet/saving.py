"""``keras.saving``'s names: ``load_model`` and ``save_model`` (arraynet's model files; see
:mod:`arraynet.io` for the format)."""

from .models.saving import load_model, save_model

__all__ = ["load_model", "save_model"]
