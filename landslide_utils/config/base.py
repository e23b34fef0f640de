"""What every parameter schema shares: the error type, the strict base model, the rules for names and seeds.

Every file is validated with a strict schema: an unknown key, a wrong type or an impossible value stops with
a :class:`ConfigError` naming the file and the dotted key.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ['ConfigError', 'SAFE_NAME', 'MAX_NAME', 'SAFE_NAME_RULE', 'Strict', 'PosInt', 'MAX_SEED', 'Bounds', 'KeyedError']


class ConfigError(ValueError):
    """A parameter file is missing, unreadable or invalid. The message names the file and the key."""


#: names that become folder or file names (profiles, experiments, extra test sets, sweeps): a letter or digit,
#: then letters, digits, ``_``, ``-`` and ``.``; so no ``..``, no hidden names, no path separators
SAFE_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


#: the longest profile or experiment name (it becomes a folder and part of file names; file systems allow 255 bytes)
MAX_NAME = 100


SAFE_NAME_RULE = ("must start with a letter or digit and contain only letters, digits, '_', '-' and '.' (it names "
                  "folders and files, so '..', '/' and hidden names are refused)")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


PosInt = int


#: the largest seed numpy and torch accept everywhere (2**32 - 1)
MAX_SEED = 2**32 - 1


Bounds = tuple[float, float, float, float]


class KeyedError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
