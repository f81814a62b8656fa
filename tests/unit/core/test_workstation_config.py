"""The [workstation] settings: remote nodes, the temporary store, printers, SCU defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import load_config
from app.core.errors import ConfigError
from app.core.workstation_config import RemoteNode, default_store_ae_title


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "ws.toml"
    path.write_text(text)
    return load_config(files=[path], include_user_file=False).workstation


def test_defaults_follow_the_reference(tmp_path: Path) -> None:
    ws = _load(tmp_path, "")
    assert ws.max_pdu == 16384
    assert ws.temporary_store.port == 7820
    assert ws.temporary_store.max_associations == 5
    assert ws.temporary_store.max_pdu == 131072
    assert ws.print_calling_ae_title == "DICOM_PRINT_SCU"
    assert ws.temporary_store.effective_ae_title().endswith("STORE")
    assert ws.effective_calling_ae_title() == ws.temporary_store.effective_ae_title()
    assert ws.nodes == () and ws.printers == ()


@pytest.mark.parametrize(
    ("host", "expected"),
    [("john.net", "JOHNSTORE"), ("read1", "READ1STORE"), ("a-very-long-host-name.x", "A-VERY-LONGSTORE"),
     ("", "LIGHTBOXSTORE"), ("höst.example", "HSTSTORE")],
)
def test_default_store_ae_title_is_the_host_name_and_store(host: str, expected: str) -> None:
    assert default_store_ae_title(host) == expected
    assert len(expected) <= 16


def test_nodes_and_printers_are_read(tmp_path: Path) -> None:
    ws = _load(tmp_path, """
[workstation]
calling_ae_title = "READER"
[workstation.temporary_store]
ae_title = "READ1STORE"
port = 11112
[[workstation.nodes]]
name = "Main PACS"
ae_title = "PACS_QR"
host = "pacs.example"
port = 104
services = ["mwl", "qr"]
[[workstation.nodes]]
ae_title = "RIS"
host = "10.0.0.2"
port = 105
services = ["mwl"]
[[workstation.printers]]
name = "Film"
host = "printer.example"
port = 1040
""")
    assert ws.effective_calling_ae_title() == "READER"
    assert ws.temporary_store.effective_ae_title() == "READ1STORE"
    assert ws.nodes[0] == RemoteNode("Main PACS", "PACS_QR", "pacs.example", 104, ("qr", "mwl"))
    assert ws.node("RIS").offers_mwl and not ws.node("RIS").offers_qr
    assert ws.printer("Film").ae_title == "PRINT_SERVER_SCP" and ws.printer("Film").profile == "default"
    with pytest.raises(ConfigError, match="No remote node"):
        ws.node("nowhere")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[workstation.nodes]]\nae_title = "X"\nhost = "h"\nport = 0\n', "port 0"),
        ('[[workstation.nodes]]\nae_title = "X"\nhost = "h"\nport = 1\nservices = ["store"]\n', "services"),
        ('[[workstation.nodes]]\nae_title = "THIS_TITLE_IS_TOO_LONG"\nhost = "h"\nport = 1\n', "AE title"),
        ('[[workstation.nodes]]\nae_title = "X"\nport = 1\n', "host"),
        ('[[workstation.printers]]\nname = "p"\nprofile = "../etc"\n', "profile"),
        ('[workstation]\nmax_pdu = 1000\n', "max_pdu"),
        ('[workstation.temporary_store]\nports = 1\n', "unknown key"),
        ('[workstation.temporary_store]\nmax_pdu = 200000\n', "4096 to 131072"),
        ('[workstation]\nrefresh_seconds = 0\n', "refresh_seconds"),
    ],
)
def test_bad_values_say_what_to_write(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text)


def test_viewer_sort_and_presets() -> None:
    from app.core.viewer_config import viewer_from

    viewer = viewer_from({"sort": "slice_location", "presets": {"ct": {"head and neck": [60, 350]}}})
    assert viewer.sort == "SLICE_LOCATION" and viewer.presets["CT"]["head and neck"] == (60.0, 350.0)
    assert viewer_from({}).sort == "INSTANCE_NUMBER" and dict(viewer_from({}).presets) == {}
    with pytest.raises(ConfigError, match="use one of INSTANCE_NUMBER"):
        viewer_from({"sort": "by_colour"})
    with pytest.raises(ConfigError, match=r"\[center, width\]"):
        viewer_from({"presets": {"CT": {"lung": [-600]}}})
    with pytest.raises(ConfigError, match="width at least 1"):
        viewer_from({"presets": {"CT": {"lung": [-600, 0]}}})
