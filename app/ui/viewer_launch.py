"""Opening series in the viewer: the one way every part of the workstation makes a viewer window.

:class:`ViewerLauncher` keeps one :class:`~app.ui.annotated_viewer.AnnotatedViewer` per key
(a study, a disc, the files of a command line); opening the same key again brings its window to
the front. Every viewer has the full annotation toolbar (measurements, text, arrows, export,
presentation states); saving a GSPS and key images store on the server, so they are enabled only
for series on the server (``on_server``).

- :meth:`ViewerLauncher.open`: series of a server study (WADO-RS through
  :class:`~app.services.series_source.ServerSeriesSource`), from the information window.
- :meth:`ViewerLauncher.open_sources`: any :class:`~app.services.series_source.SeriesSource`
  (the temporary store of a Fetch, media opened without import, ``lightbox FILE|DIR``).

:func:`launcher_of` gives the information window's launcher to the parts installed on it (search
panel, media), or a launcher of their own when there is none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QThreadPool

from app.dicom.value_format import format_date
from app.dicom.value_format import format_person_name as format_name
from app.services.series_source import SeriesSource, ServerSeriesSource
from app.services.studies import SeriesSummary, StudyService, StudySummary
from app.ui.annotated_viewer import AnnotatedViewer
from app.ui.viewer_window import ViewerWindow, source_key


def viewer_title(study: StudySummary | None) -> str:
    """``Doe, Jane - CT Head - 2024-01-31 - Lightbox``."""
    if study is None:
        return "Lightbox viewer"
    parts = (format_name(study.patient_name), study.study_description, format_date(study.study_date))
    return " - ".join(p for p in (*parts, "Lightbox") if p)


class ViewerLauncher:
    """The viewer windows of one information window, one per key (a study, a disc, files).

    Parameters
    ----------
    studies
        The server's studies (None: no server; every viewer is then one of local series).
    pool
        The thread pool the viewers load series in.
    """

    def __init__(self, studies: StudyService | None, pool: QThreadPool) -> None:
        self.studies = studies
        self.pool = pool
        self.viewers: dict[str, AnnotatedViewer] = {}

    def viewer(self, key: str, title: str, on_server: bool = False) -> AnnotatedViewer:
        """The window of ``key`` (a new one when there is none, or it was closed)."""
        viewer = self.viewers.get(key)
        if viewer is None or not viewer.isVisible():
            viewer = AnnotatedViewer(self.pool, self.studies, on_server=on_server)
            self.viewers[key] = viewer
        viewer.setWindowTitle(title)
        return viewer

    def open(
        self, study: StudySummary | None, series: Sequence[SeriesSummary], first: SeriesSummary | None = None
    ) -> ViewerWindow:
        """Show ``series`` of server study ``study`` in its viewer window and load ``first`` (default the first)."""
        assert series, "a study without series cannot be opened"
        assert self.studies is not None, "server series need the server's studies"
        studies = self.studies
        uid = study.study_instance_uid if study else series[0].study_instance_uid
        sources = [ServerSeriesSource(studies, s, study) for s in series]
        wanted = next((s for s in sources if first is not None and s.key == first.series_instance_uid), None)
        return self.open_sources(uid, viewer_title(study), sources, wanted, on_server=True)

    def open_sources(
        self,
        key: str,
        title: str,
        sources: Sequence[SeriesSource],
        first: SeriesSource | None = None,
        on_server: bool = False,
    ) -> ViewerWindow:
        """Show ``sources`` in the viewer window of ``key`` and load ``first``.

        Parameters
        ----------
        key
            One window per key (e.g. the Study Instance UID; "media:..." or "files:..." for local series).
        title
            The window title.
        sources
            Listed in the matrix (PR/KO/SR sources as badges; their presentation states are offered).
        first
            Loaded into the active viewport (default: the first image series, else the first source).
        on_server
            True when the series are on the server: saving a GSPS and key images is then enabled;
            otherwise those two actions are disabled with a tooltip saying to import the study first.
        """
        assert sources, "nothing to open"
        viewer = self.viewer(key, title, on_server)
        for source in sources:
            viewer.matrix.add_series(source_key(source), source)
        shown = first or next((s for s in sources if getattr(s, "is_image", True)), sources[0])
        viewer.open_source(shown)
        viewer.show()
        viewer.raise_()
        viewer.activateWindow()
        return viewer

    def close_all(self) -> None:
        for viewer in self.viewers.values():
            viewer.close()
        self.viewers.clear()


def launcher_of(window: Any, studies: StudyService | None = None) -> ViewerLauncher:
    """The ``launcher`` of ``window`` (the information window's), else a new one over the global pool."""
    found = getattr(window, "launcher", None)
    if isinstance(found, ViewerLauncher):
        return found
    return ViewerLauncher(studies, QThreadPool.globalInstance())
