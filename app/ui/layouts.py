"""Image window layouts: a grid of viewports (1x1, 1x2, 2x1, 2x2, 2x3, 3x3, 4x4 or rows x columns).

Switching layout keeps the viewports that fit (and what they show) and creates new empty
ones; viewports beyond the new grid are hidden, not destroyed, so going back shows their
series again without reloading.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QGridLayout, QWidget

from app.core.errors import ConfigError
from app.ui.viewport import Viewport

LAYOUTS: tuple[tuple[int, int], ...] = ((1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (3, 3), (4, 4))
MAX_CELLS = 8


def parse_layout(text: str) -> tuple[int, int]:
    """"2x3" (rows x columns) as (2, 3); ConfigError when malformed or larger than 8 x 8."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        rows, columns = (int(p) for p in parts)
    except ValueError as exc:
        raise ConfigError(f"Layout {text!r} is not rows x columns, e.g. 2x3.") from exc
    if not (1 <= rows <= MAX_CELLS and 1 <= columns <= MAX_CELLS):
        raise ConfigError(f"Layout {text!r}: rows and columns must be 1..{MAX_CELLS}.")
    return rows, columns


class ViewportGrid(QWidget):
    """Viewports in a rows x columns grid; ``factory`` makes new ones."""

    def __init__(self, factory: Callable[[], Viewport], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.factory = factory
        self.all: list[Viewport] = []
        self.shape = (0, 0)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)

    def set_layout(self, rows: int, columns: int) -> list[Viewport]:
        """Arrange ``rows`` x ``columns`` viewports; returns those shown, row by row."""
        for viewport in self.all:
            self.grid.removeWidget(viewport)
            viewport.hide()
        while len(self.all) < rows * columns:
            self.all.append(self.factory())
        for index, viewport in enumerate(self.all[: rows * columns]):
            self.grid.addWidget(viewport, index // columns, index % columns)
            viewport.show()
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 1 if r < rows else 0)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)
        self.shape = (rows, columns)
        return self.shown()

    def shown(self) -> list[Viewport]:
        rows, columns = self.shape
        return self.all[: rows * columns]
