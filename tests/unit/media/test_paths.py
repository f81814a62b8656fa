"""Referenced File IDs never lead outside the file-set's root (links followed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.media.paths import UnsafePathError, is_inside, resolve_file_id


@pytest.fixture
def disc(tmp_path: Path) -> Path:
    root = tmp_path / "disc"
    (root / "PT000000").mkdir(parents=True)
    (root / "PT000000" / "IM000000").write_bytes(b"x")
    (tmp_path / "SECRET").write_bytes(b"outside")
    return root


def test_a_plain_file_id_resolves_inside(disc: Path) -> None:
    assert resolve_file_id(disc, ["PT000000", "IM000000"]) == (disc / "PT000000" / "IM000000").resolve()


@pytest.mark.parametrize(
    "components",
    [["..", "SECRET"], ["PT000000", "..", "..", "SECRET"], ["/etc", "passwd"], ["PT000000/../../SECRET"],
     ["PT000000\\..\\..\\SECRET"], [], [""], ["C:", "WINDOWS"]],
)  # fmt: skip
def test_escaping_or_malformed_ids_are_refused(disc: Path, components: list[str]) -> None:
    with pytest.raises(UnsafePathError):
        resolve_file_id(disc, components)


def test_a_link_out_of_the_disc_is_refused_and_one_inside_accepted(disc: Path) -> None:
    os.symlink(disc.parent / "SECRET", disc / "PT000000" / "IM000001")
    os.symlink(disc.parent, disc / "UP")
    os.symlink(disc / "PT000000" / "IM000000", disc / "PT000000" / "IM000002")
    with pytest.raises(UnsafePathError, match="outside"):
        resolve_file_id(disc, ["PT000000", "IM000001"])
    with pytest.raises(UnsafePathError):
        resolve_file_id(disc, ["UP", "SECRET"])
    assert resolve_file_id(disc, ["PT000000", "IM000002"]) == (disc / "PT000000" / "IM000000").resolve()
    assert not is_inside(disc, disc / "UP" / "SECRET")


def test_a_disc_mounted_in_lower_case_still_resolves(tmp_path: Path) -> None:
    root = tmp_path / "cd"
    (root / "pt000000").mkdir(parents=True)
    (root / "pt000000" / "im000000").write_bytes(b"x")
    assert resolve_file_id(root, ["PT000000", "IM000000"]) == (root / "pt000000" / "im000000").resolve()
