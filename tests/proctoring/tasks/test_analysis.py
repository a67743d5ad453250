"""Analysis samples in batches: one broker message from the publisher, one task on the worker."""

import base64
import json
import logging
import random

import av
import cv2
import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from proctoring.analysis import audio
from proctoring.ingest.publisher import SamplePublisher
from proctoring.ingest.sampling import AudioWindow
from proctoring.models import Evidence, Observation, Violation
from proctoring.services import observations
from proctoring.services import samples as analysis
from proctoring.services.observations import observations_record
from proctoring.services.observed import EvidenceFile
from proctoring.tasks.analysis import analyze_audio_window, analyze_samples, analyze_video_frame
from tests.conftest import MEDIA_DIR
from tests.proctoring.factories import (
    audio_data,
    audio_observed,
    frame_observed,
    open_session,
    record_audio,
    record_frame,
    started_attempt,
)

SECOND = audio.SAMPLE_RATE


def spans():
    return list(Violation.objects.order_by("start_s").values_list("type", "start_s", "end_s"))


def item(session, kind: str, seq: int, content: bytes) -> dict:
    """An item as the publisher builds it."""
    return {
        "kind": kind,
        "session_id": str(session.id),
        "seq": seq,
        "media_time": float(seq),
        "duration_s": 1.0,
        "content": base64.b64encode(content).decode(),
    }


def jpeg_of(name: str) -> bytes:
    ok, jpeg = cv2.imencode(".jpg", cv2.imread(str(MEDIA_DIR / name)))
    assert ok
    return jpeg.tobytes()


def quiet_pcm() -> bytes:
    return np.random.default_rng(7).normal(0, 30, SECOND).astype(np.int16).tobytes()


# -- the worker's side ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_clean_samples_of_a_batch_are_written_in_one_insert(new_client):
    attempt = started_attempt(new_client)
    sessions = [open_session(attempt) for _ in range(3)]
    quiet = audio_data(speech=False, dbfs=-60.0)
    batch = [frame_observed(s, seq, 1) for s in sessions for seq in range(4)]
    batch += [audio_observed(s, seq, dict(quiet)) for s in sessions for seq in range(4)]
    with CaptureQueriesContext(connection) as queries:
        observations_record(observed=batch)
    # The sessions with their attempts, the audio windows before the batch, one insert.
    assert len(queries) == 3, [q["sql"][:80] for q in queries]
    assert Observation.objects.filter(finding="").count() == 24
    assert not Violation.objects.exists()


@pytest.mark.django_db
def test_the_flagged_samples_of_a_batch_share_one_lock_one_check_and_one_insert(new_client):
    attempts = [started_attempt(new_client, test_attempt_id=f"flagged-{n}") for n in range(3)]
    sessions = [open_session(attempt) for attempt in attempts]
    for session in sessions:
        record_frame(session, 0, 2)  # each stream's violation starts before the batch
        record_frame(session, 1, 2)
    speech = audio_data(speech=True, dbfs=-30.0)
    batch = [frame_observed(s, 2, 2) for s in sessions]
    batch += [audio_observed(s, seq, dict(speech)) for s in sessions for seq in range(2)]

    with CaptureQueriesContext(connection) as queries:
        observations_record(observed=batch)

    sql = [q["sql"] for q in queries]
    (lock,) = [q for q in sql if "FOR UPDATE" in q]
    assert 'ORDER BY "proctoring_attempt"."id"' in lock  # two workers never lock in a cycle
    assert sum(q.startswith('INSERT INTO "proctoring_observation"') for q in sql) == 1
    # One transaction per sample took 80 queries here, now 23. The batch's context (3), its lock,
    # check, insert and read of the flags around it (4), the commit, and per sample at most a
    # read and a write of its violation.
    assert len(sql) <= 5 + 3 + 2 * len(batch), sql
    # Each violation read comes with its attempt: no attempt is fetched again to extend one.
    refetched = [q for q in sql if 'FROM "proctoring_attempt"' in q and "FOR UPDATE" not in q]
    assert refetched == []
    assert Observation.objects.count() == 6 + 9
    assert sorted(spans()) == [("multiple_humans", 0.0, 3.0)] * 3 + [("speech", 0.0, 2.0)] * 3


@pytest.mark.django_db
def test_flagged_samples_of_a_purged_attempt_are_skipped_with_the_rest_recorded(new_client):
    kept, purged = (
        open_session(started_attempt(new_client, test_attempt_id=name)) for name in ("k", "p")
    )
    batch = [frame_observed(session, seq, 2) for session in (kept, purged) for seq in (0, 1)]
    judged = observations._judge(batch)  # the batch was judged, then the attempt was purged
    purged.attempt.delete()

    observations._record_flagged(judged)

    assert list(Observation.objects.values_list("session_id", "seq")) == [
        (kept.pk, 0),
        (kept.pk, 1),
    ]
    assert spans() == [("multiple_humans", 0.0, 2.0)]


@pytest.mark.django_db
def test_a_finding_in_a_batch_starts_a_violation_with_its_evidence(new_client):
    session = open_session(started_attempt(new_client), offset_s=10.0)
    photo = EvidenceFile(kind="photo", extension="jpg", content=b"\xff\xd8jpeg", data={"faces": []})
    faces = {0: 1, 1: 2, 2: 2, 3: 1}
    observations_record(
        observed=[frame_observed(session, seq, n, evidence=photo) for seq, n in faces.items()]
    )
    assert spans() == [("multiple_humans", 11.0, 13.0)]
    evidence = Evidence.objects.get()
    assert (evidence.type, evidence.at_s) == ("multiple_humans", 11.0)
    findings = dict(Observation.objects.values_list("seq", "finding"))
    assert findings == {0: "", 1: "multiple_humans", 2: "multiple_humans", 3: ""}


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2])
def test_audio_background_carries_across_the_windows_of_one_batch(new_client, seed):
    """A batch judges noise as one window at a time would: each against the one before it."""
    one_by_one = open_session(started_attempt(new_client, test_attempt_id="one-by-one"))
    batched = [open_session(started_attempt(new_client, test_attempt_id=f"b-{n}")) for n in (1, 2)]
    levels = [-60.0] * 7 + [-20.0] * 3 + [-60.0] * 2
    windows = [audio_data(speech=False, dbfs=level) for level in levels]
    for seq, data in enumerate(windows):
        record_audio(one_by_one, seq, dict(data))
    for session in batched:
        for seq, data in enumerate(windows[:4]):
            record_audio(session, seq, dict(data))  # the window before the batch is recorded
    batch = [
        audio_observed(session, seq, dict(data))
        for session in batched
        for seq, data in enumerate(windows[4:], start=4)
    ]
    random.Random(seed).shuffle(batch)  # the batch puts them in order itself
    observations_record(observed=batch)

    def judged(session):
        rows = session.observations.order_by("seq").values_list("finding", "data")
        return [(finding, data["background_next"]) for finding, data in rows]

    assert judged(batched[0]) == judged(batched[1]) == judged(one_by_one)
    assert [finding for finding, _ in judged(one_by_one)][7:10] == ["noise"] * 3
    assert spans() == [("noise", 7.0, 10.0)] * 3


@pytest.mark.django_db
def test_samples_of_a_session_that_no_longer_exists_are_skipped(new_client, caplog):
    session = open_session(started_attempt(new_client))
    gone = open_session(started_attempt(new_client, test_attempt_id="purged"))
    quiet = audio_data(speech=False, dbfs=-60.0)
    batch = [frame_observed(session, 0, 1), frame_observed(gone, 0, 2)]
    batch += [audio_observed(gone, 0, dict(quiet)), audio_observed(session, 0, dict(quiet))]
    gone_id = gone.id
    gone.attempt.delete()  # purged while its samples were on their way
    with caplog.at_level(logging.WARNING):
        observations_record(observed=batch)
    assert Observation.objects.filter(session=session).count() == Observation.objects.count() == 2
    assert f"session {gone_id} no longer exists" in caplog.text


@pytest.mark.django_db
def test_a_redelivered_batch_runs_no_model_again_and_records_nothing_twice(new_client, monkeypatch):
    session = open_session(started_attempt(new_client))
    frames = ["astronaut.png", "two_faces.png", "two_faces.png", "astronaut.png"]
    items = [item(session, "video", seq, jpeg_of(name)) for seq, name in enumerate(frames)]
    items += [item(session, "audio", seq, quiet_pcm()) for seq in range(2)]
    detector, detected = analysis.human_counter(), []

    class Counting:
        def detect(self, bgr):
            detected.append(bgr.shape)
            return detector.detect(bgr)

    monkeypatch.setattr(analysis, "human_counter", Counting)
    analyze_samples(items[:1])  # a first delivery that got as far as the first frame
    analyze_samples(items)
    assert len(detected) == 4
    analyze_samples(items)  # redelivered after a worker was killed
    assert len(detected) == 4
    assert Observation.objects.filter(session=session).count() == 6
    assert spans() == [("multiple_humans", 1.0, 3.0)]
    assert Evidence.objects.count() == 1


@pytest.mark.django_db
def test_per_sample_messages_of_an_older_release_are_still_recorded(new_client):
    # Queued before an upgrade to batching: they must not be lost with the old task names.
    session = open_session(started_attempt(new_client))
    jpeg = base64.b64encode(jpeg_of("astronaut.png")).decode()
    pcm = base64.b64encode(quiet_pcm()).decode()

    analyze_video_frame.apply(args=[str(session.id), 0, 0.0, 1.0, jpeg]).get()
    analyze_audio_window.apply(args=[str(session.id), 0, 0.0, 1.0, pcm]).get()

    kinds = sorted(Observation.objects.filter(session=session).values_list("kind", flat=True))
    assert kinds == ["audio", "video"]
    assert Observation.objects.get(session=session, kind="video").data["count"] == 1


# -- the media process's side -----------------------------------------------------------------


@pytest.fixture
def analysis_queue(redis_client):
    redis_client.delete("analysis")
    yield lambda: [json.loads(raw) for raw in redis_client.lrange("analysis", 0, -1)]
    redis_client.delete("analysis")


def test_samples_of_several_sessions_reach_the_broker_as_one_message(settings, analysis_queue):
    settings.PROCTOR_BATCH_WINDOW_S = 0.3
    publisher = SamplePublisher()
    frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="bgr24")
    window = AudioWindow(seq=3, media_time=3.0, pcm=np.zeros(SECOND, np.int16))
    sent = [
        publisher.video(session_id="s-1", seq=2, media_time=2.0, duration_s=1.0, frame=frame),
        publisher.audio(session_id="s-2", window=window),
    ]
    try:
        assert [f.result(timeout=10) for f in sent] == [True, True]
    finally:
        publisher.shutdown()
    (message,) = analysis_queue()
    assert message["headers"]["task"] == "proctoring.tasks.analyze_samples"
    (items,), _, _ = json.loads(base64.b64decode(message["body"]))
    assert [(i["kind"], i["session_id"], i["seq"], i["media_time"]) for i in items] == [
        ("video", "s-1", 2, 2.0),
        ("audio", "s-2", 3, 3.0),
    ]
    assert base64.b64decode(items[0]["content"])[:2] == b"\xff\xd8"
    assert len(base64.b64decode(items[1]["content"])) == 2 * SECOND


# -- failures stay with their own attempt -------------------------------------------------------


@pytest.mark.django_db
def test_a_poisoned_attempt_in_a_batch_fails_alone_and_its_time_is_an_analysis_gap(new_client):
    from proctoring.models import Attempt

    healthy = started_attempt(new_client, test_attempt_id="healthy")
    poisoned = started_attempt(new_client, test_attempt_id="poisoned")
    # Stored before the API typed its overrides: every judgement of this attempt raises.
    Attempt.objects.filter(pk=poisoned.pk).update(thresholds={"video_k": "two"})
    good, bad = open_session(healthy), open_session(poisoned)
    two = jpeg_of("two_faces.png")
    batch = [item(s, "video", seq, two) for s in (good, bad) for seq in range(3)]
    batch += [item(s, "audio", 0, quiet_pcm()) for s in (good, bad)]

    analyze_samples.run(batch)

    assert Violation.objects.filter(attempt=healthy, type="multiple_humans").exists()
    failed = Observation.objects.filter(attempt=poisoned, data__has_key="failed")
    assert failed.count() == 4  # recorded, so finalize does not wait for them, but not analysed
    assert not Observation.objects.filter(attempt=healthy, data__has_key="failed").exists()
    assert not Violation.objects.filter(attempt=poisoned).exists()


@pytest.mark.django_db
def test_a_frame_the_detector_fails_on_is_recorded_as_failed_and_the_rest_analysed(
    new_client, monkeypatch
):
    attempt = started_attempt(new_client)
    session = open_session(attempt)
    counter = analysis.human_counter()

    class FailsOnTheSecondFrame:
        calls = 0

        def detect(self, bgr):
            FailsOnTheSecondFrame.calls += 1
            if FailsOnTheSecondFrame.calls == 2:
                raise RuntimeError("onnxruntime: bad input")
            return counter.detect(bgr)

    monkeypatch.setattr(analysis, "human_counter", FailsOnTheSecondFrame)
    one = jpeg_of("astronaut.png")
    analyze_samples.run([item(session, "video", seq, one) for seq in range(3)])
    rows = dict(session.observations.values_list("seq", "data"))
    assert rows[1] == {"failed": "RuntimeError"}
    assert rows[0]["count"] == rows[2]["count"] == 1
