"""Storage policies seen from the network (PS3.4 B.2.3 statuses through the real server):
duplicate rejected with 0x0111 under ``duplicates = "reject"``, Patient ID coerced with
0xB000 and visible as such in QIDO-RS and the stored file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import httpx
import pydicom
from pydicom.data import get_testdata_file
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage

READY = "LIGHTBOX-READY "


def test_reject_policy_and_patient_id_coercion_over_c_store(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text(
        '[server]\nhttp_port = 0\nduplicates = "reject"\n[server.qr]\nport = 0\n[server.mwl]\nport = 0\n'
        '[[server.storage]]\nae_title = "LBX"\nport = 0\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.server", "--data-dir", str(tmp_path / "data"), "--config", str(config),
         "--log-level", "WARNING"],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(READY), line
        info = json.loads(line[len(READY):])
        port = info["storage"][0]["port"]
        ct = pydicom.dcmread(str(get_testdata_file("CT_small.dcm", download=False)))
        anonymous = pydicom.dcmread(str(get_testdata_file("CT_small.dcm", download=False)))
        anonymous.PatientID = ""
        anonymous.PatientName = ""
        anonymous.SOPInstanceUID = ct.SOPInstanceUID + ".7"
        anonymous.StudyInstanceUID = ct.StudyInstanceUID + ".7"
        anonymous.SeriesInstanceUID = ct.SeriesInstanceUID + ".7"

        ae = AE(ae_title="MODALITY")
        ae.add_requested_context(CTImageStorage, ct.file_meta.TransferSyntaxUID)
        assoc = ae.associate("127.0.0.1", port, ae_title="LBX")
        assert assoc.is_established
        try:
            statuses = [assoc.send_c_store(ds).Status for ds in (ct, ct, anonymous)]
        finally:
            assoc.release()
        assert statuses == [0x0000, 0x0111, 0xB000]

        url = info["http_url"]
        assert httpx.get(f"{url}/api/status").json()["instances"] == 2
        ids = [study["00100020"]["Value"][0] for study in httpx.get(f"{url}/dicom-web/studies").json()]
        assert sorted(ids) == ["1CT1", "LBX00000001"]
        response = httpx.get(
            f"{url}/dicom-web/studies/{anonymous.StudyInstanceUID}/series/{anonymous.SeriesInstanceUID}"
            f"/instances/{anonymous.SOPInstanceUID}",
            headers={"Accept": "application/dicom"},
        )
        stored = pydicom.dcmread(BytesIO(response.content))
        assert stored.PatientID == "LBX00000001"
        assert stored.OriginalAttributesSequence[0].ReasonForTheAttributeModification == "COERCE"
        assert stored.PixelData == ct.PixelData
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
