"""Query/Retrieve C-MOVE SCP (PS3.4 C.4.2) with an outbound Storage SCU for the sub-operations.

pynetdicom's own C-MOVE service answers a destination that refuses the association with
0xA801 (move destination unknown) and names the SCP itself as move originator; here the
C-MOVE requests of the Q/R AE are served by :class:`MoveService` instead, installed on each
accepted association (every other request keeps pynetdicom's path). Statuses
(PS3.4 C.4.2.1.5, Table C.4-2):

- 0xA801 the Move Destination is not one of ``[[server.destinations]]``;
- 0xA900 identifier does not match SOP class (undecodable, level, hierarchy, missing unique key; the
  unique keys above the level may be left out when relational retrieval was negotiated,
  PS3.4 C.4.2.2.2);
- 0xA701 more than 65535 instances match (the counts are US);
- 0xC001 unable to process: the destination refused or did not answer the association
  (every UID in the Failed SOP Instance UID List);
- 0xA702 out of resources, unable to perform sub-operations: the index could not be read,
  or every sub-operation failed (for instance the destination accepted none of the needed
  presentation contexts);
- 0xFF00 pending after each C-STORE sub-operation, with live counts (PS3.4 C.4.2.1.6);
- 0xFE00 cancel on C-CANCEL (checked before each sub-operation), remaining count given;
- 0x0000 success (also with zero sub-operations when nothing matches), 0xB000 when some
  sub-operations failed, 0xA702 when all failed: both with the Failed SOP Instance UID List.

The Storage SCU proposes, for each SOP class and stored transfer syntax, that syntax plus
Explicit and Implicit VR Little Endian (at most three), and sends each file as stored when
its syntax was accepted (converted between uncompressed syntaxes otherwise). The instances
of a study whose patient or study attributes were corrected in the catalogue are read,
given the catalogue's values (:func:`app.server.corrections.apply_catalogue_values`) and
sent as data sets through pynetdicom instead of as stored bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context
from pynetdicom.dimse_primitives import C_MOVE
from pynetdicom.dsutils import decode, encode

from app.core.config import Destination, ServerConfig
from app.server.cancel import cancelled as cancelled_request
from app.server.corrections import apply_catalogue_values
from app.server.handlers.store import clean_comment
from app.server.index.admin_records import CatalogueValues
from app.server.index.records import CatalogueProtocol, Level, SearchRequest, StoredInstance
from app.server.move_commands import encode_pending_move_response, send_command
from app.server.qr_models import BY_MOVE_UID, IDENTIFIER_MISMATCH, IdentifierError, is_relational, parse_move
from app.server.scu import associate, store_outcome
from app.server.store_fastpath import NotSendable, StoreSender, take

LOGGER = logging.getLogger(__name__)

SUCCESS = 0x0000
PENDING = 0xFF00
CANCEL = 0xFE00
WARNING = 0xB000
DESTINATION_UNKNOWN = 0xA801
SUBOPERATIONS_FAILED = 0xA702
UNABLE_TO_PROCESS = 0xC001
#: Most presentation contexts one association may propose (PS3.8 9.3.2.2: odd IDs 1-255).
MAX_CONTEXTS = 128


@dataclass
class _Counts:
    remaining: int
    completed: int = 0
    failed: int = 0
    warning: int = 0


class MoveService:
    """Serves C-MOVE requests on the Q/R AE's associations (PS3.4 C.4.2.3).

    Parameters
    ----------
    config
        Server settings (``qr.ae_title``, ``destinations``, ``max_pdu``, ``network_timeout``).
    catalogue
        The index.
    path_of
        The absolute path of a stored file from its ``StoredInstance.relpath``
        (``Storage.path_of``).
    values_of
        The catalogue values of a study (``CorrectionStore.catalogue_values``); None: files
        are always sent as stored.
    ensure_online
        Fetches studies back from the archive when their online copy was removed
        (``ArchiveFetcher.ensure_online``; raises when it cannot: 0xA702 with its message).
    """

    def __init__(
        self, config: ServerConfig, catalogue: CatalogueProtocol, path_of: Callable[[str], Path],
        values_of: Callable[[str], CatalogueValues | None] | None = None,
        ensure_online: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        self._ensure_online = ensure_online
        self._config = config
        self._catalogue = catalogue
        self._path_of = path_of
        self._values_of = values_of
        self._destinations = {d.ae_title: d for d in config.destinations}

    def install(self, event: Any) -> None:
        """``EVT_ACCEPTED``: route this association's C-MOVE requests to :meth:`serve`."""
        assoc = event.assoc
        original: Callable[[Any, int], None] = assoc._serve_request

        def serve_request(msg: Any, context_id: int) -> None:
            if not isinstance(msg, C_MOVE) or context_id not in assoc._accepted_cx:
                original(msg, context_id)
                return
            assoc.dimse.cancel_req = {}
            assoc._is_paused = True
            try:
                self.serve(assoc, msg, assoc._accepted_cx[context_id])
            except Exception:
                LOGGER.exception("C-MOVE failed")
            finally:
                assoc._is_paused = False
                assoc.dimse.cancel_req = {}

        assoc._serve_request = serve_request

    # -- one C-MOVE -------------------------------------------------------------------------------

    def serve(self, assoc: Any, req: C_MOVE, context: Any) -> None:
        """Run one C-MOVE request to its end (PS3.4 C.4.2.3.1)."""
        ts = context.transfer_syntax[0]

        def respond(status: int, counts: _Counts | None = None, failed: list[str] | None = None,
                    comment: str = "") -> None:
            rsp = C_MOVE()
            rsp.MessageIDBeingRespondedTo = req.MessageID
            rsp.AffectedSOPClassUID = req.AffectedSOPClassUID
            rsp.Status = status
            if comment:
                rsp.ErrorComment = clean_comment(comment)  # type: ignore[assignment]
            if counts is not None:
                if status in (PENDING, CANCEL):
                    rsp.NumberOfRemainingSuboperations = counts.remaining
                rsp.NumberOfCompletedSuboperations = counts.completed
                rsp.NumberOfFailedSuboperations = counts.failed
                rsp.NumberOfWarningSuboperations = counts.warning
            if failed:
                ds = Dataset()
                ds.FailedSOPInstanceUIDList = failed
                rsp.Identifier = BytesIO(encode(ds, ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated) or b"")
            assoc.dimse.send_msg(rsp, context.context_id)

        def cancelled() -> bool:
            return cancelled_request(assoc, int(req.MessageID or 0))

        try:
            model = BY_MOVE_UID[str(req.AffectedSOPClassUID)]
            try:
                identifier = decode(
                    req.Identifier or BytesIO(), ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated
                )
            except Exception as exc:  # the peer's bytes, not our failure
                raise IdentifierError(
                    IDENTIFIER_MISMATCH, f"identifier cannot be decoded: {type(exc).__name__}"
                ) from None
            destination = self._destinations.get(str(req.MoveDestination or "").strip())
            if destination is None:
                LOGGER.info("C-MOVE refused: move destination %r unknown", str(req.MoveDestination).strip())
                respond(DESTINATION_UNKNOWN, comment="Move destination not in [[server.destinations]]")
                return
            relational = is_relational(assoc, model.move)
            level, keys = parse_move(identifier, model, relational=relational)
            instances = self._instances(level, keys)
            if self._ensure_online is not None and instances:
                try:
                    if self._ensure_online(list(dict.fromkeys(i.study_instance_uid for i in instances))):
                        instances = self._instances(level, keys)  # the rows now point to the fetched files
                except Exception as exc:
                    LOGGER.warning("C-MOVE refused: %s", exc)  # the Error Comment is 64 characters at most
                    respond(SUBOPERATIONS_FAILED, comment="study in the archive, fetch-back failed; try again later")
                    return
            overlays = self._overlays(instances)
        except IdentifierError as exc:
            respond(exc.status, comment=exc.comment)
            return
        except Exception as exc:
            LOGGER.exception("C-MOVE could not be prepared")
            respond(SUBOPERATIONS_FAILED, comment=f"retrieve failed: {type(exc).__name__}")
            return
        if len(instances) > 0xFFFF:  # the sub-operation counts are US (PS3.7 9.3.4.2)
            respond(0xA701, comment="More than 65535 instances: retrieve by study or series")
            return
        counts = _Counts(remaining=len(instances))
        LOGGER.info("C-MOVE of %d instances to %s", len(instances), destination.ae_title)
        if not instances:
            respond(SUCCESS, counts)
            return
        all_uids = [i.sop_instance_uid for i in instances]
        store = self._associate(destination, instances)
        if store is None or not store.is_established:
            counts = _Counts(remaining=0, failed=len(instances))
            respond(UNABLE_TO_PROCESS, counts, all_uids, comment=f"{destination.ae_title} refused the association")
            return
        failed: list[str] = []
        originator = str(assoc.requestor.ae_title).strip()
        sender = take(store)  # the C-STORE requests written and answered on this thread
        try:
            for number, item in enumerate(instances):
                if cancelled():
                    LOGGER.info("C-MOVE cancelled by the peer, %d sub-operations remaining", counts.remaining)
                    respond(CANCEL, counts, failed)
                    return
                if not assoc.is_established:
                    return
                status = self._send(store, sender, item, originator, int(req.MessageID or 0), number,
                                    overlays.get(item.study_instance_uid))
                counts.remaining -= 1
                outcome = store_outcome(status)
                if outcome == "failed":
                    counts.failed += 1
                    failed.append(item.sop_instance_uid)
                elif outcome == "warning":
                    counts.warning += 1
                else:
                    counts.completed += 1
                if counts.remaining:  # encoded directly: only the counts change (app.server.move_commands)
                    send_command(assoc, context.context_id, encode_pending_move_response(
                        int(req.MessageID or 0), str(req.AffectedSOPClassUID), counts.remaining, counts.completed,
                        counts.failed, counts.warning,
                    ))
                if not store.is_established:
                    counts.failed += counts.remaining
                    failed.extend(all_uids[number + 1:])
                    counts.remaining = 0
                    break
        finally:
            if sender is not None:
                sender.close()
            if store.is_established:
                store.release()
        if not counts.failed and not counts.warning:
            respond(SUCCESS, counts)
        elif counts.failed == len(instances):
            respond(SUBOPERATIONS_FAILED, counts, failed)
        else:
            respond(WARNING, counts, failed)

    def _instances(self, level: Level, keys: dict[str, str]) -> list[StoredInstance]:
        """The stored instances a C-MOVE identifier names, each SOP Instance UID once.

        The unique keys given (all those above the level for a hierarchical retrieve, maybe
        only the level's own for a relational one) are matched together, so a study of
        another patient or a series of another study is not moved.
        """
        if level is Level.PATIENT:
            rows = self._catalogue.search(SearchRequest(Level.STUDY, {"PatientID": keys["PatientID"]}))
        else:
            rows = self._catalogue.search(SearchRequest(level, dict(keys)))
        targets = dict.fromkeys(
            (
                row["StudyInstanceUID"],
                row.get("SeriesInstanceUID") if level in (Level.SERIES, Level.IMAGE) else None,
                row.get("SOPInstanceUID") if level is Level.IMAGE else None,
            )
            for row in rows
        )
        found: list[StoredInstance] = []
        for study_uid, series_uid, sop_uid in targets:
            found.extend(self._catalogue.stored_instances(study_uid, series_uid, sop_uid))
        by_uid = {i.sop_instance_uid: i for i in found}  # the last stored copy of each
        return list(by_uid.values())

    def _overlays(self, instances: list[StoredInstance]) -> dict[str, CatalogueValues]:
        """The catalogue values of the corrected studies among ``instances``, by study UID."""
        if self._values_of is None:
            return {}
        found = {}
        for study_uid in dict.fromkeys(i.study_instance_uid for i in instances):
            values = self._values_of(study_uid)
            if values is not None and values.corrected:
                found[study_uid] = values
        return found

    def _associate(self, destination: Destination, instances: list[StoredInstance]) -> Any:
        """Open the Storage SCU association to the destination (PS3.4 B.2, PS3.8 9.3.2)."""
        pairs = list(dict.fromkeys((i.sop_class_uid, i.transfer_syntax_uid) for i in instances))
        if len(pairs) > MAX_CONTEXTS:
            LOGGER.warning("C-MOVE needs %d presentation contexts; proposing the first %d", len(pairs), MAX_CONTEXTS)
        contexts = [
            build_context(sop_class, list(dict.fromkeys([stored, ExplicitVRLittleEndian, ImplicitVRLittleEndian])))
            for sop_class, stored in pairs[:MAX_CONTEXTS]
        ]
        try:
            return associate(self._config, destination, contexts)
        except Exception:
            LOGGER.exception("Could not reach the move destination %s", destination.ae_title)
            return None

    def _send(
        self, store: Any, sender: StoreSender | None, item: StoredInstance, originator: str, move_id: int, number: int,
        overlay: CatalogueValues | None = None,
    ) -> int | None:
        """One C-STORE sub-operation; its status, or None when it could not be sent.

        A file whose stored syntax was accepted goes through ``sender`` (the fast path) when
        there is one and its study was not corrected; anything else through pynetdicom's
        ``send_c_store`` with the association given back to pynetdicom for that request
        (with the catalogue's values when ``overlay`` is given)."""
        accepted = {
            str(cx.transfer_syntax[0]): cx.context_id
            for cx in store.accepted_contexts
            if str(cx.abstract_syntax) == item.sop_class_uid
        }
        if not accepted:
            LOGGER.warning("Destination accepted no context for SOP class %s", item.sop_class_uid)
            return None
        msg_id = (move_id + number + 1) % 65536
        try:
            path = self._path_of(item.relpath)
            if sender is not None and overlay is None and item.transfer_syntax_uid in accepted:
                if not sender.usable:
                    return None
                try:
                    return sender.send(
                        path, accepted[item.transfer_syntax_uid], item.sop_class_uid, item.sop_instance_uid, msg_id,
                        originator, move_id,
                    )
                except NotSendable as exc:
                    LOGGER.info("Sub-operation through pynetdicom: %s", exc)
            dataset: Path | Dataset = path
            if item.transfer_syntax_uid not in accepted:
                if UID(item.transfer_syntax_uid).is_compressed:
                    LOGGER.warning("Destination did not accept the stored transfer syntax of an instance")
                    return None
                dataset = dcmread(path)  # converted to an accepted uncompressed syntax
            if overlay is not None:
                dataset = apply_catalogue_values(dataset if isinstance(dataset, Dataset) else dcmread(path), overlay)
            if sender is not None:
                sender.close()  # send_c_store pauses and resumes the reactor itself
            try:
                status = store.send_c_store(dataset, msg_id=msg_id, originator_aet=originator, originator_id=move_id)
            finally:
                if sender is not None and sender.usable and store.is_established:
                    sender.own()
            return int(status.Status) if "Status" in status else None
        except Exception as exc:
            LOGGER.warning("C-STORE sub-operation failed: %s", exc)
            return None
