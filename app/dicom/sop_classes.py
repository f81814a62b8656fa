"""SOP classes Lightbox knows, grouped by the service that uses them.

Storage: every storage SOP class of the reference's Table 2.1 and every standard storage
SOP class defined since (taken from pydicom's UID dictionary, so a pydicom update brings
new ones), plus the retired print storage classes and well-known vendor private storage
classes that modalities still send.
"""

from __future__ import annotations

from pydicom._uid_dict import UID_dictionary
from pydicom.uid import UID

VERIFICATION = UID("1.2.840.10008.1.1")

_NOT_STORAGE = ("Commitment", "Media Storage Directory")

#: Retired hardcopy/print storage classes no longer in pydicom's dictionary.
_RETIRED_PRINT_STORAGE = (
    "1.2.840.10008.5.1.1.1.27",  # Stored Print Storage
    "1.2.840.10008.5.1.1.1.29",  # Hardcopy Grayscale Image Storage
    "1.2.840.10008.5.1.1.1.30",  # Hardcopy Color Image Storage
)

#: Vendor private storage classes accepted by default (stored as received, never rendered specially).
PRIVATE_STORAGE: tuple[UID, ...] = tuple(
    UID(u)
    for u in (
        "1.3.46.670589.2.3.1.1",  # Philips Specialised X-Ray
        "1.3.46.670589.2.4.1.1",  # Philips CX Image
        "1.3.46.670589.5.0.1",  # Philips 3D Volume (retired)
        "1.3.46.670589.5.0.1.1",  # Philips 3D Volume
        "1.3.46.670589.5.0.2",  # Philips 3D Object (retired)
        "1.3.46.670589.5.0.2.1",  # Philips 3D Object
        "1.3.46.670589.5.0.3",  # Philips Surface (retired)
        "1.3.46.670589.5.0.3.1",  # Philips Surface
        "1.3.46.670589.5.0.4",  # Philips Composite Object
        "1.3.46.670589.5.0.7",  # Philips MR Cardio Profile
        "1.3.46.670589.5.0.8",  # Philips MR Cardio (retired)
        "1.3.46.670589.5.0.8.1",  # Philips MR Cardio
        "1.3.46.670589.5.0.9",  # Philips CT Synthetic Image
        "1.3.46.670589.5.0.10",  # Philips MR Synthetic Image
        "1.3.46.670589.5.0.11",  # Philips MR Cardio Analysis (retired)
        "1.3.46.670589.5.0.11.1",  # Philips MR Cardio Analysis
        "1.3.46.670589.5.0.12",  # Philips CX Synthetic Image
        "1.3.46.670589.5.0.13",  # Philips Perfusion
        "1.3.46.670589.5.0.14",  # Philips Perfusion Analysis
        "1.3.46.670589.11.0.0.12.1",  # Philips MR Spectrum
        "1.3.46.670589.11.0.0.12.2",  # Philips MR Series Data
        "1.2.840.113619.4.27",  # GE Nuclear Medicine
        "1.2.840.113619.4.30",  # GE Advance (PET) Raw Data
        "1.3.12.2.1107.5.9.1",  # Siemens CSA Non-Image
    )
)


def _standard_storage() -> tuple[UID, ...]:
    found = [
        UID(uid)
        for uid, (name, kind, *_rest) in UID_dictionary.items()
        if kind == "SOP Class" and "Storage" in name and not any(word in name for word in _NOT_STORAGE)
    ]
    found.extend(UID(u) for u in _RETIRED_PRINT_STORAGE if u not in UID_dictionary)
    return tuple(sorted(set(found), key=lambda u: [int(p) for p in u.split(".")]))


#: Standard storage SOP classes (PS3.4 B.5 and the retired ones of Table 2.1).
STANDARD_STORAGE: tuple[UID, ...] = _standard_storage()

#: Everything the Storage SCP accepts by default.
ALL_STORAGE: tuple[UID, ...] = STANDARD_STORAGE + PRIVATE_STORAGE


def sop_class_name(uid: str) -> str:
    """Human-readable name of a SOP class, or the UID itself when unknown."""
    entry = UID_dictionary.get(uid)
    return entry[0] if entry else uid
