"""The offer/answer exchange between web and ingest: every way it fails is a 4xx or a 503."""

import socket
import time

import pytest
import redis
from django.conf import settings

from proctoring.ingest import rpc
from proctoring.models import Attempt, MediaSession
from tests.proctoring.test_api_agent import SESSIONS, session_body


def without_video_line(offer: dict) -> dict:
    """The video m-line dropped: BUNDLE names a missing mid, and aiortc, failing to answer,
    then fails to close the connection as well."""
    lines = offer["sdp"].split("\r\n")
    return {"type": "offer", "sdp": "\r\n".join(x for x in lines if not x.startswith("m=video"))}


def test_an_offer_aiortc_can_neither_answer_nor_close_is_400_at_once(
    anonymous_api, new_client, offer, ingest
):
    # The ingest used to die on the failed close without replying: the web waited, then 500.
    began = time.monotonic()
    body = session_body(new_client, without_video_line(offer))
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_sdp"
    assert response.json()["message"].startswith("The SDP offer could not be used")
    assert time.monotonic() - began < settings.PROCTOR_OFFER_TIMEOUT_S / 2
    assert not Attempt.objects.exists() and not MediaSession.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_redis_unreachable_is_503(anonymous_api, new_client, offer, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    unreachable = redis.ConnectionPool.from_url(f"redis://127.0.0.1:{closed_port}/0")
    monkeypatch.setattr(rpc, "_pool", unreachable)
    response = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert response.status_code == 503
    assert response.json() == {
        "code": "ingest_unavailable",
        "message": "The media ingest cannot be reached; try again shortly.",
    }
    assert not Attempt.objects.exists() and not MediaSession.objects.exists()


def test_the_wait_for_an_answer_outlasts_the_offer_timeout(monkeypatch):
    # redis-py's default 5 s read timeout cut the 10 s wait short with a 500.
    monkeypatch.setattr(rpc, "_pool", None)
    kwargs = rpc.sync_redis().connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] > settings.PROCTOR_OFFER_TIMEOUT_S
