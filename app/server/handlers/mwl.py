"""Modality Worklist C-FIND SCP (PS3.4 K.4.1) over the worklist store.

The handler never raises: every failure becomes a C-FIND status with an Error Comment
(PS3.4 K.4.1.1.4, Table K.4-2), as the Q/R handler (:mod:`app.server.handlers.find`) does:

- 0xA900 identifier does not match SOP class (it cannot be decoded, or its Scheduled
  Procedure Step Sequence has more than one item);
- 0xC000 unable to process (a malformed value, such as a date that is not ``YYYYMMDD``,
  or an index failure);
- 0xA700 out of resources when more items match than the hit limit (the Error Comment asks
  to narrow the search); with ``hit_limit_empty`` an empty success, as the reference does;
- 0xFE00 cancel when a C-CANCEL arrives (checked before each pending response).

With ``drop_completed`` items whose step is COMPLETED or DISCONTINUED are not returned.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset

from app.core.config import WorklistAE
from app.server.cancel import is_cancelled
from app.server.handlers.find import CANCEL, PENDING, failure, over_hit_limit
from app.server.index.records import QueryError
from app.server.index.worklist_records import FINAL_STATUSES, WorklistRecord, WorklistSearch, WorklistStoreProtocol
from app.server.mwl_match import IdentifierError, WorklistQuery, matches, parse_identifier, response
from app.server.qr_models import IDENTIFIER_MISMATCH, UNABLE_TO_PROCESS
from app.server.worklist_items import item_dataset

LOGGER = logging.getLogger(__name__)

#: Rows read from the store at a time when keys outside its columns are matched here.
_PAGE = 500


class ItemCache:
    """Stored items as pydicom data sets, kept by id and last change (thread-safe, bounded).

    Reading an item's DICOM JSON into a data set costs far more than matching it; a worklist
    is asked the same items again and again, so each version is read once. Cached data sets
    are never modified (answers copy what they return).
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = max(1, size)
        self._items: OrderedDict[tuple[int, Any], Dataset] = OrderedDict()
        self._lock = threading.Lock()

    def dataset(self, record: WorklistRecord) -> Dataset:
        """The item of ``record`` with its current status (:func:`app.server.worklist_items.item_dataset`)."""
        key = (record.id, record.updated_at)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        ds = item_dataset(record)
        with self._lock:
            self._items[key] = ds
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return ds


def _matching(
    store: WorklistStoreProtocol, query: WorklistQuery, settings: WorklistAE, cache: ItemCache
) -> list[tuple[Any, Any]]:
    """Up to ``hit_limit + 1`` matching items, each with its data set."""
    wanted = settings.hit_limit + 1
    exclude = FINAL_STATUSES if settings.drop_completed else ()
    found: list[tuple[Any, Any]] = []
    offset = 0
    while len(found) < wanted:
        limit = wanted if not query.residual else _PAGE
        page: list[WorklistRecord] = store.search(WorklistSearch(query.filters, exclude, limit=limit, offset=offset))
        for record in page:
            ds = cache.dataset(record)
            if matches(query, ds):
                found.append((record, ds))
                if len(found) >= wanted:
                    break
        if not query.residual or len(page) < limit:
            break
        offset += limit
    return found


def handle_mwl_find(
    event: Any, store: WorklistStoreProtocol, settings: WorklistAE, cache: ItemCache | None = None
) -> Iterator[tuple[Any, Any]]:
    """Answer a Modality Worklist C-FIND request (PS3.4 K.4.1.3): one pending response per item.

    Parameters
    ----------
    event
        pynetdicom's ``EVT_C_FIND`` event.
    store
        The worklist store.
    settings
        The MWL AE's settings (``hit_limit``, ``hit_limit_empty``, ``drop_completed``).
    cache
        The data sets of items already read (one per AE); None reads every item afresh.
    """
    try:
        try:
            identifier = event.identifier
        except Exception as exc:
            raise IdentifierError(f"identifier cannot be decoded: {type(exc).__name__}") from None
        query = parse_identifier(identifier)
        found = _matching(store, query, settings, cache or ItemCache(settings.hit_limit + 1))
    except IdentifierError as exc:
        LOGGER.info("MWL C-FIND refused (0xA900): %s", exc)
        yield failure(IDENTIFIER_MISMATCH, str(exc)), None
        return
    except QueryError as exc:
        LOGGER.info("MWL C-FIND refused (0xC000): %s", exc)
        yield failure(UNABLE_TO_PROCESS, str(exc)), None
        return
    except Exception as exc:
        LOGGER.exception("MWL C-FIND failed")
        yield failure(UNABLE_TO_PROCESS, f"query failed: {type(exc).__name__}"), None
        return
    if len(found) > settings.hit_limit:
        LOGGER.info("MWL C-FIND matched more than %d items", settings.hit_limit)
        yield from over_hit_limit(settings.hit_limit, settings.hit_limit_empty)
        return
    LOGGER.info("MWL C-FIND: %d matches", len(found))
    for _record, ds in found:
        if is_cancelled(event):
            LOGGER.info("MWL C-FIND cancelled by the peer")
            yield CANCEL, None
            return
        try:
            answer = response(query, ds)
        except Exception as exc:
            LOGGER.exception("MWL C-FIND response could not be built")
            yield failure(UNABLE_TO_PROCESS, f"response failed: {type(exc).__name__}"), None
            return
        yield PENDING, answer
