"""Fixtures of the UI tests: a study service on the real server (the ``server`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.services.studies import StudyService


@pytest.fixture
def service(server) -> Iterator[StudyService]:  # type: ignore[no-untyped-def]
    studies = StudyService.connect(server.http_url, timeout=30)
    yield studies
    studies.close()
