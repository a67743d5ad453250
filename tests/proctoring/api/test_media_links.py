"""Signed media links (issue #19): evidence and session recordings with HTTP byte ranges, the
recording_url and the per-violation verdicts in the attempt detail, and the error shape of
every 404 and 405 under /api/, with DEBUG on too."""

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.http import HttpResponseNotAllowed
from django.test.utils import CaptureQueriesContext

from proctoring import signing
from proctoring.api.middleware import ApiErrorShapeMiddleware
from proctoring.models import ViolationReview
from tests.proctoring.factories import MediaSessionFactory, ViolationFactory, scored_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

WEBM = bytes(range(256)) * 40  # 10240 bytes standing in for a recording


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def with_recording(attempt, content: bytes = WEBM):
    session = MediaSessionFactory(attempt=attempt)
    session.recording.save(f"{session.pk}.webm", ContentFile(content))
    return session


def test_recording_url_serves_the_file_with_byte_ranges(api, anonymous_api, new_client):
    attempt = scored_attempt(new_client)
    assert api.get("/api/v1/attempts/s-1/").json()["recording_url"] is None
    first = with_recording(attempt, b"old")
    latest = with_recording(attempt)
    detail = api.get("/api/v1/attempts/s-1/").json()
    url = detail["recording_url"]
    assert url.startswith("http://testserver/api/v1/recordings/download/")
    assert [r["session_id"] for r in detail["recordings"]] == [str(first.pk), str(latest.pk)]
    assert detail["recordings"][-1]["url"] == url

    whole = anonymous_api.get(url)
    assert whole.status_code == 200 and body(whole) == WEBM
    assert whole["Accept-Ranges"] == "bytes" and whole["Content-Type"] == "video/webm"
    assert whole["Content-Length"] == str(len(WEBM))

    part = anonymous_api.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and body(part) == WEBM[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(WEBM)}"
    assert part["Content-Length"] == "100" and part["Accept-Ranges"] == "bytes"
    tail = anonymous_api.get(url, HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and body(tail) == WEBM[-10:]
    open_ended = anonymous_api.get(url, HTTP_RANGE="bytes=10000-")
    assert body(open_ended) == WEBM[10000:]
    assert open_ended["Content-Range"] == f"bytes 10000-10239/{len(WEBM)}"


@pytest.mark.parametrize(
    "header", ["bytes=10240-", "bytes=20-10", "bytes=0-1,5-6", "lines=1-2", "bytes=abc"]
)
def test_an_unsatisfiable_or_malformed_range_is_416(api, anonymous_api, new_client, header):
    with_recording(scored_attempt(new_client))
    url = api.get("/api/v1/attempts/s-1/").json()["recording_url"]
    refused = anonymous_api.get(url, HTTP_RANGE=header)
    assert refused.status_code == 416
    assert refused["Content-Range"] == f"bytes */{len(WEBM)}"
    assert refused.json() == {
        "code": "range_not_satisfiable",
        "message": "Send one byte range within the file, e.g. Range: bytes=0-1023.",
    }


def test_evidence_downloads_take_ranges_too(api, anonymous_api, new_client):
    attempt = scored_attempt(new_client)
    clip = attempt.evidence.get(kind="audio")
    url = api.post(f"/api/v1/attempts/s-1/evidence/{clip.pk}/link/").json()["url"]
    part = anonymous_api.get(url, HTTP_RANGE="bytes=0-3")
    assert part.status_code == 206 and body(part) == b"RIFF"
    assert part["Content-Range"] == "bytes 0-3/12" and part["Content-Type"] == "audio/x-wav"


def test_recording_links_refuse_tampering_other_clients_and_missing_files(
    api, anonymous_api, new_client, other_client
):
    session = with_recording(scored_attempt(new_client))
    url = api.get("/api/v1/attempts/s-1/").json()["recording_url"]
    invalid = {"code": "invalid_link", "message": "This recording link is invalid or has expired."}
    tampered = anonymous_api.get(url.replace("download/", "download/x"))
    assert tampered.status_code == 403 and tampered.json() == invalid
    # An evidence token is not a recording token (each kind has its own salt).
    evidence = signing.evidence_link_token(client_id=new_client.client.client_id, evidence_id=1)
    assert anonymous_api.get(f"/api/v1/recordings/download/{evidence}/").json() == invalid
    theirs = signing.media_link_token(
        kind="recording", client_id=other_client.client.client_id, object_id=str(session.pk)
    )
    gone = {"code": "recording_not_found", "message": "This recording is no longer available."}
    assert anonymous_api.get(f"/api/v1/recordings/download/{theirs}/").json() == gone
    session.recording.storage.delete(session.recording.name)
    missing = anonymous_api.get(url)
    assert missing.status_code == 404 and missing.json() == gone


def test_expired_recording_links_are_refused(api, anonymous_api, new_client, settings):
    with_recording(scored_attempt(new_client))
    url = api.get("/api/v1/attempts/s-1/").json()["recording_url"]
    settings.PROCTOR_EVIDENCE_URL_TTL_S = -1
    assert anonymous_api.get(url).json()["code"] == "invalid_link"


def review_of(violation, verdict: str, comment: str = "") -> ViolationReview:
    return ViolationReview.objects.create(
        attempt=violation.attempt,
        violation=violation,
        type=violation.type,
        start_s=violation.start_s,
        end_s=violation.end_s,
        detector="scrfd",
        verdict=verdict,
        comment=comment,
    )


def test_violation_verdicts_are_in_the_attempt_detail(api, new_client):
    attempt = scored_attempt(new_client)
    violation = attempt.violations.get(type="multiple_humans")
    review = review_of(violation, "dismissed", "a poster on the wall")
    detail = api.get("/api/v1/attempts/s-1/").json()
    by_type = {v["type"]: v for v in detail["violations"]}
    assert by_type["multiple_humans"]["review"] == {
        "verdict": "dismissed",
        "comment": "a poster on the wall",
        "reviewed_at": review.at.isoformat().replace("+00:00", "Z"),
    }
    assert by_type["no_face"]["review"] is None
    one = api.get(f"/api/v1/attempts/s-1/violations/{violation.pk}/").json()
    assert one["review"]["verdict"] == "dismissed"


def test_verdicts_cost_no_query_per_violation(api, new_client):
    attempt = scored_attempt(new_client)
    with CaptureQueriesContext(connection) as few:
        assert api.get("/api/v1/attempts/s-1/").status_code == 200
    for n in range(20):
        extra = ViolationFactory(attempt=attempt, type="no_face", start_s=600 + n, end_s=601 + n)
        review_of(extra, "confirmed")
    with CaptureQueriesContext(connection) as many:
        detail = api.get("/api/v1/attempts/s-1/").json()
    assert sum(v["review"] is not None for v in detail["violations"]) == 20
    assert 0 < len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize("debug", [False, True])
def test_every_api_404_and_405_is_in_the_error_shape(api, anonymous_api, settings, debug):
    settings.DEBUG = debug
    for path in ("/api/v1/nothing-here/", "/api/nothing/", "/api/v1/attempts/a%2Fb/"):
        missing = api.get(path)
        assert missing.status_code == 404
        assert missing.json() == {
            "code": "not_found",
            "message": "No API endpoint matches this URL.",
        }
    wrong = api.delete("/api/v1/attempts/")
    assert wrong.status_code == 405
    assert wrong.json() == {"code": "method_not_allowed", "message": 'Method "DELETE" not allowed.'}
    assert anonymous_api.put("/api/v1/health/").json()["code"] == "method_not_allowed"
    assert anonymous_api.get("/not-the-api/")["Content-Type"].startswith("text/html")


def test_a_405_from_outside_drf_is_shaped_too(rf):
    middleware = ApiErrorShapeMiddleware(lambda request: HttpResponseNotAllowed(["GET"]))
    shaped = middleware(rf.post("/api/v1/somewhere/"))
    assert shaped.status_code == 405 and shaped["Allow"] == "GET"
    assert shaped["Content-Type"] == "application/json"
    plain = middleware(rf.post("/admin/somewhere/"))
    assert plain["Content-Type"].startswith("text/html")
