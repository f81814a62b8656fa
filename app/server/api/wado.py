"""WADO-RS: retrieve studies, series, instances and their metadata (PS3.18 10.4).

Files are sent as stored (``transfer-syntax=*``; we never transcode), streamed from the
storage area in 1 MiB chunks, as ``multipart/related; type="application/dicom"``; a single
instance is also available as plain ``application/dicom`` when the Accept header asks
exactly for that (PS3.18 8.7.3). The instances of a study whose patient or study attributes
were corrected are read and sent with the catalogue's values instead
(:func:`app.server.corrections.apply_catalogue_values`; no Content-Length then).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from io import BytesIO

import pydicom
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from app.core.errors import NotFoundError
from app.server.api.deps import ApiContext
from app.server.api.multipart import MediaType, closing, new_boundary, parse_accept, part_header
from app.server.corrections import apply_catalogue_values
from app.server.index.admin_records import CatalogueValues
from app.server.index.records import StoredInstance

LOGGER = logging.getLogger(__name__)

router = APIRouter()


class NotAcceptable(Exception):
    """The Accept header names no representation we can send (HTTP 406)."""


def _syntax_ok(media: MediaType, files: list[StoredInstance]) -> bool:
    wanted = media.params.get("transfer-syntax", "*")
    return wanted == "*" or all(f.transfer_syntax_uid == wanted for f in files)


def choose(accept: str, files: list[StoredInstance], single: bool) -> str:
    """``multipart`` or ``single`` from the Accept header (PS3.18 8.7.3.5)."""
    if not accept.strip():
        return "multipart"
    for media in parse_accept(accept):
        if media.quality <= 0:
            continue
        if media.type in ("*/*", "multipart/*"):
            return "multipart"
        if media.type == "multipart/related":
            if media.params.get("type", "application/dicom").lower() == "application/dicom" and _syntax_ok(
                media, files
            ):
                return "multipart"
        elif media.type in ("application/dicom", "application/*") and single and _syntax_ok(media, files):
            return "single"
    raise NotAcceptable(
        'only multipart/related; type="application/dicom" (and application/dicom for one instance) '
        "can be sent, in the transfer syntax each instance is stored in"
    )


def _overlay(ctx: ApiContext, study: str) -> CatalogueValues | None:
    """The catalogue values of a corrected study (None: files go out as stored)."""
    values = ctx.corrections.catalogue_values(study) if ctx.corrections is not None else None
    return values if values is not None and values.corrected else None


def _corrected(ctx: ApiContext, f: StoredInstance, values: CatalogueValues) -> bytes:
    """The stored file with the catalogue's patient/study values, as Part 10 bytes."""
    with ctx.storage.open(f.relpath) as fh:
        ds = pydicom.dcmread(fh)
    out = BytesIO()
    apply_catalogue_values(ds, values).save_as(out, enforce_file_format=True)
    return out.getvalue()


def _corrected_multipart(ctx: ApiContext, files: list[StoredInstance], values: CatalogueValues) -> StreamingResponse:
    boundary = new_boundary()

    def body() -> Iterator[bytes]:
        for f in files:
            try:
                data = _corrected(ctx, f, values)
            except Exception as exc:  # a missing or unreadable file: left out, as _multipart does
                LOGGER.error("cannot send instance %s with corrected values: %s", f.sop_instance_uid, exc)
                continue
            yield part_header(boundary, f"application/dicom; transfer-syntax={f.transfer_syntax_uid}", len(data))
            yield data
            yield b"\r\n"
        yield closing(boundary)

    return StreamingResponse(body(), media_type=f'multipart/related; type="application/dicom"; boundary={boundary}')


def _multipart(ctx: ApiContext, files: list[StoredInstance]) -> StreamingResponse:
    boundary = new_boundary()
    present: list[tuple[StoredInstance, int]] = []
    for f in files:
        try:
            present.append((f, ctx.storage.size(f.relpath)))
        except NotFoundError:
            LOGGER.error("stored file of instance %s is missing (%s)", f.sop_instance_uid, f.relpath)
    if not present:
        raise NotFoundError("the stored files of this request are missing from the storage area")
    heads = [part_header(boundary, f"application/dicom; transfer-syntax={f.transfer_syntax_uid}", size)
             for f, size in present]
    total = sum(len(h) + size + 2 for h, (_, size) in zip(heads, present, strict=True)) + len(closing(boundary))

    def body() -> Iterator[bytes]:
        for head, (f, _size) in zip(heads, present, strict=True):
            yield head
            yield from ctx.storage.read_chunks(f.relpath)
            yield b"\r\n"
        yield closing(boundary)

    media_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    return StreamingResponse(body(), media_type=media_type, headers={"Content-Length": str(total)})


def _online(
    ctx: ApiContext, files: list[StoredInstance], study: str, series: str | None, instance: str | None
) -> list[StoredInstance]:
    """``files``, read again after the study was fetched back from the archive when its online
    copy had been removed (:mod:`app.server.archive_fetch`; 503 when that fails)."""
    if files and ctx.archive is not None and ctx.archive.fetcher.ensure_online([study]):
        return ctx.catalogue.stored_instances(study, series, instance)
    return files


def retrieve(request: Request, study: str, series: str | None = None, instance: str | None = None) -> Response:
    """Answer one WADO-RS retrieve; 404 when nothing matches, 406 for an Accept we cannot meet;
    an archived study not online is fetched back first (503 when that fails)."""
    ctx: ApiContext = request.app.state.ctx
    files = ctx.catalogue.stored_instances(study, series, instance)
    if not files:
        what = "instance" if instance else "series" if series else "study"
        raise NotFoundError(f"no such {what} in this server")
    files = _online(ctx, files, study, series, instance)
    mode = choose(request.headers.get("accept", ""), files, single=instance is not None)
    values = _overlay(ctx, study)
    if values is not None:
        if mode == "single":
            data = _corrected(ctx, files[-1], values)
            return Response(data, media_type=f"application/dicom; transfer-syntax={files[-1].transfer_syntax_uid}")
        return _corrected_multipart(ctx, files, values)
    if mode == "single":
        f = files[-1]  # with duplicates kept, the copy received last
        ctx.storage.size(f.relpath)  # 404 now rather than a broken stream
        return StreamingResponse(
            ctx.storage.read_chunks(f.relpath),
            media_type=f"application/dicom; transfer-syntax={f.transfer_syntax_uid}",
            headers={"Content-Length": str(ctx.storage.size(f.relpath))},
        )
    return _multipart(ctx, files)


def _metadata_json(ctx: ApiContext, f: StoredInstance, values: CatalogueValues | None = None) -> bytes:
    """One instance's attributes as DICOM JSON (PS3.18 F.2), pixel data left out; with the
    catalogue's values when the study was corrected."""
    with ctx.storage.open(f.relpath) as fh:
        ds = pydicom.dcmread(fh, stop_before_pixels=True)
    if values is not None:
        apply_catalogue_values(ds, values)
    return json.dumps(ds.to_json_dict(bulk_data_threshold=1 << 20), separators=(",", ":")).encode()


def metadata(request: Request, study: str, series: str | None = None, instance: str | None = None) -> Response:
    """WADO-RS metadata (PS3.18 10.4.1.1.2): a DICOM JSON array, one data set per instance,
    streamed; bulk data other than pixel data up to 1 MiB inline, pixel data left out."""
    ctx: ApiContext = request.app.state.ctx
    files = ctx.catalogue.stored_instances(study, series, instance)
    if not files:
        raise NotFoundError("no such " + ("instance" if instance else "series" if series else "study"))
    files = _online(ctx, files, study, series, instance)
    values = _overlay(ctx, study)

    def body() -> Iterator[bytes]:
        yield b"["
        first = True
        for f in files:
            try:
                item = _metadata_json(ctx, f, values)
            except Exception as exc:
                LOGGER.error("cannot read the metadata of instance %s: %s", f.sop_instance_uid, exc)
                continue
            yield item if first else b"," + item
            first = False
        yield b"]"

    return StreamingResponse(body(), media_type="application/dicom+json")


@router.get("/studies/{study}/metadata")
def retrieve_study_metadata(request: Request, study: str) -> Response:
    """Metadata of a study (``/studies/{study}/metadata``)."""
    return metadata(request, study)


@router.get("/studies/{study}/series/{series}/metadata")
def retrieve_series_metadata(request: Request, study: str, series: str) -> Response:
    """Metadata of a series (``/studies/{study}/series/{series}/metadata``)."""
    return metadata(request, study, series)


@router.get("/studies/{study}/series/{series}/instances/{instance}/metadata")
def retrieve_instance_metadata(request: Request, study: str, series: str, instance: str) -> Response:
    """Metadata of an instance (``.../instances/{instance}/metadata``)."""
    return metadata(request, study, series, instance)


@router.get("/studies/{study}")
def retrieve_study(request: Request, study: str) -> Response:
    """Retrieve a study (PS3.18 10.4.1, ``/studies/{study}``)."""
    return retrieve(request, study)


@router.get("/studies/{study}/series/{series}")
def retrieve_series(request: Request, study: str, series: str) -> Response:
    """Retrieve a series (``/studies/{study}/series/{series}``)."""
    return retrieve(request, study, series)


@router.get("/studies/{study}/series/{series}/instances/{instance}")
def retrieve_instance(request: Request, study: str, series: str, instance: str) -> Response:
    """Retrieve an instance (``/studies/{study}/series/{series}/instances/{instance}``)."""
    return retrieve(request, study, series, instance)
