"""What the Storage SCU of a send proposes, and each data set as it goes out (the reference's 5.1.2).

For each SOP class and stored transfer syntax one presentation context is proposed with
at most three transfer syntaxes (PS3.8 9.3.2.2): the stored one, the configured lossless
compressed one (image classes only) and Implicit VR Little Endian, which every Storage SCP
accepts (PS3.5 10.1). A data set goes out in the syntax the destination accepted: as
stored when nothing has to change, otherwise read, changed (corrected values, private
attributes, burnt overlays) and encoded again, decompressed or compressed as needed
(PS3.5 A.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID, ImplicitVRLittleEndian
from pynetdicom import build_context
from pynetdicom.dsutils import encode

from app.core.errors import AppError

#: Most presentation contexts one association may propose (PS3.8 9.3.2.2: odd IDs 1-255).
MAX_CONTEXTS = 128
#: SOP classes that hold no pixel data and belong with the images: presentation states
#: (PS3.4 B.5, ...1.1.11.x), structured reports and key object selections (...1.1.88.x).
NON_IMAGE_PREFIXES = ("1.2.840.10008.5.1.4.1.1.11.", "1.2.840.10008.5.1.4.1.1.88.")
#: Grayscale Softcopy Presentation State Storage (PS3.4 B.5).
GSPS = "1.2.840.10008.5.1.4.1.1.11.1"


class EncodingFailed(AppError):
    """A data set could not be converted to the accepted transfer syntax (no codec for it)."""


def is_non_image(sop_class_uid: str) -> bool:
    """True for presentation states, SR documents and key object selections."""
    return sop_class_uid.startswith(NON_IMAGE_PREFIXES)


def proposed_syntaxes(sop_class_uid: str, stored: str, compressed: str) -> list[str]:
    """The transfer syntaxes proposed for one SOP class and stored syntax: at most three."""
    syntaxes = [stored]
    if compressed and not is_non_image(sop_class_uid):
        syntaxes.append(compressed)
    syntaxes.append(str(ImplicitVRLittleEndian))
    return list(dict.fromkeys(syntaxes))


def proposed_contexts(pairs: Iterable[tuple[str, str]], compressed: str) -> list[Any]:
    """One presentation context per (SOP class, stored transfer syntax) pair, at most
    :data:`MAX_CONTEXTS`; the caller sends what does not fit on a later association."""
    unique = list(dict.fromkeys(pairs))[:MAX_CONTEXTS]
    return [build_context(sop_class, proposed_syntaxes(sop_class, stored, compressed)) for sop_class, stored in unique]


def accepted_syntax(assoc: Any, sop_class_uid: str, stored: str, compressed: str) -> tuple[int, str] | None:
    """The accepted context (ID, transfer syntax) for an instance, preferring the stored
    syntax, then the compressed one, then Implicit VR Little Endian; None when none was."""
    accepted = {
        str(cx.transfer_syntax[0]): int(cx.context_id)
        for cx in assoc.accepted_contexts
        if str(cx.abstract_syntax) == sop_class_uid
    }
    for syntax in proposed_syntaxes(sop_class_uid, stored, compressed):
        if syntax in accepted:
            return accepted[syntax], syntax
    return None


def read_dataset(path: Path) -> Dataset:
    """A stored file, whole (to be changed and encoded again)."""
    return dcmread(path)


def encode_for(ds: Dataset, target: str) -> bytes:
    """``ds`` encoded as a C-STORE data set in ``target`` (PS3.5 A.4: only Pixel Data changes
    between a compressed syntax and Explicit VR Little Endian).

    Raises
    ------
    EncodingFailed
        When the pixel data cannot be decompressed or compressed (no codec installed).
    """
    stored = UID(str(ds.file_meta.TransferSyntaxUID)) if "TransferSyntaxUID" in ds.get("file_meta", {}) else None
    syntax = UID(target)
    try:
        if stored is not None and stored != syntax and "PixelData" in ds:
            if stored.is_compressed:  # the same instance in other words: its UID stays (lossless)
                ds.decompress(generate_instance_uid=False)
            if syntax.is_compressed:
                ds.compress(syntax, generate_instance_uid=False)
    except Exception as exc:
        raise EncodingFailed(
            f"cannot convert pixel data from {stored} to {syntax}: {type(exc).__name__}: {exc}; "
            "install the codec (pylibjpeg, pyjpegls) or choose another compressed_transfer_syntax"
        ) from exc
    data = encode(ds, syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated)
    if data is None:
        raise EncodingFailed(f"pydicom could not encode the data set in {syntax}")
    return data
