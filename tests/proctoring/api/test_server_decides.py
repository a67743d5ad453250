"""The server decides what is monitored: the integrator's options are a floor, the client's policy
bounds a client-created attempt, a first start without a required track is refused, and the
candidate sees no score unless the integrator opts in."""

import time

import pytest

from proctoring import media_rpc
from proctoring.models import Attempt, ConcurrentSessions, MediaSession
from tests.proctoring.builders import SESSIONS, agent_credentials, session_body

OPTIONS = "/api/v1/agent/options/"
EVERYTHING_OFF = {"trackingOptions": {"audio": False, "numHumans": False}}


def create(api, attempt_id: str, options: dict, **extra):
    body = {"test_attempt_id": attempt_id, "options": options, **extra}
    response = api.post("/api/v1/attempts/", body, format="json")
    assert response.status_code == 201, response.content
    return response


@pytest.mark.django_db
def test_a_client_cannot_switch_off_what_the_integrator_created(api, anonymous_api, new_client):
    create(api, "i-1", {"trackingOptions": {"audio": True, "numHumans": True}})
    body = {**agent_credentials(new_client, "i-1"), "options": EVERYTHING_OFF}
    response = anonymous_api.post(OPTIONS, body, format="json")
    assert response.status_code == 200
    decided = response.json()
    tracking = decided["options"]["trackingOptions"]
    assert (tracking["audio"], tracking["numHumans"]) == (True, True)
    assert decided["ignored_options"] == ["trackingOptions.audio", "trackingOptions.numHumans"]
    assert {"camera", "microphone"} <= set(decided["required_streams"])
    assert not MediaSession.objects.exists()  # asking is not starting


def test_a_start_keeps_the_integrators_options_and_says_what_it_ignored(
    api, anonymous_api, new_client, offer, ingest
):
    create(api, "i-2", {"trackingOptions": {"audio": True, "tabSwitch": False}})
    body = session_body(new_client, offer, attempt_id="i-2", options=EVERYTHING_OFF)
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 201, response.content
    started = response.json()
    # The integrator's options stand as a whole: not weakened, and not changed either.
    assert started["ignored_options"] == [
        "trackingOptions.audio",
        "trackingOptions.numHumans",
        "trackingOptions.tabSwitch",
    ]
    stored = Attempt.objects.get(test_attempt_id="i-2").options["trackingOptions"]
    assert (stored["audio"], stored["numHumans"], stored["tabSwitch"]) == (True, True, False)
    assert started["options"]["trackingOptions"] == stored
    assert started["session_token"] and started["attempt"]["trust_score"] is None


def test_the_clients_always_on_checks_bound_a_client_created_attempt(
    anonymous_api, new_client, offer, ingest
):
    new_client.client.required_checks = ["audio"]
    new_client.client.save()
    body = session_body(new_client, offer, attempt_id="c-1", options=EVERYTHING_OFF)
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["ignored_options"] == ["trackingOptions.audio"]
    tracking = Attempt.objects.get(test_attempt_id="c-1").options["trackingOptions"]
    assert (tracking["audio"], tracking["numHumans"]) == (True, False)


@pytest.mark.django_db
def test_a_client_can_require_attempts_to_be_created_by_the_api_first(
    anonymous_api, new_client, offer
):
    new_client.client.api_created_attempts_only = True
    new_client.client.save()
    response = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert response.status_code == 404
    assert response.json() == {
        "code": "attempt_not_found",
        "message": "No attempt with this test_attempt_id for this client; this client's "
        "attempts must be created through the API before they start.",
    }
    assert not Attempt.objects.exists()


def without_sections(offer: dict, kind: str) -> dict:
    """The offer with every m-section of `kind` marked inactive: present, sending nothing."""
    out, inside = [], False
    for line in offer["sdp"].split("\r\n"):
        if line.startswith("m="):
            inside = line.startswith(f"m={kind}")
        if inside and line in ("a=sendonly", "a=sendrecv"):
            line = "a=inactive"
        out.append(line)
    return {"type": "offer", "sdp": "\r\n".join(out)}


def test_a_first_start_without_a_required_track_is_refused_and_creates_nothing(
    anonymous_api, new_client, offer, ingest
):
    body = session_body(new_client, without_sections(offer, "audio"))
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "required_track_missing",
        "message": "The offer sends no microphone track, which this attempt's options require "
        "(streams required: camera, microphone, screen).",
    }
    assert not Attempt.objects.exists() and not MediaSession.objects.exists()


def test_a_resume_without_a_track_is_accepted_and_the_stream_is_scored_missing_later(
    anonymous_api, new_client, offer, ingest
):
    first = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    token = first.json()["session_token"]
    body = session_body(new_client, without_sections(offer, "audio"), resume_token=token)
    again = anonymous_api.post(SESSIONS, body, format="json")
    assert again.status_code == 201, again.content
    assert MediaSession.objects.filter(tracks__has_key="microphone").count() == 1


def test_explicit_track_roles_decide_which_section_is_which(
    anonymous_api, new_client, offer, ingest
):
    roles = {"0": "screen", "1": "microphone", "2": "camera"}
    body = session_body(new_client, offer, track_roles=roles)
    response = anonymous_api.post(SESSIONS, body, format="json")
    assert response.status_code == 201, response.content
    assert MediaSession.objects.get().tracks == {"screen": "0", "microphone": "1", "camera": "2"}

    wrong = session_body(new_client, offer, attempt_id="t-2", track_roles={"1": "camera"})
    refused = anonymous_api.post(SESSIONS, wrong, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "code": "invalid_sdp",
        "message": "track_roles: mid '1' is not a sending video section of the offer.",
    }


def test_the_candidate_sees_a_score_only_if_the_integrator_opts_in(
    anonymous_api, new_client, offer, ingest
):
    started = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    Attempt.objects.update(status="stopped", trust_score=61.5)
    creds = {
        **agent_credentials(new_client, "t-1"),
        "session_token": started.json()["session_token"],
    }
    hidden = anonymous_api.post("/api/v1/agent/status/", creds, format="json").json()
    assert hidden["status"] == "stopped" and hidden["trust_score"] is None

    new_client.client.candidate_sees_score = True
    new_client.client.save()
    shown = anonymous_api.post("/api/v1/agent/status/", creds, format="json").json()
    assert shown["trust_score"] == 61.5


# --- a second live session ---------------------------------------------------------------------


@pytest.fixture
def media_flowing(monkeypatch):
    """Every open session received media a moment ago (what the media process's heartbeat
    reports for a client that is streaming; tests/e2e streams for real)."""
    monkeypatch.setattr(media_rpc, "last_media_at", lambda **kw: time.time())


def violations_of(attempt_id: str) -> list[str]:
    attempt = Attempt.objects.get(test_attempt_id=attempt_id)
    return list(attempt.violations.values_list("type", flat=True))


def test_a_reconnect_with_the_sessions_token_is_no_second_session(
    anonymous_api, new_client, offer, ingest, media_flowing
):
    first = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json").json()
    body = session_body(new_client, offer, resume_token=first["session_token"])
    again = anonymous_api.post(SESSIONS, body, format="json")
    assert again.status_code == 201
    assert violations_of("t-1") == []


def test_a_second_live_session_takes_over_records_a_violation_and_stops_the_fight(
    anonymous_api, new_client, offer, ingest, media_flowing
):
    first = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json").json()
    second = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert second.status_code == 201
    assert violations_of("t-1") == ["multiple_sessions"]
    displaced = MediaSession.objects.get(pk=first["session_id"])
    assert displaced.close_reason == "replaced_by_another_session"

    # The displaced client tries to take its session back: it is told, and nothing is recorded.
    body = session_body(new_client, offer, resume_token=first["session_token"])
    back = anonymous_api.post(SESSIONS, body, format="json")
    assert back.status_code == 409
    assert back.json() == {
        "code": "session_replaced",
        "message": "Another session of this attempt took over from this one; it cannot resume.",
    }
    assert violations_of("t-1") == ["multiple_sessions"]


def test_a_client_that_refuses_second_sessions_refuses_them_and_still_records_one(
    anonymous_api, new_client, offer, ingest, media_flowing
):
    new_client.client.concurrent_sessions = ConcurrentSessions.REFUSE
    new_client.client.save()
    anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    second = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert second.status_code == 409
    assert second.json()["code"] == "session_in_use"
    assert violations_of("t-1") == ["multiple_sessions"]
    assert MediaSession.objects.filter(ended_at=None, close_reason="").count() == 1


def test_a_session_whose_media_stopped_is_not_live_so_a_restart_is_no_violation(
    anonymous_api, new_client, offer, ingest
):
    # No media ever flowed on the test offer: a crashed client restarting is not a second one.
    anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    again = anonymous_api.post(SESSIONS, session_body(new_client, offer), format="json")
    assert again.status_code == 201
    assert violations_of("t-1") == []
