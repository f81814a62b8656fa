"""Query/Retrieve C-FIND SCP (PS3.4 C.4.1) over the index, in the three models of PS3.4 C.6.

The handler never raises: every failure becomes a C-FIND status with an Error Comment
(PS3.4 C.4.1.1.4, Table C.4-1):

- 0xA900 identifier does not match SOP class (an identifier that cannot be decoded, level
  missing or not in the model, a unique key above the searched level not given as one
  value, unless relational queries were negotiated, PS3.4 C.4.1.2.2.2);
- 0xC000 unable to process (a malformed value, such as a date that is not ``YYYYMMDD``,
  or an index failure);
- 0xA700 out of resources when more records match than the hit limit (the Error Comment
  asks to narrow the search); with ``hit_limit_empty`` an empty success instead;
- 0xFE00 cancel when a C-CANCEL arrives (checked before each pending response).

Pending responses are 0xFF00, or 0xFF01 when the identifier has keys the index has no
value for (returned zero-length). Their identifiers are encoded once, by hand, when they are
plain ASCII text (:mod:`app.server.find_encoding`); others are built by pydicom.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset

from app.core.config import QueryRetrieveAE
from app.server.cancel import is_cancelled
from app.server.find_encoding import for_context
from app.server.handlers.store import clean_comment
from app.server.index.records import CatalogueProtocol, QueryError
from app.server.qr_models import (
    BY_FIND_UID,
    IDENTIFIER_MISMATCH,
    OUT_OF_RESOURCES,
    UNABLE_TO_PROCESS,
    IdentifierError,
    has_unsupported_keys,
    is_relational,
    parse_find,
    response_identifier,
)

LOGGER = logging.getLogger(__name__)

PENDING = 0xFF00
#: Pending, with a warning that one or more optional keys are not supported (PS3.4 Table C.4-1).
PENDING_UNSUPPORTED_KEYS = 0xFF01
CANCEL = 0xFE00


def failure(status: int, comment: str) -> Dataset:
    """A status data set with an Error Comment (0000,0902), at most 64 characters (LO).

    The command set has no Specific Character Set (PS3.7 6.3.1): the comment is made ASCII,
    whatever characters a rejected key carried.
    """
    ds = Dataset()
    ds.Status = status
    ds.ErrorComment = clean_comment(comment)
    return ds


def _transfer_syntax(event: Any) -> Any:
    """The transfer syntax of the request's presentation context (None when unknown)."""
    try:
        return event.context.transfer_syntax
    except Exception:
        return None


def over_hit_limit(hit_limit: int, empty: bool) -> Iterator[tuple[Dataset, None]]:
    """The answer to a C-FIND matching more than ``hit_limit``: 0xA700 asking to narrow the
    search, or nothing (an empty success, the reference's behaviour) when ``empty``."""
    if not empty:
        yield failure(OUT_OF_RESOURCES, f"More than {hit_limit} matches: narrow the search"), None


def handle_find(event: Any, catalogue: CatalogueProtocol, qr: QueryRetrieveAE) -> Iterator[tuple[Any, Any]]:
    """Answer a C-FIND request (PS3.4 C.4.1.3): pending responses, one per match.

    Parameters
    ----------
    event
        pynetdicom's ``EVT_C_FIND`` event.
    catalogue
        The index.
    qr
        The Q/R AE's settings (``hit_limit``, ``hit_limit_empty``, ``ae_title``).
    """
    try:
        model = BY_FIND_UID[str(event.request.AffectedSOPClassUID)]
        try:
            identifier = event.identifier
        except Exception as exc:  # the peer's bytes, not our failure
            raise IdentifierError(IDENTIFIER_MISMATCH, f"identifier cannot be decoded: {type(exc).__name__}") from None
        relational = is_relational(getattr(event, "assoc", None), model.find)
        query = parse_find(identifier, model, limit=qr.hit_limit + 1, relational=relational)
        rows = catalogue.search(query.search)
    except IdentifierError as exc:
        LOGGER.info("C-FIND refused (0x%04X): %s", exc.status, exc.comment)
        yield failure(exc.status, exc.comment), None
        return
    except QueryError as exc:
        LOGGER.info("C-FIND refused (0xC000): %s", exc)
        yield failure(UNABLE_TO_PROCESS, str(exc)), None
        return
    except Exception as exc:
        LOGGER.exception("C-FIND failed")
        yield failure(UNABLE_TO_PROCESS, f"query failed: {type(exc).__name__}"), None
        return
    if len(rows) > qr.hit_limit:
        LOGGER.info("C-FIND at %s level matched more than %d records", query.level.value, qr.hit_limit)
        yield from over_hit_limit(qr.hit_limit, qr.hit_limit_empty)
        return
    charset = identifier.get("SpecificCharacterSet")
    pending = PENDING_UNSUPPORTED_KEYS if has_unsupported_keys(query) else PENDING
    encoder = for_context(query, qr.ae_title, _transfer_syntax(event))
    LOGGER.info("C-FIND at %s level (%s): %d matches", query.level.value, model.name, len(rows))
    for row in rows:
        if is_cancelled(event):
            LOGGER.info("C-FIND cancelled by the peer")
            yield CANCEL, None
            return
        try:
            response: Dataset | None = encoder.identifier(row) if encoder is not None else None
            if response is None:
                response = response_identifier(query, row, qr.ae_title, request_charset=charset)
        except Exception as exc:
            LOGGER.exception("C-FIND response could not be built")
            yield failure(UNABLE_TO_PROCESS, f"response failed: {type(exc).__name__}"), None
            return
        yield pending, response
