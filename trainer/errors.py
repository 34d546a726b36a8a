"""Typed errors that carry a sentence for a person: what is wrong, and what to do."""

from __future__ import annotations

import os


class RoadsegError(Exception):
    """Base of every error the CLI and the app show to a person instead of a traceback."""

    def __init__(self, what: str, fix: str = "", path: str | os.PathLike | None = None):
        self.what = what
        self.fix = fix
        self.path = os.fspath(path) if path is not None else None
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.path}: {self.what}" if self.path else self.what
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text


class BadInputError(RoadsegError):
    """An image or mask that cannot be used (unreadable, wrong size, too large...)."""


class ModelLoadError(RoadsegError):
    """A file that is not a model this project can load."""


class DataError(RoadsegError):
    """A data set that cannot be trained or evaluated on (e.g. no usable pair)."""
