"""Huzhu: a trade-union workers' medical mutual-aid platform."""

__version__ = "0.1.0"
