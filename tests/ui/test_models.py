"""Table models of the information window: cells as shown, sort roles, status column."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.dicom.value_format import format_date, format_person_name
from app.services.studies import StudySummary
from app.ui.models import StudyTableModel


def test_study_model_rows_and_sort_role() -> None:
    model = StudyTableModel()
    model.set_rows(
        [StudySummary("1.2", patient_name="A^B", study_date="20240131", study_time="101530.25", modalities="CT\\MR",
                      number_of_images=12)]
    )  # fmt: skip
    assert model.rowCount() == 1 and model.columnCount() == 10
    assert model.index(0, StudyTableModel.NAME).data() == format_person_name("A^B") == "A, B"
    assert model.index(0, StudyTableModel.MODALITIES).data() == "CT, MR"
    assert model.index(0, StudyTableModel.STUDY_DATE).data() == f"{format_date('20240131')} 10:15" == "2024-01-31 10:15"
    assert model.index(0, StudyTableModel.STUDY_DATE).data(Qt.ItemDataRole.UserRole) == "20240131101530"
    assert model.index(0, StudyTableModel.IMAGES).data(Qt.ItemDataRole.UserRole) == 12
    assert model.headerData(StudyTableModel.IMAGES, Qt.Orientation.Horizontal) == "Images"
    assert model.row_of("1.2") == 0 and model.row_of("9") == -1


def test_status_column_and_bold_new_studies() -> None:
    model = StudyTableModel()
    model.set_rows([StudySummary("1.1"), StudySummary("1.2"), StudySummary("1.3")])
    status = [model.index(r, StudyTableModel.STATUS) for r in range(3)]
    assert [i.data() for i in status] == ["", "", ""]  # unknown until the admin API answers
    model.set_statuses({"1.2": "approved", "1.3": "read"})
    assert [i.data() for i in status] == ["new", "approved", "read"]  # absent from the answer = new
    assert [i.data(Qt.ItemDataRole.UserRole) for i in status] == [0, 2, 1]  # workflow order sorts
    font = status[0].data(Qt.ItemDataRole.FontRole)
    assert font is not None and font.bold()
    assert status[1].data(Qt.ItemDataRole.FontRole) is None
