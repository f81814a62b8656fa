"""QIDO-RS: search for studies, series and instances (PS3.18 10.6).

Responses are ``application/dicom+json`` arrays (PS3.18 F.2); an empty result is
``200 []`` (PS3.18 10.6.3.2 allows 204 too; clients handle an empty array best).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.server.api.deps import ApiContext
from app.server.api.dicomjson import datasets, keyword_of
from app.server.index.records import ATTRIBUTES, DEFAULT_RETURN, Level, QueryError, SearchRequest

DICOM_JSON = "application/dicom+json"
_CONTROL = {"limit", "offset", "includefield", "fuzzymatching"}
_MAX_LIMIT = 100_000

router = APIRouter()


def _int_param(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise QueryError(f"{name}={value!r} is not a whole number") from None
    if number < 0 or number > _MAX_LIMIT * 100:
        raise QueryError(f"{name}={value!r} is out of range")
    return number


def parse_search(request: Request, level: Level, scope: dict[str, str]) -> tuple[SearchRequest, list[str]]:
    """Turn query parameters into a :class:`SearchRequest` (PS3.18 8.3.4).

    Returns the request and the warnings for keys that are valid DICOM attributes but
    not indexed (ignored, reported in a ``Warning`` header, PS3.18 8.3.4.1).
    """
    filters: dict[str, str] = {}
    returned: list[str] = []
    include_all = False
    limit: int | None = None
    offset = 0
    warnings: list[str] = []
    for name, value in request.query_params.multi_items():
        lower = name.lower()
        if lower == "limit":
            limit = _int_param(name, value)
        elif lower == "offset":
            offset = _int_param(name, value)
        elif lower == "fuzzymatching":
            if value.lower() not in ("true", "false"):
                raise QueryError(f"fuzzymatching={value!r}: use true or false")
            if value.lower() == "true":
                warnings.append("fuzzymatching is not supported; exact matching was used")
        elif lower == "includefield":
            for item in value.split(","):
                item = item.strip()
                if item.lower() == "all":
                    include_all = True
                elif item:
                    keyword = keyword_of(item)
                    if keyword is None:
                        raise QueryError(f"includefield {item!r} is not a DICOM keyword or tag")
                    returned.append(keyword)
        else:
            keyword = keyword_of(name)
            if keyword is None:
                raise QueryError(f"{name!r} is neither a query parameter nor a DICOM keyword or tag")
            if keyword not in ATTRIBUTES:
                warnings.append(f"{keyword} is not a supported matching key and was ignored")
                continue
            if keyword in filters:
                raise QueryError(f"{keyword} is given more than once")
            filters[keyword] = value
    for keyword, value in scope.items():
        filters[keyword] = value
    # Unscoped series and instance searches also return the attributes of the levels above
    # (PS3.18 Table 10.6.3-4 and -5).
    if level is not Level.STUDY and "StudyInstanceUID" not in scope:
        returned.extend(DEFAULT_RETURN[Level.STUDY])
    if level is Level.IMAGE and "SeriesInstanceUID" not in scope:
        returned.extend(DEFAULT_RETURN[Level.SERIES])
    search = SearchRequest(level, filters, tuple(returned), include_all, limit, offset)
    return search, warnings


def _retrieve_url(base: str, row: dict[str, Any], level: Level) -> str:
    url = f"{base}/studies/{row.get('StudyInstanceUID')}"
    if level in (Level.SERIES, Level.IMAGE):
        url += f"/series/{row.get('SeriesInstanceUID')}"
    if level is Level.IMAGE:
        url += f"/instances/{row.get('SOPInstanceUID')}"
    return url


def search(request: Request, level: Level, scope: dict[str, str]) -> JSONResponse:
    """Run one QIDO-RS search and answer DICOM JSON."""
    ctx: ApiContext = request.app.state.ctx
    search_request, warnings = parse_search(request, level, scope)
    rows = ctx.catalogue.search(search_request)
    base = str(request.base_url).rstrip("/") + "/dicom-web"
    for row in rows:
        row["RetrieveURL"] = _retrieve_url(base, row, level)
    headers = {"Warning": ", ".join(f'299 lightbox "{w}"' for w in warnings)} if warnings else None
    return JSONResponse(datasets(rows), media_type=DICOM_JSON, headers=headers)


@router.get("/studies")
def search_studies(request: Request) -> JSONResponse:
    """Search for studies (PS3.18 10.6.1, ``/studies``)."""
    return search(request, Level.STUDY, {})


@router.get("/series")
def search_all_series(request: Request) -> JSONResponse:
    """Search for series of every study (``/series``)."""
    return search(request, Level.SERIES, {})


@router.get("/studies/{study}/series")
def search_study_series(request: Request, study: str) -> JSONResponse:
    """Search for the series of one study (``/studies/{study}/series``)."""
    return search(request, Level.SERIES, {"StudyInstanceUID": study})


@router.get("/instances")
def search_all_instances(request: Request) -> JSONResponse:
    """Search for instances of every study (``/instances``)."""
    return search(request, Level.IMAGE, {})


@router.get("/studies/{study}/instances")
def search_study_instances(request: Request, study: str) -> JSONResponse:
    """Search for the instances of one study (``/studies/{study}/instances``)."""
    return search(request, Level.IMAGE, {"StudyInstanceUID": study})


@router.get("/studies/{study}/series/{series}/instances")
def search_series_instances(request: Request, study: str, series: str) -> JSONResponse:
    """Search for the instances of one series (``/studies/{study}/series/{series}/instances``)."""
    return search(request, Level.IMAGE, {"StudyInstanceUID": study, "SeriesInstanceUID": series})


