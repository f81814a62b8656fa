"""Key images of a study: a Key Object Selection document "Of Interest" on the server.

PS3.3 A.35.4 (Key Object Selection Document IOD) with the Key Object Selection template
TID 2010 (PS3.16): a KO whose Concept Name (document title) is (113000, DCM, "Of Interest")
lists the images the reader marked, and its Current Requested Procedure Evidence Sequence
(PS3.3 C.17.2.3) their study, series and SOP class. highdicom's
:class:`~highdicom.ko.KeyObjectSelectionDocument` writes it.

The key images of a study are those the newest such document lists (by Content Date and
Time, then Instance Number). Marking or unmarking writes a new document with the whole new set
(a new SOP Instance UID, in the same series) and stores it by STOW-RS, so it travels with the
study. Unmarking the last one cannot be a document (a KO lists at least one object): the
documents we wrote are then deleted through the admin API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code

from app import __version__
from app.client.admin import AdminClient
from app.core.errors import AppError
from app.dicom.uids import generate_uid
from app.imaging.gsps_writer import MANUFACTURER
from app.services.cancel import CancelToken
from app.services.presentation_display import study_objects
from app.services.presentation_save import store
from app.services.studies import StudyService

logger = logging.getLogger(__name__)

OF_INTEREST = Code("113000", "DCM", "Of Interest")  # CID 7010 Key Object Selection Document Title
KO_SERIES_NUMBER = 9002
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"
_PATIENT_STUDY = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyID",
    "StudyDate", "StudyTime", "ReferringPhysicianName", "SpecificCharacterSet",
)  # fmt: skip


@dataclass(frozen=True)
class KeyImageRef:
    """One referenced image (SOP Instance Reference, PS3.3 C.17.2.3) of the study."""

    series_instance_uid: str
    sop_class_uid: str
    sop_instance_uid: str

    @classmethod
    def of(cls, image: Dataset) -> KeyImageRef:
        return cls(str(image.SeriesInstanceUID), str(image.SOPClassUID), str(image.SOPInstanceUID))


def _evidence(ref: KeyImageRef, study: Dataset) -> Dataset:
    """What highdicom reads of a referenced image: patient/study identity and the image's UIDs."""
    ds = Dataset()
    for keyword in _PATIENT_STUDY:
        setattr(ds, keyword, study.get(keyword, "") if keyword != "SpecificCharacterSet" else study.get(keyword))
    if ds.get("SpecificCharacterSet") is None:
        del ds.SpecificCharacterSet
    ds.StudyInstanceUID = study.StudyInstanceUID
    ds.SeriesInstanceUID = ref.series_instance_uid
    ds.SOPClassUID = ref.sop_class_uid
    ds.SOPInstanceUID = ref.sop_instance_uid
    ds.Rows = ds.Columns = 1  # highdicom: an image is referenced as IMAGE (not COMPOSITE) when it has these
    return ds


def key_object_document(
    refs: Sequence[KeyImageRef],
    study: Dataset,
    *,
    series_instance_uid: str | None = None,
    instance_number: int = 1,
    description: str | None = None,
) -> Dataset:
    """A new Key Object Selection document "Of Interest" listing ``refs`` (PS3.3 A.35.4, TID 2010).

    Parameters
    ----------
    study
        Any image of the study: its patient and study attributes are repeated (PS3.3 C.7.1.1, C.7.2.1).
    """
    if not refs:
        raise AppError("A key object selection lists at least one image; mark an image first.")
    evidence = [_evidence(ref, study) for ref in refs]
    content = hd.ko.KeyObjectSelection(OF_INTEREST, evidence, description=description or None)
    try:
        document = hd.ko.KeyObjectSelectionDocument(
            evidence=evidence,
            content=content,
            series_instance_uid=series_instance_uid or str(generate_uid()),
            series_number=KO_SERIES_NUMBER,
            sop_instance_uid=str(generate_uid()),
            instance_number=instance_number,
            manufacturer=MANUFACTURER,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise AppError(f"The key object selection cannot be written: {exc}") from exc
    document.SoftwareVersions = __version__
    return document


def is_of_interest(document: Dataset) -> bool:
    """True for a Key Object Selection document titled (113000, DCM) "Of Interest"."""
    if str(document.get("SOPClassUID", "")) != KEY_OBJECT_SELECTION:
        return False
    names = document.get("ConceptNameCodeSequence") or []
    return any(
        str(n.get("CodeValue", "")) == OF_INTEREST.value and str(n.get("CodingSchemeDesignator", "")) == "DCM"
        for n in names
    )


def references_of(document: Dataset) -> list[KeyImageRef]:
    """The images a KO lists (its content items), with their series from the evidence sequence."""
    series_of: dict[str, str] = {}
    for study in document.get("CurrentRequestedProcedureEvidenceSequence") or []:
        for series in study.get("ReferencedSeriesSequence") or []:
            for sop in series.get("ReferencedSOPSequence") or []:
                series_of[str(sop.ReferencedSOPInstanceUID)] = str(series.SeriesInstanceUID)
    out = []
    for item in document.get("ContentSequence") or []:
        for sop in item.get("ReferencedSOPSequence") or []:
            uid = str(sop.ReferencedSOPInstanceUID)
            out.append(KeyImageRef(series_of.get(uid, ""), str(sop.ReferencedSOPClassUID), uid))
    return out


def _newest_key(document: Dataset) -> tuple[str, str, int]:
    number = document.get("InstanceNumber")
    return (
        str(document.get("ContentDate", "") or ""),
        str(document.get("ContentTime", "") or ""),
        int(number) if number not in (None, "") else 0,
    )


def newest(documents: Iterable[Dataset]) -> Dataset | None:
    """The newest "Of Interest" document (Content Date + Time, then Instance Number), or None."""
    found = [d for d in documents if is_of_interest(d)]
    return max(found, key=_newest_key) if found else None


class KeyImages:
    """The key images of one study, read from and written to the server.

    Parameters
    ----------
    studies
        The server's studies (QIDO/WADO/STOW).
    study
        Any image of the study (identity of the documents written).
    admin
        The admin API, to delete our documents when the last key image is unmarked.
    """

    def __init__(self, studies: StudyService, study: Dataset, admin: AdminClient | None = None) -> None:
        self.studies = studies
        self.study = study
        self.admin = admin
        self.refs: list[KeyImageRef] = []
        self.documents: list[Dataset] = []  # every "Of Interest" document known, oldest first
        self.series_instance_uid = str(generate_uid())

    @property
    def study_instance_uid(self) -> str:
        return str(self.study.StudyInstanceUID)

    def load(self, cancel: CancelToken | None = None) -> list[KeyImageRef]:
        """Read the study's documents from the server; the newest gives the key images."""
        documents = [d for d in study_objects(self.studies, self.study_instance_uid, "KO", cancel) if is_of_interest(d)]
        self.documents = sorted(documents, key=_newest_key)
        last = newest(self.documents)
        self.refs = references_of(last) if last is not None else []
        if last is not None and str(last.get("Manufacturer", "")) == MANUFACTURER:
            self.series_instance_uid = str(last.SeriesInstanceUID)  # carry on in our series
        return list(self.refs)

    def is_key(self, sop_instance_uid: str) -> bool:
        return any(r.sop_instance_uid == sop_instance_uid for r in self.refs)

    def set_key(self, image: Dataset, key: bool) -> Dataset | None:
        """Mark (``key`` True) or unmark ``image``; returns the document stored (None: none needed).

        Raises
        ------
        AppError
            The server did not store (or delete) the document; the set is then unchanged.
        """
        ref = KeyImageRef.of(image)
        if str(image.StudyInstanceUID) != self.study_instance_uid:
            raise AppError("This image belongs to another study: open that study to mark it as a key image.")
        if self.is_key(ref.sop_instance_uid) == key:
            return None
        refs = [*self.refs, ref] if key else [r for r in self.refs if r.sop_instance_uid != ref.sop_instance_uid]
        if not refs:
            self._delete_own()
            self.refs = []
            return None
        numbers = [int(d.get("InstanceNumber", 0) or 0) for d in self.documents]
        document = key_object_document(
            refs, self.study, series_instance_uid=self.series_instance_uid, instance_number=max(numbers, default=0) + 1
        )
        store(self.studies, document)
        self.documents.append(document)
        self.refs = refs
        return document

    def _delete_own(self) -> None:
        own = [d for d in self.documents if str(d.get("Manufacturer", "")) == MANUFACTURER]
        if self.admin is None:
            raise AppError("Unmarking the last key image deletes its document on the server; the admin API is needed.")
        for document in own:
            series, sop = str(document.SeriesInstanceUID), str(document.SOPInstanceUID)
            self.admin.delete_instance(self.study_instance_uid, series, sop)
        self.documents = [d for d in self.documents if all(d is not o for o in own)]
