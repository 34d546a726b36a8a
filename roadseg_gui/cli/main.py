"""``roadseg``: one entry point, one module per subcommand (``cmd_<name>.py``).

Each module defines ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed args and returning an exit code.
Errors that a person can fix (RoadsegError, and OSError / sqlite3.Error from the
file system or the state DB) are printed as one sentence, never as a traceback;
``-v`` logs the traceback too.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import pkgutil
import sqlite3
import sys
from pathlib import Path

from trainer.errors import RoadsegError

from .. import __version__
from ..core import log_redaction, statedb
from . import __path__ as _cli_path

log = logging.getLogger("roadseg")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """Every subcommand's parser; only the named one's when ``argv`` names a command whose
    module is ``cmd_<command>``: the others' modules import numpy, tqdm and the trainer
    (~0.15 s of CPU, more than `roadseg sync` spends on a re-sync of a few files)."""
    parser = argparse.ArgumentParser(
        prog="roadseg", description="Label roads on satellite imagery and retrain the model that predicts them.")
    parser.add_argument("--version", action="version", version=f"roadseg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = sorted(info.name for info in pkgutil.iter_modules(_cli_path) if info.name.startswith("cmd_"))
    command = next((arg for arg in argv or [] if not arg.startswith("-")), None)  # top-level options take no value
    named = f"cmd_{command.replace('-', '_')}" if command else None
    if named in modules:
        importlib.import_module(f"{__package__}.{named}").register(subparsers)
        if command in subparsers.choices:
            return parser
    for name in modules:
        if name != named:
            importlib.import_module(f"{__package__}.{name}").register(subparsers)
    return parser


def describe(exc: BaseException) -> str:
    """One sentence for a person: which file, what is wrong, what to do."""
    if isinstance(exc, RoadsegError):
        return str(exc)
    if isinstance(exc, sqlite3.Error):
        if statedb.is_corrupt(exc):
            return f"a workspace state database is damaged ({exc}). {statedb.DAMAGED_FIX}"
        return (f"the workspace state database could not be used ({exc}). If another roadseg is using this "
                f"workspace, close it and try again; run with -v for details.")
    path = exc.filename if isinstance(exc.filename, str) else os.fsdecode(exc.filename or "")
    reason = exc.strerror or str(exc)
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        blocker = _file_in_the_way(path)
        if blocker:
            return f"{blocker}: is a file where a folder is needed. Choose another path, or move that file aside."
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied. Choose a path you can write to, or fix its permissions."
    if isinstance(exc, FileNotFoundError):
        return f"{path}: no such file or folder. Check the path."
    if exc.errno == errno.ENOSPC:
        return f"{path}: the disk is full. Free some space and run again."
    return f"{path}: {reason}. Check the path and run again (-v shows details)." if path else \
        f"{reason}. Run again with -v for details."


def _file_in_the_way(path: str) -> str | None:
    """The path itself or the nearest parent that exists as a file rather than a folder."""
    candidate = Path(path) if path else None
    while candidate is not None and candidate != candidate.parent:
        if candidate.exists():
            return None if candidate.is_dir() else str(candidate)
        candidate = candidate.parent
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.verbose:   # rasterio logs each GDAL error at INFO; the sentence printed for the file says it once
        logging.getLogger("rasterio").setLevel(logging.WARNING)
    log_redaction.install()  # before any command can log: no AWS secret in -v output, whatever the logger
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (RoadsegError, OSError, sqlite3.Error) as exc:
        log.debug("%s failed", args.command, exc_info=True)   # -v: the traceback, for debugging
        print(f"error: {log_redaction.redact(describe(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # a launch's LaunchInterrupted says what became of its job
        print("interrupted" + (f": {exc}" if str(exc) else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
