"""C-FIND as SCU: a cancel token set during the request sends C-CANCEL-RQ, the peer stops,
and the matches received until then are kept (PS3.7 9.3.2.3, PS3.4 C.4.1.2.3); the
bound on matches cancels by itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pydicom.dataset import Dataset

from app.net.association import Peer, ScuSettings
from app.net.find import CANCELLED, find
from app.services.cancel import CancelToken
from tests.slow_find_peer import SlowFindPeer


@pytest.fixture
def peer() -> Iterator[tuple[SlowFindPeer, Peer]]:
    slow = SlowFindPeer(matches=400, delay=0.01)
    port = slow.start()
    yield slow, Peer(slow.ae_title, "127.0.0.1", port)
    slow.stop()


def _query() -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.PatientName = ""
    ds.StudyInstanceUID = ""
    return ds


def test_cancel_sends_c_cancel_and_keeps_matches(peer: tuple[SlowFindPeer, Peer]) -> None:
    slow, remote = peer
    token = CancelToken()
    seen: list[Dataset] = []

    def on_match(ds: Dataset) -> None:
        seen.append(ds)
        if len(seen) == 10:
            token.cancel()

    result = find(ScuSettings("TESTSCU", timeout=10), remote, _query(), cancel=token, on_match=on_match)
    assert slow.cancelled.wait(5), "the peer saw no C-CANCEL"
    assert result.cancelled and result.status == CANCELLED and result.ok
    assert 10 <= len(result.matches) < 400
    assert "cancelled" in result.describe()


def test_match_bound_cancels(peer: tuple[SlowFindPeer, Peer]) -> None:
    slow, remote = peer
    result = find(ScuSettings("TESTSCU", timeout=10), remote, _query(), max_matches=5)
    assert len(result.matches) == 5 and result.truncated and result.cancelled
    assert slow.cancelled.wait(5)


def test_cancel_before_first_response(peer: tuple[SlowFindPeer, Peer]) -> None:
    slow, remote = peer
    slow.delay = 0.2
    token = CancelToken()
    threading.Timer(0.1, token.cancel).start()
    result = find(ScuSettings("TESTSCU", timeout=10), remote, _query(), cancel=token)
    assert result.cancelled and len(result.matches) <= 2
