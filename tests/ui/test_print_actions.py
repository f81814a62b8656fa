"""The print entry points: the viewer's Print menu (current image, range, series, key images as the
viewport renders them) and Study > Print... of the information window (images from the server)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot

from app.core.workstation_config import PrinterConfig, WorkstationConfig
from app.services.print_collect import key_positions, stack_range
from app.services.series_source import DatasetSource
from app.services.studies import StudyService
from app.ui.main_window import MainWindow
from app.ui.print_actions import CURRENT, KEYS, RANGE, SERIES, PrintHooks, install_print, viewer_images
from app.ui.print_preview import PrintPreview
from app.ui.viewer_window import ViewerWindow
from tests.ui.uihelpers import ct_series, to_bytes


class _Keys:
    """The part of the viewer's annotation controller the Print menu reads: which images are key images."""

    def __init__(self, uids: set[str]) -> None:
        self.uids = uids

    def is_key(self, uid: str) -> bool:
        return uid in self.uids


@pytest.fixture
def viewer(qtbot: QtBot) -> ViewerWindow:
    win = ViewerWindow()
    qtbot.addWidget(win)
    datasets = ct_series(4)
    with qtbot.waitSignal(win.series_loaded, timeout=15000):
        win.open_source(DatasetSource(tuple(datasets), "CT"))
    win.annotations = _Keys({str(datasets[1].SOPInstanceUID), str(datasets[3].SOPInstanceUID)})  # type: ignore[attr-defined]
    return win


def test_viewer_images_are_rendered_as_the_viewport_shows_them(viewer: ViewerWindow) -> None:
    viewport = viewer.active_viewport()
    viewport.go_to(2)
    viewport.set_state(replace(viewport.state.rotated(90), invert=True))
    current = viewer_images(viewer, CURRENT)
    assert len(current) == 1 and np.array_equal(current[0].pixels, viewport.rendered_image())
    assert current[0].header is not None and current[0].pixel_spacing is not None
    series = viewer_images(viewer, SERIES)
    assert len(series) == 4
    for position, image in enumerate(series):
        expected = viewport.renderer.render(position, viewport.state).composite()  # type: ignore[union-attr]
        assert np.array_equal(image.pixels, expected)
    assert [i.label for i in viewer_images(viewer, RANGE, "2-3")] == [series[1].label, series[2].label]
    keys = viewer_images(viewer, KEYS)
    assert [i.label for i in keys] == [series[1].label, series[3].label]
    # for a 12-bit printer: the same rendering (inverted, turned) with 12-bit grey levels
    deep = viewer_images(viewer, SERIES, bits=12)
    for eight, twelve in zip(series, deep, strict=True):
        assert twelve.bits == 12 and twelve.pixels.shape == eight.pixels.shape
        assert np.abs(twelve.pixels / 4095.0 * 255.0 - eight.pixels).max() <= 0.5 + 0.5 * 255 / 4095 + 1e-6


def test_a_zoomed_viewport_prints_what_is_on_screen(qtbot: QtBot, viewer: ViewerWindow) -> None:
    viewport = viewer.active_viewport()
    viewer.resize(900, 700)
    qtbot.waitExposed(viewer)
    full = viewer_images(viewer, CURRENT)[0]
    assert full.pixels.shape == viewport.rendered_image().shape  # type: ignore[union-attr]  # fitted: whole image
    viewport.set_state(viewport.state.zoomed(4.0, viewport.scale))
    qtbot.wait(50)
    canvas = viewport.canvas
    (x0, y0) = canvas.placement.from_widget(0, 0)  # type: ignore[union-attr]
    (x1, y1) = canvas.placement.from_widget(canvas.width(), canvas.height())  # type: ignore[union-attr]
    zoomed = viewer_images(viewer, CURRENT)[0]
    rows, columns = zoomed.pixels.shape
    assert columns == pytest.approx(min(x1, 128) - max(x0, 0), abs=1.5) and columns < 128
    assert rows == pytest.approx(min(y1, 128) - max(y0, 0), abs=1.5) and rows < 128
    left, top = max(0, int(x0)), max(0, int(y0))
    assert np.array_equal(zoomed.pixels, full.pixels[top : top + rows, left : left + columns])
    assert zoomed.pixel_spacing == full.pixel_spacing


def test_print_menu_opens_the_preview(qtbot: QtBot, viewer: ViewerWindow) -> None:
    class Host(QObject):  # the two hook signals of the information window, without its server
        viewer_opened = Signal(object)
        print_requested = Signal(list)

    host = Host()
    hooks = PrintHooks(host, WorkstationConfig(), None)
    assert hooks.bits() == 8  # no printer: 8-bit images
    film = PrinterConfig("film", profile="dcmprscp")
    assert PrintHooks(Host(), WorkstationConfig(printers=(film,)), None).bits() == 12
    host.viewer_opened.emit(viewer)
    host.viewer_opened.emit(viewer)  # once only
    buttons = [a for a in viewer.toolbar.actions() if getattr(viewer.toolbar.widgetForAction(a), "text", None)
               and viewer.toolbar.widgetForAction(a).text() == "Print"]
    assert len(buttons) == 1
    menu = viewer.toolbar.widgetForAction(buttons[0]).menu()
    assert [a.text() for a in menu.actions()] == ["Current image", "Range of the stack...", "Whole series",
                                                  "Key images"]
    menu.actions()[2].trigger()
    preview = hooks.previews[-1]
    qtbot.addWidget(preview)
    assert isinstance(preview, PrintPreview) and len(preview.images) == 4


def test_study_print_retrieves_the_images(qtbot: QtBot, service: StudyService) -> None:
    images = ct_series(3)
    assert service.store_files([to_bytes(ds) for ds in images]).stored == 3
    window = MainWindow(service, refresh_seconds=60)
    qtbot.addWidget(window)
    hooks = install_print(window, WorkstationConfig(), service)
    study = service.list_studies()[0]
    window.print_requested.emit([study])
    qtbot.waitUntil(lambda: bool(hooks.previews), timeout=30000)
    preview = hooks.previews[0]
    qtbot.addWidget(preview)
    assert len(preview.images) == 3 and preview.current_film().pixels.size > 0
    window.shutdown()


def test_ranges_and_key_positions() -> None:
    assert stack_range("3-5", 10) == range(2, 5) and stack_range("7", 10) == range(6, 7)
    assert stack_range("8-20", 10) == range(7, 10) and stack_range("5-2", 10) == range(1, 5)
    with pytest.raises(ValueError, match="first-last"):
        stack_range("a-b", 10)
    with pytest.raises(ValueError, match="no image"):
        stack_range("11-12", 10)
    datasets = ct_series(3)
    assert key_positions(datasets, lambda uid: uid == str(datasets[2].SOPInstanceUID)) == [2]
