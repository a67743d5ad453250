"""What the server gives a browser: CORS per client, the stop as a beacon, ICE servers.

The real Chromium runs of the same rules are in tests/browser/.
"""

import base64
import hashlib
import hmac
import json
import time

import pytest

from proctoring.api.cors import forget_cached_origins
from proctoring.exceptions import ValidationFailed
from proctoring.origins import normalize_origin, validate_allowed_origins
from tests.proctoring.builders import agent_credentials
from tests.proctoring.factories import started_attempt

EXAM = "https://exam.example.com"
OTHER = "https://cheat.example.net"
OPTIONS_URL = "/api/v1/agent/options/"
STOP_URL = "/api/v1/agent/stop/"
ICE_URL = "/api/v1/agent/ice-servers/"


@pytest.fixture(autouse=True)
def _fresh_origins():
    forget_cached_origins()
    yield
    forget_cached_origins()


@pytest.fixture
def exam_client(new_client):
    new_client.client.allowed_origins = [EXAM]
    new_client.client.save()
    return new_client


def preflight(api, path: str, origin: str):
    return api.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )


def test_a_preflight_from_a_listed_origin_is_allowed(anonymous_api, exam_client):
    response = preflight(anonymous_api, OPTIONS_URL, EXAM)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == EXAM
    assert "content-type" in response["Access-Control-Allow-Headers"]
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_from_an_unlisted_origin_gets_no_cors_headers(anonymous_api, exam_client):
    response = preflight(anonymous_api, OPTIONS_URL, OTHER)
    assert "Access-Control-Allow-Origin" not in response


def test_the_integrator_api_never_answers_another_origin(api, exam_client):
    assert "Access-Control-Allow-Origin" not in preflight(api, "/api/v1/attempts/", EXAM)
    response = api.get("/api/v1/attempts/", HTTP_ORIGIN=EXAM)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_a_listed_origin_uses_its_clients_attempts(anonymous_api, exam_client):
    body = agent_credentials(exam_client, "cors-1")
    response = anonymous_api.post(OPTIONS_URL, body, format="json", HTTP_ORIGIN=EXAM)
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == EXAM


def test_another_clients_origin_is_refused_by_name(anonymous_api, exam_client, other_client):
    body = agent_credentials(other_client, "cors-2")
    response = anonymous_api.post(OPTIONS_URL, body, format="json", HTTP_ORIGIN=EXAM)
    assert response.status_code == 403
    assert response.json() == {
        "code": "origin_not_allowed",
        "message": f"Pages on {EXAM} may not use this client's attempts: add the origin to "
        "the client's allowed origins in the admin.",
    }
    # The page can read why: the origin is listed by a client, so the refusal carries CORS.
    assert response["Access-Control-Allow-Origin"] == EXAM


def test_an_unlisted_origin_is_refused_even_without_a_preflight(anonymous_api, exam_client):
    # A text/plain beacon is a "simple" request: no preflight stops it, the server must.
    body = agent_credentials(exam_client, "cors-3")
    response = anonymous_api.post(STOP_URL, body, format="json", HTTP_ORIGIN=OTHER)
    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response


def test_the_servers_own_origin_and_originless_clients_need_no_listing(anonymous_api, new_client):
    body = agent_credentials(new_client, "cors-4")
    same = anonymous_api.post(OPTIONS_URL, body, format="json", HTTP_ORIGIN="http://testserver")
    assert same.status_code == 200
    assert anonymous_api.post(OPTIONS_URL, body, format="json").status_code == 200


def test_a_bad_hash_is_refused_before_the_origin_is_looked_at(anonymous_api, exam_client):
    body = agent_credentials(exam_client, "cors-5", secret="not-the-secret")
    response = anonymous_api.post(OPTIONS_URL, body, format="json", HTTP_ORIGIN=OTHER)
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_hash"


def test_the_stop_takes_the_text_plain_body_a_beacon_sends(anonymous_api, new_client):
    attempt = started_attempt(new_client, test_attempt_id="beacon-1")
    raw = json.dumps(agent_credentials(new_client, "beacon-1"))
    response = anonymous_api.post(STOP_URL, raw, content_type="text/plain;charset=UTF-8")
    assert response.status_code == 202, response.content
    attempt.refresh_from_db()
    assert attempt.status in ("stopping", "stopped")


def test_other_endpoints_still_refuse_text_plain(anonymous_api, new_client):
    raw = json.dumps(agent_credentials(new_client, "beacon-2"))
    response = anonymous_api.post(OPTIONS_URL, raw, content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_beacon_that_is_not_json_is_refused(anonymous_api, new_client):
    response = anonymous_api.post(STOP_URL, "client_id=x", content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_ice_servers_hand_out_turn_credentials_not_the_secret(anonymous_api, new_client, settings):
    settings.PROCTOR_STUN_URLS = ["stun:turn.example.com:3478"]
    settings.PROCTOR_TURN_URLS = ["turn:turn.example.com:3478?transport=tcp"]
    settings.PROCTOR_TURN_SECRET = "coturn-shared-secret"
    settings.PROCTOR_TURN_TTL_S = 600
    response = anonymous_api.post(ICE_URL, agent_credentials(new_client, "ice-1"), format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["ttl_s"] == 600
    stun, turn = body["ice_servers"]
    assert stun == {"urls": ["stun:turn.example.com:3478"]}
    assert turn["urls"] == ["turn:turn.example.com:3478?transport=tcp"]
    expires, user = turn["username"].split(":")
    assert user == new_client.client.client_id
    assert 590 <= int(expires) - time.time() <= 600
    digest = hmac.new(b"coturn-shared-secret", turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(digest).decode()
    assert "coturn-shared-secret" not in response.content.decode()


def test_without_turn_the_ice_servers_are_empty(anonymous_api, new_client, settings):
    settings.PROCTOR_STUN_URLS = []
    settings.PROCTOR_TURN_URLS = []
    response = anonymous_api.post(ICE_URL, agent_credentials(new_client, "ice-2"), format="json")
    assert response.status_code == 200
    assert response.json()["ice_servers"] == []


def test_ice_servers_need_the_attempts_hmac(anonymous_api, new_client):
    body = agent_credentials(new_client, "ice-3", secret="wrong")
    response = anonymous_api.post(ICE_URL, body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_hash"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://Exam.Example.com", "https://exam.example.com"),
        ("https://exam.example.com:443/", "https://exam.example.com"),
        ("http://10.0.0.1:8080", "http://10.0.0.1:8080"),
        ("https://exam.example.com/path", None),
        ("ftp://exam.example.com", None),
        ("https://user@exam.example.com", None),
        ("null", None),
        ("", None),
    ],
)
def test_origins_are_read_as_browsers_send_them(given, expected):
    assert normalize_origin(given) == expected


def test_allowed_origins_are_validated_by_name():
    assert validate_allowed_origins(["https://b.example", "https://a.example/"]) == [
        "https://a.example",
        "https://b.example",
    ]
    with pytest.raises(ValidationFailed, match="'https://a.example/x' is not an origin"):
        validate_allowed_origins(["https://a.example/x"])
    with pytest.raises(ValidationFailed, match="must be a list"):
        validate_allowed_origins("https://a.example")
