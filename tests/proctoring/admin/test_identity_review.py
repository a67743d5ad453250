"""The attempt page's identity parts (issue #18): the reference face beside each impersonation
violation, the identity result and the ID card tries."""

import pytest
from django.urls import reverse

from proctoring import media_rpc
from proctoring.models import Evidence, IdCardCheck
from proctoring.services import id_cards
from tests.proctoring.factories import open_session, started_attempt
from tests.proctoring.services.test_identity import IDENTITY, analyse, card_image, frame_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


@pytest.fixture
def attempt(new_client, monkeypatch):
    monkeypatch.setattr(media_rpc, "request_push", lambda **kwargs: None)
    monkeypatch.setattr(media_rpc, "request_early_sample", lambda **kwargs: None)
    return started_attempt(new_client, test_attempt_id="id-admin", options=IDENTITY)


def test_the_reference_face_stands_beside_the_impersonation_and_the_card_result_shows(
    client, reviewer, attempt
):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(6)])
    analyse(session, [(seq, frame_of("t1#4", seq)) for seq in range(6, 13)])
    id_cards.id_card_check(attempt=attempt, image=card_image("Tom_Hanks_54745"), source="agent")

    page = client.get(reverse("admin:proctoring_attempt_change", args=[attempt.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    reference = Evidence.objects.filter(attempt=attempt, kind="reference").order_by("at_s")[0]
    live = Evidence.objects.get(attempt=attempt, type="impersonation")
    row = html[html.index('id="review-violations"') :]
    pair = row[row.index('class="identity-pair"') :]
    assert pair.index(f"/evidence/{reference.pk}/file/") < pair.index(f"/evidence/{live.pk}/file/")
    assert 'id="identity-result">mismatch<' in html
    check = IdCardCheck.objects.get(attempt=attempt)
    table = html[html.index('id="id-card-checks"') :]
    assert "failed (mismatch)" in table
    assert f"/evidence/{check.card_evidence_id}/file/" in table
