"""The server's HTTP API (PS3.18 QIDO-RS, WADO-RS, STOW-RS, admin) against the real
``python -m app.server`` process, with httpx and with an independent client
(``dicomweb-client``)."""

from __future__ import annotations

import email.parser
import email.policy
import secrets
from pathlib import Path

import httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.data import get_testdata_file

FILES = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "rtdose.dcm", "SC_rgb_rle.dcm"]
DICOM_JSON = "application/dicom+json"


def data_file(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return Path(str(path))


def data_set_bytes(data: bytes) -> bytes:
    """A Part 10 file's data set, after preamble and file meta (what full storage keeps)."""
    from io import BytesIO

    fh = BytesIO(data)
    pydicom.filereader.read_preamble(fh, False)
    pydicom.filereader._read_file_meta_info(fh)
    return fh.read()


def multipart(parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "b-" + secrets.token_hex(8)
    body = b"".join(
        f"--{boundary}\r\nContent-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n" for ctype, data in parts
    ) + f"--{boundary}--\r\n".encode()
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


def split_multipart(response: httpx.Response) -> list[tuple[str, bytes]]:
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + response.content)
    return [(p.get_content_type(), p.get_payload(decode=True)) for p in message.iter_parts()]  # type: ignore[attr-defined]


def stow(client: httpx.Client, names: list[str], path: str = "/dicom-web/studies") -> httpx.Response:
    body, ctype = multipart([("application/dicom", data_file(n).read_bytes()) for n in names])
    return client.post(path, content=body, headers={"Content-Type": ctype, "Accept": DICOM_JSON})


def value(item: dict, tag: str) -> object:
    return item[tag]["Value"][0] if "Value" in item.get(tag, {}) else None


@pytest.fixture
def http(server) -> httpx.Client:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.http_url, timeout=30) as client:
        yield client


def test_stow_qido_wado_round_trip(http: httpx.Client) -> None:
    assert http.get("/api/health").json() == {"status": "ok"}
    before = http.get("/api/status").json()
    assert before["instances"] == 0
    response = stow(http, FILES)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(DICOM_JSON)
    referenced = response.json()["00081199"]["Value"]
    assert len(referenced) == len(FILES)
    assert "00081198" not in response.json()
    after = http.get("/api/status").json()
    assert after["instances"] == len(FILES) and after["changes"] > before["changes"]

    studies = http.get("/dicom-web/studies").json()
    assert len(studies) == len(FILES)
    ct = data_file("CT_small.dcm")
    ds = pydicom.dcmread(ct)
    [study] = http.get("/dicom-web/studies", params={"PatientID": ds.PatientID}).json()
    assert value(study, "0020000D") == ds.StudyInstanceUID
    assert value(study, "00100010") == {"Alphabetic": str(ds.PatientName)}
    assert study["00080061"]["Value"] == ["CT"]
    assert value(study, "00201208") == 1 and value(study, "00201206") == 1
    assert value(study, "00081190").endswith(f"/dicom-web/studies/{ds.StudyInstanceUID}")
    [series] = http.get(f"/dicom-web/studies/{ds.StudyInstanceUID}/series").json()
    assert value(series, "0020000E") == ds.SeriesInstanceUID and value(series, "00080060") == "CT"
    [inst] = http.get(f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances").json()
    assert value(inst, "00080018") == ds.SOPInstanceUID
    assert value(inst, "00280010") == 128 and value(inst, "00280011") == 128

    # WADO-RS: every file's data set comes back byte for byte.
    for name in FILES:
        original = data_file(name).read_bytes()
        d = pydicom.dcmread(data_file(name))
        url = f"/dicom-web/studies/{d.StudyInstanceUID}/series/{d.SeriesInstanceUID}/instances/{d.SOPInstanceUID}"
        response = http.get(url, headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
        assert response.status_code == 200
        [(ctype, payload)] = split_multipart(response)
        assert ctype == "application/dicom"
        assert data_set_bytes(payload) == data_set_bytes(original)
        single = http.get(url, headers={"Accept": "application/dicom"})
        assert single.headers["content-type"].startswith("application/dicom")
        assert single.content == payload
    # The same SOP instance again, big endian: the default policy keeps both copies.
    assert stow(http, ["MR_small_bigendian.dcm"]).status_code == 200
    mr = pydicom.dcmread(data_file("MR_small.dcm"))
    parts = split_multipart(http.get(f"/dicom-web/studies/{mr.StudyInstanceUID}"))
    assert [data_set_bytes(p) for _, p in parts] == [
        data_set_bytes(data_file(n).read_bytes()) for n in ("MR_small.dcm", "MR_small_bigendian.dcm")
    ]
    parts = split_multipart(http.get(f"/dicom-web/studies/{mr.StudyInstanceUID}/series/{mr.SeriesInstanceUID}"))
    assert len(parts) == 2


QIDO_CASES: list[tuple[dict[str, str], list[str] | None]] = [
        ({"PatientName": "compressedsamples^ct1"}, ["1CT1"]),  # PN case-insensitive
        ({"00100010": "CompressedSamples^M*"}, ["4MR1"]),  # tag instead of keyword, wildcard
        ({"PatientID": "?CT?"}, ["1CT1"]),
        ({"StudyDate": "20040101-20040131"}, ["1CT1"]),  # range
        ({"StudyDate": "20040801-"}, None),  # open end: the 2004-08-26 studies
        ({"ModalitiesInStudy": "MR"}, ["4MR1"]),
        ({"StudyInstanceUID": "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322,9.9"}, ["1CT1"]),  # UID list
        ({"AccessionNumber": "NO-SUCH"}, []),
]


def test_qido_matching(http: httpx.Client) -> None:
    assert stow(http, ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm"]).status_code == 200
    for params, expected in QIDO_CASES:
        response = http.get("/dicom-web/studies", params=params)
        assert response.status_code == 200, params
        found = [value(s, "00100020") for s in response.json()]
        if expected is None:
            assert found and "1CT1" not in found, params
        else:
            assert found == expected, params


def test_qido_paging_fields_and_levels(http: httpx.Client) -> None:
    stow(http, FILES)
    everything = http.get("/dicom-web/studies").json()
    dates = [(value(s, "00080020"), value(s, "00080030")) for s in everything]
    assert dates == sorted(dates, reverse=True)  # newest first
    page = http.get("/dicom-web/studies", params={"limit": 2, "offset": 1}).json()
    assert [value(s, "0020000D") for s in page] == [value(s, "0020000D") for s in everything[1:3]]
    params = {"PatientID": "1CT1", "includefield": "00200010,IssuerOfPatientID"}
    [one] = http.get("/dicom-web/studies", params=params).json()
    assert "00100021" in one
    all_series = http.get("/dicom-web/series", params={"Modality": "MR"}).json()
    assert all_series and all(value(s, "00080060") == "MR" for s in all_series)
    assert "00100020" in all_series[0]  # unscoped series searches carry study attributes
    instances = http.get("/dicom-web/instances", params={"SOPClassUID": "1.2.840.10008.5.1.4.1.1.4"}).json()
    assert len(instances) == 1
    ct = pydicom.dcmread(data_file("CT_small.dcm"))
    [inst] = http.get(f"/dicom-web/studies/{ct.StudyInstanceUID}/instances").json()
    assert value(inst, "00080016") == ct.SOPClassUID


BAD_QUERIES = [{"StudyDate": "2004"}, {"NoSuchKeyword": "x"}, {"limit": "many"}, {"StudyInstanceUID": "1.2.*"},
               {"Modality": "CT"}, {"includefield": "NotAKeyword"}, {"offset": "-1"}]


def test_bad_queries_answer_400(http: httpx.Client) -> None:
    for params in BAD_QUERIES:
        response = http.get("/dicom-web/studies", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"], params


def test_errors_and_partial_stow(http: httpx.Client) -> None:
    assert http.get("/dicom-web/studies/1.2.3").status_code == 404
    assert http.get("/dicom-web/studies/1.2.3/series/4.5/instances/6.7").status_code == 404
    assert http.get("/dicom-web/studies").json() == []
    stow(http, ["CT_small.dcm"])
    ct = pydicom.dcmread(data_file("CT_small.dcm"))
    response = http.get(f"/dicom-web/studies/{ct.StudyInstanceUID}", headers={"Accept": "image/jpeg"})
    assert response.status_code == 406
    response = http.post("/dicom-web/studies", content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 415
    body, ctype = multipart([("application/dicom", b"garbage, not DICOM" * 10),
                             ("application/dicom", data_file("MR_small.dcm").read_bytes())])
    response = http.post("/dicom-web/studies", content=body, headers={"Content-Type": ctype})
    assert response.status_code == 202
    result = response.json()
    assert len(result["00081198"]["Value"]) == 1 and len(result["00081199"]["Value"]) == 1
    assert value(result["00081198"]["Value"][0], "00081197") == 0xC000
    body, ctype = multipart([("application/dicom", b"garbage")])
    assert http.post("/dicom-web/studies", content=body, headers={"Content-Type": ctype}).status_code == 409
    # POST /studies/{study}: an instance of another study is refused.
    response = stow(http, ["JPEG2000.dcm"], path=f"/dicom-web/studies/{ct.StudyInstanceUID}")
    assert response.status_code == 409
    assert value(response.json()["00081198"]["Value"][0], "00081197") == 0xA900
    response = http.post("/dicom-web/studies", content=b"--x\r\nbroken", headers={
        "Content-Type": 'multipart/related; type="application/dicom"; boundary=x'})
    assert response.status_code == 400


def test_independent_client_dicomweb_client(server) -> None:  # type: ignore[no-untyped-def]
    client = DICOMwebClient(url=f"{server.http_url}/dicom-web")
    datasets = [pydicom.dcmread(data_file(n)) for n in ("CT_small.dcm", "MR_small.dcm")]
    result = client.store_instances(datasets)
    assert len(result.ReferencedSOPSequence) == 2
    studies = client.search_for_studies(search_filters={"PatientName": "CompressedSamples*"})
    assert len(studies) == 2
    ct = datasets[0]
    series = client.search_for_series(ct.StudyInstanceUID)
    assert [s["0020000E"]["Value"][0] for s in series] == [ct.SeriesInstanceUID]
    instances = client.search_for_instances(ct.StudyInstanceUID, ct.SeriesInstanceUID)
    assert instances[0]["00080018"]["Value"][0] == ct.SOPInstanceUID
    meta = client.retrieve_instance_metadata(ct.StudyInstanceUID, ct.SeriesInstanceUID, ct.SOPInstanceUID)
    assert meta["00100020"]["Value"] == [ct.PatientID] and "7FE00010" not in meta
    assert len(client.retrieve_study_metadata(ct.StudyInstanceUID)) == 1
    retrieved = client.retrieve_instance(ct.StudyInstanceUID, ct.SeriesInstanceUID, ct.SOPInstanceUID)
    assert retrieved.SOPInstanceUID == ct.SOPInstanceUID
    assert retrieved.PixelData == ct.PixelData
    study = client.retrieve_study(ct.StudyInstanceUID)
    assert [d.SOPInstanceUID for d in study] == [ct.SOPInstanceUID]
