"""ISO 9660 + Joliet images, the burner detection and its message, the README and HTML index, the re-read check."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pycdlib
import pytest
from pydicom import dcmread

from app.core.errors import StorageError
from app.media.burner import Burner, BurnerError, detect_burner
from app.media.dicomdir_reader import open_file_set
from app.media.disc_extras import write_index, write_readme
from app.media.file_set_writer import WrittenFileSet
from app.media.iso_image import extract_iso, has_joliet, is_iso_image, list_iso, write_iso
from app.media.verify import verify_file_set, verify_iso


def _tree_signature(root: Path) -> list[tuple[str, str, str, str]]:
    tree = open_file_set(root)
    return [(p.patient_id, st.study_instance_uid, se.series_instance_uid, i.sop_instance_uid)
            for p in tree.patients for st in p.studies for se in st.series for i in se.instances]  # fmt: skip


def test_the_iso_image_opens_with_pycdlib_and_holds_the_same_tree(written: WrittenFileSet, tmp_path: Path) -> None:
    iso_path = write_iso(written.root, tmp_path / "disc.iso", volume="Lightbox 2024-01-02")
    assert is_iso_image(iso_path) and has_joliet(iso_path)
    files = {p.relative_to(written.root).as_posix() for p in written.root.rglob("*") if p.is_file()}
    assert set(list_iso(iso_path)) == files and not verify_iso(iso_path, written.root)
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    try:
        assert iso.get_record(joliet_path="/DICOMDIR").file_identifier().decode("utf-16-be") == "DICOMDIR"
        assert iso.pvd.volume_identifier.decode().strip() == "LIGHTBOX_2024_01"
    finally:
        iso.close()
    extracted = extract_iso(iso_path, tmp_path / "read")
    assert _tree_signature(extracted) == _tree_signature(written.root)
    first = next(iter(written.file_ids.values()))
    assert (extracted / first).read_bytes() == (written.root / first).read_bytes()


def test_names_that_are_not_iso_level_1_are_refused(tmp_path: Path) -> None:
    (tmp_path / "fs").mkdir()
    (tmp_path / "fs" / "image-1.dcm").write_bytes(b"x")
    with pytest.raises(StorageError, match="ISO 9660 Level 1"):
        write_iso(tmp_path / "fs", tmp_path / "x.iso")


def test_no_burning_program_gives_a_message_that_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(BurnerError, match=r"xorriso, wodim and growisofs.*apt install xorriso.*ISO image"):
        detect_burner(path=str(tmp_path))


def test_a_burning_program_without_a_drive_says_so(tmp_path: Path) -> None:
    tool = tmp_path / "wodim"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(BurnerError, match="wodim is installed but no CD/DVD writer drive"):
        detect_burner(path=str(tmp_path), devices=[])
    burner = detect_burner(path=str(tmp_path), devices=["/dev/sr1"])
    assert burner == Burner("wodim", str(tool), "/dev/sr1")


def test_burn_commands_of_each_tool() -> None:
    iso = Path("/tmp/disc.iso")
    assert Burner("xorriso", "xorriso", "/dev/sr0").command(iso) == [
        "xorriso", "-as", "cdrecord", "-v", "dev=/dev/sr0", "-eject", "/tmp/disc.iso"]  # fmt: skip
    assert Burner("wodim", "wodim", "/dev/sr0").command(iso)[-2:] == ["-eject", "/tmp/disc.iso"]
    assert Burner("growisofs", "growisofs", "/dev/sr0").command(iso) == [
        "growisofs", "-dvd-compat", "-Z", "/dev/sr0=/tmp/disc.iso"]  # fmt: skip


def test_readme_and_html_index_list_the_disc_and_escape_values(written: WrittenFileSet) -> None:
    image = written.root / next(iter(written.file_ids.values()))
    tree = open_file_set(written.root)
    readme = write_readme(tree, written.root).read_text()
    assert "12 DICOM objects of 2 studies of 2 patient(s)" in readme
    ds = dcmread(image)
    assert ds.PatientID == "PAT1"
    hostile = tree.patients[0].__class__(patient_id="<script>x</script>", patient_name="A&B",
                                         studies=tree.patients[0].studies)  # fmt: skip
    page = write_index(tree.__class__(tree.root, (hostile, tree.patients[1])), written.root).read_text()
    assert "&lt;script&gt;" in page and "<script>" not in page and "A&amp;B" in page
    assert "Series 1" in page and "PT000001/ST000000/SE000000" in page
    # the extras stay outside the file-set, and the image still holds it all
    assert open_file_set(written.root).instance_count == 12
    assert {"README.TXT", "INDEX.HTM"} <= {p.name for p in written.root.iterdir()}


def test_the_re_read_check_finds_a_damaged_file(written: WrittenFileSet) -> None:
    good = verify_file_set(written.root, written.file_ids)
    assert good.ok and good.checked == 12
    file_id = next(iter(written.file_ids.values()))
    (written.root / file_id).write_bytes(b"broken")
    os.sync()
    bad = verify_file_set(written.root, [*written.file_ids, "1.2.3.999"])
    assert not bad.ok and bad.checked == 11
    assert {p.where for p in bad.problems} == {file_id, "1.2.3.999"}


def test_the_re_read_check_compares_the_bytes_with_what_was_written(written: WrittenFileSet) -> None:
    assert len(written.checksums) == 12
    assert verify_file_set(written.root, written.file_ids, written.checksums).ok
    file_id = next(iter(written.file_ids.values()))
    path = written.root / file_id
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one bit of pixel data flipped: still reads as DICOM
    path.write_bytes(bytes(data))
    assert verify_file_set(written.root, written.file_ids).ok  # a parse alone does not see it
    bad = verify_file_set(written.root, written.file_ids, written.checksums)
    assert [(p.where, p.reason) for p in bad.problems] == [(file_id, "its bytes differ from what was written")]
