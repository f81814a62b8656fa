"""Paths inside a file-set: a Referenced File ID never reaches outside the file-set's root.

A DICOMDIR names its files by Referenced File ID, a list of components (PS3.10 8.5, PS3.3
F.3.2.2). A disc we did not write may carry anything there: ``..``, an absolute path, a
separator inside a component, or a component that is a symbolic link out of the disc.
:func:`resolve_file_id` accepts a path only when, with every link followed, it stays under the
root; otherwise it raises :class:`UnsafePathError` and the record is reported, never read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from app.core.errors import DicomInputError

#: Characters that may not appear inside one component (separators, NUL).
_FORBIDDEN = ("/", "\\", "\x00")


class UnsafePathError(DicomInputError):
    """A Referenced File ID (or a scanned file) would lead outside the file-set's root."""


def check_component(component: str) -> str:
    text = component.strip()
    if not text or text in (".", "..") or any(ch in text for ch in _FORBIDDEN) or ":" in text[:2]:
        raise UnsafePathError(
            f"the file ID component {component!r} is not allowed (PS3.10 8.5 allows only plain names); "
            "the record was skipped"
        )
    return text


def _case_insensitive(directory: Path, name: str) -> Path:
    """``directory/name``, or the one entry whose name matches ignoring case (discs mounted lower-case)."""
    exact = directory / name
    if exact.exists() or exact.is_symlink() or not directory.is_dir():
        return exact
    folded = name.casefold()
    try:
        matches = [entry for entry in os.listdir(directory) if entry.casefold() == folded]
    except OSError:
        return exact
    return directory / matches[0] if len(matches) == 1 else exact


def is_inside(root: Path, path: Path) -> bool:
    """True when ``path``, with every symbolic link followed, lies under ``root`` (also resolved)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def resolve_file_id(root: Path, components: Sequence[str] | str) -> Path:
    """The file a Referenced File ID names, checked to lie inside the file-set.

    Parameters
    ----------
    root
        The folder holding the DICOMDIR.
    components
        The Referenced File ID's values (a single string is one component).

    Returns
    -------
    Path
        The resolved path of the file (links followed); it may not exist, callers check.

    Raises
    ------
    UnsafePathError
        When a component is ``..``, absolute or carries a separator, or when the resolved path
        (after following symbolic links) is outside ``root``.
    """
    parts = [components] if isinstance(components, str) else list(components)
    if not parts:
        raise UnsafePathError("the Referenced File ID is empty; the record was skipped")
    path = root
    for part in parts:
        path = _case_insensitive(path, check_component(str(part)))
    if not is_inside(root, path):
        shown = "/".join(str(p) for p in parts)
        raise UnsafePathError(
            f"the file ID {shown} leads outside the file-set (a link out of the disc?); the record was skipped"
        )
    return path.resolve()
