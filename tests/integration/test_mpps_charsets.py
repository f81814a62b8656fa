"""Character sets at the MPPS SCP (on the Q/R AE): a step's names in Latin-1 or ISO 2022 Japanese
are kept as Unicode in the admin API (DICOM JSON is UTF-8, PS3.18 F.2), and an Error Comment
stays ASCII whatever a refused value carried (the command set has no character set)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydicom.uid import generate_uid

from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.mpps_peers import n_create, n_create_attributes

pytestmark = pytest.mark.peer

PATIENT_NAME = "00100010"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("mpps_charsets")
    config = write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url)
    running = start_server(config, tmp / "data")
    yield running
    assert stop_server(running) == 0


@pytest.mark.parametrize(
    ("charset", "name", "expected"),
    [
        ("ISO_IR 100", "Müller^Jörg", {"Alphabetic": "Müller^Jörg"}),
        (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎=やまだ^たろう",
         {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}),
    ],
)
def test_step_names_are_kept_in_unicode(served: RunningServer, charset: object, name: str, expected: dict) -> None:  # type: ignore[type-arg]
    attributes = n_create_attributes()
    attributes.SpecificCharacterSet = charset
    attributes.PatientName = name
    uid = generate_uid()
    status, _ = n_create(served.qr_port or 0, attributes, uid)
    assert status.Status == 0x0000
    stored = httpx.get(f"{served.http_url}/api/mpps/{uid}", timeout=10).json()
    assert stored[PATIENT_NAME]["Value"] == [expected]


def test_refusal_comment_is_ascii(served: RunningServer) -> None:
    attributes = n_create_attributes(status="IN PRÖGRESS")
    status, _ = n_create(served.qr_port or 0, attributes, generate_uid())
    assert status.Status == 0x0106  # invalid attribute value
    comment = str(status.ErrorComment)
    assert comment.isascii() and "PPS Status" in comment
