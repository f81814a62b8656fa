"""ISO 9660 images of file-sets (with Joliet names), written and read with pycdlib.

A DICOM CD carries ISO 9660 file names (PS3.12 Annex F: ISO 9660 Level 1, names of at most
8 characters from A-Z, 0-9 and ``_``), which is what :mod:`app.media.file_set_writer` writes;
the Joliet tree repeats them for systems that show Joliet names. Reading an image extracts it
into a folder, every name checked so nothing is written outside that folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from app.core.errors import DicomInputError, StorageError
from app.media.paths import UnsafePathError, check_component, is_inside

#: ISO 9660 Level 1 names: 8 characters, an optional 3-character extension (d-characters).
_LEVEL1 = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{1,3})?$")

#: Volume identifiers are d-characters (ECMA-119 8.4.6), at most 16 so the Joliet copy fits.
_VOLUME = re.compile(r"[^A-Z0-9_]")

#: Files extracted from one image at most (a full DVD of small images is well below).
MAX_FILES = 500_000


def volume_id(text: str) -> str:
    return _VOLUME.sub("_", text.upper())[:16] or "DICOM"  # 16: the Joliet copy is UCS-2 in 32 bytes


def write_iso(folder: Path, iso_path: Path, volume: str = "LIGHTBOX") -> Path:
    """Write ``folder`` (a file-set) as an ISO 9660 Level 1 image with Joliet names.

    Raises
    ------
    StorageError
        When a name in the folder is not a valid ISO 9660 Level 1 name, or writing fails.
    """
    folder = Path(folder)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, joliet=3, vol_ident=volume_id(volume), app_ident_str="LIGHTBOX")
    try:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).parts
            for name in relative:
                if not _LEVEL1.match(name):
                    raise StorageError(
                        f"{'/'.join(relative)}: {name!r} is not an ISO 9660 Level 1 name (PS3.12 F); "
                        "only file-sets written by Lightbox can be made into an image."
                    )
            if len(relative) > 8:
                raise StorageError(f"{'/'.join(relative)} is deeper than the 8 levels of ISO 9660.")
            joliet = "/" + "/".join(relative)
            if path.is_dir():
                iso.add_directory(joliet, joliet_path=joliet)
            elif path.is_file():
                name = joliet if "." in relative[-1] else joliet + "."
                iso.add_file(str(path), iso_path=name + ";1", joliet_path=joliet)
        iso_path.parent.mkdir(parents=True, exist_ok=True)
        iso.write(str(iso_path))
    except (PyCdlibException, OSError) as exc:
        raise StorageError(f"Writing the ISO image {iso_path} failed ({exc}).") from exc
    finally:
        iso.close()
    return iso_path


def _plain(name: str) -> str:
    """An ISO 9660 file identifier without its version (``;1``) and empty extension dot."""
    base = name.split(";", 1)[0]
    return base[:-1] if base.endswith(".") else base


def list_iso(iso_path: Path) -> list[str]:
    """The files of an image as ISO 9660 paths without versions (``PT000000/.../IM000000``)."""
    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(iso_path))
    except (PyCdlibException, OSError) as exc:
        raise DicomInputError(f"{iso_path} is not a readable ISO 9660 image ({exc}).") from exc
    try:
        out = []
        for directory, _dirs, files in iso.walk(iso_path="/"):
            for name in files:
                out.append("/".join(p for p in (directory.strip("/"), _plain(name)) if p))
        return sorted(out)
    finally:
        iso.close()


def has_joliet(iso_path: Path) -> bool:
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    try:
        return bool(iso.has_joliet())
    finally:
        iso.close()


def extract_iso(iso_path: Path, dest: Path) -> Path:
    """Extract an image's ISO 9660 tree into ``dest``; every name checked to stay inside it.

    Raises
    ------
    DicomInputError
        When the image cannot be read, a name is unsafe, or it holds more than :data:`MAX_FILES`.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(iso_path))
    except (PyCdlibException, OSError) as exc:
        raise DicomInputError(f"{iso_path} is not a readable ISO 9660 image ({exc}).") from exc
    count = 0
    try:
        for directory, _dirs, files in iso.walk(iso_path="/"):
            parts = [check_component(p) for p in directory.strip("/").split("/") if p]
            target_dir = dest.joinpath(*parts)
            for name in files:
                count += 1
                if count > MAX_FILES:
                    raise DicomInputError(f"{iso_path} holds more than {MAX_FILES} files; not extracted.")
                target = target_dir / check_component(_plain(name))
                if not is_inside(dest, target):
                    raise UnsafePathError(f"{directory}/{name} would be written outside {dest}; not extracted.")
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as out:
                    iso.get_file_from_iso_fp(out, iso_path=directory.rstrip("/") + "/" + name)
    except (PyCdlibException, OSError) as exc:
        raise DicomInputError(f"Reading the ISO image {iso_path} failed ({exc}).") from exc
    finally:
        iso.close()
    return dest


def is_iso_image(path: Path) -> bool:
    """True for a file with an ISO 9660 Primary Volume Descriptor (``CD001`` at byte 32769)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(32769)
            return handle.read(5) == b"CD001"
    except OSError:
        return False
