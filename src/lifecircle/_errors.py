"""Named exceptions, so users can catch lifecircle's errors specifically.

Each subclasses the builtin it specialises (``ValueError`` for bad input, ``KeyError``-like
lookups stay ``ValueError`` so messages are printed in full).
"""

from __future__ import annotations


class LifecircleError(Exception):
    """Base class of every error raised on purpose by lifecircle."""


class InputError(LifecircleError, ValueError):
    """Bad user input: empty frames, missing CRS, wrong geometry type, NaN coordinates..."""


class CRSError(InputError):
    """A coordinate reference system is missing, unknown, or looks wrong for the data."""


class NetworkError(LifecircleError, ValueError):
    """A walking network could not be built or read."""


class ProfileError(LifecircleError, ValueError):
    """A standard profile (TOML/YAML) is invalid: the message names the key and line."""


class ConfigError(LifecircleError, ValueError):
    """A run configuration file is invalid: the message names the key."""


class PoolError(LifecircleError, RuntimeError):
    """Reading or writing the project reserve pool failed."""


class InfeasibleError(InputError):
    """A siting request or programme no plan can meet: the message names the constraint and
    where (the year, the street, the category and its distance)."""
