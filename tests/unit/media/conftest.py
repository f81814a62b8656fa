"""A written two-patient file-set shared by the media unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from app.media.file_set_writer import FileSetWriter, WrittenFileSet
from tests.media_data import study


@pytest.fixture
def two_patients() -> list[Dataset]:
    """Two patients' studies (images + PR + KO + SR); the second one's images RLE-compressed."""
    return study("PAT1", "Doe^John") + study("PAT2", "Roe^Jane", compress=True)


@pytest.fixture
def written(tmp_path: Path, two_patients: list[Dataset]) -> WrittenFileSet:
    writer = FileSetWriter(tmp_path / "fileset")
    for ds in two_patients:
        assert writer.add(ds), writer.refused
    return writer.write()
