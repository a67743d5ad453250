"""An audio violation keeps its audio window by window for its first 30 s, and the review desk
plays those windows as one clip (issue #19: a 24 s speech violation had a 1 s clip)."""

import io
import wave

import numpy as np
import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from proctoring.models import Evidence
from proctoring.services.observations import observations_record
from proctoring.services.observed import EvidenceFile, Observed
from proctoring.services.samples import wav_bytes
from proctoring.services.violations import AUDIO_CLIP_MAX_S
from tests.proctoring.factories import audio_data, open_session, sample_at, started_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
RATE = 16000


def window(seq: int) -> EvidenceFile:
    """One second of audio whose every sample is `seq`, so the joined clip shows its order."""
    pcm = np.full(RATE, seq, np.int16)
    return EvidenceFile(kind="audio", extension="wav", content=wav_bytes(pcm), data={})


def speak(session, seqs) -> None:
    for seq in seqs:  # one batch per window, as the ingest's 1 s windows arrive
        observed = Observed(
            kind="audio",
            sample=sample_at(session, seq),
            data=audio_data(speech=True, dbfs=-20.0),
            evidence=window(seq),
        )
        observations_record(observed=[observed])


def test_a_long_speech_violation_keeps_its_windows_for_thirty_seconds(new_client):
    session = open_session(started_attempt(new_client))
    speak(session, range(6, 50))  # 44 s of speech from 0:06 (after the background calibration)
    (violation,) = session.attempt.violations.filter(type="speech")
    assert (violation.start_s, violation.end_s) == (6.0, 50.0)
    kept = list(Evidence.objects.filter(type="speech", kind="audio").order_by("at_s"))
    times = [e.at_s for e in kept]
    assert times[0] == violation.start_s and times == sorted(set(times))
    assert max(times) < violation.start_s + AUDIO_CLIP_MAX_S
    assert len(kept) == AUDIO_CLIP_MAX_S  # the first window and 29 more, one per second
    assert all(e.data.get("clip_part") for e in kept[1:]) and not kept[0].data.get("clip_part")


def test_a_redelivered_window_adds_no_part(new_client):
    session = open_session(started_attempt(new_client))
    speak(session, range(6, 12))
    before = Evidence.objects.count()
    speak(session, [9, 10])
    assert Evidence.objects.count() == before


def test_the_desk_plays_the_windows_as_one_clip(client, new_client):
    session = open_session(started_attempt(new_client))
    speak(session, range(6, 50))
    violation = session.attempt.violations.get(type="speech")
    user = User.objects.create_user("rita", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="reviewer"))
    session.attempt.client.reviewers.add(user)  # a reviewer sees their clients only
    client.force_login(user)
    url = reverse(
        "admin:proctoring_attempt_violation_audio", args=[session.attempt_id, violation.pk]
    )
    response = client.get(url)
    assert response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as clip:
        assert clip.getframerate() == RATE
        samples = np.frombuffer(clip.readframes(clip.getnframes()), np.int16)
    assert samples.size == AUDIO_CLIP_MAX_S * RATE
    seconds = samples.reshape(-1, RATE)[:, 0]
    assert list(seconds) == sorted(seconds)  # in time order
    assert seconds[-1] == 6 + AUDIO_CLIP_MAX_S - 1
    page = client.get(reverse("admin:proctoring_attempt_change", args=[session.attempt_id]))
    html = page.content.decode()
    assert f'src="{url}"' in html and "30 seconds flagged, back to back" in html
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    assert client.get(url).status_code == 403
