"""The HTTP API of the server: DICOMweb under ``/dicom-web`` (PS3.18: QIDO-RS, WADO-RS,
STOW-RS) and a small admin API under ``/api``.

The only package of the server that imports the HTTP framework (DESIGN.md section 2).
"""

from app.server.api.application import create_app
from app.server.api.deps import DEFAULT_MAX_REQUEST_BYTES, ApiContext

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "ApiContext", "create_app"]
