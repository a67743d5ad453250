"""Observations are recorded once and turn into violations by K-of-N, whatever the arrival order."""

import datetime as dt
import json
import random

import pytest

from proctoring import messages
from proctoring.analysis.thresholds import DEFAULT_THRESHOLDS
from proctoring.models import Evidence, Observation, Violation
from proctoring.services.observed import EvidenceFile
from proctoring.services.violations import attempt_violations_rebuild
from tests.proctoring.factories import open_session, record_frame, started_attempt

pytestmark = pytest.mark.django_db


def spans():
    return list(Violation.objects.order_by("start_s").values_list("type", "start_s", "end_s"))


def test_a_redelivered_sample_is_recorded_once(new_client):
    session = open_session(started_attempt(new_client))
    record_frame(session, 0, 2)
    record_frame(session, 0, 2)
    record_frame(session, 1, 1)
    record_frame(session, 1, 1)
    assert Observation.objects.count() == 2


def test_one_bad_frame_is_not_an_incident_two_in_three_are(new_client):
    session = open_session(started_attempt(new_client))
    record_frame(session, 0, 2)
    record_frame(session, 1, 1)
    assert not Violation.objects.exists()
    record_frame(session, 2, 2)
    assert spans() == [("multiple_humans", 0.0, 3.0)]


def test_a_flagged_frame_not_yet_confirmed_asks_its_ingest_for_the_next_frame_now(
    new_client, redis_client, django_capture_on_commit_callbacks
):
    session = open_session(started_attempt(new_client))
    control = messages.CONTROL_KEY.format(node=session.ingest_node)
    redis_client.delete(control)

    def ops_sent() -> list[dict]:
        sent = [json.loads(raw) for raw in redis_client.lrange(control, 0, -1)]
        redis_client.delete(control)
        return sent

    with django_capture_on_commit_callbacks(execute=True):
        record_frame(session, 0, 1)  # clean
    assert ops_sent() == []
    with django_capture_on_commit_callbacks(execute=True):
        record_frame(session, 1, 2)  # flagged, alone in its window: not a violation yet
    assert ops_sent() == [{"op": "sample_now", "session_id": str(session.pk)}]
    with django_capture_on_commit_callbacks(execute=True):
        record_frame(session, 2, 2)  # confirms it: the agent is told, nothing more is asked
    assert [op["op"] for op in ops_sent()] == ["push"]
    assert spans() == [("multiple_humans", 1.0, 3.0)]


def test_times_are_relative_to_the_attempt(new_client):
    attempt = started_attempt(new_client)
    session = open_session(attempt, offset_s=30.0)
    record_frame(session, 5, 0)
    record_frame(session, 6, 0)
    violation = Violation.objects.get()
    assert (violation.type, violation.start_s, violation.end_s) == ("no_face", 35.0, 37.0)
    assert violation.started_at == attempt.started_at + dt.timedelta(seconds=35)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_out_of_order_arrival_gives_the_same_violations_as_a_rebuild(new_client, seed):
    attempt = started_attempt(new_client)
    session = open_session(attempt)
    frames = {0: 2, 1: 2, 2: 2, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 2, 9: 1, 10: 3, 11: 3, 12: 1}
    order = list(frames)
    random.Random(seed).shuffle(order)
    for seq in order:
        record_frame(session, seq, frames[seq])
    live = spans()
    assert live == [("multiple_humans", 0.0, 3.0), ("multiple_humans", 8.0, 12.0)]
    attempt_violations_rebuild(attempt=attempt, thresholds=DEFAULT_THRESHOLDS, recompute=True)
    assert spans() == live


def test_the_frame_that_starts_a_violation_is_kept_as_evidence(new_client):
    session = open_session(started_attempt(new_client))
    photo = EvidenceFile(kind="photo", extension="jpg", content=b"\xff\xd8jpeg", data={"faces": []})
    record_frame(session, 0, 2, evidence=photo)
    record_frame(session, 1, 2, evidence=photo)
    record_frame(session, 2, 2, evidence=photo)
    evidence = Evidence.objects.get()
    assert (evidence.type, evidence.kind, evidence.at_s) == ("multiple_humans", "photo", 0.0)
    assert evidence.file.read() == b"\xff\xd8jpeg"
