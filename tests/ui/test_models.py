"""Table models and value formatting of the information window."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.services.studies import StudySummary
from app.ui.models import StudyTableModel, format_date, format_name


def test_formatting() -> None:
    assert format_date("20040119") == "2004-01-19"
    assert format_date("") == ""
    assert format_name("DOE^JANE^M") == "DOE, JANE M"
    assert format_name("DOE") == "DOE"
    assert format_name("YAMADA^TARO=山田^太郎") == "YAMADA, TARO"


def test_study_model_rows_and_sort_role() -> None:
    model = StudyTableModel()
    model.set_rows([StudySummary("1.2", patient_name="A^B", modalities="CT\\MR", number_of_images=12)])
    assert model.rowCount() == 1 and model.columnCount() == 9
    assert model.index(0, 0).data() == "A, B"
    assert model.index(0, 5).data() == "CT, MR"
    assert model.index(0, 8).data(Qt.ItemDataRole.UserRole) == 12
    assert model.headerData(8, Qt.Orientation.Horizontal) == "Images"
    assert model.row_of("1.2") == 0 and model.row_of("9") == -1
