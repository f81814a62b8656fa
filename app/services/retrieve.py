"""Import and Fetch (the reference's 3.2.2.3 and 3.2.2.4): C-MOVE of studies or series.

- **Import**: the destination is the server's Storage SCP AE (:func:`import_destination`),
  so the study lands in the archive and shows in the information window.
- **Fetch**: the destination is the workstation's temporary Storage SCP
  (:class:`~app.net.temporary_store.TemporaryStorageSCP`); :class:`Fetch` tells as soon as
  the first image of the study arrives, so the viewer can open it (a
  :class:`~app.services.local_series.LocalSeriesSource` that keeps loading until the move ends).

Progress comes from the pending responses' sub-operation counts (PS3.4 C.4.2.1.4.2).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.core.config import Config
from app.core.errors import ConfigError
from app.core.workstation_config import RemoteNode, WorkstationConfig
from app.net.move import MoveProgress, MoveResult, move, move_identifier
from app.net.temporary_area import ReceivedImage, TemporaryArea
from app.services.cancel import CancelToken
from app.services.local_series import LocalSeriesSource
from app.services.search import peer_of, scu_settings


def import_destination(config: Config, server_info: dict[str, object] | None = None) -> str:
    """The AE title of the server's Storage SCP: from the embedded server's ready line
    (``server_info``, its ``storage`` list) when there is one, else the first ``[[server.storage]]``
    of the configuration (a shared server configured alike)."""
    storage = (server_info or {}).get("storage")
    if isinstance(storage, list) and storage and isinstance(storage[0], dict) and storage[0].get("ae_title"):
        return str(storage[0]["ae_title"])
    if not config.server.storage:
        raise ConfigError("No server Storage SCP is configured: add a [[server.storage]] table to import studies.")
    return config.server.storage[0].ae_title


@dataclass(frozen=True)
class RetrieveRequest:
    """What to move: a study, or some of its series, from a node."""

    node: RemoteNode
    study_instance_uid: str
    series_instance_uids: tuple[str, ...] = ()


def retrieve(
    config: WorkstationConfig,
    request: RetrieveRequest,
    destination: str,
    *,
    cancel: CancelToken | None = None,
    on_progress: Callable[[MoveProgress], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MoveResult:
    """C-MOVE ``request`` to the AE ``destination``; progress as counts, or as (done, total).

    Raises ``AssociationError`` when the node cannot be reached."""

    def counts(p: MoveProgress) -> None:
        if on_progress is not None:
            on_progress(p)
        if progress is not None:
            progress(max(p.completed, 0) + max(p.failed, 0) + max(p.warning, 0), p.total)

    identifier = move_identifier(request.study_instance_uid, request.series_instance_uids)
    return move(scu_settings(config), peer_of(request.node), identifier, destination, cancel=cancel,
                on_progress=counts)


def retrieve_all(
    config: WorkstationConfig,
    requests: Sequence[RetrieveRequest],
    destination: str,
    *,
    cancel: CancelToken | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[MoveResult]:
    """Several studies (or series) one after another, one association at a time."""
    results = []
    for request in requests:
        if cancel is not None and cancel.cancelled:
            break
        results.append(retrieve(config, request, destination, cancel=cancel, progress=progress))
    return results


class Fetch:
    """A Fetch of one study (or some series) into the temporary store.

    :meth:`run` (on a worker) moves the images; ``on_first_image(source)`` is called (on
    the association thread that stored it) with a :class:`LocalSeriesSource` of the first
    series an image arrives for; that source keeps yielding images until the move ends.
    """

    def __init__(
        self, config: WorkstationConfig, area: TemporaryArea, store_ae_title: str, request: RetrieveRequest,
        on_first_image: Callable[[LocalSeriesSource], None] | None = None,
    ) -> None:
        self.config, self.area, self.store_ae_title, self.request = config, area, store_ae_title, request
        self.on_first_image = on_first_image
        self.finished = threading.Event()
        self.first_source: LocalSeriesSource | None = None
        self._lock = threading.Lock()

    def _received(self, image: ReceivedImage) -> None:
        if image.study_instance_uid != self.request.study_instance_uid:
            return
        with self._lock:
            if self.first_source is not None:
                return
            self.first_source = LocalSeriesSource.from_temporary_area(
                self.area, image.study_instance_uid, image.series_instance_uid, finished=self.finished.is_set
            )
        if self.on_first_image is not None:
            self.on_first_image(self.first_source)

    def run(
        self, cancel: CancelToken | None = None, progress: Callable[[int, int], None] | None = None
    ) -> MoveResult:
        """Move to the temporary store; returns the C-MOVE's outcome."""
        self.area.add_listener(self._received)
        try:
            return retrieve(self.config, self.request, self.store_ae_title, cancel=cancel, progress=progress)
        finally:
            self.finished.set()
            self.area.remove_listener(self._received)
