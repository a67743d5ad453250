"""Audio judgement on real clips through the real VAD: speech, noise, and what must stay quiet."""

import numpy as np
import pytest

from proctoring.analysis import audio, findings
from proctoring.analysis.thresholds import DEFAULT_THRESHOLDS
from proctoring.services.samples import step_levels_dbfs, voice_detector
from tests.conftest import MEDIA_DIR

SECOND = audio.SAMPLE_RATE


def clip(name: str, seconds: float) -> np.ndarray:
    """The clip looped or cut to `seconds`."""
    pcm = audio.read_wav(MEDIA_DIR / name)
    need = int(seconds * SECOND)
    return np.resize(pcm, need).astype(np.int16)


def incidents_for(pcm: np.ndarray) -> list[tuple[str, float, float]]:
    rows = []
    for seq in range(len(pcm) // SECOND):
        window = pcm[seq * SECOND : (seq + 1) * SECOND]
        data = voice_detector().analyze(window).to_dict()
        data["levels_dbfs"] = step_levels_dbfs(window)
        rows.append(findings.Row("s", "audio", seq, float(seq), 1.0, data))
    found = findings.incidents(rows, DEFAULT_THRESHOLDS, gap=2.0)
    return [(i.type, i.start, i.end) for i in found]


def quiet_room(seconds: float) -> np.ndarray:
    # A real room is never digital zero: a faint noise floor around -60 dBFS.
    return (np.random.default_rng(7).normal(0, 30, int(seconds * SECOND))).astype(np.int16)


def test_a_constant_fan_from_the_start_is_background_not_noise():
    assert incidents_for(clip("white_noise.wav", 30)) == []


def test_keyboard_clicks_are_neither_speech_nor_noise():
    pcm = np.concatenate([quiet_room(8), clip("keyboard_clicks.wav", 12)])
    assert incidents_for(pcm) == []


def test_a_sudden_loud_noise_in_a_quiet_room_is_noise():
    pcm = np.concatenate([quiet_room(8), clip("white_noise.wav", 4), quiet_room(4)])
    assert incidents_for(pcm) == [("noise", 8.0, 12.0)]


@pytest.mark.parametrize("name", ["speech_en.wav", "two_voices_overlap.wav", "speech_in_noise.wav"])
def test_speech_after_a_quiet_start_is_speech(name):
    pcm = np.concatenate([quiet_room(6), clip(name, 8)])
    found = incidents_for(pcm)
    assert [t for t, _, _ in found] == ["speech"]
    assert 5.0 <= found[0][1] <= 7.0


def test_speech_over_a_constant_fan_is_still_speech_and_the_fan_is_not_noise():
    fan = clip("white_noise.wav", 16) // 8
    speech = np.concatenate([np.zeros(8 * SECOND, np.int16), clip("speech_en.wav", 8)])
    found = incidents_for((fan.astype(np.int32) + speech).clip(-32768, 32767).astype(np.int16))
    assert {t for t, _, _ in found} == {"speech"}


@pytest.mark.django_db
def test_a_window_continues_from_the_carry_its_predecessor_left_in_another_batch(new_client):
    """Windows 0-1 and 2-3 of one stream analysed in two batches (as two workers would) read
    exactly as the four windows analysed as one stream: the carry crossed the batches."""
    from proctoring.models import Observation
    from proctoring.services.observed import Sample
    from proctoring.services.samples import MediaSample, samples_analyze
    from tests.proctoring.factories import open_session, started_attempt

    session = open_session(started_attempt(new_client))
    pcm = clip("speech_en.wav", 4)
    windows = [pcm[i * SECOND : (i + 1) * SECOND] for i in range(4)]

    def batch(seqs):
        return [
            MediaSample(
                kind="audio",
                sample=Sample(session.id, seq, float(seq), 1.0),
                content=windows[seq].tobytes(),
            )
            for seq in seqs
        ]

    samples_analyze(samples=batch([0, 1]))
    samples_analyze(samples=batch([2, 3]))
    stored = dict(Observation.objects.filter(session=session).values_list("seq", "data"))
    continuous = voice_detector().analyze_streams([audio.AudioStream(windows)])[0]
    fresh = voice_detector().analyze(windows[2])
    assert stored[2]["speech_prob_mean"] == pytest.approx(continuous[2].speech_prob_mean)
    assert stored[2]["speech_prob_mean"] != pytest.approx(fresh.speech_prob_mean)
