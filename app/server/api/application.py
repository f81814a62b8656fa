"""The FastAPI application: routes, admin endpoints and the mapping of errors to HTTP."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.core.errors import (
    AppError,
    ConflictError,
    DicomInputError,
    IndexFailure,
    InvalidRequestError,
    NotFoundError,
    ServerUnavailableError,
    StorageError,
)
from app.server.api import (
    admin_studies,
    archive,
    changes,
    destinations,
    jobs,
    mpps,
    patients,
    qido,
    send,
    stow,
    wado,
    worklist,
)
from app.server.api.deps import ApiContext

LOGGER = logging.getLogger(__name__)


def _error(status: int, message: str) -> JSONResponse:
    """An error answer: ``{"detail": message}`` (FastAPI's own shape; ``error`` kept for older clients)."""
    return JSONResponse({"detail": message, "error": message}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    """FastAPI's list of validation errors as one sentence naming the fields."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "invalid request (" + "; ".join(parts) + "); see /openapi.json for the expected shape"


def create_app(ctx: ApiContext) -> FastAPI:
    """Build the HTTP application over the server's catalogue, storage area and ingest."""
    app = FastAPI(title="Lightbox server", version=ctx.version, docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    app.include_router(qido.router, prefix="/dicom-web")
    app.include_router(wado.router, prefix="/dicom-web")
    app.include_router(stow.router, prefix="/dicom-web")
    app.include_router(mpps.router)
    app.include_router(jobs.router)
    app.include_router(worklist.router)
    app.include_router(admin_studies.router)
    app.include_router(patients.router)
    app.include_router(changes.router)
    app.include_router(destinations.router)
    app.include_router(send.router)
    app.include_router(archive.router)

    @app.get("/api/health")
    def health() -> dict[str, str]:
        """Liveness: answers as long as the process serves HTTP."""
        return {"status": "ok"}

    @app.get("/api/status")
    def status() -> dict[str, object]:
        """Version, change counter (grows on every change of the index) and instance count."""
        return {
            "version": ctx.version,
            "changes": ctx.catalogue.change_counter(),
            "instances": ctx.catalogue.count_instances(),
        }

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(DicomInputError)
    async def _bad_input(_request: Request, exc: DicomInputError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(jobs.JobConflict)
    @app.exception_handler(ConflictError)
    async def _conflict(_request: Request, exc: AppError) -> JSONResponse:
        return _error(409, str(exc))

    @app.exception_handler(InvalidRequestError)
    async def _invalid(_request: Request, exc: InvalidRequestError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(wado.NotAcceptable)
    async def _not_acceptable(_request: Request, exc: wado.NotAcceptable) -> JSONResponse:
        return _error(406, str(exc))

    @app.exception_handler(stow.PayloadTooLarge)
    async def _too_large(_request: Request, exc: stow.PayloadTooLarge) -> JSONResponse:
        return _error(413, str(exc))

    @app.exception_handler(stow.UnsupportedMediaType)
    async def _unsupported(_request: Request, exc: stow.UnsupportedMediaType) -> JSONResponse:
        return _error(415, str(exc))

    @app.exception_handler(IndexFailure)
    @app.exception_handler(StorageError)
    @app.exception_handler(ServerUnavailableError)
    async def _unavailable(_request: Request, exc: AppError) -> JSONResponse:
        LOGGER.error("request failed: %s", exc)
        return _error(503, f"{exc}; try again later or check the server log")

    return app
