"""Key images: an "Of Interest" Key Object Selection document written with highdicom, valid for
dicom3tools' ``dciodvfy``, stored on the real server and read back as the study's key images."""

from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path

from pydicom.uid import generate_uid

from app.services.key_images import KeyImageRef, KeyImages, is_of_interest, key_object_document, newest, references_of
from app.services.presentation_display import study_objects
from app.services.studies import StudyService
from tests.conftest import require_tool
from tests.unit.services.calibrated import calibrated_image


def _series(count: int = 3):  # type: ignore[no-untyped-def]
    study, series = str(generate_uid()), str(generate_uid())
    return [calibrated_image(study_uid=study, series_uid=series, instance=i + 1) for i in range(count)]


def test_document_is_titled_of_interest_and_lists_the_images(tmp_path: Path) -> None:
    images = _series(2)
    refs = [KeyImageRef.of(ds) for ds in images]
    document = key_object_document(refs, images[0], description="two findings")
    assert is_of_interest(document)
    title = document.ConceptNameCodeSequence[0]
    assert (title.CodeValue, title.CodingSchemeDesignator, title.CodeMeaning) == ("113000", "DCM", "Of Interest")
    assert references_of(document) == refs
    assert document.StudyInstanceUID == images[0].StudyInstanceUID and document.Modality == "KO"
    path = tmp_path / "ko.dcm"
    document.save_as(path, enforce_file_format=True)
    done = subprocess.run([require_tool("dciodvfy"), str(path)], capture_output=True, text=True, timeout=60)
    lines = (done.stdout + done.stderr).splitlines()
    assert "KeyObjectSelectionDocument" in lines  # it recognised the IOD
    assert not [line for line in lines if line.startswith("Error")], lines


def test_marking_and_unmarking_round_trip_through_the_server(server) -> None:  # type: ignore[no-untyped-def]
    images = _series(3)
    studies = StudyService.connect(server.http_url)
    try:
        for ds in images:
            buffer = BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            studies.store_files([buffer.getvalue()])
        keys = KeyImages(studies, images[0])
        assert keys.load() == []
        first = keys.set_key(images[0], True)
        keys.set_key(images[2], True)
        assert keys.set_key(images[2], True) is None  # already a key image: nothing written
        last = keys.set_key(images[0], False)
        assert first is not None and last is not None and first.SOPInstanceUID != last.SOPInstanceUID

        reread = KeyImages(studies, images[1])
        refs = reread.load()
        assert [r.sop_instance_uid for r in refs] == [str(images[2].SOPInstanceUID)]
        assert reread.is_key(str(images[2].SOPInstanceUID)) and not reread.is_key(str(images[0].SOPInstanceUID))
        stored = study_objects(studies, str(images[0].StudyInstanceUID), "KO")
        assert len(stored) == 3  # every change is a new document; the newest one counts
        found = newest(stored)
        assert found is not None and found.SOPInstanceUID == last.SOPInstanceUID
    finally:
        studies.close()
