"""StudyService and EmbeddedServer against the real server process (no mocks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from app.core.errors import ServerUnavailableError
from app.services.cancel import CancelledError, CancelToken
from app.services.embedded_server import EmbeddedServer
from app.services.studies import StudyService


def _path(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None
    return Path(path)


def test_store_list_and_load(server) -> None:  # type: ignore[no-untyped-def]
    service = StudyService.connect(server.http_url)
    before = service.status().changes
    result = service.store_files([_path("CT_small.dcm"), _path("MR_small.dcm")])
    assert result.stored == 2 and result.failed == 0
    assert service.status().changes > before
    studies = service.list_studies()
    assert len(studies) == 2
    ct_uid = str(dcmread(_path("CT_small.dcm")).StudyInstanceUID)
    ct = next(s for s in studies if s.study_instance_uid == ct_uid)
    assert ct.patient_name == str(dcmread(_path("CT_small.dcm")).PatientName)
    assert ct.number_of_images == 1 and ct.number_of_series == 1 and "CT" in ct.modalities
    series = service.list_series(ct_uid)
    assert len(series) == 1 and series[0].modality == "CT"
    instances = service.list_instances(ct_uid, series[0].series_instance_uid)
    assert len(instances) == 1 and instances[0].rows == 128
    seen: list[tuple[int, int]] = []
    datasets = service.load_series(ct_uid, series[0].series_instance_uid, progress=lambda d, t: seen.append((d, t)))
    assert len(datasets) == 1 and seen == [(1, 1)]
    assert datasets[0].SOPInstanceUID == dcmread(_path("CT_small.dcm")).SOPInstanceUID
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        service.load_series(ct_uid, series[0].series_instance_uid, cancel=token)
    service.close()


def _ephemeral_config(tmp_path: Path) -> Path:
    """A server config putting the Storage SCP on any free port (the HTTP port comes from --http-port 0)."""
    path = tmp_path / "server.toml"
    path.write_text(
        '[server.qr]\nport = 0\n[server.mwl]\nport = 0\n[[server.storage]]\nae_title = "DICOM_STORAGE"\nport = 0\n'
    )
    return path


def test_embedded_server_starts_and_stops(tmp_path: Path) -> None:
    embedded = EmbeddedServer(data_dir=tmp_path / "srv", config_file=_ephemeral_config(tmp_path))
    url = embedded.start(timeout=60)
    assert url.startswith("http://127.0.0.1:")
    service = StudyService.connect(url)
    assert service.status().instances == 0
    service.close()
    assert embedded.info["storage"][0]["port"] > 0
    assert embedded.stop() == 0
    assert embedded.process is None


def test_embedded_server_failure_reports_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    embedded = EmbeddedServer(data_dir=tmp_path / "srv", config_file=bad)
    with pytest.raises(ServerUnavailableError, match="exited with code"):
        embedded.start(timeout=60)
