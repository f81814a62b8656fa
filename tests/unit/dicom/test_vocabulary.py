"""DICOM vocabulary: UIDs, storage SOP classes, transfer syntax order, safe file names."""

from __future__ import annotations

import re

import pytest
from pydicom.uid import UID

from app.dicom import filenames, sop_classes, transfer_syntaxes, uids


def test_implementation_identity_is_valid() -> None:
    assert uids.IMPLEMENTATION_CLASS_UID.is_valid
    assert uids.IMPLEMENTATION_CLASS_UID.startswith("2.25.")
    assert 1 <= len(uids.IMPLEMENTATION_VERSION_NAME) <= 16


def test_generated_uids_are_valid_and_unique() -> None:
    made = {uids.generate_uid() for _ in range(1000)}
    assert len(made) == 1000
    assert all(UID(u).is_valid and len(u) <= 64 for u in made)


def test_storage_classes_cover_the_reference_table_and_newer_ones() -> None:
    storage = set(sop_classes.ALL_STORAGE)
    for uid in (
        "1.2.840.10008.5.1.1.1.29",  # Hardcopy Grayscale (retired)
        "1.2.840.10008.5.1.4.1.1.2",  # CT
        "1.2.840.10008.5.1.4.1.1.4",  # MR
        "1.2.840.10008.5.1.4.1.1.11.1",  # GSPS
        "1.2.840.10008.5.1.4.1.1.88.59",  # KOS
        "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
        "1.2.840.10008.5.1.4.1.1.77.1.6",  # Whole slide
        "1.2.840.10008.5.1.4.1.1.9.1.1",  # 12-lead ECG
        "1.3.12.2.1107.5.9.1",  # a vendor private class of the table
        "1.2.840.10008.5.1.4.1.1.13.1.4",  # Breast projection X-ray (added since)
        "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy converted enhanced CT (added since)
    ):
        assert uid in storage, uid
    assert "1.2.840.10008.1.20.1" not in storage  # Storage Commitment is not a storage class
    assert "1.2.840.10008.1.3.10" not in storage  # nor is the Media Storage Directory


def test_transfer_syntax_preference_follows_the_reference_order() -> None:
    order = list(transfer_syntaxes.STORAGE_PREFERENCE)
    assert len(order) == len(set(order))
    # lossless compression first, then uncompressed, then lossy
    assert order.index(UID("1.2.840.10008.1.2.4.90")) < order.index(UID("1.2.840.10008.1.2.1"))
    assert order.index(UID("1.2.840.10008.1.2.1")) < order.index(UID("1.2.840.10008.1.2"))
    assert order.index(UID("1.2.840.10008.1.2")) < order.index(UID("1.2.840.10008.1.2.4.50"))
    assert set(order) >= transfer_syntaxes.LOSSY


def test_storage_names_are_random_and_never_derived_from_input() -> None:
    name = filenames.new_storage_name()
    assert re.fullmatch(r"[0-9a-f]{32}\.dcm", name)
    rel = filenames.storage_relpath(name)
    assert rel == f"{name[:2]}/{name[2:4]}/{name}"
    assert filenames.is_safe_relpath(rel)


@pytest.mark.parametrize(
    "hostile",
    ["../../etc/passwd", "1.2.840.10008/../x.dcm", "ab/cd/../../x.dcm", "/abs/path.dcm", "ab/cd/" + "a" * 32 + ".dcm"],
)
def test_hostile_relpaths_are_refused(hostile: str) -> None:
    assert not filenames.is_safe_relpath(hostile)
    with pytest.raises(ValueError):
        filenames.storage_relpath(hostile)
