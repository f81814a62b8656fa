"""Checksums recorded at ingest (app.server.checksum, app.server.storage, app.server.context).

Each stored file's checksum is computed while it is written; here it is compared with an
independent one-shot hash (``xxhash.xxh3_64_hexdigest``) of the file read back from the
storage area, for every way an instance reaches the ingest.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pydicom
import xxhash
from pydicom.data import get_testdata_file

from app.server.checksum import digest_file, is_supported
from app.server.context import COERCED, SUCCESS, Ingest
from app.server.index.records import StoredInstance

IngestFactory = Callable[..., Ingest]


def _file(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None
    return Path(str(path))


def _data_set_bytes(path: Path) -> tuple[bytes, pydicom.Dataset]:
    with path.open("rb") as fh:
        pydicom.filereader.read_preamble(fh, False)
        pydicom.filereader._read_file_meta_info(fh)
        raw = fh.read()
    return raw, pydicom.dcmread(path)


def _independent(path: Path) -> str:
    return f"xxh3_64:{xxhash.xxh3_64_hexdigest(path.read_bytes())}"


def _only_copy(ingest: Ingest, sop_instance_uid: str) -> StoredInstance:
    [stored] = ingest.catalogue.instances_by_uid([sop_instance_uid])[sop_instance_uid]
    return stored


def test_checksum_of_encoded_bytes_matches_the_stored_file(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    raw, ds = _data_set_bytes(_file("CT_small.dcm"))
    outcome = ingest.store_encoded(
        memoryview(raw), transfer_syntax=ds.file_meta.TransferSyntaxUID, sop_class_uid=ds.SOPClassUID,
        sop_instance_uid=ds.SOPInstanceUID, source_ae="MOD",
    )
    assert outcome.status == SUCCESS
    stored = _only_copy(ingest, ds.SOPInstanceUID)
    path = ingest.storage.path_of(stored.relpath)
    assert stored.checksum is not None and is_supported(stored.checksum)
    assert stored.checksum == _independent(path)
    assert stored.size == path.stat().st_size
    assert digest_file(path).checksum == stored.checksum


def test_checksum_of_a_streamed_data_set_matches(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    raw, ds = _data_set_bytes(_file("MR_small_bigendian.dcm"))

    class Stream(BytesIO):  # a file-like source without getbuffer: goes through copy_from
        getbuffer = None  # type: ignore[assignment]

    outcome = ingest.store_encoded(
        Stream(raw), transfer_syntax=ds.file_meta.TransferSyntaxUID, sop_class_uid=ds.SOPClassUID,
        sop_instance_uid=ds.SOPInstanceUID,
    )
    assert outcome.status == SUCCESS
    stored = _only_copy(ingest, ds.SOPInstanceUID)
    assert stored.checksum == _independent(ingest.storage.path_of(stored.relpath))


def test_checksum_of_a_part10_upload_and_a_coerced_file_match(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    outcome = ingest.store_part10(_file("JPEG2000.dcm").open("rb"), source="STOW")
    assert outcome.stored
    stored = _only_copy(ingest, outcome.sop_instance_uid)
    assert stored.checksum == _independent(ingest.storage.path_of(stored.relpath))

    ds = pydicom.dcmread(_file("CT_small.dcm"))
    ds = copy.deepcopy(ds)
    del ds.PatientID  # the ingest rewrites the file with a fallback Patient ID
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.777"
    coerced = ingest.store_dataset(ds, source="STOW")
    assert coerced.status == COERCED
    rewritten = _only_copy(ingest, ds.SOPInstanceUID)
    path = ingest.storage.path_of(rewritten.relpath)
    assert pydicom.dcmread(path).PatientID  # really the rewritten file
    assert rewritten.checksum == _independent(path)
    assert rewritten.size == path.stat().st_size


def test_a_changed_byte_changes_the_checksum(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 5000)
    before = digest_file(path)
    data = bytearray(path.read_bytes())
    data[777_777] ^= 0x01
    path.write_bytes(bytes(data))
    after = digest_file(path)
    assert after.size == before.size
    assert after.checksum != before.checksum
    assert after.checksum == _independent(path)
