"""Agent endpoints: HMAC checks, bad input, start/resume/stop, against a real ingest loop."""

import logging
import time

import pytest

from proctoring import messages, signing
from proctoring.models import Attempt, MediaSession
from tests.proctoring.builders import (
    NOTHING_REQUIRED,
    SESSIONS,
    agent_credentials,
    session_body,
)


def assert_nothing_created():
    assert not Attempt.objects.exists()
    assert not MediaSession.objects.exists()


def test_start_resume_stop_and_refuse_restart(anonymous_api, new_client, offer, ingest):
    first = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert first.status_code == 201, first.content
    assert first.json()["resumed"] is False
    assert first.json()["answer"]["type"] == "answer"
    assert "a=candidate" in first.json()["answer"]["sdp"]

    again = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert again.status_code == 201
    assert again.json()["resumed"] is True
    attempt = Attempt.objects.get()
    assert attempt.status == "started"
    assert attempt.sessions.count() == 2

    creds = agent_credentials(new_client, "t-1")
    # The HMAC alone does not stop a test: only the client holding the session's token does.
    refused_stop = anonymous_api.post("/api/v1/agent/stop/", creds, format="json")
    assert refused_stop.status_code == 403
    assert refused_stop.json()["code"] == "invalid_session_token"
    assert attempt.audit_entries.get().action == "stop_refused"
    old_token = {**creds, "session_token": first.json()["session_token"]}
    assert anonymous_api.post("/api/v1/agent/stop/", old_token, format="json").status_code == 403
    creds["session_token"] = again.json()["session_token"]
    stop = anonymous_api.post("/api/v1/agent/stop/", creds, format="json")
    assert stop.status_code == 202
    assert stop.json()["status"] in ("stopping", "stopped")

    refused = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert refused.status_code == 409
    assert refused.json() == {
        "code": "attempt_stopped",
        "message": "This attempt has been stopped; it cannot be started again.",
    }
    assert attempt.sessions.count() == 2


def test_hex_hash_is_accepted(anonymous_api, new_client, offer, ingest):
    body = session_body(new_client, offer)
    body["hashed_test_attempt_id"] = signing.base64.b64decode(body["hashed_test_attempt_id"]).hex()
    assert anonymous_api.post(SESSIONS, body, format="json").status_code == 201


def test_sdp_the_ingest_cannot_use_is_refused(anonymous_api, new_client, ingest):
    bogus = {"type": "offer", "sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"}
    body = session_body(new_client, bogus, options=NOTHING_REQUIRED)
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_sdp"
    assert response.json()["message"].startswith("The SDP offer could not be used")
    assert_nothing_created()


@pytest.mark.django_db
def test_wrong_hash_is_403_and_creates_nothing(anonymous_api, new_client, offer):
    body = session_body(
        new_client, offer, hashed_test_attempt_id="aaoRmws2stj82DlxRqqtWNk/IRcumWCm8DCjuNHN6hA="
    )
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "code": "invalid_hash",
        "message": "hashed_test_attempt_id does not match test_attempt_id for this client.",
    }
    assert_nothing_created()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "offer_or_options",
    [
        {"offer": {"type": "offer", "sdp": "v=0\r\nm=x 9 RTP 0\r\n" * 5}},
        {"options": {"noSuchOption": True}},
    ],
    ids=["bad_sdp", "unknown_option"],
)
def test_a_wrong_hash_is_403_before_the_offer_or_options_are_read(
    anonymous_api, new_client, offer, offer_or_options
):
    # Unauthenticated callers learn nothing about the SDP checks and count against the limit.
    body = session_body(
        new_client, offer, hashed_test_attempt_id="aaoRmws2stj82DlxRqqtWNk/IRcumWCm8DCjuNHN6hA="
    )
    body.update(offer_or_options)
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_hash"
    assert_nothing_created()


@pytest.mark.django_db
def test_unknown_client_is_401(anonymous_api, new_client, offer):
    body = session_body(new_client, offer, client_id="cl_doesnotexist")
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 401
    assert response.json() == {"code": "unknown_client", "message": "Unknown or inactive client."}
    assert_nothing_created()


@pytest.mark.django_db
def test_attempt_id_over_40_characters_is_400(anonymous_api, new_client, offer):
    response = anonymous_api.post(
        SESSIONS, session_body(new_client, offer, attempt_id="x" * 41), format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "test_attempt_id" in response.json()["message"]
    assert_nothing_created()


@pytest.mark.django_db
def test_malformed_json_is_400(anonymous_api):
    response = anonymous_api.post(SESSIONS, '{"client_id": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert_nothing_created()


@pytest.mark.django_db
def test_unknown_option_is_400_naming_it(anonymous_api, new_client, offer):
    body = session_body(new_client, offer, options={"trackingOptions": {"numHuman": True}})
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "unknown_option",
        "message": "unknown option 'trackingOptions.numHuman'",
    }
    assert_nothing_created()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad_offer",
    [
        {"type": "offer", "sdp": "hello"},
        {"type": "answer", "sdp": "v=0\r\n"},
        "v=0",
        {"type": "offer", "sdp": "v=0\r\ns=-\r\n"},
        {"type": "offer", "sdp": "v=0\r\n" + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" * 5},
    ],
)
def test_sdp_that_is_not_an_offer_is_400(anonymous_api, new_client, bad_offer):
    response = anonymous_api.post(SESSIONS, session_body(new_client, bad_offer), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_sdp"
    assert_nothing_created()


@pytest.mark.django_db(transaction=True)
def test_no_ingest_running_is_503_and_creates_nothing(
    anonymous_api, new_client, offer, redis_client, caplog
):
    redis_client.delete(messages.NODES_KEY)
    with caplog.at_level(logging.WARNING):
        response = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "ingest_unavailable"
    assert_nothing_created()
    # Backpressure the agent retries through: one warning, no ERROR line for operators.
    assert [r.levelname for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any("ingest_unavailable" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_stop_before_start_is_409(anonymous_api, api, new_client, offer):
    api.post("/api/v1/attempts/", {"test_attempt_id": "t-1"}, format="json")
    creds = {k: v for k, v in session_body(new_client, offer).items() if k != "offer"}
    response = anonymous_api.post("/api/v1/agent/stop/", creds, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "attempt_not_started"


def test_a_resume_after_a_cut_records_the_offline_gap(anonymous_api, new_client, offer, ingest):
    import datetime as dt

    from proctoring.models import Attempt

    first = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert first.status_code == 201
    # The candidate was cut off: the attempt started 40 s ago and nothing was analysed since.
    Attempt.objects.update(started_at=Attempt.objects.get().started_at - dt.timedelta(seconds=40))
    again = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert again.json()["resumed"] is True
    offline = Attempt.objects.get().violations.get(type="offline")
    assert offline.start_s == 0.0
    assert offline.end_s == pytest.approx(40.0, abs=2.0)
    assert offline.details["seconds"] == pytest.approx(40.0, abs=2.0)
    assert offline.code == 5011


def test_a_full_ingest_leaves_new_offers_waiting_and_answers_again_when_a_session_ends(
    anonymous_api, new_client, offer, ingest, settings
):
    settings.PROCTOR_INGEST_MAX_SESSIONS = 1
    settings.PROCTOR_OFFER_TIMEOUT_S = 2
    first = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert first.status_code == 201, first.content
    assert ingest.full()

    body = session_body(new_client, offer, attempt_id="t-2")
    waited = anonymous_api.post(SESSIONS, body, format="json")
    assert waited.status_code == 503
    assert waited.json()["code"] == "ingest_unavailable"
    assert not MediaSession.objects.filter(attempt__test_attempt_id="t-2", ended_at=None).exists()

    creds = {**agent_credentials(new_client, "t-1"), "session_token": first.json()["session_token"]}
    assert anonymous_api.post("/api/v1/agent/stop/", creds, format="json").status_code == 202
    for _ in range(50):  # the ingest closes the stopped session through its control list
        if not ingest.full():
            break
        time.sleep(0.1)
    again = anonymous_api.post(SESSIONS, body, format="json")
    assert again.status_code == 201, again.content


def test_status_needs_the_session_token_too(anonymous_api, new_client, offer, ingest):
    started = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert started.status_code == 201
    creds = agent_credentials(new_client, "t-1")
    refused = anonymous_api.post("/api/v1/agent/status/", creds, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "invalid_session_token")
    creds["session_token"] = "x" * 43
    assert anonymous_api.post("/api/v1/agent/status/", creds, format="json").status_code == 403
    creds["session_token"] = started.json()["session_token"]
    status = anonymous_api.post("/api/v1/agent/status/", creds, format="json")
    assert status.status_code == 200 and status.json()["status"] == "started"
    # A status read refused is no threat to the test: only refused stops are audited.
    assert not Attempt.objects.get().audit_entries.filter(action="stop_refused").exists()
