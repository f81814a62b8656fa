"""Basic Study Descriptor and Instance Availability Notification data sets (reference 4.6, 10.3.1;
PS3.3 C.4.23)."""

from __future__ import annotations

from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom.dsutils import decode, encode

from app.server.notify_datasets import BSCN_SOP_CLASS, EXTENDED, availability_notification, study_descriptor

VALUES = {"PatientName": "DOE^JANE", "PatientID": "P1", "StudyID": "S1", "StudyDate": "20240101",
          "StudyTime": "101010", "AccessionNumber": "A1", "PatientBirthDate": "19700101", "PatientSex": "F"}
INSTANCES = [("1.1", "1.2.840.10008.5.1.4.1.1.2", "1.1.1"), ("1.1", "1.2.840.10008.5.1.4.1.1.2", "1.1.2"),
             ("1.2", "1.2.840.10008.5.1.4.1.1.11.1", "1.2.1")]


def _roundtrip(ds: Dataset) -> Dataset:
    data = encode(ds, ImplicitVRLittleEndian.is_implicit_VR, True)  # as the SCU sends it
    assert data is not None
    return decode(BytesIO(data), True, True)


def test_standard_descriptor_has_the_type_1_and_2_attributes_only() -> None:
    ds = _roundtrip(study_descriptor("1.9", "2.9", VALUES, INSTANCES, "QR_AE"))
    assert (ds.SOPClassUID, ds.SOPInstanceUID, ds.StudyInstanceUID) == (BSCN_SOP_CLASS, "2.9", "1.9")
    assert (str(ds.PatientName), ds.PatientID, ds.StudyID) == ("DOE^JANE", "P1", "S1")
    series = {item.SeriesInstanceUID: item for item in ds.ReferencedSeriesSequence}
    assert set(series) == {"1.1", "1.2"}
    assert [i.ReferencedSOPInstanceUID for i in series["1.1"].ReferencedImageSequence] == ["1.1.1", "1.1.2"]
    assert series["1.2"].RetrieveAETitle == "QR_AE"
    assert not any(keyword in ds for keyword in (*EXTENDED, "StudyComments", "SpecificCharacterSet"))


def test_extended_descriptor_and_utf8_names() -> None:
    values = dict(VALUES, PatientName="MÜLLER^JÖRG")
    ds = _roundtrip(study_descriptor("1.9", "2.9", values, INSTANCES, "QR_AE", extended=True, comment="DELETE"))
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert (ds.StudyDate, ds.StudyTime, ds.AccessionNumber) == ("20240101", "101010", "A1")
    assert (ds.PatientBirthDate, ds.PatientSex, ds.StudyComments) == ("19700101", "F", "DELETE")


def test_instance_availability_lists_every_instance_with_its_availability() -> None:
    ds = _roundtrip(availability_notification("1.9", VALUES, INSTANCES, "QR_AE", "UNAVAILABLE"))
    assert ds.StudyInstanceUID == "1.9" and "ReferencedPerformedProcedureStepSequence" in ds
    refs = [r for s in ds.ReferencedSeriesSequence for r in s.ReferencedSOPSequence]
    assert [r.ReferencedSOPInstanceUID for r in refs] == ["1.1.1", "1.1.2", "1.2.1"]
    assert {r.InstanceAvailability for r in refs} == {"UNAVAILABLE"}
    assert {r.RetrieveAETitle for r in refs} == {"QR_AE"}
