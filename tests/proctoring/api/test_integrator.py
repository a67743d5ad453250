"""Integrator API v1: list/filter/paginate, violations with evidence, signed evidence links,
results page, usage, webhook log; every endpoint's errors and its cross-tenant 404."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from proctoring import signing
from proctoring.models import Evidence, WebhookDelivery
from tests.proctoring.builders import results_query
from tests.proctoring.factories import AttemptFactory, scored_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

NOT_FOUND = {
    "code": "attempt_not_found",
    "message": "No attempt with this test_attempt_id for this client.",
}


# --- list, filters, ordering, pagination ---------------------------------------------------


def test_list_filters_orders_and_paginates(api, new_client, other_client):
    scored_attempt(new_client, "a", score=95.0, lookup_key="course-1")
    scored_attempt(new_client, "b", score=40.0, lookup_key="course-2", ago_days=3)
    AttemptFactory(client=new_client.client, test_attempt_id="c", lookup_key="course-1")
    scored_attempt(other_client, "theirs", score=10.0)

    body = api.get("/api/v1/attempts/").json()
    assert body["count"] == 3
    assert [a["test_attempt_id"] for a in body["results"]] == ["c", "b", "a"]

    by_score = api.get("/api/v1/attempts/?ordering=trust_score").json()["results"]
    assert [a["test_attempt_id"] for a in by_score] == ["b", "a", "c"]  # unscored last
    low = api.get("/api/v1/attempts/?trust_score_max=50").json()["results"]
    assert [a["test_attempt_id"] for a in low] == ["b"]
    high = api.get("/api/v1/attempts/?trust_score_min=50&trust_score_max=100").json()
    assert [a["test_attempt_id"] for a in high["results"]] == ["a"]
    keyed = api.get("/api/v1/attempts/?lookup_key=course-1").json()["results"]
    assert {a["test_attempt_id"] for a in keyed} == {"a", "c"}
    created = api.get("/api/v1/attempts/?status=created").json()["results"]
    assert [a["test_attempt_id"] for a in created] == ["c"]
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    recent = api.get("/api/v1/attempts/", {"started_after": since}).json()["results"]
    assert [a["test_attempt_id"] for a in recent] == ["a"]
    older = api.get("/api/v1/attempts/", {"started_before": since}).json()["results"]
    assert [a["test_attempt_id"] for a in older] == ["b"]
    assert api.get("/api/v1/attempts/", {"created_after": since}).json()["count"] == 3

    page = api.get("/api/v1/attempts/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"].endswith("page=2&page_size=2")
    second = api.get("/api/v1/attempts/?page_size=2&page=2").json()
    assert [a["test_attempt_id"] for a in second["results"]] == ["a"]


def test_list_errors(api, anonymous_api):
    bad = api.get("/api/v1/attempts/?ordering=secret_encrypted")
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_error"
    assert bad.json()["message"] == 'ordering: "secret_encrypted" is not a valid choice.'
    bad_status = api.get("/api/v1/attempts/?status=nope")
    assert bad_status.json()["message"] == 'status: "nope" is not a valid choice.'
    missing_page = api.get("/api/v1/attempts/?page=9")
    assert missing_page.status_code == 404
    assert missing_page.json() == {"code": "not_found", "message": "This page does not exist."}
    assert anonymous_api.get("/api/v1/attempts/").status_code == 401


# --- retrieve: breakdown, counts, violations with evidence ---------------------------------


def test_detail_has_breakdown_counts_and_evidence_links(api, new_client):
    attempt = scored_attempt(new_client)
    body = api.get("/api/v1/attempts/s-1/").json()
    assert body["evidence_status"] == "processed"
    assert body["score_breakdown"]["components"][0]["points_lost"] == 28.0
    assert body["violation_counts"] == {"multiple_humans": 1, "no_face": 1}
    assert body["review_verdict"] == "unreviewed"
    first, second = body["violations"]
    assert (first["type"], first["code"], first["start_s"], first["end_s"]) == (
        "multiple_humans",
        5002,
        60.0,
        75.0,
    )
    assert first["duration_s"] == 15.0
    assert first["details"] == {"max_count": 2}
    photo = Evidence.objects.get(attempt=attempt, kind="photo")
    assert [e["id"] for e in first["evidence"]] == [photo.pk]
    assert first["evidence"][0]["link"] == (
        f"http://testserver/api/v1/attempts/s-1/evidence/{photo.pk}/link/"
    )
    assert second["evidence"] == []  # no_face has no file in its span


def test_violation_list_and_detail(api, other_api, new_client):
    attempt = scored_attempt(new_client)
    listed = api.get("/api/v1/attempts/s-1/violations/").json()
    assert [v["type"] for v in listed] == ["multiple_humans", "no_face"]
    violation = attempt.violations.get(type="multiple_humans")
    one = api.get(f"/api/v1/attempts/s-1/violations/{violation.pk}/").json()
    assert one["id"] == violation.pk and len(one["evidence"]) == 1

    missing = {
        "code": "violation_not_found",
        "message": "No violation with this id in this attempt.",
    }
    for path in (
        f"/api/v1/attempts/s-1/violations/{violation.pk}/",
        "/api/v1/attempts/s-1/violations/x/",
    ):
        response = other_api.get(path) if "x/" not in path else api.get(path)
        assert response.status_code == 404
        assert response.json() == missing
    cross = other_api.get("/api/v1/attempts/s-1/violations/")
    assert cross.status_code == 404 and cross.json() == NOT_FOUND


# --- evidence: list, mint a link, download ----------------------------------------------------


def test_evidence_link_downloads_the_file_once_minted_by_its_owner(
    api, other_api, anonymous_api, new_client
):
    attempt = scored_attempt(new_client)
    listed = api.get("/api/v1/attempts/s-1/evidence/").json()
    assert [e["kind"] for e in listed] == ["photo", "audio"]
    photo = attempt.evidence.get(kind="photo")
    minted = api.post(f"/api/v1/attempts/s-1/evidence/{photo.pk}/link/")
    assert minted.status_code == 200, minted.content
    url = minted.json()["url"]
    assert url.startswith("http://testserver/api/v1/evidence/download/")
    downloaded = anonymous_api.get(url)
    assert downloaded.status_code == 200
    assert b"".join(downloaded.streaming_content) == photo.file.open("rb").read()
    assert downloaded["Cache-Control"] == "private, no-store"

    missing = {"code": "evidence_not_found", "message": "No evidence with this id in this attempt."}
    cross = other_api.post(f"/api/v1/attempts/s-1/evidence/{photo.pk}/link/")
    assert cross.status_code == 404 and cross.json() == missing
    assert other_api.get("/api/v1/attempts/s-1/evidence/").json() == NOT_FOUND
    assert anonymous_api.post(f"/api/v1/attempts/s-1/evidence/{photo.pk}/link/").status_code == 401


def test_evidence_link_refuses_tampered_and_expired_tokens(
    api, anonymous_api, new_client, settings
):
    attempt = scored_attempt(new_client)
    photo = attempt.evidence.get(kind="photo")
    url = api.post(f"/api/v1/attempts/s-1/evidence/{photo.pk}/link/").json()["url"]
    invalid = {"code": "invalid_link", "message": "This evidence link is invalid or has expired."}
    tampered = anonymous_api.get(url.replace("download/", "download/x"))
    assert tampered.status_code == 403 and tampered.json() == invalid
    forged = signing.evidence_link_token(
        client_id=new_client.client.client_id, evidence_id=photo.pk
    )
    assert anonymous_api.get(f"/api/v1/evidence/download/{forged}/").status_code == 200
    settings.PROCTOR_EVIDENCE_URL_TTL_S = -1  # every link is now past its expiry
    expired = anonymous_api.get(url)
    assert expired.status_code == 403 and expired.json() == invalid


def test_evidence_link_for_a_purged_file_is_404(api, anonymous_api, new_client):
    attempt = scored_attempt(new_client)
    photo = attempt.evidence.get(kind="photo")
    url = api.post(f"/api/v1/attempts/s-1/evidence/{photo.pk}/link/").json()["url"]
    photo.file.storage.delete(photo.file.name)
    gone = anonymous_api.get(url)
    assert gone.status_code == 404
    assert gone.json() == {
        "code": "evidence_not_found",
        "message": "This evidence file is no longer available.",
    }


def test_media_url_is_not_routed(api, new_client, anonymous_api):
    photo = scored_attempt(new_client).evidence.get(kind="photo")
    assert anonymous_api.get("/media/" + photo.file.name).status_code == 404


# --- results page (showResults) --------------------------------------------------------------


def test_results_page_lists_the_clients_attempts(anonymous_api, new_client, other_client):
    scored_attempt(new_client, "mine")
    scored_attempt(other_client, "theirs")
    cid, secret = new_client.client.client_id, new_client.client_secret
    for hex_form in (False, True):
        response = anonymous_api.get(
            "/api/v1/results/", results_query(cid, secret, hex_form=hex_form)
        )
        assert response.status_code == 200, response.content
        assert [a["test_attempt_id"] for a in response.json()["results"]] == ["mine"]


def test_a_results_link_for_one_lookup_key_cannot_be_widened(anonymous_api, new_client):
    scored_attempt(new_client, "course-a-1", lookup_key="course-a")
    scored_attempt(new_client, "course-b-1", lookup_key="course-b")
    cid, secret = new_client.client.client_id, new_client.client_secret
    link = results_query(cid, secret, lookup_key="course-a")
    shown = anonymous_api.get("/api/v1/results/", link).json()["results"]
    assert [a["test_attempt_id"] for a in shown] == ["course-a-1"]

    widened = {k: v for k, v in link.items() if k != "lookup_key"}  # the key dropped
    refused = anonymous_api.get("/api/v1/results/", widened)
    assert refused.status_code == 403 and refused.json()["code"] == "invalid_hash"
    other = anonymous_api.get("/api/v1/results/", {**link, "lookup_key": "course-b"})
    assert other.status_code == 403


def test_results_page_errors(anonymous_api, new_client, other_client):
    cid, secret = new_client.client.client_id, new_client.client_secret
    stale = anonymous_api.get("/api/v1/results/", results_query(cid, secret, int(time.time()) - 61))
    assert stale.status_code == 403
    assert stale.json() == {
        "code": "timestamp_expired",
        "message": "unixTimestamp is too old or too far in the future.",
    }
    future = anonymous_api.get(
        "/api/v1/results/", results_query(cid, secret, int(time.time()) + 60)
    )
    assert future.json()["code"] == "timestamp_expired"
    # Client B's secret does not open client A's results.
    forged = anonymous_api.get("/api/v1/results/", results_query(cid, other_client.client_secret))
    assert forged.status_code == 403
    assert forged.json() == {
        "code": "invalid_hash",
        "message": "hashedUnixTimestamp does not match unixTimestamp for this client.",
    }
    unknown = anonymous_api.get("/api/v1/results/", results_query("cl_nobody", secret))
    assert unknown.status_code == 401
    assert unknown.json() == {"code": "unknown_client", "message": "Unknown or inactive client."}
    missing = anonymous_api.get("/api/v1/results/", {"clientId": cid})
    assert missing.status_code == 400
    assert missing.json()["message"] == "unixTimestamp: This field is required."


# --- usage -----------------------------------------------------------------------------------


def test_usage_per_month(api, anonymous_api, new_client, other_client):
    scored_attempt(new_client, "a", minutes=30)
    scored_attempt(new_client, "b", minutes=15)
    AttemptFactory(client=new_client.client, test_attempt_id="never-started")
    scored_attempt(other_client, "theirs", minutes=600)
    body = api.get("/api/v1/usage/").json()
    month = timezone.now().strftime("%Y-%m")
    assert body["client_id"] == new_client.client.client_id
    assert body["total_attempts"] == 2
    assert body["total_minutes"] == pytest.approx(45.0, abs=0.01)
    assert [m["month"] for m in body["months"]] in ([month], [month, month][:1])
    assert anonymous_api.get("/api/v1/usage/").status_code == 401


# --- webhook delivery log --------------------------------------------------------------------


def test_webhook_delivery_log_is_scoped(
    api, other_api, new_client, django_capture_on_commit_callbacks
):
    attempt = scored_attempt(new_client)
    delivery = WebhookDelivery.objects.create(
        client=new_client.client,
        attempt=attempt,
        event="attempt.scored",
        url="http://127.0.0.1:9/hook",
        payload={"event": "attempt.scored"},
        status="failed",
        tries=9,
    )
    listed = api.get("/api/v1/webhooks/deliveries/").json()
    assert [d["id"] for d in listed["results"]] == [str(delivery.pk)]
    assert listed["results"][0]["test_attempt_id"] == "s-1"
    assert api.get(f"/api/v1/webhooks/deliveries/{delivery.pk}/").json()["status"] == "failed"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        resent = api.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/resend/")
    assert resent.status_code == 202
    assert resent.json()["status"] == "pending" and resent.json()["tries"] == 0
    assert len(queued) == 1

    missing = {
        "code": "delivery_not_found",
        "message": "No webhook delivery with this id for this client.",
    }
    assert other_api.get("/api/v1/webhooks/deliveries/").json()["count"] == 0
    for response in (
        other_api.get(f"/api/v1/webhooks/deliveries/{delivery.pk}/"),
        other_api.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/resend/"),
        api.get("/api/v1/webhooks/deliveries/not-a-uuid/"),
    ):
        assert response.status_code == 404 and response.json() == missing


# --- the OpenAPI schema and its docs page ----------------------------------------------------


def test_schema_and_docs_are_served_offline(anonymous_api):
    schema = anonymous_api.get("/api/schema/?format=json")
    assert schema.status_code == 200
    doc = schema.json()
    assert "Error" in doc["components"]["schemas"]
    detail = doc["paths"]["/api/v1/attempts/{test_attempt_id}/"]["get"]["responses"]
    assert detail["404"]["description"] == "codes: attempt_not_found"
    assert detail["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    docs = anonymous_api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()
