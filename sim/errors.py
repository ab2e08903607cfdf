"""The exception family of the product: every user error is a :class:`SimError`.

The command line turns any ``SimError`` into one line on stderr and exit code 2; anything else
is a bug and keeps its traceback. Imports nothing from ``sim``.
"""

from __future__ import annotations


class SimError(Exception):
    """Base class for the errors a user can cause (a bad file, argument or folder)."""


class ConfigError(SimError, ValueError):
    """A configuration file is invalid. The message names the file, the key and what is allowed."""


class UsageError(SimError, ValueError):
    """A command-line argument or run setting is out of its allowed range."""


class ResultsError(SimError, ValueError):
    """A results folder cannot be read: missing, incomplete or of another kind."""


class OutputError(SimError):
    """An output folder cannot be written without risking a user's files (exists, not ours,
    locked by another sweep, read-only)."""
