"""The review desk (issue #19, docs/review.md): the list's columns, order and marks, bulk
verdicts, the read-only attempt page, the recording with byte ranges, the dashboard, and bounded
query counts for the list, the page and the dashboard."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from proctoring.models import AttemptAuditEntry, ReviewVerdict, ViolationReview
from tests.proctoring.desk_data import desk_attempt, recorded_session
from tests.proctoring.factories import scored_attempt, started_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

CHANGELIST = "admin:proctoring_attempt_changelist"


def change_url(attempt) -> str:
    return reverse("admin:proctoring_attempt_change", args=[attempt.pk])


def rows(html: str) -> list[str]:
    """The list's rows, each as its HTML, in page order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>.*?</tr>", body, flags=re.S)


# -- the list ---------------------------------------------------------------------------------


def test_list_shows_candidate_client_band_reasons_counts_duration_thumbnail(
    client, reviewer, new_client
):
    attempt = desk_attempt(new_client, extra_violations=3)
    html = client.get(reverse(CHANGELIST)).content.decode()
    (row,) = rows(html)
    assert "Ada Lovelace" in row and "exam-42" in row
    assert f'title="{new_client.client.name} ({new_client.client.client_id})"' in row
    assert f'class="desk-score band-red" title="red">{attempt.trust_score:.1f}<' in row
    assert "⚑ low score, second person" in row
    assert "3×&nbsp;Switched window" in row and "1×&nbsp;Multiple humans" in row
    assert ">1:00<br>" in row  # duration, one minute
    thumbnail = attempt.evidence.filter(type="multiple_humans").get()
    assert f"/evidence/{thumbnail.pk}/file/" in row and 'class="desk-thumb"' in row


def test_search_finds_a_candidate_by_name(client, reviewer, new_client):
    desk_attempt(new_client, "ada-1")
    desk_attempt(new_client, "alan-1", name="Alan Turing")
    html = client.get(reverse(CHANGELIST), {"q": "lovelace"}).content.decode()
    assert re.findall(r'class="desk-id">([\w-]+)<', html) == ["ada-1"]


def test_an_attempt_without_media_never_looks_clean(client, reviewer, new_client):
    # Scored high, no stored reasons (as a legacy row might be), the camera never arrived.
    unseen = scored_attempt(new_client, "unseen", score=99.9, review_reasons=[])
    unseen.coverage = {"camera": {"required": True, "analysed_s": 0.0, "ratio": 0.0}}
    unseen.save()
    never_measured = scored_attempt(new_client, "unmeasured", score=100.0, review_reasons=[])
    clean = scored_attempt(new_client, "clean", score=99.0, review_reasons=[])
    clean.coverage = {"camera": {"required": True, "analysed_s": 1800.0, "ratio": 1.0}}
    clean.save()
    html = client.get(reverse(CHANGELIST)).content.decode()
    by_id = {re.search(r'desk-id">(\w+)<', r).group(1): r for r in rows(html)}
    for name in ("unseen", "unmeasured"):
        assert "band-green" not in by_id[name] and "band-amber" in by_id[name]
        assert "⚑ missing coverage" in by_id[name]
    assert "band-green" in by_id["clean"] and 'class="desk-ok">no<' in by_id["clean"]
    assert never_measured.pk


def test_sorted_by_score_worst_first_or_needs_review_first(client, reviewer, new_client):
    scored_attempt(new_client, "low", score=40.0)
    reviewed = scored_attempt(new_client, "reviewed", score=30.0)
    reviewed.review_verdict = ReviewVerdict.CLEARED
    reviewed.save()
    scored_attempt(new_client, "high", score=99.0, review_reasons=[])
    scored_attempt(new_client, "flagged", score=97.0, review_reasons=["second_person"])
    names = r'class="desk-id">(low|reviewed|high|flagged)<'
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert re.findall(names, page) == ["reviewed", "low", "flagged", "high"]
    needs_first = client.get(reverse(CHANGELIST) + "?o=4.3").content.decode()
    assert re.findall(names, needs_first) == ["low", "flagged", "reviewed", "high"]
    assert 'href="?o=4.3" id="sort-needs-review"' in page


def test_bulk_verdicts_go_through_the_transition_each_audited(client, reviewer, new_client):
    one = scored_attempt(new_client, "one", score=40.0)
    two = scored_attempt(new_client, "two", score=50.0)
    running = started_attempt(new_client, test_attempt_id="running")
    response = client.post(
        reverse(CHANGELIST),
        {"action": "verdict_cleared", "_selected_action": [one.pk, two.pk, running.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "2 attempt(s) set to cleared." in html
    assert "Not reviewed: running (Only a stopped attempt can be reviewed.)" in html
    for attempt in (one, two):
        attempt.refresh_from_db()
        assert (attempt.review_verdict, attempt.reviewed_by) == (ReviewVerdict.CLEARED, reviewer)
    entries = AttemptAuditEntry.objects.filter(action="review").order_by("attempt_id")
    assert [(e.attempt_id, e.actor, e.after, e.comment) for e in entries] == [
        (one.pk, reviewer, {"review_verdict": "cleared"}, "bulk"),
        (two.pk, reviewer, {"review_verdict": "cleared"}, "bulk"),
    ]


def test_bulk_verdicts_need_the_review_permission(client, new_client):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    group = Group.objects.get(name="reviewer")
    user.groups.add(group)
    group.permissions.remove(*group.permissions.filter(codename="review_attempt"))
    new_client.client.reviewers.add(user)
    client.force_login(user)
    attempt = scored_attempt(new_client, "one", score=40.0)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "verdict_cleared" not in html
    client.post(
        reverse(CHANGELIST), {"action": "verdict_cleared", "_selected_action": [attempt.pk]}
    )
    attempt.refresh_from_db()
    assert attempt.review_verdict == ReviewVerdict.UNREVIEWED


def _list_queries(client, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(50) as captured:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    return len(captured.captured_queries)


def test_list_query_count_does_not_grow_with_attempts_or_violations(
    client, reviewer, new_client, django_assert_max_num_queries
):
    for i in range(3):
        desk_attempt(new_client, f"few-{i}")
    client.get(reverse(CHANGELIST))  # warm the process-wide caches (content types)
    few = _list_queries(client, django_assert_max_num_queries)
    for i in range(27):
        desk_attempt(new_client, f"many-{i}", extra_violations=10)
    many = _list_queries(client, django_assert_max_num_queries)
    assert few == many, (few, many)


# -- the attempt page -------------------------------------------------------------------------


def test_attempt_page_has_no_raw_json_and_nothing_editable(client, reviewer, new_client):
    attempt = desk_attempt(new_client, recording=True)
    attempt.thresholds = {"video_k": 3}
    attempt.save()
    html = client.get(change_url(attempt)).content.decode()
    # Django's own inline formset options are JSON in an attribute; nothing else may be.
    html = re.sub(r'data-inline-formset="[^"]*"', "", html)
    assert "<textarea" not in html
    assert 'name="thresholds"' not in html and 'name="score_profile"' not in html
    assert '{"' not in html and "{&quot;" not in html  # no JSON, raw or escaped
    assert 'name="_save"' not in html
    assert "style=" not in html.split('id="proctor-review"', 1)[1].split("<h2>Attempt</h2>")[0]
    assert "<script>" not in html


def test_attempt_page_explains_the_score_and_coverage(client, reviewer, new_client):
    attempt = desk_attempt(new_client)
    html = client.get(change_url(attempt)).content.decode()
    table = html.split('id="score-breakdown"', 1)[1].split("</table>", 1)[0]
    component = next(
        c for c in attempt.score_breakdown["components"] if c["type"] == "multiple_humans"
    )
    assert f"<td>{round(component['points_lost'], 1):.1f}</td>" in table
    assert "4.0 s (6.67 % of the test)" in table
    assert "Time with more than one person in view of the camera." in table
    assert "This type costs at most 100 points, and half of that at 2.5 % of the test" in table
    assert "1 event" not in table  # count types without events are left out
    assert str(component["points_lost"]) not in table  # never the raw float
    coverage = html.split('id="coverage"', 1)[1].split("</table>", 1)[0]
    assert "<td>camera</td><td>yes</td><td>60.0 s</td>" in coverage
    assert 'class="w10"' in coverage


def test_attempt_page_groups_evidence_by_violation_and_plays_the_recording(
    client, reviewer, new_client
):
    attempt = desk_attempt(new_client, recording=True)
    other = desk_attempt(new_client, "desk-2")
    session = attempt.sessions.get()
    html = client.get(change_url(attempt)).content.decode()
    recording_url = f"/admin/proctoring/attempt/{attempt.pk}/recording/{session.pk}/"
    assert f'src="{recording_url}" data-offset="0.000"' in html
    speech = attempt.violations.get(type="speech")
    group = html.split(f'id="evidence-{speech.pk}"', 1)[1].split('class="evidence-group"')[0]
    # 37 s of speech plays 13 s..43 s: the whole violation up to the 30 s cap, said so.
    assert 'data-start="13.000" data-end="43.000"' in group
    assert "(its first 30 s: clips are capped)" in group
    assert "<audio controls" in group
    humans = attempt.violations.get(type="multiple_humans")
    group = html.split(f'id="evidence-{humans.pk}"', 1)[1].split('class="evidence-group"')[0]
    assert 'class="face-box"' in group
    assert f'id="violation-{humans.pk}"' in html and 'class="inline confirm-form"' in html
    assert f'data-next-url="{change_url(other)}"' in html
    assert "review-desk.js" in html


def test_verdicts_are_one_click_buttons(client, reviewer, new_client):
    attempt = desk_attempt(new_client)
    html = client.get(change_url(attempt)).content.decode()
    form = html.split('id="verdict-form"', 1)[1].split("</form>", 1)[0]
    for verdict in ("cleared", "confirmed", "inconclusive"):
        assert f'name="verdict" value="{verdict}" id="verdict-{verdict}"' in form
    assert "<select" not in form
    response = client.post(
        reverse("admin:proctoring_attempt_review", args=[attempt.pk]), {"verdict": "confirmed"}
    )
    assert response.status_code == 302
    entry = AttemptAuditEntry.objects.get(attempt=attempt, action="review")
    assert (entry.actor, entry.after) == (reviewer, {"review_verdict": "confirmed"})


def test_a_running_attempt_page_says_it_is_not_measured(client, reviewer, new_client):
    attempt = started_attempt(new_client, test_attempt_id="running")
    html = client.get(change_url(attempt)).content.decode()
    assert 'id="coverage-missing"' in html and "treat it as unmonitored" in html
    assert 'id="verdict-form"' not in html  # only a stopped attempt is judged
    assert 'id="no-recording"' in html


def test_violation_verdict_returns_to_the_violation_and_is_audited(client, reviewer, new_client):
    attempt = desk_attempt(new_client)
    humans = attempt.violations.get(type="multiple_humans")
    url = reverse("admin:proctoring_attempt_violation_review", args=[attempt.pk, humans.pk])
    response = client.post(url, {"verdict": "confirmed"})
    assert response["Location"] == f"{change_url(attempt)}#violation-{humans.pk}"
    assert ViolationReview.objects.get(violation=humans).verdict == "confirmed"
    entry = AttemptAuditEntry.objects.get(action="violation_review")
    assert (entry.actor, entry.after["verdict"]) == (reviewer, "confirmed")


def _page_queries(client, attempt, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(80) as captured:
        assert client.get(change_url(attempt)).status_code == 200
    return len(captured.captured_queries)


def test_attempt_page_query_count_does_not_grow_with_violations(
    client, reviewer, new_client, django_assert_max_num_queries
):
    small = desk_attempt(new_client, "small")
    big = desk_attempt(new_client, "big", extra_violations=40)
    # Warm the process-wide caches (content types) that a first page fills whatever it shows.
    client.get(change_url(small))
    few = _page_queries(client, small, django_assert_max_num_queries)
    many = _page_queries(client, big, django_assert_max_num_queries)
    assert few == many, (few, many)


# -- the recording ----------------------------------------------------------------------------


def test_recording_is_served_with_byte_ranges(client, reviewer, new_client):
    attempt = desk_attempt(new_client)
    session = recorded_session(attempt, seconds=2)
    size = session.recording.size
    url = reverse("admin:proctoring_attempt_recording", args=[attempt.pk, session.pk])
    whole = client.get(url)
    assert (whole.status_code, whole["Accept-Ranges"], whole["Content-Type"]) == (
        200,
        "bytes",
        "video/webm",
    )
    assert b"".join(whole.streaming_content)[:4] == b"\x1a\x45\xdf\xa3"  # EBML
    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{size}"
    assert len(b"".join(part.streaming_content)) == 100
    tail = client.get(url, HTTP_RANGE="bytes=-10")
    assert tail["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    open_end = client.get(url, HTTP_RANGE=f"bytes={size - 5}-")
    assert open_end["Content-Length"] == "5"
    refused = client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert refused.status_code == 416 and refused["Content-Range"] == f"bytes */{size}"


def test_recording_needs_staff_and_the_attempt(client, new_client, other_client):
    attempt = desk_attempt(new_client)
    session = recorded_session(attempt, seconds=1)
    url = reverse("admin:proctoring_attempt_recording", args=[attempt.pk, session.pk])
    assert "/admin/login/" in client.get(url)["Location"]
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    assert client.get(url).status_code == 403
    elsewhere = desk_attempt(other_client, "elsewhere")
    admin = User.objects.create_superuser("root", password="pw")
    client.force_login(admin)
    wrong = reverse("admin:proctoring_attempt_recording", args=[elsewhere.pk, session.pk])
    assert client.get(wrong).status_code == 404


# -- the dashboard ----------------------------------------------------------------------------


def test_dashboard_draws_the_four_charts_for_a_client(client, reviewer, new_client, other_client):
    attempt = desk_attempt(new_client)
    desk_attempt(new_client, "desk-2")
    desk_attempt(other_client, "not-this-one")
    url = reverse("admin:proctoring_attempt_dashboard")
    humans = attempt.violations.get(type="multiple_humans")
    no_face = attempt.violations.get(type="no_face")
    review = "admin:proctoring_attempt_violation_review"
    client.post(reverse(review, args=[attempt.pk, humans.pk]), {"verdict": "confirmed"})
    client.post(reverse(review, args=[attempt.pk, no_face.pk]), {"verdict": "dismissed"})
    html = client.get(url, {"client": new_client.client.pk}).content.decode()
    for chart in ("per-day", "scores", "types", "precision"):
        assert f'class="desk-chart {chart}"' in html
    per_day = html.split('class="desk-chart per-day"', 1)[1].split("</svg>", 1)[0]
    assert per_day.count('class="bar"') == 30
    assert re.search(r"<title>\d\d \w{3}: 2</title>", per_day)
    types = html.split('class="desk-chart types"', 1)[1].split("</svg>", 1)[0]
    assert "<title>Multiple humans: 2</title>" in types
    precision = html.split('class="desk-chart precision"', 1)[1].split("</svg>", 1)[0]
    assert "50 % of 2 verdicts" in precision
    assert "<script" not in html.split('id="desk-dashboard"', 1)[1]


def test_dashboard_query_count_is_bounded(
    client, reviewer, new_client, django_assert_max_num_queries
):
    url = reverse("admin:proctoring_attempt_dashboard")
    desk_attempt(new_client, "one")
    client.get(url)  # warm the process-wide caches (content types)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for i in range(10):
        desk_attempt(new_client, f"more-{i}", extra_violations=5)
    with django_assert_max_num_queries(40) as many:
        client.get(url)
    assert len(few.captured_queries) == len(many.captured_queries)


def test_dashboard_needs_view_permission(client, new_client):
    desk_attempt(new_client)
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    assert client.get(reverse("admin:proctoring_attempt_dashboard")).status_code == 403
