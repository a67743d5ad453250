"""Integrator API: create and read attempts, authentication, tenant scoping, error shapes."""

import json

import pytest

from proctoring.models import Attempt
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


def test_create_and_read_back(api):
    created = api.post(
        "/api/v1/attempts/",
        {"test_attempt_id": "a-1", "options": {"lookupKey": "course-7", "testDuration": 60}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "created"
    body = api.get("/api/v1/attempts/a-1/").json()
    assert body["test_attempt_id"] == "a-1"
    assert body["lookup_key"] == "course-7"
    assert body["test_duration_min"] == 60
    assert body["trust_score"] is None
    assert body["violations"] == []


def test_duplicate_is_a_conflict(api):
    api.post("/api/v1/attempts/", {"test_attempt_id": "a-1"}, format="json")
    response = api.post("/api/v1/attempts/", {"test_attempt_id": "a-1"}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "code": "attempt_exists",
        "message": "An attempt with this test_attempt_id already exists.",
    }


def test_missing_credentials_get_401_with_code(anonymous_api):
    response = anonymous_api.get("/api/v1/attempts/a-1/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_wrong_secret_gets_401_with_code(anonymous_api, new_client):
    anonymous_api.credentials(HTTP_AUTHORIZATION=basic_auth(new_client.client.client_id, "nope"))
    response = anonymous_api.post("/api/v1/attempts/", {"test_attempt_id": "x"}, format="json")
    assert response.status_code == 401
    assert response.json() == {"code": "unknown_client", "message": "Invalid client credentials."}
    assert not Attempt.objects.exists()


def test_other_clients_attempt_is_404(api, other_client, anonymous_api):
    api.post("/api/v1/attempts/", {"test_attempt_id": "mine"}, format="json")
    anonymous_api.credentials(
        HTTP_AUTHORIZATION=basic_auth(other_client.client.client_id, other_client.client_secret)
    )
    response = anonymous_api.get("/api/v1/attempts/mine/")
    assert response.status_code == 404
    assert response.json() == {
        "code": "attempt_not_found",
        "message": "No attempt with this test_attempt_id for this client.",
    }


def test_id_over_40_characters_is_refused(api):
    response = api.post("/api/v1/attempts/", {"test_attempt_id": "x" * 41}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["message"].startswith("test_attempt_id:")
    assert not Attempt.objects.exists()


@pytest.mark.parametrize("attempt_id", ["exam/7", "tab\there", "bell\x07", "del\x7f"])
def test_id_that_no_url_could_reach_is_refused(api, attempt_id):
    response = api.post("/api/v1/attempts/", {"test_attempt_id": attempt_id}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "validation_error",
        "message": "test_attempt_id: may not contain '/' or control characters.",
        "errors": {"test_attempt_id": ["may not contain '/' or control characters."]},
    }
    assert not Attempt.objects.exists()


def test_id_with_spaces_dots_and_unicode_is_accepted_and_readable(api):
    attempt_id = "Exam 2026.11 — Paper B"
    assert (
        api.post("/api/v1/attempts/", {"test_attempt_id": attempt_id}, format="json").status_code
        == 201
    )
    response = api.get(f"/api/v1/attempts/{attempt_id}/")
    assert response.status_code == 200
    assert response.json()["test_attempt_id"] == attempt_id


def test_malformed_json_is_refused(api):
    response = api.post("/api/v1/attempts/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert response.json()["message"]


def test_unknown_option_is_named(api):
    response = api.post(
        "/api/v1/attempts/",
        {"test_attempt_id": "a-2", "options": {"trackingOptions": {"audioo": True}}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "unknown_option",
        "message": "unknown option 'trackingOptions.audioo'",
    }
    assert not Attempt.objects.exists()


# --- typed overrides: a wrong type is a 400 naming the field, never a worker's 500 ------------


def test_integer_thresholds_are_accepted_and_stored_as_integers(api):
    body = {"test_attempt_id": "th-1", "thresholds": {"video_k": 2, "video_n": 3}}
    response = api.post("/api/v1/attempts/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["thresholds"] == {"video_k": 2, "video_n": 3}
    assert isinstance(Attempt.objects.get(test_attempt_id="th-1").thresholds["video_k"], int)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"thresholds": {"video_k": "two"}}, "thresholds: video_k: A valid integer is required."),
        ({"thresholds": {"video_k": 2.5}}, "thresholds: video_k: A valid integer is required."),
        (
            {"thresholds": {"face_score": "high"}},
            "thresholds: face_score: A valid number is required.",
        ),
        ({"thresholds": {"vidoe_k": 2}}, "thresholds: vidoe_k: This name is not defined."),
        (
            {"thresholds": {"video_k": 4, "video_n": 3}},
            "thresholds 'video_k' and 'video_n' need 1 <= k <= n",
        ),
        ({"thresholds": None}, "thresholds: This field may not be null."),
        (
            {"score_profile": {"weights": {"speech": "x"}}},
            "score_profile: weights: speech: A valid number is required.",
        ),
        (
            {"score_profile": {"weights": {"phone": 5}}},
            "score_profile: weights: phone: This name is not defined.",
        ),
        ({"score_profile": {"shape": 0.5}}, "shape must be >= 1, got 0.5"),
    ],
)
def test_a_wrong_override_is_a_400_naming_the_field(api, overrides, message):
    response = api.post(
        "/api/v1/attempts/", {"test_attempt_id": "th-2", **overrides}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["message"] == message
    assert not Attempt.objects.filter(test_attempt_id="th-2").exists()


@pytest.mark.usefixtures("media_root")
def test_a_rescore_with_integer_thresholds_is_a_rescore_not_a_500(api, new_client):
    from tests.proctoring.factories import scored_attempt

    scored_attempt(new_client, "th-3")
    body = {"thresholds": {"video_k": 2, "video_n": 3}}
    response = api.post("/api/v1/attempts/th-3/rescore/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["thresholds"] == {"video_k": 2, "video_n": 3}
    assert response.json()["score_version"] == "ts-2"


# --- ids are the integrator's byte for byte: refused, never rewritten ---------------------------


@pytest.mark.parametrize(
    ("attempt_id", "message"),
    [
        (" padded", "test_attempt_id: may not start or end with whitespace."),
        ("padded\t", "test_attempt_id: may not contain '/' or control characters."),
        (
            "exam\u2028one",
            "test_attempt_id: may not contain invisible or direction-changing characters.",
        ),
        (
            "exam\u200bone",
            "test_attempt_id: may not contain invisible or direction-changing characters.",
        ),
        (
            "\u202eeno-maxe",
            "test_attempt_id: may not contain invisible or direction-changing characters.",
        ),
    ],
)
def test_an_id_with_invisible_or_stripped_characters_is_refused(api, attempt_id, message):
    response = api.post("/api/v1/attempts/", {"test_attempt_id": attempt_id}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert not Attempt.objects.exists()


def test_an_id_with_inner_spaces_and_letters_of_any_script_is_kept_as_given(api):
    for attempt_id in ("exam one", "Prüfung-ü", "امتحان-٣"):
        response = api.post("/api/v1/attempts/", {"test_attempt_id": attempt_id}, format="json")
        assert response.status_code == 201
        assert response.json()["test_attempt_id"] == attempt_id


def test_a_test_duration_past_the_protocols_bound_is_a_400_not_a_database_outage(api):
    body = {"test_attempt_id": "long", "options": {"testDuration": 2**31}}
    response = api.post("/api/v1/attempts/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "validation_error",
        "message": "option 'testDuration' must be between 1 and 1440, got 2147483648",
    }


@pytest.mark.parametrize(
    "options", [{"lookupKey": "course\x007"}, {"userDetails": {"name": "\ud800"}}]
)
def test_text_postgresql_cannot_store_is_a_400_before_any_write(api, options):
    """The JSON parser refuses NUL and lone surrogates anywhere in a body (the options validator
    refuses them too, for the agent: tests/protocol/test_consumers_agree.py)."""
    body = json.dumps({"test_attempt_id": "nul", "options": options})
    response = api.post("/api/v1/attempts/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert not Attempt.objects.filter(test_attempt_id="nul").exists()


@pytest.mark.parametrize("field", ["options", "thresholds"])
def test_null_options_and_thresholds_are_refused_as_the_schema_says(api, field):
    response = api.post("/api/v1/attempts/", {"test_attempt_id": "n", field: None}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    schema = api.get("/api/schema/?format=json").json()["components"]["schemas"]
    field_schema = schema["AttemptCreateInputRequest"]["properties"][field]
    resolved = (
        schema[field_schema["$ref"].rsplit("/", 1)[1]] if "$ref" in field_schema else field_schema
    )
    assert resolved["type"] == "object" and not resolved.get("nullable")
