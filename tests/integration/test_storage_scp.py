"""The server's Storage SCP over real associations on 127.0.0.1 (PS3.4 B.2, PS3.8 9.3).

The server is the real ``python -m app.server`` process; the peers are DCMTK's
``echoscu`` / ``storescu`` and pynetdicom SCUs. Stored files are checked byte for byte
(data set part) against what was sent, and through the server's QIDO-RS.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)
from pynetdicom import AE, _config
from sqlalchemy import create_engine, text

from app.dicom.transfer_syntaxes import STORAGE_PREFERENCE
from app.net.received import data_set_offset
from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config
from tests.dimse_frames import p_data, store_command

pytestmark = pytest.mark.peer

AET = "DICOM_STORAGE"
VERIFICATION = "1.2.840.10008.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


# -- helpers ------------------------------------------------------------------------------------------


def _testdata(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom test file {name} is missing"
    return Path(path)


def _dataset_bytes(path: Path) -> bytes:
    with path.open("rb") as fh:
        fh.seek(data_set_offset(fh))
        return fh.read()


def _unique_copy(source: Path, target: Path, **changes: Any) -> Path:
    """``source`` with a new SOP Instance UID (and ``changes``), its encoding and pixel data untouched."""
    ds = dcmread(source)
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if not ds.get("PatientID"):
        ds.PatientID = "SCP-TEST"
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    ds.save_as(target, enforce_file_format=True)
    return target


def _stored(server: RunningServer) -> dict[str, list[Path]]:
    """SOP Instance UID -> stored files, read from the storage area."""
    found: dict[str, list[Path]] = {}
    for path in sorted((server.data_dir / "storage").rglob("*.dcm")):
        uid = str(dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"]).SOPInstanceUID)
        found.setdefault(uid, []).append(path)
    return found


def _all_files(server: RunningServer) -> list[Path]:
    return [p for p in (server.data_dir / "storage").rglob("*") if p.is_file()]


def _qido_instances(server: RunningServer, study: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.http_url}/dicom-web/studies/{study}/instances", timeout=10)
    if response.status_code == 204:
        return []
    response.raise_for_status()
    return list(response.json())


def _scu(*contexts: tuple[str, list[str]]) -> AE:
    ae = AE("PYNET_SCU")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    for abstract, syntaxes in contexts:
        ae.add_requested_context(abstract, syntaxes)
    return ae


def _associate(port: int, *contexts: tuple[str, list[str]], called: str = AET) -> Any:
    assoc = _scu(*contexts).associate("127.0.0.1", port, ae_title=called)
    return assoc


def _ct(**changes: Any) -> Dataset:
    ds = dcmread(_testdata("CT_small.dcm"))
    ds.SOPInstanceUID = generate_uid()
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    return ds


def _dcmtk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, env={"TCP_NODELAY": "1"})


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    """One server for the tests that need no particular settings (keeps the file fast)."""
    folder = tmp_path_factory.mktemp("shared")
    # a short index busy timeout keeps the index-failure test quick
    config = write_server_config(
        folder / "server.toml", folder / "data", extra_server="index_busy_timeout_ms = 500", index_url=module_index_url
    )
    running = start_server(config, folder / "data")
    yield running
    assert stop_server(running) == 0


@pytest.fixture
def make_server(tmp_path: Path, make_index_url: Callable[[], str]) -> Iterator[Any]:
    """Start servers with extra ``[server]`` settings; all are stopped (cleanly) after the test."""
    started: list[RunningServer] = []

    def make(extra: str = "") -> RunningServer:
        data_dir = tmp_path / f"data{len(started)}"
        config = write_server_config(
            tmp_path / f"server{len(started)}.toml", data_dir, extra_server=extra, index_url=make_index_url()
        )
        running = start_server(config, data_dir)
        started.append(running)
        return running

    yield make
    for running in started:
        assert stop_server(running) == 0


# -- Verification -------------------------------------------------------------------------------------


def test_echoscu(shared: RunningServer) -> None:
    echoscu = require_tool("echoscu")
    ok = _dcmtk(echoscu, "-aec", AET, "127.0.0.1", str(shared.storage_port))
    assert ok.returncode == 0, ok.stderr
    wrong = _dcmtk(echoscu, "-aec", "NOT_OURS", "127.0.0.1", str(shared.storage_port))
    assert wrong.returncode != 0
    assert "Called AE Title Not Recognized" in wrong.stderr + wrong.stdout


def test_verification_only_uncompressed(shared: RunningServer) -> None:
    assoc = _associate(shared.storage_port, (VERIFICATION, [JPEGBaseline8Bit, ImplicitVRLittleEndian]))
    assert assoc.is_established
    assert [cx.transfer_syntax[0] for cx in assoc.accepted_contexts] == [ImplicitVRLittleEndian]
    assoc.release()
    assoc = _associate(shared.storage_port, (VERIFICATION, [JPEGBaseline8Bit]))
    assert not assoc.accepted_contexts
    if assoc.is_established:
        assoc.release()


# -- presentation context negotiation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "proposed",
    [
        [ImplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian],
        [ImplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless, JPEGLSLossless],
        [JPEGBaseline8Bit, ImplicitVRLittleEndian, ExplicitVRLittleEndian, JPEG2000Lossless],
        [JPEG2000, JPEGBaseline8Bit],
    ],
)
def test_acceptor_picks_its_own_preference_among_proposed(shared: RunningServer, proposed: list[str]) -> None:
    assoc = _associate(shared.storage_port, (CT_IMAGE, proposed))
    assert assoc.is_established
    expected = next(ts for ts in STORAGE_PREFERENCE if ts in proposed)
    ((context,),) = [assoc.accepted_contexts]
    assert context.transfer_syntax[0] == expected
    assoc.release()


# -- storescu with several transfer syntaxes, stored byte-identical ------------------------------------


@pytest.fixture(scope="module")
def encoded_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One input per transfer syntax, each with its own SOP Instance UID."""
    folder = tmp_path_factory.mktemp("syntaxes")
    ct = _unique_copy(_testdata("CT_small.dcm"), folder / "source_ct.dcm")
    made: dict[str, Path] = {}
    made[ExplicitVRLittleEndian] = _unique_copy(ct, folder / "explicit.dcm")
    made[ImplicitVRLittleEndian] = _unique_copy(_testdata("MR_small_implicit.dcm"), folder / "implicit.dcm")
    made[ExplicitVRBigEndian] = _unique_copy(_testdata("MR_small_bigendian.dcm"), folder / "big.dcm")
    made[DeflatedExplicitVRLittleEndian] = _unique_copy(_testdata("image_dfl.dcm"), folder / "deflated.dcm")
    made[JPEGBaseline8Bit] = _unique_copy(_testdata("SC_rgb_jpeg_dcmtk.dcm"), folder / "baseline.dcm")
    made[JPEG2000Lossless] = _unique_copy(_testdata("MR_small_jp2klossless.dcm"), folder / "j2k_lossless.dcm")
    made[JPEG2000] = _unique_copy(_testdata("JPEG2000.dcm"), folder / "j2k.dcm")
    for syntax, tool, options in (
        (JPEGLosslessSV1, "dcmcjpeg", ["+e1"]),
        (JPEGLossless, "dcmcjpeg", ["+el"]),
        (JPEGLSLossless, "dcmcjpls", []),
        (RLELossless, "dcmcrle", []),
    ):
        out = folder / f"{tool}{''.join(options)}.dcm"
        done = _dcmtk(require_tool(tool), *options, str(ct), str(out))
        assert done.returncode == 0, done.stderr
        made[syntax] = _unique_copy(out, out)
    for syntax, path in made.items():
        assert dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax
    return made


#: Inputs storescu cannot propose alone: pynetdicom sends their data sets verbatim from the file.
VERBATIM = (ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian, JPEGLossless)


def _send_storescu(port: int, called: str, inputs: dict[str, Path]) -> None:
    """Send the inputs storescu can propose with a context of their own syntax."""
    storescu = require_tool("storescu")
    # storescu proposes the uncompressed syntaxes, plus the one its option names, each in
    # a context of its own (so the acceptor's preference cannot make it convert)
    options = {
        ExplicitVRLittleEndian: "-xe",
        ImplicitVRLittleEndian: "-xi",
        JPEGBaseline8Bit: "-xy",
        JPEGLosslessSV1: "-xs",
        JPEGLSLossless: "-xt",
        RLELossless: "-xr",
        JPEG2000Lossless: "-xv",
        JPEG2000: "-xw",
    }
    for syntax, option in options.items():
        sent = _dcmtk(storescu, "-R", option, "-aec", called, "127.0.0.1", str(port), str(inputs[syntax]))
        assert sent.returncode == 0, f"{UID(syntax).name}: {sent.stderr}"


def _send_verbatim(port: int, called: str, inputs: dict[str, Path]) -> None:
    """Send big endian, deflated and JPEG lossless process 14 (non-SV1) with pynetdicom, as in the file."""
    _config.STORE_SEND_CHUNKED_DATASET = True
    try:
        for syntax in VERBATIM:
            path = inputs[syntax]
            sop_class = str(dcmread(path, stop_before_pixels=True).SOPClassUID)
            assoc = _associate(port, (sop_class, [syntax]), called=called)
            assert assoc.is_established
            assert assoc.send_c_store(path).Status == 0x0000
            assoc.release()
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = False


@pytest.fixture(scope="module")
def as_sent(encoded_inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What storescu puts on the wire (it re-encodes), as DCMTK's storescp writes it bit-preserving."""
    folder = tmp_path_factory.mktemp("storescp")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [require_tool("storescp"), "+xa", "+B", "-od", str(folder), str(port)],
        env={"TCP_NODELAY": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline, "storescp did not start"
            time.sleep(0.05)
        _send_storescu(port, "STORESCP", encoded_inputs)
    finally:
        proc.terminate()
        proc.wait(10)
    received = {}
    for path in folder.iterdir():
        received[str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)] = path
    return received


def test_storescu_transfer_syntaxes_stored_byte_identical(
    shared: RunningServer, encoded_inputs: dict[str, Path], as_sent: dict[str, Path]
) -> None:
    _send_storescu(shared.storage_port, AET, encoded_inputs)
    _send_verbatim(shared.storage_port, AET, encoded_inputs)
    stored = _stored(shared)
    for syntax, path in encoded_inputs.items():
        ds = dcmread(path, stop_before_pixels=True)
        uid = str(ds.SOPInstanceUID)
        (copy,) = stored[uid]
        assert dcmread(copy, stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax, UID(syntax).name
        sent = path if syntax in VERBATIM else as_sent[uid]
        assert _dataset_bytes(copy) == _dataset_bytes(sent), UID(syntax).name
        listed = _qido_instances(shared, str(ds.StudyInstanceUID))
        assert uid in {item["00080018"]["Value"][0] for item in listed}


# -- association negotiation ----------------------------------------------------------------------------


def test_wrong_called_ae_title_rejected_permanent(shared: RunningServer) -> None:
    assoc = _associate(shared.storage_port, (VERIFICATION, [ImplicitVRLittleEndian]), called="SOMEONE_ELSE")
    assert assoc.is_rejected
    rj = assoc.acceptor.primitive
    assert (rj.result, rj.result_source, rj.diagnostic) == (0x01, 0x01, 0x07)  # PS3.8 Table 9-21


def test_association_limit_rejects_transient_local_limit(make_server: Any) -> None:
    running = make_server("max_associations = 2")
    contexts = (VERIFICATION, [ImplicitVRLittleEndian])
    first, second = _associate(running.storage_port, contexts), _associate(running.storage_port, contexts)
    assert first.is_established and second.is_established
    third = _associate(running.storage_port, contexts)
    assert third.is_rejected
    rj = third.acceptor.primitive
    # rejected-transient, service-provider (presentation related), local-limit-exceeded
    assert (rj.result, rj.result_source, rj.diagnostic) == (0x02, 0x03, 0x02)
    first.release()
    second.release()
    time.sleep(0.3)
    again = _associate(running.storage_port, contexts)
    assert again.is_established
    assert again.send_c_echo().Status == 0x0000
    again.release()


# -- ingest policies through the SCP ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "second_status", "copies"),
    [("keep", 0x0000, 2), ("overwrite", 0x0000, 1), ("reject", 0x0111, 1)],
)
def test_duplicate_policies(make_server: Any, policy: str, second_status: int, copies: int) -> None:
    running = make_server(f'duplicates = "{policy}"')
    first = _ct(InstitutionName="FIRST")
    second = _ct(InstitutionName="SECOND", SOPInstanceUID=first.SOPInstanceUID)
    assoc = _associate(running.storage_port, (CT_IMAGE, [ExplicitVRLittleEndian]))
    assert assoc.send_c_store(first).Status == 0x0000
    assert assoc.send_c_store(second).Status == second_status
    assoc.release()
    files = _stored(running)[str(first.SOPInstanceUID)]
    assert len(files) == copies
    names = {str(dcmread(p, stop_before_pixels=True).InstitutionName) for p in files}
    assert names == {"keep": {"FIRST", "SECOND"}, "overwrite": {"SECOND"}, "reject": {"FIRST"}}[policy]
    assert len(_all_files(running)) == copies


def test_patient_id_fallback(shared: RunningServer) -> None:
    named = _ct(PatientID="", PatientName="Doe^Jane")
    anonymous = _ct(PatientID="", PatientName="")
    assoc = _associate(shared.storage_port, (CT_IMAGE, [ExplicitVRLittleEndian]))
    assert assoc.send_c_store(named).Status == 0xB000  # coerced (PS3.4 B.2.3)
    assert assoc.send_c_store(anonymous).Status == 0xB000
    assoc.release()
    stored = _stored(shared)
    (named_file,) = stored[str(named.SOPInstanceUID)]
    (anonymous_file,) = stored[str(anonymous.SOPInstanceUID)]
    assert dcmread(named_file, stop_before_pixels=True).PatientID == "Doe^Jane"
    generated = str(dcmread(anonymous_file, stop_before_pixels=True).PatientID)
    assert generated and generated not in ("Doe^Jane", "")


@contextlib.contextmanager
def _index_locked(server: RunningServer) -> Iterator[None]:
    """Hold the server's index locked: SQLite's exclusive lock, or PostgreSQL's table locks on
    the catalogue (a writer then waits the index's busy timeout, ``lock_timeout``, and fails)."""
    if server.index_url.startswith("sqlite"):
        lock = sqlite3.connect(server.data_dir / "index.sqlite", timeout=1)
        try:
            lock.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            lock.rollback()
            lock.close()
        return
    engine = create_engine(server.index_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("LOCK TABLE patient, study, series, instance IN ACCESS EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


def test_index_failure_answers_a700_and_leaves_no_file(shared: RunningServer) -> None:
    kept = _ct()
    assoc = _associate(shared.storage_port, (CT_IMAGE, [ExplicitVRLittleEndian]))
    assert assoc.send_c_store(kept).Status == 0x0000
    before = sorted(_all_files(shared))
    with _index_locked(shared):  # a real index failure: the database stays locked
        failed = _ct()
        rsp = assoc.send_c_store(failed)  # waits for the index's busy timeout
        assert rsp.Status == 0xA700
        assert rsp.ErrorComment
    assert sorted(_all_files(shared)) == before  # nothing of the failed instance remains
    assert assoc.send_c_store(_ct()).Status == 0x0000  # and the association goes on
    assoc.release()


# -- malformed input and broken associations -------------------------------------------------------------




def test_malformed_data_set_gets_an_error_and_association_stays_usable(shared: RunningServer) -> None:
    assoc = _associate(shared.storage_port, (CT_IMAGE, [ExplicitVRLittleEndian]))
    context_id = assoc.accepted_contexts[0].context_id
    garbage = b"\x08\x00\x16\x00UI\x40\x00" + b"1.2" + b"\xff" * 61  # an element running past the end
    assoc._reactor_checkpoint.clear()  # as pynetdicom's send_*() do: the response is ours to read
    while not assoc._is_paused:
        time.sleep(0.001)
    sock = assoc.dul.socket
    sock.send(p_data(context_id, 0x03, store_command(77, "1.2.3.4.5.6.7")))
    sock.send(p_data(context_id, 0x02, garbage))
    _, rsp = assoc.dimse.get_msg(block=True)
    assoc._reactor_checkpoint.set()
    assert rsp is not None
    assert rsp.MessageIDBeingRespondedTo == 77
    assert rsp.Status in (0xA900, 0xC000) or 0xC000 <= rsp.Status <= 0xCFFF
    assert "1.2.3.4.5.6.7" not in _stored(shared)
    ok = _ct()
    assert assoc.send_c_store(ok).Status == 0x0000
    assoc.release()
    assert str(ok.SOPInstanceUID) in _stored(shared)


def test_peer_abort_mid_transfer_keeps_what_was_accepted(server: RunningServer) -> None:
    accepted = [_ct(), _ct()]
    assoc = _associate(server.storage_port, (CT_IMAGE, [ExplicitVRLittleEndian]))
    for ds in accepted:
        assert assoc.send_c_store(ds).Status == 0x0000
    context_id = assoc.accepted_contexts[0].context_id
    sock = assoc.dul.socket
    sock.send(p_data(context_id, 0x03, store_command(99, "1.2.3.999")))
    sock.send(p_data(context_id, 0x00, b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100"))  # then nothing more
    time.sleep(0.2)
    assoc.abort()
    time.sleep(0.3)
    assert server.process.poll() is None
    stored = _stored(server)
    assert set(stored) == {str(ds.SOPInstanceUID) for ds in accepted}
    assert len(_all_files(server)) == 2
    echo = _associate(server.storage_port, (VERIFICATION, [ImplicitVRLittleEndian]))
    assert echo.send_c_echo().Status == 0x0000
    echo.release()
