"""Identity on the real models and database: enrolment, the frame check, photos, ID cards,
privacy (encryption, retention, nothing in the API), the review reasons."""

import datetime as dt
import functools
import json

import cv2
import numpy as np
import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from proctoring import media_rpc, signing
from proctoring.analysis import vision
from proctoring.analysis.identity import devset
from proctoring.exceptions import Conflict
from proctoring.models import (
    Evidence,
    EvidenceKind,
    IdCardCheck,
    IdentityProfile,
    IdentityStatus,
    IdentityTemplate,
    Observation,
    Violation,
)
from proctoring.selectors import identity as identity_selectors
from proctoring.services import agent_events, id_cards, reviews, samples, scoring
from proctoring.services.observed import Sample
from proctoring.services.retention import purge_expired
from tests.conftest import MEDIA_DIR, MODEL_DIR
from tests.proctoring.factories import open_session, started_attempt

IDENTITY = {
    "trackingOptions": {
        "impersonation": True,
        "idCardVerification": True,
        "audio": False,
        "photosAtRandom": False,
        "tabSwitch": False,
        "captureSwitchedTab": False,
    }
}


@functools.cache
def person(name: str) -> devset.Person:
    counter = vision.load_counter("scrfd_500m", MODEL_DIR, main_input=(320, 256))
    return {p.name: p for p in devset.people(MEDIA_DIR, counter)}[name]


def jpeg(frame: np.ndarray) -> bytes:
    return vision.encode_jpeg(frame)


def frame_of(name: str, seq: int, *, width: int = 150) -> bytes:
    """The person in front of the webcam, swaying a little from frame to frame, with noise."""
    sway = (int(6 * np.sin(seq)), int(4 * np.cos(seq)))
    frame = devset.webcam_frame(person(name), width, sway)
    noise = np.random.default_rng(seq).normal(0, 4, frame.shape)
    return jpeg(np.clip(frame + noise, 0, 255).astype(np.uint8))


def analyse(session, frames: list[tuple[int, bytes]]) -> None:
    samples.samples_analyze(
        samples=[
            samples.MediaSample(
                kind="video",
                sample=Sample(
                    session_id=session.id, seq=seq, media_time=float(seq), duration_s=1.0
                ),
                content=content,
            )
            for seq, content in frames
        ]
    )


@pytest.fixture
def pushes(monkeypatch):
    """What the server tells the client, sent at once instead of when the transaction commits
    (the test's transaction never does)."""
    sent = []
    monkeypatch.setattr(
        media_rpc, "request_push", lambda *, node, session_id, message: sent.append(message)
    )
    monkeypatch.setattr(media_rpc, "request_early_sample", lambda **kwargs: None)
    monkeypatch.setattr(transaction, "on_commit", lambda callback, robust=False: callback())
    return sent


@pytest.fixture
def attempt(new_client):
    return started_attempt(new_client, test_attempt_id="id-1", options=IDENTITY)


def test_the_first_good_frames_enrol_the_candidate_encrypted(attempt, pushes):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(5)])

    templates = list(IdentityTemplate.objects.filter(attempt=attempt))
    assert len(templates) == settings.PROCTOR_IDENTITY_REFERENCES == 3
    profile = IdentityProfile.objects.get(attempt=attempt)
    assert (profile.status, profile.model) == (IdentityStatus.ENROLLED, "sface")
    for template in templates:
        vector = signing.decrypt_template(template.embedding_encrypted)
        assert vector.shape == (128,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
        # Encrypted at rest: the stored text holds no float bytes of the vector.
        assert vector.astype("<f4").tobytes().hex() not in template.embedding_encrypted
        assert template.evidence.kind == EvidenceKind.REFERENCE
        assert template.evidence.file.read(2) == b"\xff\xd8"
    assert {"type": "identity", "code": 2004, "state": "enrolled", "reason": ""} in pushes
    # The same person afterwards: compared, matched, no violation.
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(5, 12)])
    checked = Observation.objects.filter(attempt=attempt, data__has_key="identity")
    assert checked.exists()
    assert all(o.data["identity"]["sim"] > 0.8 for o in checked)
    assert not Violation.objects.filter(attempt=attempt).exists()


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        (lambda: jpeg(cv2.imread(str(MEDIA_DIR / "empty_room.png"))), 4905, "no_face"),
        (lambda: jpeg(cv2.imread(str(MEDIA_DIR / "two_faces.png"))), 4906, "multiple_faces"),
        (lambda: frame_of("astronaut", 0, width=60), 4907, "too_small"),
    ],
)
def test_a_frame_that_cannot_enrol_tells_the_candidate_why(attempt, pushes, frame, code, reason):
    session = open_session(attempt)
    analyse(session, [(0, frame()), (1, frame())])
    assert not IdentityTemplate.objects.filter(attempt=attempt).exists()
    told = [m for m in pushes if m["type"] == "identity"]
    # Told once for the same problem, not for every frame.
    assert told == [{"type": "identity", "code": code, "state": "enrolling", "reason": reason}]
    # The retry: the candidate fixes it, the next good frames enrol.
    analyse(session, [(2, frame_of("astronaut", 2)), (3, frame_of("astronaut", 3))])
    assert IdentityProfile.objects.get(attempt=attempt).status == IdentityStatus.ENROLLED


def test_another_person_is_an_impersonation_with_both_faces_as_evidence(attempt, pushes):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(6)])
    analyse(session, [(seq, frame_of("t1#4", seq)) for seq in range(6, 13)])

    (violation,) = Violation.objects.filter(attempt=attempt)
    assert (violation.type, violation.code) == ("impersonation", 5015)
    # The other person sat down at 6 s; a matching face is compared every CHECK_EVERY frames.
    assert 6.0 <= violation.start_s < 6.0 + settings.PROCTOR_IDENTITY_CHECK_EVERY
    assert violation.details["model"] == "sface" and violation.details["min_similarity"] < 0.3
    (evidence,) = Evidence.objects.filter(attempt=attempt, type="impersonation")
    assert evidence.data["side_by_side"] is True
    picture = vision.decode_jpeg(evidence.file.read())
    assert picture.shape[0] == 224 and picture.shape[1] > 300  # two faces side by side
    assert {
        "type": "violation",
        "code": 5015,
        "violation": "impersonation",
        "start_s": violation.start_s,
    } in pushes
    # The reviewer's verdict counts for the embedding model's precision.
    review = reviews.violation_review_set(violation=violation, verdict="confirmed", reviewer=None)
    assert review.detector == "sface"


def compared_seqs(attempt) -> list[int]:
    checked = Observation.objects.filter(attempt=attempt, data__has_key="identity")
    return sorted(checked.values_list("seq", flat=True))


def analyse_in_batches(session, frames: list[tuple[int, bytes]], size: int = 3) -> None:
    """As the workers see a stream: a few frames a batch, the cadence carried between them."""
    for start in range(0, len(frames), size):
        analyse(session, frames[start : start + size])


def test_a_face_that_keeps_matching_in_its_seat_is_compared_less_often(attempt, pushes):
    session = open_session(attempt)
    analyse_in_batches(session, [(seq, frame_of("astronaut", seq)) for seq in range(48)])
    seqs = compared_seqs(attempt)
    gaps = [later - earlier for earlier, later in zip(seqs, seqs[1:], strict=False)]
    settle = settings.PROCTOR_IDENTITY_SETTLE_AFTER
    usual, settled = settings.PROCTOR_IDENTITY_CHECK_EVERY, settings.PROCTOR_IDENTITY_SETTLED_EVERY
    assert gaps[: settle - 1] == [usual] * (settle - 1)
    assert gaps[settle - 1 :] == [settled] * (len(gaps) - settle + 1)
    assert len(gaps) >= settle + 2
    streaks = [
        o.data["identity"]["streak"]
        for o in Observation.objects.filter(attempt=attempt, seq__in=seqs).order_by("seq")
    ]
    assert streaks == list(range(1, len(seqs) + 1))


def test_another_person_in_a_settled_seat_is_found_within_the_settled_interval(attempt, pushes):
    session = open_session(attempt)
    analyse_in_batches(session, [(seq, frame_of("astronaut", seq)) for seq in range(24)])
    switch = 24
    assert compared_seqs(attempt)[-1] > switch - settings.PROCTOR_IDENTITY_SETTLED_EVERY
    analyse_in_batches(session, [(seq, frame_of("t1#4", seq)) for seq in range(switch, 44)])
    (violation,) = Violation.objects.filter(attempt=attempt, type="impersonation")
    assert switch <= violation.start_s < switch + settings.PROCTOR_IDENTITY_SETTLED_EVERY


def test_a_settled_face_that_moves_elsewhere_is_compared_at_the_usual_rate(attempt, pushes):
    session = open_session(attempt)
    analyse_in_batches(session, [(seq, frame_of("astronaut", seq)) for seq in range(20)])
    last = compared_seqs(attempt)[-1]
    moved = 20
    elsewhere = devset.webcam_frame(person("astronaut"), 150, (170, 40))
    analyse_in_batches(session, [(seq, jpeg(elsewhere)) for seq in range(moved, 40)])
    after = [seq for seq in compared_seqs(attempt) if seq > last]
    # Whoever sits there now is compared at the usual rate, not the settled one; once it has
    # matched, the new place is the settled one.
    assert after[0] == max(moved, last + settings.PROCTOR_IDENTITY_CHECK_EVERY)
    assert after[1] - after[0] == settings.PROCTOR_IDENTITY_SETTLED_EVERY
    assert not Violation.objects.filter(attempt=attempt).exists()


def test_a_poor_frame_of_another_person_is_never_a_violation(attempt, pushes):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(4)])
    blurred = [
        (seq, jpeg(cv2.GaussianBlur(devset.webcam_frame(person("t1#4"), 150), (0, 0), 3.5)))
        for seq in range(4, 9)
    ]
    small = [(seq, frame_of("t1#4", seq, width=60)) for seq in range(9, 14)]
    analyse(session, blurred + small)
    assert not Violation.objects.filter(attempt=attempt).exists()
    verdicts = identity_selectors.attempt_identity_summary(attempt=attempt).frames
    assert verdicts["mismatch"] == 0 and verdicts["uncertain"] >= 2


def test_random_photos_are_compared_and_a_mismatch_needs_review(attempt, pushes):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(4)])
    same = agent_events.photo_store(
        session_id=str(session.id),
        media_time=5.0,
        kind="random_photo",
        reason="random",
        jpeg=frame_of("astronaut", 5),
    )
    other = agent_events.photo_store(
        session_id=str(session.id),
        media_time=6.0,
        kind="random_photo",
        reason="random",
        jpeg=frame_of("Tom_Hanks_54745", 6),
    )
    assert same.data["identity"]["verdict"] == "match"
    assert other.data["identity"]["verdict"] == "mismatch"
    assert identity_selectors.identity_mismatch_seen(attempt=attempt)


def test_a_test_taker_photo_enrols_when_nothing_is_enrolled(new_client, pushes):
    options = {"trackingOptions": {"testTakerPhoto": True, "audio": False}}
    attempt = started_attempt(new_client, test_attempt_id="id-photo", options=options)
    session = open_session(attempt)
    photo = agent_events.photo_store(
        session_id=str(session.id),
        media_time=0.5,
        kind="random_photo",
        reason="test_taker",
        jpeg=frame_of("astronaut", 0),
    )
    assert photo.data == {"reason": "test_taker", "identity": {"enrolment": "reference"}}
    (template,) = IdentityTemplate.objects.filter(attempt=attempt)
    assert template.source == "photo"


def card_image(name: str) -> bytes:
    return jpeg(devset.id_card(person(name)))


def test_an_id_card_with_the_candidates_face_passes_and_another_fails(attempt, pushes):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(4)])

    failed = id_cards.id_card_check(attempt=attempt, image=card_image("t1#2"), source="agent")
    assert (failed.passed, failed.reason, failed.attempt_number) == (False, "mismatch", 1)
    assert failed.similarity < 0.3
    passed = id_cards.id_card_check(attempt=attempt, image=card_image("astronaut"), source="agent")
    assert (passed.passed, passed.reason, passed.attempt_number) == (True, "", 2)
    assert passed.similarity > 0.8
    assert passed.card_evidence.kind == EvidenceKind.ID_CARD
    assert passed.face_evidence.kind == EvidenceKind.REFERENCE
    assert [m for m in pushes if m["type"] == "id_card"] == [
        {"type": "id_card", "code": 4909, "passed": False, "tries_left": 4},
        {"type": "id_card", "code": 2005, "passed": True, "tries_left": 0},
    ]
    with pytest.raises(Conflict, match="The ID card is verified already."):
        id_cards.id_card_check(attempt=attempt, image=card_image("astronaut"), source="agent")
    summary = identity_selectors.attempt_identity_summary(attempt=attempt)
    assert summary.id_card["status"] == "passed" and summary.id_card["tries"] == 2


def test_a_card_held_to_the_camera_is_compared_with_the_face_beside_it(attempt, pushes):
    session = open_session(attempt)
    held = devset.holding_card(person("astronaut"), devset.id_card(person("astronaut")))
    evidence = agent_events.photo_store(
        session_id=str(session.id),
        media_time=1.0,
        kind="random_photo",
        reason="id_card",
        jpeg=jpeg(held),
    )
    (check,) = IdCardCheck.objects.filter(attempt=attempt)
    assert check.card_evidence == evidence and check.source == "camera"
    assert check.passed and check.similarity > 0.6
    assert check.face_evidence.data == {"reason": "id_card_live_face"}


def test_the_id_card_has_five_tries_and_a_failure_needs_review(attempt, pushes, settings):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(3)])
    for _ in range(settings.PROCTOR_ID_CARD_MAX_TRIES):
        id_cards.id_card_check(attempt=attempt, image=card_image("Tom_Hanks_54745"), source="agent")
    with pytest.raises(Conflict) as refused:
        id_cards.id_card_check(attempt=attempt, image=card_image("astronaut"), source="agent")
    assert refused.value.code == "id_card_tries_exhausted"
    assert refused.value.message == "The ID card check was tried 5 times, the most allowed."
    summary = identity_selectors.attempt_identity_summary(attempt=attempt)
    assert summary.id_card["status"] == "failed"
    assert identity_selectors.identity_mismatch_seen(attempt=attempt)


def test_an_expired_card_or_another_name_fails_the_try(new_client, pushes):
    attempt = started_attempt(new_client, test_attempt_id="id-text", options=IDENTITY)
    attempt.user_details = {"name": "Eileen Collins"}
    attempt.save(update_fields=["user_details"])
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(3)])

    def card(name, expires):
        image = devset.id_card(person("astronaut"), name=name, expires=expires)
        return id_cards.id_card_check(attempt=attempt, image=jpeg(image), source="integrator")

    expired = card("COLLINS EILEEN", "2019-03-31")
    assert (expired.passed, expired.reason) == (False, "expired")
    assert expired.text == {"name": "match", "expiry": "2019-03-31", "expired": True}
    someone_else = card("LOVELACE ADA", "2031-06-30")
    assert (someone_else.passed, someone_else.reason) == (False, "name_mismatch")
    valid = card("COLLINS EILEEN", "2031-06-30")
    assert (valid.passed, valid.reason, valid.text["name"]) == (True, "", "match")


def test_the_id_card_check_must_be_enabled(new_client):
    attempt = started_attempt(new_client, test_attempt_id="no-card", options={})
    with pytest.raises(Conflict) as refused:
        id_cards.id_card_check(attempt=attempt, image=card_image("astronaut"), source="agent")
    assert refused.value.code == "id_card_not_enabled"
    # Asked for from the camera anyway: kept as a photo, with the refusal named.
    photo = agent_events.photo_store(
        session_id=str(open_session(attempt).id),
        media_time=1.0,
        kind="random_photo",
        reason="id_card",
        jpeg=card_image("astronaut"),
    )
    assert photo.data == {"reason": "id_card", "id_card": "id_card_not_enabled"}


def test_finalize_flags_an_attempt_whose_identity_could_not_be_checked(attempt):
    attempt.finished_at = timezone.now()
    attempt.stop_requested_at = attempt.finished_at
    attempt.status = "stopping"
    attempt.save()
    scoring.attempt_finalize(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    assert "identity_unverified" in attempt.review_reasons


def test_templates_are_purged_with_the_evidence(attempt, pushes):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(4)])
    attempt.finished_at = timezone.now() - dt.timedelta(days=attempt.client.retention_days + 1)
    attempt.save(update_fields=["finished_at"])
    result = purge_expired()
    assert result.templates == 3
    assert not IdentityTemplate.objects.filter(attempt=attempt).exists()
    assert not Evidence.objects.filter(attempt=attempt).exists()


def test_the_api_detail_has_the_identity_result_and_no_embedding(attempt, pushes, api):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(8)])
    response = api.get(f"/api/v1/attempts/{attempt.test_attempt_id}/")
    assert response.status_code == 200
    identity = response.json()["identity"]
    assert identity["result"] == "verified"
    assert identity["enrolment"]["references"] == 3 and identity["model"] == "sface"
    assert identity["frames"]["match"] >= 1 and identity["frames"]["similarity"]["min"] > 0.8
    assert identity["id_card"]["status"] == "pending"
    text = json.dumps(response.json())
    assert "embedding" not in text
    for template in IdentityTemplate.objects.filter(attempt=attempt):
        assert template.embedding_encrypted not in text


def test_a_template_under_another_key_is_never_a_pass(attempt, pushes, settings):
    session = open_session(attempt)
    analyse(session, [(seq, frame_of("astronaut", seq)) for seq in range(4)])
    settings.PROCTOR_SECRET_ENCRYPTION_KEY = "kQZ5dK6jWm8n5r3vRk7h0yqHq0mOq9mXgk5Wg0QeZ0s="
    with pytest.raises(RuntimeError, match="a face template cannot be decrypted"):
        signing.decrypt_template(
            IdentityTemplate.objects.filter(attempt=attempt)[0].embedding_encrypted
        )
    analyse(session, [(seq, frame_of("t1#4", seq)) for seq in range(4, 12)])
    assert not Violation.objects.filter(attempt=attempt).exists()
    later = Observation.objects.filter(attempt=attempt, seq__gte=4)
    assert later.count() == 8 and not later.filter(data__has_key="identity").exists()
