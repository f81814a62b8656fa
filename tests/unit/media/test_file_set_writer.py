"""File-set Creator: multi-patient file-sets in Explicit VR Little Endian, checked by dicom3tools and DCMTK."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, JPEGLosslessSV1, RLELossless

from app.core.errors import StorageError
from app.media.dicomdir_reader import read_dicomdir
from app.media.file_set_writer import FileSetWriter, WrittenFileSet
from tests.conftest import require_tool
from tests.media_data import ct_images, to_bytes

FILE_ID = re.compile(r"^[A-Z0-9_]{1,8}$")


def _records(written: WrittenFileSet) -> list[Dataset]:
    return list(dcmread(written.dicomdir).DirectoryRecordSequence)


def test_two_patients_with_pr_ko_sr_and_8_character_ids(written: WrittenFileSet) -> None:
    assert len(written.file_ids) == 12 and not written.refused
    for file_id in written.file_ids.values():
        parts = file_id.split("/")
        assert len(parts) == 4 and all(FILE_ID.match(p) for p in parts), file_id
    kinds = [str(r.DirectoryRecordType) for r in _records(written)]
    assert kinds.count("PATIENT") == 2 and kinds.count("STUDY") == 2
    assert kinds.count("IMAGE") == 6
    assert kinds.count("PRESENTATION") == kinds.count("KEY OBJECT DOC") == kinds.count("SR DOCUMENT") == 2
    for path in written.root.rglob("*"):
        if path.is_file():
            assert dcmread(path).file_meta.TransferSyntaxUID == ExplicitVRLittleEndian


def test_no_referenced_image_sequence_but_where_a_presentation_record_must_have_one(written: WrittenFileSet) -> None:
    for record in _records(written):
        if record.DirectoryRecordType == "PRESENTATION":
            assert "ReferencedImageSequence" not in record
            assert all("ReferencedImageSequence" in s for s in record.ReferencedSeriesSequence)
        else:
            assert not any(e.keyword == "ReferencedImageSequence" for e in record.iterall()), record.DirectoryRecordType
        if record.DirectoryRecordType in ("SR DOCUMENT", "KEY OBJECT DOC"):
            items = record.get("ContentSequence", [])
            assert all(i.RelationshipType == "HAS CONCEPT MOD" for i in items)


def test_dciodvfy_finds_no_error_in_the_dicomdir(written: WrittenFileSet) -> None:
    result = subprocess.run([require_tool("dciodvfy"), str(written.dicomdir)], capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert "BasicDirectory" in output
    assert not [line for line in output.splitlines() if line.startswith("Error")], output


def test_dcmtk_reads_the_dicomdir_and_finds_every_file_consistent(written: WrittenFileSet, tmp_path: Path) -> None:
    dump = subprocess.run([require_tool("dcmdump"), str(written.dicomdir)], capture_output=True, text=True)
    assert dump.returncode == 0 and "=MediaStorageDirectoryStorage" in dump.stdout
    assert dump.stdout.count("(0004,1500)") == 12  # a Referenced File ID per instance
    # dcmmkdir in update mode without writing (-w): every file is checked against its record and the
    # General Purpose profile (STD-GEN-CD); it aborts (-a) on the first inconsistent one. It runs on a
    # copy: even with -w, dcmmkdir moves the DICOMDIR aside.
    copy = Path(shutil.copytree(written.root, tmp_path / "copy"))
    tops = sorted(p.name for p in copy.iterdir() if p.is_dir())
    check = subprocess.run(
        [require_tool("dcmmkdir"), "-Pgp", "+U", "-w", "-nb", "-a", "+r", *tops],
        cwd=copy, capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    # and the check does catch an image that disagrees with its record
    copy = Path(shutil.copytree(written.root, tmp_path / "copy2"))
    image = copy / written.file_ids[next(iter(written.file_ids))]
    ds = dcmread(image)
    ds.PatientName = "Someone^Else"
    ds.save_as(image)
    check = subprocess.run(
        [require_tool("dcmmkdir"), "-Pgp", "+U", "-w", "-nb", "-a", "+r", *tops],
        cwd=copy, capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode != 0 and "inconsistent" in check.stdout + check.stderr


def test_the_catalogue_value_wins_in_file_and_record(tmp_path: Path) -> None:
    images = ct_images("PAT1", "Wrong^Name", 2)
    writer = FileSetWriter(tmp_path / "fs")
    for ds in images:
        writer.add(ds, {"PatientName": "Right^Name", "StudyDescription": "Corrected", "PatientID": "PAT1"})
    written = writer.write()
    assert {p.changed for p in written.prepared.values()} == {("PatientName", "StudyDescription")}
    for file_id in written.file_ids.values():
        ds = dcmread(written.root / file_id)
        assert ds.PatientName == "Right^Name" and ds.StudyDescription == "Corrected"
    tree = read_dicomdir(written.dicomdir)
    assert tree.patients[0].patient_name == "Right^Name"
    assert tree.patients[0].studies[0].study_description == "Corrected"


def test_a_non_ascii_catalogue_value_switches_the_file_to_utf8(tmp_path: Path) -> None:
    writer = FileSetWriter(tmp_path / "fs")
    writer.add(ct_images("PAT1", "Muller^Hans", 1)[0], {"PatientName": "Müller^Hans"})
    written = writer.write()
    ds = dcmread(written.root / next(iter(written.file_ids.values())))
    assert ds.PatientName == "Müller^Hans" and ds.SpecificCharacterSet == "ISO_IR 192"
    assert read_dicomdir(written.dicomdir).patients[0].patient_name == "Müller^Hans"


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLosslessSV1, ExplicitVRBigEndian])
def test_compressed_and_big_endian_sources_are_written_explicit_little(tmp_path: Path, syntax: str) -> None:
    ds = ct_images("PAT1", "Doe^John", 1)[0]
    expected = ds.pixel_array.copy()
    source = tmp_path / "source.dcm"
    if syntax == RLELossless:
        ds.compress(RLELossless)
        ds.save_as(source, enforce_file_format=True)
    elif syntax == JPEGLosslessSV1:
        ds.save_as(tmp_path / "plain.dcm", enforce_file_format=True)
        subprocess.run([require_tool("dcmcjpeg"), "+e1", str(tmp_path / "plain.dcm"), str(source)],
                       check=True)  # fmt: skip
    else:
        ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
        ds.PixelData = expected.astype(">i2").tobytes()
        from pydicom.filewriter import dcmwrite

        dcmwrite(source, ds, implicit_vr=False, little_endian=False)
    read = dcmread(source)
    assert read.file_meta.TransferSyntaxUID == syntax
    writer = FileSetWriter(tmp_path / "fs")
    assert writer.add(read), writer.refused
    written = writer.write()
    out = dcmread(written.root / next(iter(written.file_ids.values())))
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert np.array_equal(out.pixel_array, expected)
    assert written.prepared[str(out.SOPInstanceUID)].decompressed_from == syntax
    assert "LossyImageCompression" not in out  # lossless sources stay lossless


def test_missing_directory_keys_are_filled_in_file_and_record(tmp_path: Path) -> None:
    ds = ct_images("PAT1", "Doe^John", 1)[0]
    del ds.StudyID
    ds.InstanceNumber = None
    writer = FileSetWriter(tmp_path / "fs")
    assert writer.add(ds)
    written = writer.write()
    assert set(next(iter(written.prepared.values())).invented) == {"StudyID", "InstanceNumber"}
    out = dcmread(written.root / next(iter(written.file_ids.values())))
    assert out.StudyID == "1" and out.InstanceNumber == 1


def test_refused_instances_are_reported_and_the_rest_written(tmp_path: Path) -> None:
    good = ct_images("PAT1", "Doe^John", 1)[0]
    no_series = copy.deepcopy(good)
    no_series.SOPInstanceUID = "1.2.3.4.5"
    del no_series.SeriesInstanceUID
    not_media = copy.deepcopy(good)
    not_media.SOPInstanceUID = "1.2.3.4.6"
    not_media.SOPClassUID = "1.2.840.10008.5.1.4.1.1.66"  # Raw Data, not an export class
    del not_media.PixelData
    writer = FileSetWriter(tmp_path / "fs")
    assert writer.add(good) and not writer.add(no_series) and not writer.add(not_media)
    written = writer.write()
    assert list(written.file_ids) == [str(good.SOPInstanceUID)]
    reasons = {r.sop_instance_uid: r.reason for r in written.refused}
    assert "SeriesInstanceUID" in reasons["1.2.3.4.5"] and "not written to media" in reasons["1.2.3.4.6"]


def test_the_output_folder_must_be_empty(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("x")
    with pytest.raises(StorageError, match="empty folder"):
        FileSetWriter(tmp_path / "out")


def test_unchanged_instances_keep_their_bytes_and_changed_ones_are_re_encoded(tmp_path: Path) -> None:
    plain, changed = ct_images("PAT1", "Doe^John", 2)
    plain_bytes, changed_bytes = to_bytes(plain), to_bytes(changed)
    writer = FileSetWriter(tmp_path / "fs")
    assert writer.add_bytes(plain_bytes) and writer.add_bytes(changed_bytes, {"PatientName": "Doe^Johnny"})
    assert (tmp_path / "fs" / "PT000000" / "ST000000" / "SE000000" / "IM000001").is_file()  # written at once
    written = writer.write()
    kept = (written.root / written.file_ids[str(plain.SOPInstanceUID)]).read_bytes()
    body = plain_bytes[144 + int.from_bytes(plain_bytes[140:144], "little"):]
    assert kept.endswith(body) and kept[128:132] == b"DICM"  # the data set as it was, our file meta
    assert dcmread(BytesIO(kept)).file_meta.ImplementationVersionName.startswith("LIGHTBOX")
    assert dcmread(written.root / written.file_ids[str(changed.SOPInstanceUID)]).PatientName == "Doe^Johnny"
    assert written.prepared[str(plain.SOPInstanceUID)].changed == ()


def test_abort_leaves_nothing_behind(tmp_path: Path) -> None:
    writer = FileSetWriter(tmp_path / "new")
    writer.add(ct_images("PAT1", "Doe^John", 1)[0])
    writer.abort()
    assert not (tmp_path / "new").exists()


def test_pydicom_fileset_reads_our_dicomdir(written: WrittenFileSet) -> None:
    from pydicom.fileset import FileSet

    fs = FileSet(written.dicomdir)
    assert len(fs) == 12 and fs.ID == "LIGHTBOX"
    assert len(fs.find(PatientID="PAT1")) == 6
    assert {str(i.SOPInstanceUID) for i in fs} == set(written.file_ids)
    assert {Path(i.path).relative_to(written.root.resolve()).as_posix() for i in fs} == set(written.file_ids.values())


def test_later_files_of_a_patient_are_made_to_agree_with_its_record(tmp_path: Path) -> None:
    first, second = ct_images("PAT1", "Doe^John", 2)
    second.PatientName, second.PatientBirthDate = "DOE^JOHN", "19700102"
    writer = FileSetWriter(tmp_path / "fs")
    assert writer.add_bytes(to_bytes(first)) and writer.add_bytes(to_bytes(second))
    written = writer.write()
    assert written.prepared[str(second.SOPInstanceUID)].changed == ("PatientName", "PatientBirthDate")
    out = dcmread(written.root / written.file_ids[str(second.SOPInstanceUID)])
    assert (out.PatientName, out.PatientBirthDate) == ("Doe^John", "19700101")
