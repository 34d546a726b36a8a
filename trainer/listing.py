"""Listing input folders so that every entry that cannot be used is named with its reason.

``os.DirEntry.is_file()`` raises ELOOP ("Too many levels of symbolic links") on a symbolic-link
loop, and ``Path.is_file()`` quietly says False on a loop or a dangling link. The first once ended a
whole evaluation, the second hid files from the user; here both become skipped entries with a
sentence, like any other bad file, and the rest of the folder is listed.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass
class Listing:
    files: list = field(default_factory=list)     # regular files (or links to them) whose name was accepted
    skipped: list = field(default_factory=list)   # (path, reason): entries named like inputs that cannot be read
    folders: list = field(default_factory=list)   # sub-folders, not listed here


def _link_problem(entry: os.DirEntry) -> str | None:
    """Why a symbolic link cannot be followed, or None when it can."""
    try:
        os.stat(entry.path)
    except OSError as exc:
        target = os.readlink(entry.path)
        if exc.errno == errno.ELOOP:
            return f"symbolic link loop (it points to {target}, which leads back to itself); fix or remove the link"
        if exc.errno == errno.ENOENT:
            return f"dangling symbolic link (its target {target} does not exist); fix or remove the link"
        return f"symbolic link to {target} cannot be followed ({exc.strerror}); fix or remove the link"
    return None


def list_folder(directory: str | os.PathLike, accept: Callable[[str], bool]) -> Listing:
    """The files in ``directory`` whose names ``accept`` takes, sorted by name; hidden names are ignored."""
    listing = Listing()
    with os.scandir(directory) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            problem = _link_problem(entry) if entry.is_symlink() else None
            if problem is not None:
                if accept(entry.name):
                    listing.skipped.append((Path(entry.path), problem))
                continue
            if entry.is_dir():
                listing.folders.append(Path(entry.path))
            elif accept(entry.name):
                if entry.is_file():
                    listing.files.append(Path(entry.path))
                else:  # FIFO, socket, device: reading one would block or make no sense
                    listing.skipped.append((Path(entry.path), "not a regular file (a pipe, socket or device)"))
    return listing


def walk_folder(directory: str | os.PathLike, accept: Callable[[str], bool],
                exclude: Path | None = None) -> tuple[Listing, list]:
    """``list_folder`` through every sub-folder, following linked folders once each.

    Returns (listing, folder notes as (path, reason)) for the sub-folders that were not read:
    hidden ones, ``exclude`` (e.g. the output folder), links back to a folder already read and sub-folders
    that cannot be read (permissions, or gone mid-walk)."""
    total, notes = Listing(), []
    seen: set[str] = set()
    pending = [Path(directory)]
    exclude_real = os.path.realpath(exclude) if exclude is not None else None
    while pending:
        folder = pending.pop(0)
        real = os.path.realpath(folder)
        if real in seen:
            notes.append((folder, "a link to a folder already read (a loop); skipped"))
            continue
        if exclude_real is not None and real == exclude_real:
            notes.append((folder, "the output folder; skipped"))
            continue
        seen.add(real)
        try:
            listing = list_folder(folder, accept)
            with os.scandir(folder) as entries:
                hidden = [(Path(e.path), "a hidden folder; skipped") for e in entries
                          if e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
        except OSError as exc:
            if folder == Path(directory):   # the folder asked for: the caller says what is wrong
                raise
            notes.append((folder, f"cannot be read ({exc.strerror or exc}); skipped"))
            continue
        total.files += listing.files
        total.skipped += listing.skipped
        pending += listing.folders
        notes += hidden
    return total, notes


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as one input file (missing, a link loop, a folder, a pipe), or None.
    Checked before opening: opening a FIFO blocks until something writes to it."""
    import stat

    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if path.is_symlink():
            target = os.readlink(path)
            if exc.errno == errno.ELOOP:
                return f"symbolic link loop (it points to {target}, which leads back to itself); fix or remove the link"
            return f"dangling symbolic link (its target {target} does not exist); fix or remove the link"
        if exc.errno == errno.ENOENT:
            return "no such file"
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if not stat.S_ISREG(mode):
        return "not a regular file (a pipe, socket or device)"
    return None
