"""Language of dates: German chosen in the settings dialog shows German month names in the study
list (a study on the real server) and in the viewer's corner text, at once after saving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale
from pytestqt.qtbot import QtBot

from app.core.config import load_config
from app.core.paths import user_config_file
from app.dicom.value_format import DateStyle, date_style, format_date, use_date_style
from app.imaging.corner_text import corner_text
from app.services.demo_studies import demo_studies
from app.services.first_run import mark_first_run_done
from app.services.session import Session
from app.services.studies import StudyService
from app.services.viewer_settings import corner_templates
from app.ui.date_language import LANGUAGES
from app.ui.date_language import date_style as style_of
from app.ui.main_window import MainWindow
from app.ui.models import StudyTableModel as M
from app.ui.settings_menu import install_settings


@pytest.fixture(autouse=True)
def iso_dates_after() -> Iterator[None]:
    yield
    use_date_style(DateStyle())  # process-wide: the next tests see ISO dates again


def test_german_month_names_in_the_study_list_and_the_corner_text(
    qtbot: QtBot, service: StudyService, window: MainWindow, tmp_path: Path
) -> None:
    mark_first_run_done()
    ct = demo_studies()[0].datasets[0]
    ct.StudyDate = "20240315"
    ct.PatientBirthDate = "19611224"
    path = tmp_path / "ct.dcm"
    ct.save_as(path, enforce_file_format=True)
    service.store_files([path])
    hooks = install_settings(window, load_config(include_user_file=False), Session(service),
                             config_file=user_config_file())
    window.start()
    qtbot.waitUntil(lambda: window.study_model.rowCount() == 1, timeout=20000)
    index = window.study_model.index(0, M.STUDY_DATE)
    assert window.study_model.data(index).startswith("2024-03-15")  # ISO until chosen otherwise

    dialog = hooks.open_settings()
    dialog.general.date_format.edit.setText("%d. %B %Y")
    dialog.general.date_language.setCurrentIndex(dialog.general.date_language.findData("de"))
    assert dialog.save(), dialog.message.text()
    assert dialog.message.text() == "Saved."  # no restart needed
    saved = load_config(files=[user_config_file()], include_user_file=False).workstation.viewer
    assert saved.date_language == "de" and saved.corner_text["date_format"] == "%d. %B %Y"

    march = QLocale("de").monthName(3)  # Qt's own German name of March
    assert march not in ("March", "")
    assert window.study_model.data(index).startswith(f"15. {march} 2024")  # the list shows it at once
    born = window.study_model.data(window.study_model.index(0, M.BIRTH_DATE))
    assert born == f"24. {QLocale('de').monthName(12)} 1961"  # both date columns
    corners = corner_text(ct, corner_templates(saved))
    lines = [line for corner in (corners.top_left, corners.top_right, corners.bottom_left, corners.bottom_right)
             for line in corner]
    december = QLocale("de").monthName(12)
    assert any(f"24. {december} 1961" in line for line in lines), lines  # the corner text's birth date


def test_every_offered_language_has_its_own_names() -> None:
    names = {code: tuple(style_of("%B", code).months) for code, _ in LANGUAGES if code}
    assert names["en"][0] == "January" and len(set(names.values())) == len(names)  # none fell back to another
    before = date_style()
    use_date_style(style_of("%A %d %B %Y", "fr"))
    assert format_date("20240315", "%A %d %B %Y") == f"{QLocale('fr').dayName(5)} 15 {QLocale('fr').monthName(3)} 2024"
    use_date_style(before)
