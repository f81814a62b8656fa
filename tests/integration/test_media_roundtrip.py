"""Media round trip against real servers: export two patients' studies, check the disc with dicom3tools and
DCMTK, re-import a part through the tree into another server and compare with the originals; the CLI."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

from app import cli
from app.media.file_set_writer import FileSetWriter
from app.media.iso_image import list_iso
from app.media.tree import Selection
from app.services import media_cli
from app.services.cancel import CancelledError, CancelToken
from app.services.media import BATCH_INSTANCES, import_selection, open_media
from app.services.media_export import ExportOptions, export_studies
from app.services.studies import StudyService
from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config
from tests.media_data import ct_images, study, to_bytes


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    """One server for the module (per index backend): every test files its own patients with new
    UIDs (tests/media_data.py) and looks only at those, so none needs an empty server."""
    tmp = tmp_path_factory.mktemp("media")
    config = write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url)
    running = start_server(config, tmp / "data")
    yield running
    assert stop_server(running) == 0


@pytest.fixture
def second_server(tmp_path: Path, make_index_url: Callable[[], str]) -> Iterator[RunningServer]:
    data_dir = tmp_path / "data2"
    config = write_server_config(tmp_path / "server2.toml", data_dir, index_url=make_index_url())
    running = start_server(config, data_dir)
    yield running
    assert stop_server(running) == 0


def _store(service: StudyService, datasets: list[Dataset]) -> None:
    result = service.store_files([to_bytes(ds) for ds in datasets])
    assert (result.stored, result.failed) == (len(datasets), 0)


def _by_uid(datasets: list[Dataset]) -> dict[str, Dataset]:
    return {str(ds.SOPInstanceUID): ds for ds in datasets}


def test_export_two_patients_check_and_reimport_a_part(
    server: RunningServer, second_server: RunningServer, tmp_path: Path
) -> None:
    first, second = study("RT1", "Round^Trip"), study("RT2", "Second^Patient", compress=True)
    assert second[0].file_meta.TransferSyntaxUID == RLELossless
    originals = _by_uid(first + second)
    expected_pixels = {uid: ds.pixel_array.copy() for uid, ds in originals.items() if "PixelData" in ds}
    source = StudyService.connect(server.http_url)
    _store(source, first + second)
    steps: list[tuple[int, int]] = []
    out, iso = tmp_path / "disc", tmp_path / "disc.iso"
    report = export_studies(
        source, [str(first[0].StudyInstanceUID), str(second[0].StudyInstanceUID)],
        ExportOptions(out, iso, readme=True, html_index=True), progress=lambda d, t: steps.append((d, t)),
    )  # fmt: skip
    assert report.ok, report.summary()
    assert (report.written, report.patients) == (12, 2) and steps[-1] == (12, 12)
    assert report.verification is not None and report.verification.checked == 12

    # dicom3tools: no error in the DICOMDIR
    check = subprocess.run([require_tool("dciodvfy"), str(out / "DICOMDIR")], capture_output=True, text=True)
    assert not [line for line in (check.stdout + check.stderr).splitlines() if line.startswith("Error")]
    # DCMTK: dcmdump reads it; dcmmkdir's update mode without writing finds every file consistent (STD-GEN-CD)
    dump = subprocess.run([require_tool("dcmdump"), str(out / "DICOMDIR")], capture_output=True, text=True)
    assert dump.returncode == 0 and dump.stdout.count("(0004,1500)") == 12
    # (on a copy: even with -w, dcmmkdir moves the DICOMDIR aside)
    copy = Path(shutil.copytree(out, tmp_path / "dcmtk-check"))
    tops = sorted(p.name for p in copy.iterdir() if p.is_dir())
    mkdir = subprocess.run([require_tool("dcmmkdir"), "-Pgp", "+U", "-w", "-nb", "-a", "+r", *tops], cwd=copy,
                           capture_output=True, text=True)  # fmt: skip
    assert mkdir.returncode == 0, mkdir.stdout + mkdir.stderr
    # the ISO image holds the same files, the README and the index
    assert set(list_iso(iso)) == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"README.TXT", "INDEX.HTM", "DICOMDIR"} <= set(list_iso(iso))

    # re-import a part (the second patient's CT series) from the ISO into another server, through the tree
    with open_media(iso) as opened:
        tree = opened.tree
        assert tree.source == "DICOMDIR" and not tree.problems
        assert [p.patient_id for p in tree.patients] == ["RT1", "RT2"]
        ct = next(s for s in tree.patients[1].studies[0].series if s.modality == "CT")
        selection = Selection("RT2", tree.patients[1].studies[0].study_instance_uid, ct.series_instance_uid)
        target = StudyService.connect(second_server.http_url)
        imported = import_selection(target, tree, [selection])
    assert imported.complete and len(imported.imported) == 3, imported.summary()
    assert opened.extracted is None  # the extracted folder is gone
    back = target.load_series(str(second[0].StudyInstanceUID), ct.series_instance_uid)
    assert len(back) == 3 and len(target.list_studies()) == 1
    for ds in back:
        original = originals[str(ds.SOPInstanceUID)]
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian  # decompressed for the disc
        assert np.array_equal(ds.pixel_array, expected_pixels[str(ds.SOPInstanceUID)])
        for keyword in ("PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID",
                        "InstanceNumber", "StudyDate", "AccessionNumber", "ImagePositionPatient"):
            assert ds.get(keyword) == original.get(keyword), keyword
    source.close()
    target.close()


def test_import_stopped_half_way_keeps_what_was_imported(server: RunningServer, tmp_path: Path) -> None:
    images = ct_images("HALF", "Half^Way", BATCH_INSTANCES + 4)
    disc = tmp_path / "disc"
    disc.mkdir()
    for n, ds in enumerate(images):
        ds.save_as(disc / f"IM{n:06d}", enforce_file_format=True)
    (disc / "IM999999").write_bytes(b"\0" * 128 + b"DICM" + b"broken")  # unreadable
    service = StudyService.connect(server.http_url)
    cancel = CancelToken()
    with open_media(disc) as opened:
        report = import_selection(service, opened.tree, cancel=cancel, progress=lambda d, t: cancel.cancel())
    assert report.stopped == "cancelled" and not report.complete
    assert len(report.imported) == BATCH_INSTANCES and len(report.not_tried) == 4
    stored = service.list_instances(str(images[0].StudyInstanceUID), str(images[0].SeriesInstanceUID))
    assert {i.sop_instance_uid for i in stored} == set(report.imported)
    assert "were not tried" in report.summary() and "kept on the server" in report.summary()
    assert any("not readable DICOM" in p.reason for p in report.disc_problems)
    service.close()


def test_a_file_the_server_refuses_is_reported_by_name(server: RunningServer, tmp_path: Path) -> None:
    ds = ct_images("REF", "Re^Fused", 1)[0]
    del ds.StudyInstanceUID  # the server cannot file it
    good = ct_images("REF", "Re^Fused", 1)[0]
    disc = tmp_path / "disc"
    disc.mkdir()
    ds.save_as(disc / "BAD", enforce_file_format=True)
    good.save_as(disc / "GOOD", enforce_file_format=True)
    service = StudyService.connect(server.http_url)
    with open_media(disc) as opened:
        report = import_selection(service, opened.tree)
    assert report.imported == (str(good.SOPInstanceUID),)
    assert [p.where for p in report.failed] == ["BAD"] and "refused" in report.failed[0].reason
    service.close()


def test_the_media_command_line(server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = study("CLI1", "Command^Line") + ct_images("CLI2", "Other^Patient", 2)
    service = StudyService.connect(server.http_url)
    _store(service, images)
    out = tmp_path / "out"
    code = media_cli.main(["export", "--study", str(images[0].StudyInstanceUID), "--study",
                           str(images[-1].StudyInstanceUID), "--out", str(out), "--iso", str(tmp_path / "cli.iso"),
                           "--server", server.http_url])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and "Wrote 8 object(s) of 2 patient(s)" in printed and "read back" in printed
    assert (tmp_path / "cli.iso").is_file()
    assert media_cli.main(["import", str(tmp_path / "cli.iso"), "--list"]) == 0
    listing = capsys.readouterr().out
    assert "CLI1" in listing and "CLI2" in listing and "(DICOMDIR)" in listing
    # refused: the export folder must be new or empty
    assert media_cli.main(["export", "--study", "1.2.3", "--out", str(out), "--server", server.http_url]) == 2
    assert "empty folder" in capsys.readouterr().err
    # import a selection of the written folder into the same server: duplicates are the server's policy;
    # an unknown selection imports nothing and says so
    assert media_cli.main(["import", str(out), "--select", "NOBODY", "--server", server.http_url]) == 2
    assert "nothing to import" in capsys.readouterr().err
    # through the lightbox entry point: import one series of a disc holding a new patient
    disc = FileSetWriter(tmp_path / "newdisc")
    new = ct_images("CLI3", "New^Patient", 2, series=2)
    for ds in new:
        disc.add(ds)
    disc.write()
    wanted = f"CLI3/{new[0].StudyInstanceUID}/{new[0].SeriesInstanceUID}"
    argv = ["media", "import", str(tmp_path / "newdisc"), "--select", wanted, "--server", server.http_url]
    assert cli.main(argv) == 0
    assert "Imported 2 object(s)." in capsys.readouterr().out
    stored = service.list_series(str(new[0].StudyInstanceUID))
    assert [(s.series_instance_uid, s.number_of_images) for s in stored] == [(str(new[0].SeriesInstanceUID), 2)]
    assert media_cli.main(["export", "--study", "1.2.3.4", "--out", str(tmp_path / "o2"),
                           "--server", server.http_url]) == 2  # fmt: skip
    assert "No instance could be written" in capsys.readouterr().err
    service.close()


def test_a_cancelled_export_leaves_nothing_behind(server: RunningServer, tmp_path: Path) -> None:
    images = ct_images("CAN", "Can^Celled", 4)
    service = StudyService.connect(server.http_url)
    _store(service, images)
    cancel = CancelToken()
    out = tmp_path / "cancelled"
    with pytest.raises(CancelledError):
        export_studies(service, [str(images[0].StudyInstanceUID)], ExportOptions(out), cancel=cancel,
                       progress=lambda done, total: cancel.cancel() if done == 2 else None)  # fmt: skip
    assert not out.exists()
    # an unknown study is reported, the known one exported
    report = export_studies(service, ["1.2.3.404", str(images[0].StudyInstanceUID)], ExportOptions(out))
    assert report.missing_studies == ("1.2.3.404",) and report.written == 4 and not report.ok
    assert "Study 1.2.3.404 is not on the server; left out." in report.summary()
    service.close()
