"""The ID card endpoints (issue #18): the integrator's and the agent's upload, scoped and
refused with the project's error shape."""

import base64

import pytest

from proctoring.analysis import vision
from proctoring.analysis.identity import devset
from tests.proctoring.builders import agent_credentials
from tests.proctoring.factories import started_attempt
from tests.proctoring.services.test_identity import IDENTITY, person

CARD_OK = {"trackingOptions": {**IDENTITY["trackingOptions"], "impersonation": False}}


def card_b64(name: str) -> str:
    return base64.b64encode(vision.encode_jpeg(devset.id_card(person(name)))).decode()


def held_b64(name: str) -> str:
    frame = devset.holding_card(person("astronaut"), devset.id_card(person(name)))
    return base64.b64encode(vision.encode_jpeg(frame)).decode()


@pytest.fixture
def attempt(new_client):
    return started_attempt(new_client, test_attempt_id="card-1", options=CARD_OK)


def test_the_integrator_uploads_a_selfie_with_the_card(api, attempt):
    response = api.post(
        "/api/v1/attempts/card-1/id-card/", {"image": held_b64("astronaut")}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["passed"] is True and body["source"] == "integrator"
    assert body["similarity"] > 0.6 and body["tries_left"] == 0 and body["reason"] == ""


def test_a_card_without_an_enrolled_face_is_a_failed_try_named_so(api, attempt):
    response = api.post(
        "/api/v1/attempts/card-1/id-card/", {"image": card_b64("astronaut")}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["passed"], body["reason"], body["tries_left"]) == (False, "no_live_face", 4)


def test_the_agent_uploads_with_the_attempts_hmac(anonymous_api, new_client, attempt):
    body = {**agent_credentials(new_client, "card-1"), "image": held_b64("Tom_Hanks_54745")}
    response = anonymous_api.post("/api/v1/agent/id-card/", body, format="json")
    assert response.status_code == 201
    assert response.json()["passed"] is False and response.json()["reason"] == "mismatch"
    forged = {**body, "hashed_test_attempt_id": base64.b64encode(b"x" * 32).decode()}
    assert anonymous_api.post("/api/v1/agent/id-card/", forged, format="json").status_code == 403


def test_another_clients_attempt_is_not_found(other_api, attempt):
    response = other_api.post(
        "/api/v1/attempts/card-1/id-card/", {"image": card_b64("astronaut")}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["code"] == "attempt_not_found"


def test_without_credentials_the_upload_is_refused(anonymous_api, attempt):
    response = anonymous_api.post(
        "/api/v1/attempts/card-1/id-card/", {"image": card_b64("astronaut")}, format="json"
    )
    assert response.status_code == 401


def test_not_an_image_and_not_enabled_are_refused_by_name(api, new_client):
    started_attempt(new_client, test_attempt_id="plain", options={})
    refused = api.post(
        "/api/v1/attempts/plain/id-card/", {"image": card_b64("astronaut")}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json() == {
        "code": "id_card_not_enabled",
        "message": "ID card verification is not enabled for this attempt.",
    }
    started_attempt(new_client, test_attempt_id="card-2", options=CARD_OK)
    junk = base64.b64encode(b"not an image").decode()
    bad = api.post("/api/v1/attempts/card-2/id-card/", {"image": junk}, format="json")
    assert bad.status_code == 400
    assert bad.json()["message"] == "The ID card image is not a JPEG or PNG image."
    not_b64 = api.post("/api/v1/attempts/card-2/id-card/", {"image": "%%%"}, format="json")
    assert not_b64.status_code == 400 and not_b64.json()["code"] == "validation_error"
