"""Input that once ended in a 5xx, or in a 4xx outside the error shape: refused in the shape."""

import json

import pytest

from proctoring.api.parsers import MAX_JSON_DEPTH
from tests.proctoring.factories import scored_attempt

pytestmark = pytest.mark.django_db

STATUS = "/api/v1/agent/status/"
SESSIONS = "/api/v1/agent/sessions/"
TOO_DEEP = f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."
NUL = "JSON parse error - strings must not contain NUL (\\u0000) characters."
SURROGATE = "JSON parse error - strings must not contain unpaired surrogates."
NOT_FOUND = {"code": "not_found", "message": "No API endpoint matches this URL."}


def post_raw(client, path: str, text: str):
    return client.post(path, text, content_type="application/json")


def credentials(**extra) -> dict:
    return {"client_id": "cl_x", "test_attempt_id": "t-1", "hashed_test_attempt_id": "h", **extra}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("body", ["[" * 50_000, '{"a":' * 30_000, nested(5_000)])
def test_json_nested_past_the_recursion_limit_is_400(anonymous_api, body):
    response = post_raw(anonymous_api, STATUS, body)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_json", "message": TOO_DEEP}


def test_json_nesting_is_bounded(anonymous_api):
    at_limit = json.dumps(credentials(options=json.loads(nested(MAX_JSON_DEPTH - 1))))
    assert post_raw(anonymous_api, STATUS, at_limit).json()["code"] == "unknown_client"
    past = json.dumps(credentials(options=json.loads(nested(MAX_JSON_DEPTH))))
    assert post_raw(anonymous_api, STATUS, past).json() == {
        "code": "invalid_json",
        "message": TOO_DEEP,
    }


def with_escape(document: dict, escape: str) -> str:
    """`document` as JSON text, each "ESC" in it replaced by a raw JSON escape."""
    return json.dumps(document).replace("ESC", escape)


@pytest.mark.parametrize(
    ("escape", "message"), [("\\u0000", NUL), ("\\ud800", SURROGATE), ("\\udc00x", SURROGATE)]
)
def test_text_postgres_cannot_store_is_400_before_any_view(api, anonymous_api, escape, message):
    # Was a 503 "database unavailable" (NUL) or a 500 (surrogate) once the attempt was saved.
    create = with_escape({"test_attempt_id": "t-1", "options": {"lookupKey": "kESC"}}, escape)
    assert post_raw(api, "/api/v1/attempts/", create).json() == {
        "code": "invalid_json",
        "message": message,
    }
    # Was a 500 from the SDP size check, before any credential was looked at.
    offer = {"type": "offer", "sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nESC"}
    session = with_escape(credentials(offer=offer), escape)
    assert post_raw(anonymous_api, SESSIONS, session).json()["message"] == message
    key = with_escape(credentials(kESC=1), escape)
    assert post_raw(anonymous_api, STATUS, key).json()["message"] == message


def test_nul_in_an_attempt_path_is_404(api):
    # Was a 503 "database unavailable": PostgreSQL refuses to compare text holding NUL.
    for path in ("/api/v1/attempts/a%00b/", "/api/v1/attempts/a%00b/violations/1/"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


def test_an_api_url_that_matches_no_route_is_404_in_the_error_shape(api, anonymous_api):
    # An attempt id holding "/" cannot be addressed in a path: it used to get Django's HTML page.
    for path in ("/api/v1/attempts/a%2Fb/", "/api/v1/nothing-here/"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert anonymous_api.get("/not-the-api/")["Content-Type"].startswith("text/html")


def test_an_escaped_surrogate_pair_is_ordinary_text(api):
    create = '{"test_attempt_id": "t-1", "options": {"lookupKey": "k\\ud83d\\ude00"}}'
    response = post_raw(api, "/api/v1/attempts/", create)
    assert response.status_code == 201
    assert response.json()["lookup_key"] == "k\U0001f600"


@pytest.mark.parametrize(
    ("method", "item", "code"),
    [
        ("get", "violations/³/", "violation_not_found"),
        ("get", "violations/٣/", "violation_not_found"),
        ("post", "evidence/²/link/", "evidence_not_found"),
    ],
)
def test_an_id_of_non_ascii_digits_is_404(api, new_client, method, item, code):
    # Was a 500: str.isdigit() accepts "³", int() does not.
    scored_attempt(new_client, "s-1")
    response = getattr(api, method)(f"/api/v1/attempts/s-1/{item}")
    assert response.status_code == 404
    assert response.json()["code"] == code
