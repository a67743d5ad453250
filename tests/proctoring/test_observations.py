"""Observations are recorded once, and merge into violations whatever their arrival order."""

import random

import pytest

from proctoring.models import Observation, Violation
from proctoring.services.observations import Finding, Sample, observation_record
from proctoring.statuses import ViolationType
from tests.proctoring.factories import open_session, started_attempt

pytestmark = pytest.mark.django_db

MULTI = Finding(type=ViolationType.MULTIPLE_HUMANS, details={"faces": 2})


def record(session, seq, finding=MULTI, faces=2):
    sample = Sample(session_id=session.id, seq=seq, media_time=float(seq), duration_s=1.0)
    return observation_record(sample=sample, kind="video", data={"count": faces}, finding=finding)


def test_a_redelivered_sample_is_recorded_once(new_client):
    session = open_session(started_attempt(new_client))
    assert record(session, 0) is not None
    assert record(session, 0) is None
    assert Observation.objects.count() == 1
    violation = Violation.objects.get()
    assert violation.observation_count == 1
    assert (violation.start_s, violation.end_s) == (0.0, 1.0)


def test_times_are_relative_to_the_attempt(new_client):
    attempt = started_attempt(new_client)
    session = open_session(attempt, offset_s=30.0)
    record(session, 5)
    violation = Violation.objects.get()
    assert (violation.start_s, violation.end_s) == (35.0, 36.0)
    assert violation.started_at == attempt.started_at + __import__("datetime").timedelta(seconds=35)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_out_of_order_arrival_gives_the_same_violations(new_client, seed):
    session = open_session(started_attempt(new_client))
    # Two incidents: 0-4 s and 10-12 s, with clean frames between (gap 6 s > merge gap).
    seqs = [0, 1, 2, 3, 10, 11]
    random.Random(seed).shuffle(seqs)
    for seq in seqs:
        record(session, seq)
    spans = list(
        Violation.objects.order_by("start_s").values_list("start_s", "end_s", "observation_count")
    )
    assert spans == [(0.0, 4.0, 4), (10.0, 12.0, 2)]


def test_clean_frames_make_no_violation(new_client):
    session = open_session(started_attempt(new_client))
    record(session, 0, finding=None, faces=1)
    assert Observation.objects.count() == 1
    assert not Violation.objects.exists()
