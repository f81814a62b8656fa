"""File-set Reader: DICOMDIRs by pydicom, DCMTK and us; broken, escaping, missing and absent DICOMDIRs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet

from app.media.dicomdir_reader import open_file_set, read_dicomdir
from app.media.file_set_writer import WrittenFileSet
from app.media.tree import Selection
from tests.conftest import require_tool
from tests.media_data import ct_images, study


def _uids(datasets: list[Dataset]) -> set[str]:
    return {str(ds.SOPInstanceUID) for ds in datasets}


def test_our_file_set_reads_as_a_tree_with_optional_keys(written: WrittenFileSet, two_patients: list[Dataset]) -> None:
    tree = open_file_set(written.root)
    assert tree.source == "DICOMDIR" and not tree.problems
    assert [p.patient_id for p in tree.patients] == ["PAT1", "PAT2"]
    patient = tree.patients[0]
    assert (patient.patient_name, patient.patient_birth_date, patient.patient_sex) == ("Doe^John", "19700101", "O")
    study_ = patient.studies[0]
    assert study_.study_description == "CT of PAT1" and study_.accession_number == "ACCPAT1"
    assert study_.modalities == "CT\\KO\\PR\\SR" and study_.instance_count == 6
    ct = study_.series[0]
    assert (ct.modality, ct.series_description, len(ct.instances)) == ("CT", "Series 1", 3)
    assert [i.instance_number for i in ct.instances] == ["1", "2", "3"]
    assert {i.sop_instance_uid for i in tree.instances()} == _uids(two_patients)


def test_selection_of_a_patient_a_study_or_a_series(written: WrittenFileSet) -> None:
    tree = open_file_set(written.root / "DICOMDIR")
    pat2 = tree.patients[1]
    study_uid = pat2.studies[0].study_instance_uid
    series_uid = pat2.studies[0].series[0].series_instance_uid
    assert len(tree.instances([Selection("PAT2")])) == 6
    assert len(tree.instances([Selection.parse(f"PAT2/{study_uid}")])) == 6
    assert len(tree.instances([Selection.parse(f"PAT2/{study_uid}/{series_uid}")])) == 3
    assert len(tree.instances([Selection("PAT1"), Selection("PAT2", study_uid, series_uid)])) == 9
    assert tree.instances([Selection("NOBODY")]) == []
    assert Selection.parse("A/B/1.2.3") == Selection("A/B", "1.2.3")


def test_a_dicomdir_written_by_pydicom(tmp_path: Path) -> None:
    images = ct_images("PYD1", "Py^Dicom", 3)
    fs = FileSet()
    for ds in images:
        fs.add(ds)
    fs.write(tmp_path / "pyd")
    tree = open_file_set(tmp_path / "pyd")
    assert not tree.problems and tree.source == "DICOMDIR"
    assert {i.sop_instance_uid for i in tree.instances()} == _uids(images)
    assert all(i.path.is_file() and i.path.is_relative_to(tmp_path / "pyd") for i in tree.instances())


def test_a_dicomdir_written_by_dcmtk_dcmmkdir(tmp_path: Path) -> None:
    root = tmp_path / "dcmtk"
    (root / "IMAGES").mkdir(parents=True)
    datasets = study("DCM1", "Dcm^Tk", 2) + ct_images("DCM2", "Other^One", 2)
    for n, ds in enumerate(datasets):
        ds.save_as(root / "IMAGES" / f"IM{n:06d}", enforce_file_format=True)
    result = subprocess.run([require_tool("dcmmkdir"), "+r", "+id", str(root), "+D", str(root / "DICOMDIR"),
                             "IMAGES"], cwd=root, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    tree = open_file_set(root)
    assert tree.source == "DICOMDIR" and not tree.problems
    assert sorted(p.patient_id for p in tree.patients) == ["DCM1", "DCM2"]
    assert {i.sop_instance_uid for i in tree.instances()} == _uids(datasets)
    kinds = {i.record_type for i in tree.instances([Selection("DCM1")])}
    assert kinds == {"IMAGE", "PRESENTATION", "KEY OBJECT DOC", "SR DOCUMENT"}
    assert all(i.file_id.startswith("IMAGES/IM") for i in tree.instances())


def test_a_broken_dicomdir_falls_back_to_a_folder_scan(written: WrittenFileSet, two_patients: list[Dataset]) -> None:
    data = written.dicomdir.read_bytes()
    written.dicomdir.write_bytes(data[: len(data) // 3])  # truncated in the middle of the records
    tree = open_file_set(written.root)
    assert tree.source == "DICOMDIR + folder scan"
    assert any(p.where == "DICOMDIR" and "found by scanning" in p.reason for p in tree.problems), tree.problems
    assert {i.sop_instance_uid for i in tree.instances()} == _uids(two_patients)  # nothing lost
    assert [p.patient_id for p in tree.patients] == ["PAT1", "PAT2"]


def test_garbage_named_dicomdir_falls_back_too(tmp_path: Path) -> None:
    images = ct_images("G1", "Gar^Bage", 2)
    for n, ds in enumerate(images):
        ds.save_as(tmp_path / f"F{n}", enforce_file_format=True)
    (tmp_path / "DICOMDIR").write_bytes(b"not a dicomdir at all" * 20)
    (tmp_path / "notes.txt").write_text("hello")
    tree = open_file_set(tmp_path)
    assert tree.source == "folder scan" and _uids(images) == {i.sop_instance_uid for i in tree.instances()}
    assert any("not readable DICOM" in p.reason for p in tree.problems)  # notes.txt and DICOMDIR itself? one


def test_no_dicomdir_means_a_scan_that_stays_inside(tmp_path: Path) -> None:
    disc = tmp_path / "disc"
    disc.mkdir()
    images = ct_images("S1", "Scan^Me", 2)
    for n, ds in enumerate(images):
        ds.save_as(disc / f"IMG{n}.dcm", enforce_file_format=True)
    outside = ct_images("OUT", "Out^Side", 1)[0]
    outside.save_as(tmp_path / "outside.dcm", enforce_file_format=True)
    os.symlink(tmp_path / "outside.dcm", disc / "LINK.dcm")
    os.symlink(tmp_path, disc / "UPDIR")
    tree = open_file_set(disc)
    assert tree.source == "folder scan"
    assert {i.sop_instance_uid for i in tree.instances()} == _uids(images)
    assert any(p.where == "LINK.dcm" and "outside" in p.reason for p in tree.problems)


def _rewrite_file_ids(dicomdir: Path, changes: dict[int, list[str]]) -> None:
    """Give the n-th record that references a file another Referenced File ID (same length keeps offsets)."""
    ds = dcmread(dicomdir)
    leaves = [r for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r]
    for index, file_id in changes.items():
        leaves[index].ReferencedFileID = file_id
    ds.save_as(dicomdir)


def test_a_path_escaping_the_root_is_refused_and_the_rest_read(written: WrittenFileSet, tmp_path: Path) -> None:
    secret = ct_images("EVIL", "Ev^Il", 1)[0]
    secret.save_as(written.root.parent / "IM000000", enforce_file_format=True)
    link_target = written.root / "PT000000" / "ST000000" / "SE000000" / "IM000001"
    link_target.unlink()
    os.symlink(written.root.parent / "IM000000", link_target)
    # record 0 -> ../IM000000, spelt with as many characters as before so the record offsets stay valid
    _rewrite_file_ids(written.dicomdir, {0: ["PT000000", "..", "..", "PT000000", "..", "IM000000"]})
    tree = read_dicomdir(written.dicomdir)
    uids = {i.sop_instance_uid for i in tree.instances()}
    assert str(secret.SOPInstanceUID) not in uids
    assert len(uids) == len(written.file_ids) - 2
    reasons = [p.reason for p in tree.problems]
    assert len(reasons) == 2 and all("skipped" in r for r in reasons), reasons
    assert all(i.path.is_relative_to(written.root.resolve()) for i in tree.instances())


def test_a_missing_file_is_reported(written: WrittenFileSet) -> None:
    gone = next(iter(written.file_ids.values()))
    (written.root / gone).unlink()
    tree = open_file_set(written.root)
    assert tree.instance_count == len(written.file_ids) - 1
    assert [(p.where, p.reason) for p in tree.problems] == [(gone, "the file the DICOMDIR names is missing")]


def test_not_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="neither a folder nor a DICOMDIR"):
        open_file_set(tmp_path / "nothing")
