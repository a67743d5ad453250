"""Report pages (issue #19): a signed report link minted by the API opens a read-only HTML
report with the client's CSP; the results page authenticates as /api/v1/results/ does."""

import re
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from proctoring import signing
from proctoring.branding import validate_report_frame_ancestors
from proctoring.exceptions import ValidationFailed
from proctoring.models import ViolationReview
from tests.proctoring.builders import results_query
from tests.proctoring.factories import EvidenceFactory, ViolationFactory, scored_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

NO_FRAMES = (
    "default-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


def mint(api, attempt_id="s-1", **body):
    response = api.post(f"/api/v1/attempts/{attempt_id}/report-link/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refusal_code(response) -> str:
    return re.search(r'data-code="([a-z_]+)"', response.content.decode()).group(1)


def test_a_minted_link_opens_the_report_with_score_timeline_and_evidence(
    api, anonymous_api, new_client
):
    scored_attempt(new_client, score=42.0)
    minted = mint(api)
    assert minted["url"].startswith("http://testserver/reports/attempt/")
    page = anonymous_api.get(minted["url"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "42.0" in html and "Needs review" in html and 'class="score-card band-red"' in html
    assert "Multiple humans" in html and "No face" in html
    assert html.count("/api/v1/evidence/download/") == 2  # the photo: link and image
    assert page["Content-Security-Policy"] == NO_FRAMES
    assert "X-Frame-Options" not in page
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["Cache-Control"] == "private, no-store"
    assert "<script" not in html and "style=" not in html  # valid under a strict CSP


def test_the_csp_names_the_clients_frame_ancestors_and_logo(api, anonymous_api, new_client):
    client = new_client.client
    client.display_name = "Acme Exams"
    client.logo_url = "https://cdn.acme.example/logo.png"
    client.report_frame_ancestors = ["https://lms.acme.example", "http://127.0.0.1:8123"]
    client.save()
    scored_attempt(new_client)
    page = anonymous_api.get(mint(api)["url"])
    assert page["Content-Security-Policy"] == (
        "default-src 'self'; img-src 'self' https://cdn.acme.example; base-uri 'none'; "
        "form-action 'none'; object-src 'none'; "
        "frame-ancestors http://127.0.0.1:8123 https://lms.acme.example"
    )
    html = page.content.decode()
    assert "Acme Exams" in html and 'src="https://cdn.acme.example/logo.png"' in html


def test_a_stored_value_that_is_not_an_origin_never_reaches_the_header(
    api, anonymous_api, new_client
):
    client = new_client.client
    client.report_frame_ancestors = ["https://ok.example", "https://x.example; script-src *"]
    client.logo_url = "javascript:alert(1)"
    client.save()
    scored_attempt(new_client)
    policy = anonymous_api.get(mint(api)["url"])["Content-Security-Policy"]
    assert policy.endswith("frame-ancestors https://ok.example")
    assert "img-src 'self';" in policy and "script-src" not in policy


def test_report_link_ttl_is_bounded_and_the_lookup_scoped(
    api, other_api, anonymous_api, new_client
):
    scored_attempt(new_client)
    url = "/api/v1/attempts/s-1/report-link/"
    short = api.post(url, {"ttl_s": 59}, format="json")
    assert short.status_code == 400 and short.json()["code"] == "validation_error"
    assert short.json()["message"] == "ttl_s: Ensure this value is greater than or equal to 60."
    long = api.post(url, {"ttl_s": 86401}, format="json")
    assert long.status_code == 400 and long.json()["code"] == "validation_error"
    unknown = api.post(url, {"ttl": 60}, format="json")
    assert unknown.json()["message"] == "ttl: This name is not defined."
    assert other_api.post(url).json()["code"] == "attempt_not_found"
    assert other_api.post(url).status_code == 404
    assert anonymous_api.post(url).status_code == 401
    before = time.time()
    minted = mint(api, ttl_s=120)
    expires = minted["expires_at"]
    assert expires.endswith("Z") or expires.endswith("+00:00")
    from django.utils.dateparse import parse_datetime

    assert 119 <= parse_datetime(expires).timestamp() - before <= 121


def test_expired_tampered_and_gone_links_are_refused_with_stable_codes(
    api, anonymous_api, new_client
):
    attempt = scored_attempt(new_client)
    client = new_client.client
    client.report_frame_ancestors = ["https://lms.acme.example"]
    client.save()
    expired = signing.report_link_token(
        client_id=client.client_id, attempt_id=attempt.pk, expires_at=int(time.time()) - 1
    )
    page = anonymous_api.get(f"/reports/attempt/{expired}/")
    assert page.status_code == 410 and refusal_code(page) == "link_expired"
    # An expired link is authentic: its page may be shown in the client's frame.
    assert page["Content-Security-Policy"].endswith("frame-ancestors https://lms.acme.example")

    url = mint(api)["url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    value, _, signature = token.rpartition(":")
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), f"{value}:x{signature}"):
        refused = anonymous_api.get(f"/reports/attempt/{forged}/")
        assert refused.status_code == 403 and refusal_code(refused) == "invalid_link"
        assert refused["Content-Security-Policy"] == NO_FRAMES
    other_salt = signing.evidence_link_token(client_id=client.client_id, evidence_id=attempt.pk)
    assert anonymous_api.get(f"/reports/attempt/{other_salt}/").status_code == 403

    client.is_active = False
    client.save()
    gone = anonymous_api.get(url)
    assert gone.status_code == 404 and refusal_code(gone) == "report_not_found"
    client.is_active = True
    client.save()
    attempt.delete()
    assert refusal_code(anonymous_api.get(url)) == "report_not_found"


def test_evidence_links_in_a_report_live_as_long_as_the_report(
    api, anonymous_api, new_client, settings
):
    scored_attempt(new_client)
    html = anonymous_api.get(mint(api)["url"]).content.decode()
    image = re.search(r'<img src="(http://testserver/api/v1/evidence/download/[^"]+)"', html)
    settings.PROCTOR_EVIDENCE_URL_TTL_S = -1  # API-minted links would be expired now
    downloaded = anonymous_api.get(image.group(1))
    assert downloaded.status_code == 200
    assert downloaded["Content-Type"] == "image/jpeg"


def test_violation_verdicts_show_in_the_report(api, anonymous_api, new_client):
    attempt = scored_attempt(new_client)
    violation = attempt.violations.get(type="multiple_humans")
    ViolationReview.objects.create(
        attempt=attempt,
        violation=violation,
        type=violation.type,
        start_s=violation.start_s,
        end_s=violation.end_s,
        detector="scrfd",
        verdict="confirmed",
    )
    html = anonymous_api.get(mint(api)["url"]).content.decode()
    assert "<td>confirmed</td>" in html and "<td>not reviewed</td>" in html


def test_the_report_page_takes_get_only(api, anonymous_api, new_client):
    scored_attempt(new_client)
    url = mint(api)["url"]
    assert anonymous_api.post(url).status_code == 405


# --- the results page --------------------------------------------------------------------


def test_results_page_lists_the_clients_attempts_linking_to_their_reports(
    anonymous_api, new_client, other_client
):
    client = new_client.client
    client.report_frame_ancestors = ["https://lms.acme.example"]
    client.save()
    scored_attempt(new_client, "a", score=95.0, lookup_key="course-1")
    scored_attempt(new_client, "b", score=40.0, lookup_key="course-2")
    scored_attempt(other_client, "theirs", score=10.0)
    query = results_query(client.client_id, new_client.client_secret)
    page = anonymous_api.get("/reports/results/", query)
    assert page.status_code == 200, page.content
    html = page.content.decode()
    assert "2 attempts" in html and ">a</th>" in html and ">b</th>" in html
    assert "theirs" not in html
    assert page["Content-Security-Policy"].endswith("frame-ancestors https://lms.acme.example")
    assert "X-Frame-Options" not in page
    links = re.findall(r'href="(/reports/attempt/[^"]+)"', html)
    assert len(links) == 2
    report = anonymous_api.get(links[0])
    assert report.status_code == 200 and "Trust Score" in report.content.decode()

    keyed = results_query(client.client_id, new_client.client_secret, lookup_key="course-1")
    only = anonymous_api.get("/reports/results/", keyed).content.decode()
    assert ">a</th>" in only and ">b</th>" not in only
    widened = {k: v for k, v in keyed.items() if k != "lookup_key"}
    refused = anonymous_api.get("/reports/results/", widened)
    assert refused.status_code == 403 and refusal_code(refused) == "invalid_hash"


def test_results_page_refusals_are_the_results_apis_codes_as_html(anonymous_api, new_client):
    client_id, secret = new_client.client.client_id, new_client.client_secret
    stale = anonymous_api.get(
        "/reports/results/", results_query(client_id, secret, int(time.time()) - 120)
    )
    assert stale.status_code == 403 and refusal_code(stale) == "timestamp_expired"
    assert "<h1>This results link has expired</h1>" in stale.content.decode()
    assert stale["Content-Type"].startswith("text/html")
    assert stale["Content-Security-Policy"] == NO_FRAMES
    unknown = anonymous_api.get("/reports/results/", results_query("cl_nobody", secret))
    assert unknown.status_code == 401 and refusal_code(unknown) == "unknown_client"
    missing = anonymous_api.get("/reports/results/", {"clientId": client_id})
    assert missing.status_code == 400 and refusal_code(missing) == "validation_error"
    api_stale = anonymous_api.get(
        "/api/v1/results/", results_query(client_id, secret, int(time.time()) - 120)
    )
    assert api_stale.json()["code"] == "timestamp_expired"


def test_results_page_failures_count_against_the_same_limit(anonymous_api, new_client, settings):
    settings.PROCTOR_HMAC_FAILURES_PER_TARGET = 3
    client_id = new_client.client.client_id
    forged = results_query(client_id, "not-the-secret")
    for _ in range(3):
        assert anonymous_api.get("/reports/results/", forged).status_code == 403
    # The page's failures and the API's are one count: the next failure anywhere is 429.
    limited = anonymous_api.get("/api/v1/results/", forged)
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    page = anonymous_api.get("/reports/results/", forged)
    assert page.status_code == 429 and refusal_code(page) == "rate_limited"
    good = results_query(client_id, new_client.client_secret)
    assert anonymous_api.get("/reports/results/", good).status_code == 200


# --- branding validation -------------------------------------------------------------------


def test_frame_ancestors_are_validated_like_the_browser_origins(new_client, settings):
    assert validate_report_frame_ancestors(["HTTPS://LMS.Example:443/", "http://a.example"]) == [
        "http://a.example",
        "https://lms.example",
    ]
    with pytest.raises(ValidationFailed, match="'https://a.example/path' is not an origin"):
        validate_report_frame_ancestors(["https://a.example/path"])
    with pytest.raises(ValidationFailed, match="must be a list"):
        validate_report_frame_ancestors("https://a.example")
    client = new_client.client
    client.report_frame_ancestors = ["*"]
    with pytest.raises(ValidationError, match="report_frame_ancestors"):
        client.full_clean()


def test_an_origin_refuses_a_host_that_is_not_a_host_name():
    from proctoring.origins import normalize_origin

    assert normalize_origin("https://x.example; script-src *") is None
    assert normalize_origin("https://x.example,https://y.example") is None
    assert normalize_origin("http://[::1]:8000") == "http://[::1]:8000"
    assert normalize_origin("https://my_host.example") == "https://my_host.example"


def test_logo_url_is_https_outside_development(new_client, settings):
    client = new_client.client
    client.logo_url = "http://logo.example/a.png"
    settings.ENV = "development"
    client.full_clean()
    settings.ENV = "production"
    with pytest.raises(ValidationError, match="logo_url must be an https URL"):
        client.full_clean()
    client.logo_url = "https://logo.example/a.png"
    client.full_clean()


def test_the_report_runs_a_bounded_number_of_queries(api, anonymous_api, new_client):
    attempt = scored_attempt(new_client)
    url = mint(api)["url"]
    with CaptureQueriesContext(connection) as few:
        assert anonymous_api.get(url).status_code == 200
    for n in range(15):
        extra = ViolationFactory(attempt=attempt, type="no_face", start_s=600 + n, end_s=601 + n)
        EvidenceFactory(attempt=attempt, type="no_face", at_s=600 + n)
        ViolationReview.objects.create(
            attempt=attempt,
            violation=extra,
            type=extra.type,
            start_s=extra.start_s,
            end_s=extra.end_s,
            detector="scrfd",
            verdict="confirmed",
        )
    with CaptureQueriesContext(connection) as many:
        page = anonymous_api.get(url)
    assert page.content.decode().count("<td>confirmed</td>") == 15
    assert 0 < len(many.captured_queries) == len(few.captured_queries)


def test_a_high_score_without_its_media_never_reads_clean_on_the_report(
    api, anonymous_api, new_client
):
    # The same bands as the review desk (proctoring/score_bands.py): no coverage measure on a
    # stopped attempt is missing coverage, whatever the score says.
    attempt = scored_attempt(new_client, score=97.0)
    attempt.coverage = {}
    attempt.save(update_fields=["coverage"])
    html = anonymous_api.get(mint(api)["url"]).content.decode()
    assert 'class="score-card band-amber"' in html and "band-green" not in html
    assert "missing coverage" in html
