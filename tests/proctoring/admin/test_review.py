"""Review workflow in the admin: the attempt page (timeline, evidence with face boxes, breakdown),
verdicts through their one transition with audit rows, the reviewer group, precision, secrets."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from proctoring.exceptions import Conflict
from proctoring.models import AttemptAuditEntry, ReviewVerdict, ViolationReview
from proctoring.services import reviews
from proctoring.services.secrets import client_secret_rotate
from tests.proctoring.factories import scored_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def change_url(attempt) -> str:
    return reverse("admin:proctoring_attempt_change", args=[attempt.pk])


def test_attempt_page_shows_timeline_evidence_boxes_audio_and_breakdown(
    client, reviewer, new_client
):
    attempt = scored_attempt(new_client)
    page = client.get(change_url(attempt))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="proctor-timeline"' in html
    assert html.count('class="violation"') == 2  # one bar per violation
    assert "Multiple humans" in html and "No face" in html  # lanes
    assert html.count('class="face-box"') == 2  # boxes drawn over the photo
    assert 'viewBox="0 0 64 48"' in html  # the photo's own size, read from its JPEG header
    photo, clip = attempt.evidence.order_by("at_s")
    assert f"/evidence/{photo.pk}/file/" in html
    clip_url = f"/admin/proctoring/attempt/{attempt.pk}/evidence/{clip.pk}/file/"
    assert f'<audio controls preload="none" src="{clip_url}"' in html
    assert 'id="score-breakdown"' in html and "<td>28.0</td>" in html
    assert 'id="verdict-form"' in html

    image = client.get(f"/admin/proctoring/attempt/{attempt.pk}/evidence/{photo.pk}/file/")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"


def test_evidence_file_needs_staff(client, new_client):
    attempt = scored_attempt(new_client)
    photo = attempt.evidence.first()
    anonymous = client.get(f"/admin/proctoring/attempt/{attempt.pk}/evidence/{photo.pk}/file/")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    assert (
        client.get(f"/admin/proctoring/attempt/{attempt.pk}/evidence/{photo.pk}/file/").status_code
        == 403
    )


def test_verdict_goes_through_the_transition_with_an_audit_row(
    client, reviewer, new_client, django_capture_on_commit_callbacks
):
    attempt = scored_attempt(new_client)
    response = client.post(
        reverse("admin:proctoring_attempt_review", args=[attempt.pk]),
        {"verdict": "confirmed", "comment": "two people at 1:00"},
    )
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.review_verdict == ReviewVerdict.CONFIRMED
    assert attempt.reviewed_by == reviewer
    entry = AttemptAuditEntry.objects.get(attempt=attempt, action="review")
    assert (entry.actor, entry.before, entry.after, entry.comment) == (
        reviewer,
        {"review_verdict": "unreviewed"},
        {"review_verdict": "confirmed"},
        "two people at 1:00",
    )
    with pytest.raises(Conflict, match="A review cannot move from 'confirmed' to 'unreviewed'."):
        reviews.attempt_review_transition(
            attempt=attempt, to_verdict="unreviewed", reviewer=reviewer
        )
    with pytest.raises(Conflict, match="A review cannot move from 'confirmed' to 'confirmed'."):
        reviews.attempt_review_transition(
            attempt=attempt, to_verdict="confirmed", reviewer=reviewer
        )


def test_only_stopped_attempts_are_reviewed(reviewer, new_client):
    from tests.proctoring.factories import started_attempt

    attempt = started_attempt(new_client)
    with pytest.raises(Conflict, match="Only a stopped attempt can be reviewed."):
        reviews.attempt_review_transition(attempt=attempt, to_verdict="cleared", reviewer=reviewer)


def test_violation_verdicts_feed_the_precision_per_detector(client, reviewer, new_client, settings):
    attempt = scored_attempt(new_client)
    humans, no_face = attempt.violations.order_by("start_s")
    settings.PROCTOR_DETECTOR = "yunet"
    url = "admin:proctoring_attempt_violation_review"
    client.post(reverse(url, args=[attempt.pk, humans.pk]), {"verdict": "confirmed"})
    client.post(reverse(url, args=[attempt.pk, no_face.pk]), {"verdict": "dismissed"})
    assert set(ViolationReview.objects.values_list("detector", "type", "verdict")) == {
        ("yunet", "multiple_humans", "confirmed"),
        ("yunet", "no_face", "dismissed"),
    }
    assert AttemptAuditEntry.objects.filter(action="violation_review").count() == 2
    summary = client.get(reverse("admin:proctoring_violationreview_changelist"))
    assert summary.status_code == 200
    assert 'id="detector-precision"' in summary.content.decode()
    assert (
        "<td>yunet</td><td>multiple_humans</td><td>1</td><td>0</td>"
        in summary.content.decode().replace("\n", "").replace("        ", "")
    )


def test_needs_review_filter_and_sorting(client, reviewer, new_client):
    scored_attempt(new_client, "low", score=40.0)
    scored_attempt(new_client, "high", score=99.0)
    # A high score with a camera that was off most of the test still needs a person.
    scored_attempt(new_client, "unseen", score=97.0, review_reasons=["missing_coverage"])
    changelist = reverse("admin:proctoring_attempt_changelist")
    page = client.get(changelist + "?needs_review=yes").content.decode()
    assert ">low<" in page and ">unseen<" in page and ">high<" not in page
    assert client.get(changelist + "?o=4").status_code == 200  # sort by trust score
    assert (
        client.get(changelist + "?review_verdict__exact=unreviewed&lookup_key=k").status_code == 200
    )


def test_reviewers_cannot_see_clients_or_change_attempts(client, reviewer, new_client):
    attempt = scored_attempt(new_client)
    assert client.get(reverse("admin:proctoring_client_changelist")).status_code == 403
    assert (
        client.get(
            reverse("admin:proctoring_client_change", args=[new_client.client.pk])
        ).status_code
        == 403
    )
    post = client.post(change_url(attempt), {"lookup_key": "changed"})
    assert post.status_code == 403


def test_staff_without_review_permission_cannot_judge(client, new_client):
    attempt = scored_attempt(new_client)
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="reviewer"))
    new_client.client.reviewers.add(user)
    user.groups.get(name="reviewer").permissions.remove(
        *user.groups.get(name="reviewer").permissions.filter(codename="review_attempt")
    )
    client.force_login(user)
    response = client.post(
        reverse("admin:proctoring_attempt_review", args=[attempt.pk]), {"verdict": "cleared"}
    )
    assert response.status_code == 403


def test_secrets_never_appear_on_admin_pages(admin_client, new_client):
    client_obj = new_client.client
    new_secret = client_secret_rotate(client=client_obj)
    client_obj.refresh_from_db()
    for url in (
        reverse("admin:proctoring_client_changelist"),
        reverse("admin:proctoring_client_change", args=[client_obj.pk]),
    ):
        html = admin_client.get(url).content.decode()
        for secret in (
            new_client.client_secret,
            new_secret,
            client_obj.secret_encrypted,
            client_obj.previous_secret_encrypted,
        ):
            assert secret not in html
