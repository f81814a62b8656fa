"""Opening studies from the information window in the viewer (:class:`~app.ui.viewer_window.ViewerWindow`).

One viewer window per study: every series of the study is listed in its matrix (server sources,
WADO-RS through :class:`~app.services.series_source.ServerSeriesSource`) and the chosen one (by
default the first by Series Number) loads into the active viewport; opening the study again
brings its window to the front.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QThreadPool

from app.dicom.value_format import format_date
from app.dicom.value_format import format_person_name as format_name
from app.services.series_source import ServerSeriesSource
from app.services.studies import SeriesSummary, StudyService, StudySummary
from app.ui.viewer_window import ViewerWindow


def viewer_title(study: StudySummary | None) -> str:
    """``Doe, Jane - CT Head - 2024-01-31 - Lightbox``."""
    if study is None:
        return "Lightbox viewer"
    parts = (format_name(study.patient_name), study.study_description, format_date(study.study_date))
    return " - ".join(p for p in (*parts, "Lightbox") if p)


class ViewerLauncher:
    """The viewer windows opened from one information window, one per study."""

    def __init__(self, studies: StudyService, pool: QThreadPool) -> None:
        self.studies = studies
        self.pool = pool
        self.viewers: dict[str, ViewerWindow] = {}

    def open(
        self, study: StudySummary | None, series: Sequence[SeriesSummary], first: SeriesSummary | None = None
    ) -> ViewerWindow:
        """Show ``series`` of ``study`` in its viewer window and load ``first`` (default the first one)."""
        assert series, "a study without series cannot be opened"
        uid = study.study_instance_uid if study else series[0].study_instance_uid
        viewer = self.viewers.get(uid)
        if viewer is None or not viewer.isVisible():
            viewer = ViewerWindow(self.pool)
            viewer.setWindowTitle(viewer_title(study))
            self.viewers[uid] = viewer
        sources = [ServerSeriesSource(self.studies, s, study) for s in series]
        for source in sources:
            viewer.matrix.add_series(source.key, source)
        wanted = first.series_instance_uid if first else sources[0].key
        viewer.open_source(next((s for s in sources if s.key == wanted), sources[0]))
        viewer.show()
        viewer.raise_()
        viewer.activateWindow()
        return viewer

    def close_all(self) -> None:
        for viewer in self.viewers.values():
            viewer.close()
        self.viewers.clear()
