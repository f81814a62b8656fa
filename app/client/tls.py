"""The TLS context the HTTP clients share.

httpx builds a verifying SSL context for every client it makes, loading the whole CA bundle
each time (~50-150 ms here): the viewer makes clients while it opens a study (key images, the
admin API), on the GUI thread. One context per process, built the way httpx builds its default
(certifi's bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), serves them all.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's verifying TLS context for :class:`httpx.Client` (``verify=``)."""
    return httpx.create_ssl_context()
