"""The data sets of study content notifications.

- Basic Study Descriptor (the IOD of the Basic Study Content Notification SOP Class,
  1.2.840.10008.1.9, PS3.4 Annex D of the 1990s editions, since retired): every type 1 and
  2 attribute of its Patient Summary and Study Content modules, no type 3 one (the
  reference's 4.6.2.1), plus the SOP Class and Instance UIDs the C-STORE carries. The
  extended form (the reference's 10.3.1) adds Study Date, Study Time, Accession Number,
  Patient's Birth Date, Patient's Sex and Study Comments (``ADD`` / ``DELETE``).
- Instance Availability Notification (PS3.3 A.50, C.4.23; PS3.4 Annex R): the study's
  instances by series with their Instance Availability and Retrieve AE Title.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

#: Basic Study Content Notification SOP Class (PS3.6 Annex A).
BSCN_SOP_CLASS = "1.2.840.10008.1.9"
#: Instance Availability Notification SOP Class (PS3.4 R.3).
IAN_SOP_CLASS = "1.2.840.10008.5.1.4.33"
_UTF8 = "ISO_IR 192"
#: Attributes of the extended descriptor taken from the catalogue (the reference's 10.3.1).
EXTENDED = ("StudyDate", "StudyTime", "AccessionNumber", "PatientBirthDate", "PatientSex")


def _by_series(instances: Iterable[tuple[str, str, str]]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for series_uid, sop_class, sop_uid in instances:
        out.setdefault(series_uid, []).append((sop_class, sop_uid))
    return out


def _charset(ds: Dataset, values: Iterable[str]) -> None:
    """Specific Character Set (PS3.3 C.12.1.1.2) when a value is not plain ASCII: UTF-8."""
    if not all(v.isascii() for v in values):
        ds.SpecificCharacterSet = _UTF8


def study_descriptor(
    study_uid: str, sop_instance_uid: str, values: Mapping[str, str], instances: Iterable[tuple[str, str, str]],
    retrieve_ae_title: str, *, extended: bool = False, comment: str = "",
) -> Dataset:
    """A Basic Study Descriptor for one study.

    Parameters
    ----------
    values
        The catalogue's patient/study values by keyword (``PatientName``, ``PatientID``,
        ``StudyID`` and, for the extended form, :data:`EXTENDED`).
    instances
        ``(series UID, SOP class UID, SOP instance UID)`` of the study's instances.
    retrieve_ae_title
        Where the instances can be retrieved (our Q/R AE).
    extended, comment
        Add the extended attributes, Study Comments = ``comment``.
    """
    ds = Dataset()
    texts = [values.get(k, "") for k in ("PatientName", "PatientID", "StudyID", *EXTENDED)] + [comment]
    _charset(ds, texts)
    ds.SOPClassUID = BSCN_SOP_CLASS
    ds.SOPInstanceUID = sop_instance_uid
    ds.PatientName = values.get("PatientName", "")  # Patient Summary: type 2
    ds.PatientID = values.get("PatientID", "")  # type 2
    ds.StudyID = values.get("StudyID", "")  # Study Content: type 2
    ds.StudyInstanceUID = study_uid  # type 1
    series_items = []
    for series_uid, refs in _by_series(instances).items():
        item = Dataset()
        item.SeriesInstanceUID = series_uid  # type 1
        item.RetrieveAETitle = retrieve_ae_title  # type 1C: no Storage Media File-Set ID is given
        images = []
        for sop_class, sop_uid in refs:
            image = Dataset()
            image.ReferencedSOPClassUID = sop_class  # type 1
            image.ReferencedSOPInstanceUID = sop_uid  # type 1
            images.append(image)
        item.ReferencedImageSequence = Sequence(images)  # type 1
        series_items.append(item)
    ds.ReferencedSeriesSequence = Sequence(series_items)  # type 1
    if extended:
        for keyword in EXTENDED:
            setattr(ds, keyword, values.get(keyword, ""))
        ds.StudyComments = comment
    return ds


def availability_notification(
    study_uid: str, values: Mapping[str, str], instances: Iterable[tuple[str, str, str]], retrieve_ae_title: str,
    availability: str,
) -> Dataset:
    """An Instance Availability Notification (PS3.3 C.4.23) for some instances of a study.

    ``availability`` is ``ONLINE`` (retrievable from ``retrieve_ae_title``), ``NEARLINE``
    (in the archive only: ``retrieve_ae_title`` fetches them back first, so a retrieve takes
    longer) or ``UNAVAILABLE`` (deleted) (PS3.3 C.4.23.1.1).
    """
    ds = Dataset()
    _charset(ds, [values.get("PatientName", ""), values.get("PatientID", "")])
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])  # type 2: no MPPS known here
    ds.StudyInstanceUID = study_uid
    series_items = []
    for series_uid, refs in _by_series(instances).items():
        item = Dataset()
        item.SeriesInstanceUID = series_uid
        sops = []
        for sop_class, sop_uid in refs:
            ref = Dataset()
            ref.ReferencedSOPClassUID = sop_class
            ref.ReferencedSOPInstanceUID = sop_uid
            ref.InstanceAvailability = availability
            ref.RetrieveAETitle = retrieve_ae_title
            sops.append(ref)
        item.ReferencedSOPSequence = Sequence(sops)
        series_items.append(item)
    ds.ReferencedSeriesSequence = Sequence(series_items)
    return ds
