"""Integrator API: create and read attempts, authentication, tenant scoping, error shapes."""

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
