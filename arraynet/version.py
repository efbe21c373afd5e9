"""The version of arraynet (one place; the package and the file format read it)."""

__version__ = "0.1.0"
