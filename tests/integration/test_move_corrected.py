"""C-MOVE of corrected and uncorrected studies: the fast path (stored bytes) for the uncorrected,
the data set path with the catalogue's values for the corrected (in process, so the two paths
can be counted; real associations, a real index and storage area, a pynetdicom destination)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt

from app.core.config import Destination, QueryRetrieveAE, ServerConfig
from app.net.received import open_received
from app.server import store_fastpath
from app.server.context import Ingest
from app.server.index.stores import IndexStores, open_index
from app.server.qr import QueryRetrieveService
from app.server.storage import Storage
from tests.integration.test_qr_find import S1, S3, _datasets
from tests.integration.test_qr_move import CT_IMAGE, QR, STUDY_ROOT_MOVE, _free_port, move


class Received:
    def __init__(self) -> None:
        self.datasets: list[Dataset] = []
        self.raw: list[bytes] = []

    def handle_store(self, event: Any) -> int:
        self.datasets.append(event.dataset)  # decoded first: open_received's stream is closed after reading
        with open_received(event) as stream:  # in memory or in pynetdicom's file (STORE_RECV_CHUNKED_DATASET)
            self.raw.append(stream.read())
        return 0x0000


Setup = tuple[IndexStores, Storage, int, "Received", list[str]]


@pytest.fixture
def qr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_url: str) -> Iterator[Setup]:
    """Q/R SCP over a fresh index holding the test studies; PYNET receives; ``fast`` lists the
    SOP Instance UIDs the fast path sent."""
    fast: list[str] = []
    real_send = store_fastpath.StoreSender.send

    def counting_send(self: Any, path: Path, context_id: int, sop_class_uid: str, sop_instance_uid: str,
                      *args: Any, **kwargs: Any) -> int | None:
        fast.append(sop_instance_uid)
        return real_send(self, path, context_id, sop_class_uid, sop_instance_uid, *args, **kwargs)

    monkeypatch.setattr(store_fastpath.StoreSender, "send", counting_send)
    received = Received()
    dest_port = _free_port()
    ae = AE("PYNET")
    ae.add_supported_context(CT_IMAGE, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    scp = ae.start_server(("127.0.0.1", dest_port), block=False,
                          evt_handlers=[(evt.EVT_C_STORE, received.handle_store)])
    config = ServerConfig(data_dir=tmp_path, dicom_host="127.0.0.1", qr=QueryRetrieveAE(QR, 0),  # type: ignore[arg-type]
                          destinations=(Destination("PYNET", "127.0.0.1", dest_port),), index_url=index_url)
    index = open_index(config.effective_index_url())
    storage = Storage(tmp_path / "storage", fsync=False)
    ingest = Ingest(config, storage, index.catalogue)
    for ds in _datasets():
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        assert ingest.store_dataset(ds, source="TEST").stored
    service = QueryRetrieveService(config, index.catalogue, storage.path_of,
                                   values_of=index.corrections.catalogue_values)
    _, port = service.start()
    try:
        yield index, storage, port, received, fast
    finally:
        service.stop()
        scp.shutdown()
        index.close()


def test_uncorrected_study_goes_through_the_fast_path_corrected_one_with_its_values(
    qr: Setup,
) -> None:
    index, storage, port, received, fast = qr
    _, final, _ = move(port, "PYNET", STUDY_ROOT_MOVE, QueryRetrieveLevel="STUDY", StudyInstanceUID=S1)
    assert final.Status == 0x0000 and len(received.datasets) == 4
    stored = {i.sop_instance_uid: i for i in index.catalogue.stored_instances(S1)}
    assert sorted(fast) == sorted(stored)  # every sub-operation on the fast path
    for raw, ds in zip(received.raw, received.datasets, strict=True):  # the stored data set, byte for byte
        _, data = store_fastpath.read_data_set(storage.path_of(stored[ds.SOPInstanceUID].relpath), bytearray())
        assert raw == bytes(data)

    index.corrections.correct_study(S1, {"AccessionNumber": "NEW1", "StudyDescription": "After"}, "test")
    index.corrections.correct_patient("pid2", {"PatientName": "Moeller^Anna"}, "test")
    fast.clear()
    received.datasets.clear()
    received.raw.clear()
    _, final, _ = move(port, "PYNET", STUDY_ROOT_MOVE, QueryRetrieveLevel="STUDY", StudyInstanceUID=S1)
    assert final.Status == 0x0000 and len(received.datasets) == 4
    assert fast == []  # corrected: not one file sent as stored
    assert {(ds.AccessionNumber, ds.StudyDescription) for ds in received.datasets} == {("NEW1", "After")}
    assert {str(ds.PatientName) for ds in received.datasets} == {"Doe^John"}  # untouched values stay
    _, final, _ = move(port, "PYNET", STUDY_ROOT_MOVE, QueryRetrieveLevel="STUDY", StudyInstanceUID=S3)
    assert final.Status == 0x0000 and fast == []  # a corrected patient's study too
    assert str(received.datasets[-1].PatientName) == "Moeller^Anna"
    for raw, ds in zip(received.raw[:4], received.datasets[:4], strict=True):  # the stored files kept as received
        _, data = store_fastpath.read_data_set(storage.path_of(stored[ds.SOPInstanceUID].relpath), bytearray())
        assert raw != bytes(data)
        assert dcmread(storage.path_of(stored[ds.SOPInstanceUID].relpath)).AccessionNumber == "ACC1"
