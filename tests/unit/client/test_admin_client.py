"""AdminClient without a server: a closed port is ServerUnavailableError with a message to act on.
(The client against the real server: tests/integration/test_admin_api.py.)"""

from __future__ import annotations

import socket

import pytest

from app.client.admin import AdminClient
from app.core.errors import ServerUnavailableError


def test_unreachable_server_says_what_to_check() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with AdminClient(f"http://127.0.0.1:{port}/", timeout=2) as client, pytest.raises(
        ServerUnavailableError, match="Check that the server is running"
    ):
        client.study_statuses()
