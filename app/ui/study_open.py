"""Opening the information window's studies in the viewer, whatever their source.

- A server study: its series listed by QIDO-RS, shown through
  :meth:`~app.ui.viewer_launch.ViewerLauncher.open` (WADO-RS; GSPS and key images can be saved),
  and the study is marked read.
- A study of the temporary store or of media: its series read from the files
  (:meth:`~app.services.study_sources.StudySource.series_sources`, on a worker) and shown through
  :meth:`~app.ui.viewer_launch.ViewerLauncher.open_sources` with ``on_server=False`` (saving is
  off until the study is imported); one window per source and study.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.dicom.value_format import format_person_name as format_name
from app.services.series_source import SeriesSource
from app.services.studies import SeriesSummary, StudySummary
from app.services.study_sources import StudySource
from app.ui.viewer_launch import viewer_title
from app.ui.viewer_window import ViewerWindow

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


class StudyOpener:
    """The open actions of one :class:`MainWindow` (Enter, double-click, Study > Open)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def open_study(self, study: StudySummary) -> None:
        """Open ``study`` of the chosen source (its series listed on a worker)."""
        w = self.window
        w.statusBar().showMessage(f"Opening {format_name(study.patient_name)}...", 5000)
        source = w.sources.current
        if not source.on_server:
            self.open_local(source, study, None)
            return

        def done(result: object) -> None:
            assert isinstance(result, list)
            if not result:
                w.statusBar().showMessage("The study has no series on the server; refresh the list.", 10000)
                return
            self.show_server(study, result, None)

        w.pool.submit(w.studies.list_series, study.study_instance_uid, on_done=done, on_error=w.show_error)

    def open_series(self, study: StudySummary | None, series: SeriesSummary, listed: list[SeriesSummary]
                    ) -> ViewerWindow | None:  # fmt: skip
        """Open ``series`` of ``study`` (its other series in the matrix); None while a local one loads."""
        source = self.window.sources.current
        if source.on_server:
            return self.show_server(study, listed or [series], series)
        if study is not None:
            self.open_local(source, study, series.series_instance_uid)
        return None

    def show_server(
        self, study: StudySummary | None, series: list[SeriesSummary], first: SeriesSummary | None
    ) -> ViewerWindow:
        w = self.window
        viewer = w.launcher.open(study, series, first)
        if study is not None:
            w.controller.mark_read(study)
        w.viewer_opened.emit(viewer)
        return viewer

    def open_local(self, source: StudySource, study: StudySummary, first: str | None) -> None:
        """Open a study of the temporary store or of media (``first``: the Series Instance UID to show)."""
        w = self.window

        def done(result: object) -> None:
            assert isinstance(result, list)
            if not result:
                w.statusBar().showMessage(f"The study has no series left in {source.name}; refresh the list.", 10000)
                return
            self.show_local(source, study, result, first)

        w.pool.submit(source.series_sources, study, on_done=done, on_error=w.show_error)

    def show_local(
        self, source: StudySource, study: StudySummary, series: list[SeriesSource], first: str | None
    ) -> ViewerWindow:
        wanted = next((s for s in series if first is not None and getattr(s, "key", None) == first), None)
        title = f"{viewer_title(study).removesuffix(' - Lightbox')} - {source.name} - Lightbox"
        viewer = self.window.launcher.open_sources(f"{source.name}/{study.study_instance_uid}", title, series, wanted)
        self.window.viewer_opened.emit(viewer)
        return viewer
