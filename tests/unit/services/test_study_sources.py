"""Study sources of the information window without Qt: the temporary store's list from its files'
headers (each read once, the list rebuilt only when images arrive, copies counted once), and a
disc's label, listing, series and viewer sources."""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmread

from app.media.file_set_writer import FileSetWriter
from app.net.temporary_area import ReceivedImage, TemporaryArea
from app.services.cancel import CancelToken
from app.services.media import open_media
from app.services.study_filters import StudyFilter
from app.services.study_sources import MediaStudySource, TemporaryStoreSource, media_label
from tests.media_data import study as media_study
from tests.qr_archive import write_study


def _receive(area: TemporaryArea, path: Path, source_ae: str = "MOD1") -> None:
    """What the temporary Storage SCP does with an image: a reserved file, then a commit."""
    ds = dcmread(path)
    target, copy = area.reserve(source_ae, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    target.write_bytes(path.read_bytes())
    area.commit(ReceivedImage(source_ae, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, target, copy))


def test_temporary_store_headers_read_once_and_list_follows_arrivals(tmp_path: Path) -> None:
    area = TemporaryArea.claim(tmp_path / "root")
    try:
        source = TemporaryStoreSource(lambda: area)
        assert source.list_studies(StudyFilter()) == [] and source.changes() == 0
        first = write_study(tmp_path / "a", "P1", "Doe^Jane", [2, 1], accession="ACC1")
        for path in first.files:
            _receive(area, path)
        _receive(area, first.files[0])  # a second copy of one image
        assert source.changes() == 4
        [row] = source.list_studies(StudyFilter())
        assert (row.study_instance_uid, row.number_of_series, row.number_of_images) == (first.study_uid, 2, 3)
        assert (row.patient_name, row.accession_number, row.modalities) == ("Doe^Jane", "ACC1", "CT")
        series = source.list_series(row)
        assert [(s.series_number, s.number_of_images) for s in series] == [(1, 2), (2, 1)]

        # headers are read once: the file of series 2 spoilt after it was listed stays listed, also when the
        # list is rebuilt for a new arrival (read again, it would be left out and series 2 with it)
        received = area.images()
        assert received[2].series_instance_uid == series[1].series_instance_uid
        received[2].path.write_bytes(b"not DICOM any more")
        assert source.list_studies(StudyFilter()) == [row]
        second = write_study(tmp_path / "b", "P2", "Roe^Rick", [1], study_date="20231201")
        _receive(area, second.files[0])  # an arrival: only the new file is read
        rows = source.list_studies(StudyFilter())
        assert [r.patient_id for r in rows] == ["P1", "P2"] and rows[0] == row  # newest study date first
        assert [r.patient_id for r in source.list_studies(StudyFilter(patient_name="roe"))] == ["P2"]

        # the viewer's sources read the files of series 1
        [one, two] = source.series_sources(row)
        assert one.count_hint() == 2 and two.count_hint() == 1
        assert {ds.SOPInstanceUID for ds in one.load(CancelToken())} == {
            dcmread(p).SOPInstanceUID for p in first.series[one.key]}  # fmt: skip
    finally:
        area.remove()
    assert TemporaryStoreSource(lambda: None).list_studies(StudyFilter()) == []  # a stopped store lists nothing


def test_media_source_label_list_and_close(tmp_path: Path) -> None:
    writer = FileSetWriter(tmp_path / "disc", file_set_id="CLINIC CD")
    for ds in media_study("M1", "Media^One", count=2) + media_study("M2", "Media^Two", count=3):
        assert writer.add(ds)
    written = writer.write()
    opened = open_media(written.root / "DICOMDIR")
    assert media_label(opened) == "CLINIC CD"
    source = MediaStudySource.take(opened)
    assert source.name == "Media: CLINIC CD" and source.path == written.root
    rows = {r.patient_id: r for r in source.list_studies(StudyFilter())}
    assert {k: (r.number_of_series, r.number_of_images) for k, r in rows.items()} == {"M1": (4, 5), "M2": (4, 6)}
    assert [r.patient_id for r in source.list_studies(StudyFilter(patient_id="M2"))] == ["M2"]
    sources = source.series_sources(rows["M2"])
    assert [getattr(s, "is_image", True) for s in sources] == [True, False, False, False]  # CT first, PR/KO/SR after
    assert len(list(sources[0].load(CancelToken()))) == 3
    source.close()
