"""Admin hardening (issue #22, finding 10), through the real admin: the login lockout and the
password validators, reviewers who see only their clients, an audit trail that outlives its
attempt, secrets shown once on a page, and the CSP header."""

import datetime as dt
import re
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.urls import reverse

from proctoring import signing
from proctoring.models import (
    AttemptAuditEntry,
    AttemptStatusChange,
    Client,
    ReviewVerdict,
    ViolationReview,
    WebhookDelivery,
)
from tests.proctoring.factories import open_session, scored_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple 7"
HOME = "203.0.113.5"
ELSEWHERE = "198.51.100.7"
TEMPLATES = Path(__file__).resolve().parents[3] / "proctoring" / "templates"


# --- Login lockout and password validators ----------------------------------------------------


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user("rita", password=PASSWORD, is_staff=True)


def login(client, password: str, address: str, **headers):
    return client.post(
        LOGIN,
        {"username": "rita", "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **headers,
    )


def test_five_wrong_passwords_lock_that_username_from_that_address(client, staff, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert login(client, "wrong", HOME).status_code == 200  # the form again, with its error
    locked = login(client, "wrong", HOME)
    assert locked.status_code == 429
    # Now even the right password is refused from there, with a page that says why.
    refused = login(client, PASSWORD, HOME)
    assert refused.status_code == 429
    page = refused.content.decode()
    assert 'id="lockout"' in page and "Too many failed logins for <strong>rita</strong>" in page
    assert "0:15:00" in page  # the cool-off
    assert "_auth_user_id" not in client.session


def test_the_right_password_from_another_address_still_works(client, staff):
    for _ in range(5):
        login(client, "wrong", HOME)
    assert login(client, PASSWORD, HOME).status_code == 429
    response = login(client, PASSWORD, ELSEWHERE)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_a_forged_forwarded_for_does_not_get_around_the_lock(client, staff):
    """Without declared proxies X-Forwarded-For is not the address: a new one per try is no
    new address."""
    for n in range(5):
        login(client, "wrong", HOME, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert login(client, PASSWORD, HOME, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_the_lock_lifts_after_the_cool_off(client, staff, settings):
    settings.AXES_COOLOFF_TIME = dt.timedelta(seconds=1)
    for _ in range(5):
        login(client, "wrong", HOME)
    assert login(client, PASSWORD, HOME).status_code == 429
    time.sleep(1.2)
    assert login(client, PASSWORD, HOME).status_code == 302


def test_the_password_validators_refuse_password(admin_client):
    with pytest.raises(ValidationError) as refused:
        validate_password("password")
    assert set(refused.value.messages) == {
        "This password is too short. It must contain at least 12 characters.",
        "This password is too common.",
    }
    validate_password(PASSWORD)  # a long passphrase passes
    # The admin's own user form (the user creation path staff have) applies them.
    page = admin_client.post(
        reverse("admin:auth_user_add"),
        {"username": "weak", "password1": "password", "password2": "password"},
    )
    assert page.status_code == 200 and "This password is too common." in page.content.decode()
    assert not User.objects.filter(username="weak").exists()


# --- Reviewers per client -------------------------------------------------------------------


@pytest.fixture
def reviewer(client, new_client) -> User:
    """A reviewer assigned to `new_client` only."""
    user = User.objects.create_user("rita", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="reviewer"))
    new_client.client.reviewers.add(user)
    client.force_login(user)
    return user


@pytest.fixture
def two_attempts(new_client, other_client):
    mine = scored_attempt(new_client, "mine-1", lookup_key="course-a")
    theirs = scored_attempt(other_client, "theirs-1", lookup_key="course-b")
    return mine, theirs


def test_a_reviewer_lists_and_searches_only_the_attempts_of_their_clients(
    client, reviewer, two_attempts
):
    changelist = reverse("admin:proctoring_attempt_changelist")
    page = client.get(changelist).content.decode()
    assert ">mine-1<" in page and ">theirs-1<" not in page
    assert "Exam Platform B" not in page  # the client filter names only their clients
    assert "course-b" not in page  # nor does the lookup key filter list the others' keys
    search = client.get(changelist + "?q=theirs").content.decode()
    assert ">theirs-1<" not in search and "0 results" in search
    # The others' attempt by its filter value: nothing either.
    _, theirs = two_attempts
    filtered = client.get(changelist + f"?client__id__exact={theirs.client_id}")
    assert ">theirs-1<" not in filtered.content.decode()


def test_another_clients_objects_are_404_by_url(client, reviewer, two_attempts):
    mine, theirs = two_attempts
    assert client.get(reverse("admin:proctoring_attempt_change", args=[mine.pk])).status_code == 200
    for url in (
        reverse("admin:proctoring_attempt_change", args=[theirs.pk]),
        reverse("admin:proctoring_attempt_history", args=[theirs.pk]),
        f"/admin/proctoring/attempt/{theirs.pk}/evidence/{theirs.evidence.first().pk}/file/",
        # Not there at all: the same answer, so existence does not show.
        reverse("admin:proctoring_attempt_change", args=[999999]),
    ):
        assert client.get(url).status_code == 404, url
    photo = mine.evidence.first()
    assert (
        client.get(f"/admin/proctoring/attempt/{mine.pk}/evidence/{photo.pk}/file/").status_code
        == 200
    )


def test_a_reviewer_cannot_judge_another_clients_attempt_or_violation(
    client, reviewer, two_attempts
):
    _, theirs = two_attempts
    verdict = client.post(
        reverse("admin:proctoring_attempt_review", args=[theirs.pk]), {"verdict": "confirmed"}
    )
    violation = theirs.violations.first()
    single = client.post(
        reverse("admin:proctoring_attempt_violation_review", args=[theirs.pk, violation.pk]),
        {"verdict": "dismissed"},
    )
    assert (verdict.status_code, single.status_code) == (404, 404)
    theirs.refresh_from_db()
    assert theirs.review_verdict == ReviewVerdict.UNREVIEWED
    assert not ViolationReview.objects.exists() and not AttemptAuditEntry.objects.exists()


def test_reviews_audit_rows_and_precision_are_scoped_too(
    client, reviewer, two_attempts, admin_user
):
    mine, theirs = two_attempts
    for attempt in two_attempts:
        url = "admin:proctoring_attempt_violation_review"
        violation = attempt.violations.get(type="no_face")
        client.force_login(admin_user)
        client.post(reverse(url, args=[attempt.pk, violation.pk]), {"verdict": "dismissed"})
    client.force_login(reviewer)
    reviews = client.get(reverse("admin:proctoring_violationreview_changelist")).content.decode()
    assert ">mine-1<" in reviews and ">theirs-1<" not in reviews
    # The precision figure counts the reviewer's clients only: one dismissal, not two.
    assert "<td>no_face</td><td>0</td><td>1</td>" in re.sub(r">\s+<", "><", reviews)
    theirs_review = ViolationReview.objects.get(attempt=theirs)
    change = reverse("admin:proctoring_violationreview_change", args=[theirs_review.pk])
    assert client.get(change).status_code == 404
    audit = client.get(reverse("admin:proctoring_attemptauditentry_changelist")).content.decode()
    assert "mine-1" in audit and "theirs-1" not in audit


def test_autocomplete_offers_only_the_reviewers_attempts(client, reviewer, two_attempts):
    found = client.get(
        "/admin/autocomplete/",
        {"app_label": "proctoring", "model_name": "violationreview", "field_name": "attempt"},
    )
    assert found.status_code == 200
    names = [row["text"] for row in found.json()["results"]]
    assert names == ["mine-1"]


def test_bulk_actions_touch_only_the_staff_members_clients(client, new_client, other_client):
    """A staff member allowed to change clients and deliveries, assigned to one client."""
    user = User.objects.create_user("ops", password=PASSWORD, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_client",
                "change_client",
                "view_webhookdelivery",
                "change_webhookdelivery",
            ]
        )
    )
    new_client.client.reviewers.add(user)
    client.force_login(user)
    mine, theirs = new_client.client, other_client.client
    before = {c.pk: c.secret_encrypted for c in (mine, theirs)}
    client.post(
        reverse("admin:proctoring_client_changelist"),
        {"action": "rotate_secret", "_selected_action": [mine.pk, theirs.pk]},
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.secret_encrypted != before[mine.pk]
    assert theirs.secret_encrypted == before[theirs.pk]
    deliveries = [
        WebhookDelivery.objects.create(
            client=c, event="attempt.scored", url="https://example.com/", status="failed", tries=8
        )
        for c in (mine, theirs)
    ]
    client.post(
        reverse("admin:proctoring_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [str(d.pk) for d in deliveries]},
    )
    assert [WebhookDelivery.objects.get(pk=d.pk).tries for d in deliveries] == [0, 8]
    theirs_delivery = reverse("admin:proctoring_webhookdelivery_resend", args=[deliveries[1].pk])
    assert client.post(theirs_delivery).status_code == 404
    # Their own client page lists only their client, and they cannot assign reviewers.
    page = client.get(reverse("admin:proctoring_client_changelist")).content.decode()
    assert "Exam Platform A" in page and "Exam Platform B" not in page
    change = client.get(reverse("admin:proctoring_client_change", args=[mine.pk]))
    assert 'name="reviewers"' not in change.content.decode()


def test_staff_assigned_to_no_client_see_nothing_and_superusers_see_all(
    client, admin_client, two_attempts
):
    user = User.objects.create_user("new", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="reviewer"))
    client.force_login(user)
    changelist = reverse("admin:proctoring_attempt_changelist")
    page = client.get(changelist).content.decode()
    assert ">mine-1<" not in page and ">theirs-1<" not in page
    everything = admin_client.get(changelist).content.decode()
    assert ">mine-1<" in everything and ">theirs-1<" in everything


def test_a_superuser_assigns_a_reviewer_on_the_client_page(admin_client, new_client):
    user = User.objects.create_user("rita", password=PASSWORD, is_staff=True)
    target = new_client.client
    page = admin_client.get(reverse("admin:proctoring_client_change", args=[target.pk]))
    assert 'name="reviewers"' in page.content.decode()
    form = {
        "name": target.name,
        "is_active": "on",
        "webhook_url": "",
        "retention_days": "90",
        "required_checks": "[]",
        "concurrent_sessions": "take_over",
        "allowed_origins": "[]",
        "reviewers": [str(user.pk)],
    }
    response = admin_client.post(reverse("admin:proctoring_client_change", args=[target.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(target.reviewers.all()) == [user]


# --- The audit trail outlives the attempt ---------------------------------------------------


def test_deleting_an_attempt_keeps_its_audit_rows_and_they_name_it(
    admin_client, new_client, admin_user
):
    attempt = scored_attempt(new_client, "gone-1")
    violation = attempt.violations.get(type="no_face")
    admin_client.post(
        reverse("admin:proctoring_attempt_violation_review", args=[attempt.pk, violation.pk]),
        {"verdict": "dismissed"},
    )
    admin_client.post(
        reverse("admin:proctoring_attempt_review", args=[attempt.pk]), {"verdict": "cleared"}
    )
    AttemptStatusChange.objects.create(attempt=attempt, from_status="started", to_status="stopped")
    delete = admin_client.post(
        reverse("admin:proctoring_attempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    assert delete.status_code == 302
    assert not type(attempt).objects.filter(pk=attempt.pk).exists()
    name = f"Exam Platform A ({new_client.client.client_id})"
    rows = [
        *AttemptAuditEntry.objects.all(),
        *AttemptStatusChange.objects.all(),
        *ViolationReview.objects.all(),
    ]
    assert len(rows) == 4  # review, violation_review, the status change, the violation's verdict
    for row in rows:
        assert (row.attempt_id, row.test_attempt_id, row.client, row.client_name) == (
            None,
            "gone-1",
            new_client.client,
            name,
        )
    assert {e.action for e in AttemptAuditEntry.objects.all()} == {"review", "violation_review"}
    # The admin shows them, read-only.
    listed = admin_client.get(reverse("admin:proctoring_attemptauditentry_changelist"))
    assert listed.content.decode().count(">gone-1<") == 2
    entry = AttemptAuditEntry.objects.first()
    page = admin_client.get(reverse("admin:proctoring_attemptauditentry_change", args=[entry.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert (
        admin_client.post(
            reverse("admin:proctoring_attemptauditentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AttemptAuditEntry.objects.count() == 2


# --- Secrets shown once, on a page ----------------------------------------------------------


def _client_form(name: str) -> dict:
    return {
        "name": name,
        "is_active": "on",
        "webhook_url": "",
        "retention_days": "90",
        "required_checks": "[]",
        "concurrent_sessions": "take_over",
        "allowed_origins": "[]",
    }


def _cookies_text(response) -> str:
    return " ".join(str(morsel) for morsel in response.cookies.values())


def test_a_new_clients_secrets_are_shown_once_on_a_page_never_in_a_cookie(admin_client):
    added = admin_client.post(reverse("admin:proctoring_client_add"), _client_form("Platform C"))
    assert added.status_code == 302
    assert added["Location"] == reverse("admin:proctoring_client_secrets")
    created = Client.objects.get(name="Platform C")
    secret = signing.decrypt_secret(created.secret_encrypted)
    webhook_secret = signing.decrypt_secret(created.webhook_secret_encrypted)
    # Waiting in the server-side session, encrypted: not in any cookie, not in the session row.
    assert secret not in _cookies_text(added) and webhook_secret not in _cookies_text(added)
    for stored in Session.objects.all():
        assert secret not in str(stored.get_decoded()) and secret not in stored.session_data

    page = admin_client.get(added["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count(secret) == 1 and html.count(webhook_secret) == 1
    assert created.client_id in html
    assert "no-store" in page["Cache-Control"]
    assert secret not in _cookies_text(page)
    messages_cookie = admin_client.cookies.get("messages")
    assert messages_cookie is None or secret not in messages_cookie.value
    assert "Client Platform C added." in html  # the message says what happened, not the secret

    again = admin_client.get(added["Location"]).content.decode()
    assert secret not in again and webhook_secret not in again and 'id="no-new-secrets"' in again


def test_a_rotated_webhook_secret_is_shown_once_on_the_page(admin_client, new_client):
    target = new_client.client
    rotated = admin_client.post(
        reverse("admin:proctoring_client_changelist"),
        {"action": "rotate_webhook_secret", "_selected_action": [target.pk]},
    )
    assert rotated.status_code == 302
    assert rotated["Location"] == reverse("admin:proctoring_client_secrets")
    target.refresh_from_db()
    new_secret = signing.decrypt_secret(target.webhook_secret_encrypted)
    assert new_secret != new_client.webhook_secret
    assert new_secret not in _cookies_text(rotated)
    page = admin_client.get(rotated["Location"])
    html = page.content.decode()
    assert html.count(new_secret) == 1 and "webhook_secret" in html
    assert new_client.webhook_secret not in html and new_client.client_secret not in html
    assert "no-store" in page["Cache-Control"]
    assert new_secret not in admin_client.get(rotated["Location"]).content.decode()


def test_the_secrets_page_needs_the_right_to_change_clients(client, reviewer):
    assert client.get(reverse("admin:proctoring_client_secrets")).status_code == 403


# --- Content-Security-Policy ----------------------------------------------------------------


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


def test_admin_pages_and_api_responses_carry_the_csp(client, admin_client, new_client, api):
    attempt = scored_attempt(new_client)
    responses = [
        client.get("/admin/login/"),
        admin_client.get(reverse("admin:proctoring_attempt_change", args=[attempt.pk])),
        admin_client.get(reverse("admin:proctoring_attempt_changelist")),
        api.get("/api/v1/attempts/"),
        client.get("/api/v1/health/"),
    ]
    for response in responses:
        assert response.status_code in (200, 503), response.status_code
        policy = _policy(response)
        assert policy["default-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in response["Content-Security-Policy"]
    # The review page's styles are a file now, and it is served.
    assert "proctoring/admin/proctoring.css" in responses[1].content.decode()
    assert client.get("/static/proctoring/admin/proctoring.css").status_code == 200


def test_only_the_demo_exam_page_allows_inline_script(client, settings, new_client):
    """The demo plays an integrator's page (inline script and style); it alone relaxes them,
    and it is off in production."""
    settings.PROCTOR_SDK_DEMO_CLIENT_ID = new_client.client.client_id
    page = client.get("/sdk/v1/demo/?attempt=demo-abc")
    assert page.status_code == 200
    policy = _policy(page)
    assert policy["script-src"] == "'self' 'unsafe-inline'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert (policy["default-src"], policy["frame-ancestors"]) == ("'self'", "'none'")
    docs = _policy(client.get("/api/docs/"))
    assert "script-src" not in docs and docs["style-src"] == "'self' 'unsafe-inline'"


@pytest.mark.urls("tests.proctoring.admin.csp_urls")
def test_a_view_that_sets_its_own_csp_keeps_it(client):
    """An embeddable page sets its client's frame-ancestors itself; the middleware keeps it."""
    own = client.get("/embedded/")
    assert own["Content-Security-Policy"] == "frame-ancestors https://lms.example.com"
    assert _policy(client.get("/plain/"))["frame-ancestors"] == "'none'"


INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"),
    re.compile(r"<style\b"),
    re.compile(r"\sstyle=\""),
    re.compile(r"\son[a-z]+=\""),
    re.compile(r"javascript:"),
]


def test_our_templates_have_no_inline_script_or_style():
    found = [
        f"{path.relative_to(TEMPLATES)}: {pattern.pattern}"
        for path in TEMPLATES.rglob("*.html")
        for pattern in INLINE
        if pattern.search(path.read_text())
    ]
    assert len(list(TEMPLATES.rglob("*.html"))) >= 5
    assert found == []


# --- Every admin route with an object in it, swept ------------------------------------------

ROUTE_PARAMETERS = {"object_id", "evidence_id", "violation_id", "session_id"}


def _object_routes() -> list[tuple[type, str, list[str]]]:
    """Every named admin route of this app that takes an object: the default change, history
    and delete pages and every custom view (a route added later is swept the day it exists)."""
    from django.contrib import admin

    routes = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "proctoring":
            continue
        for pattern in model_admin.get_urls():
            names = re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))
            if "object_id" in names and pattern.name:
                routes.append((model, pattern.name, names))
    return routes


def test_every_admin_route_refuses_another_clients_object(client, new_client, other_client):
    """Staff with every proctoring permission, assigned to one client: no route shows or
    changes the other's objects, whatever the method."""
    user = User.objects.create_user("all-perms", password=PASSWORD, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="proctoring"))
    new_client.client.reviewers.add(user)
    client.force_login(user)
    theirs = scored_attempt(other_client, "theirs-1")
    violation = theirs.violations.first()
    session = open_session(theirs)
    delivery = WebhookDelivery.objects.create(
        client=other_client.client, attempt=theirs, event="attempt.scored", url="https://e.x/"
    )
    theirs_objects = {
        Client: other_client.client,
        type(theirs): theirs,
        WebhookDelivery: delivery,
        ViolationReview: ViolationReview.objects.create(
            attempt=theirs, type="no_face", start_s=0, end_s=1, detector="d", verdict="confirmed"
        ),
        AttemptAuditEntry: AttemptAuditEntry.objects.create(attempt=theirs, action="rescore"),
        AttemptStatusChange: AttemptStatusChange.objects.create(
            attempt=theirs, from_status="started", to_status="stopped"
        ),
    }
    before = other_client.client.secret_encrypted
    routes = _object_routes()
    assert len(routes) >= 20
    for model, name, parameters in routes:
        assert set(parameters) <= ROUTE_PARAMETERS, f"{name}: say which object {parameters} names"
        values = {
            "object_id": theirs_objects[model].pk,
            "evidence_id": theirs.evidence.first().pk,
            "violation_id": violation.pk,
            "session_id": session.pk,
        }
        url = reverse(f"admin:{name}", kwargs={p: values[p] for p in parameters})
        for method in (client.get, client.post):
            status = method(url, {"verdict": "confirmed", "post": "yes", "name": "x"}).status_code
            assert status in (403, 404, 405), f"{method.__name__.upper()} {url}: {status}"
    theirs.refresh_from_db()
    other_client.client.refresh_from_db()
    assert theirs.review_verdict == ReviewVerdict.UNREVIEWED
    assert other_client.client.secret_encrypted == before
    assert not ViolationReview.objects.filter(violation=violation).exists()
    assert all(type(obj).objects.filter(pk=obj.pk).exists() for obj in theirs_objects.values())
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "pending"
