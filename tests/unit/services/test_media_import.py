"""Media import without a reachable server: nothing is lost, the report says why it stopped and what was not tried."""

from __future__ import annotations

import socket
from pathlib import Path

from app.media.file_set_writer import FileSetWriter
from app.services.media import import_selection, open_media, series_sources
from app.services.studies import StudyService
from tests.media_data import ct_images


def test_a_server_that_cannot_be_reached_stops_the_import_with_a_report(tmp_path: Path) -> None:
    writer = FileSetWriter(tmp_path / "disc")
    for ds in ct_images("NET", "No^Server", 3):
        writer.add(ds)
    written = writer.write()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = StudyService.connect(f"http://127.0.0.1:{port}", timeout=2)
    with open_media(tmp_path / "disc") as opened:
        report = import_selection(service, opened.tree)
        sources = series_sources(opened.tree)
    service.close()
    assert report.imported == () and "Cannot reach the image server" in report.stopped
    assert sorted(report.not_tried) == sorted(written.file_ids.values())
    assert "3 object(s) were not tried" in report.summary()
    assert [s.count_hint() for s in sources] == [3] and sources[0].key
