"""The offer/answer exchange between web and ingest: every way it fails is a 4xx or a 503."""

import logging
import socket
import time

import pytest
import redis
from django.conf import settings

from proctoring import media_rpc, messages
from proctoring.models import Attempt, MediaSession
from tests.proctoring.builders import NOTHING_REQUIRED, SESSIONS, session_body


def without_video_line(offer: dict) -> dict:
    """The video m-line dropped: BUNDLE names a missing mid, and aiortc, failing to answer,
    then fails to close the connection as well."""
    lines = offer["sdp"].split("\r\n")
    return {"type": "offer", "sdp": "\r\n".join(x for x in lines if not x.startswith("m=video"))}


def wait_until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_an_offer_aiortc_can_neither_answer_nor_close_is_400_at_once(
    anonymous_api, new_client, offer, ingest
):
    # The ingest used to die on the failed close without replying: the web waited, then 500.
    began = time.monotonic()
    body = session_body(new_client, without_video_line(offer), options=NOTHING_REQUIRED)
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_sdp"
    assert response.json()["message"].startswith("The SDP offer could not be used")
    # aiortc fails inside itself on this offer: its AttributeError text is no use to anyone.
    assert response.json()["message"] == (
        "The SDP offer could not be used: aiortc could not negotiate it (AttributeError)"
    )
    assert time.monotonic() - began < settings.PROCTOR_OFFER_TIMEOUT_S / 2
    assert not Attempt.objects.exists() and not MediaSession.objects.exists()


def test_a_recording_the_ingest_cannot_write_is_503_at_once_not_invalid_sdp(
    anonymous_api, new_client, offer, ingest, tmp_path, monkeypatch, caplog
):
    # The spool's parent is a file: the node cannot record, whatever the agent offered. That
    # used to kill the answering task silently (the web waited out its timeout), and a failed
    # recorder start was answered 400 invalid_sdp, which the agent does not retry.
    from proctoring.ingest import server

    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    monkeypatch.setattr(server, "RECORDING_SPOOL", blocker / "spool")
    recorded = {"trackingOptions": {"recordSession": True}}
    began = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="proctoring.ingest.server"):
        response = anonymous_api.post(
            SESSIONS, session_body(new_client, offer, options=recorded), format="json"
        )
    assert response.status_code == 503
    assert response.json() == {
        "code": "ingest_unavailable",
        "message": "This media ingest cannot record the session now; try again shortly.",
    }
    assert time.monotonic() - began < settings.PROCTOR_OFFER_TIMEOUT_S / 2
    assert not Attempt.objects.exists() and not MediaSession.objects.exists()
    assert "the recording could not be started" in caplog.text
    # The refusal left no offer counted as in flight: the same node still answers.
    response = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert response.status_code == 201, response.json()
    # The node counts the offer done just after replying: give it that moment.
    wait_until(lambda: not ingest._answering)


def test_a_refused_recorded_offer_leaves_no_recording_session_or_error_behind(
    anonymous_api, new_client, offer, ingest, tmp_path, monkeypatch, caplog
):
    # The session, its recorder and its tracks are built while aiortc reads the offer.
    from proctoring.ingest import server

    monkeypatch.setattr(server, "RECORDING_SPOOL", tmp_path / "spool")
    recorded = {"trackingOptions": {**NOTHING_REQUIRED["trackingOptions"], "recordSession": True}}
    body = session_body(new_client, without_video_line(offer), options=recorded)
    with caplog.at_level(logging.INFO, logger="proctoring"):
        response = anonymous_api.post(SESSIONS, body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_sdp"
        wait_until(lambda: not ingest._answering)
        time.sleep(0.5)  # whatever the refused session's tracks set off has run by now
    assert list((tmp_path / "spool").glob("*")) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert not ingest.sessions and not MediaSession.objects.exists()


def test_a_refusal_tells_aiortc_s_reason_about_the_offer_on_one_bounded_line():
    from aiortc.exceptions import OperationError

    from proctoring.ingest.server import MAX_REFUSAL_DETAIL, refusal_message

    assert refusal_message(OperationError("Failed to set remote video description")) == (
        "The SDP offer could not be used: Failed to set remote video description"
    )
    long = refusal_message(ValueError("bad line\r\n" + "x" * 1000))
    assert "\n" not in long and long.endswith("…")
    assert len(long) == len("The SDP offer could not be used: ") + MAX_REFUSAL_DETAIL
    internal = refusal_message(KeyError("_unregister_data_receiver"))
    assert internal.endswith("aiortc could not negotiate it (KeyError)")


@pytest.mark.django_db(transaction=True)
def test_redis_unreachable_is_503(anonymous_api, new_client, offer, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    unreachable = redis.ConnectionPool.from_url(f"redis://127.0.0.1:{closed_port}/0")
    monkeypatch.setattr(media_rpc, "_pool", unreachable)
    response = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert response.status_code == 503
    assert response.json() == {
        "code": "ingest_unavailable",
        "message": "The media ingest cannot be reached; try again shortly.",
    }
    assert not Attempt.objects.exists() and not MediaSession.objects.exists()


def test_the_wait_for_an_answer_outlasts_the_offer_timeout(monkeypatch):
    # redis-py's default 5 s read timeout cut the 10 s wait short with a 500.
    monkeypatch.setattr(media_rpc, "_pool", None)
    kwargs = media_rpc.sync_redis().connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] > settings.PROCTOR_OFFER_TIMEOUT_S


def test_offers_go_to_the_least_loaded_live_node_first(redis_client):
    redis_client.hset(messages.LOAD_KEY, mapping={"rpc-a": 3, "rpc-b": 1})
    try:
        order = media_rpc.placement_order(redis_client, ["rpc-a", "rpc-b", "rpc-new"])
    finally:
        redis_client.hdel(messages.LOAD_KEY, "rpc-a", "rpc-b")
    assert order == ["rpc-new", "rpc-b", "rpc-a"]


def test_a_dead_node_not_yet_stale_loses_the_offer_to_a_live_one(
    anonymous_api, new_client, offer, ingest, redis_client
):
    # A host lost a moment ago still looks alive (its last heartbeat is recent) and, with no
    # sessions left, least loaded: the offer placed on it is taken back and answered elsewhere.
    dead = "host-lost-a-moment-ago"
    redis_client.zadd(messages.NODES_KEY, {dead: time.time()})
    redis_client.hset(messages.LOAD_KEY, dead, -100)
    try:
        began = time.monotonic()
        response = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
        elapsed = time.monotonic() - began
        left_behind = redis_client.llen(messages.NODE_OFFERS_KEY.format(node=dead))
    finally:
        redis_client.zrem(messages.NODES_KEY, dead)
        redis_client.hdel(messages.LOAD_KEY, dead)
    assert response.status_code == 201, response.json()
    assert MediaSession.objects.get().ingest_node == ingest.node
    assert left_behind == 0
    assert messages.OFFER_PICKUP_S <= elapsed < settings.PROCTOR_OFFER_TIMEOUT_S / 2


def test_the_heartbeat_tells_the_load_and_what_each_session_handed_over(
    anonymous_api, new_client, offer, ingest, redis_client
):
    response = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert response.status_code == 201, response.json()
    session_id = str(MediaSession.objects.get().pk)
    # No agent streams behind this offer: stand in for the samples its outbox would have sent.
    ingest.sessions[session_id].enqueued = 7
    wait_until(
        lambda: (
            media_rpc.samples_sent(node=ingest.node, session_ids=[session_id]) == {session_id: 7}
        ),
        timeout_s=3 * messages.HEARTBEAT_INTERVAL_S,
    )
    assert redis_client.hget(messages.LOAD_KEY, ingest.node) == b"1"
    redis_client.delete(messages.SENT_KEY.format(node=ingest.node))
