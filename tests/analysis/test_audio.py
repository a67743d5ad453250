"""Voice activity and level on the labelled clips."""

import json
import wave
from dataclasses import replace

import numpy as np
import pytest

from proctoring.analysis import models
from proctoring.analysis.audio import (
    DBFS_FLOOR,
    SAMPLE_RATE,
    AudioAnalysis,
    dbfs,
    is_speech,
    read_wav,
)
from proctoring.analysis.errors import AnalysisError, ModelNotFoundError

FAKE_MIC = "fake_mic_16k_2s.wav"
WHITE_NOISE_DBFS = -16.0  # sox `vol 0.5` white noise, see MEDIA.md
DBFS_TOLERANCE = 1.5


def one_second_windows(pcm: np.ndarray) -> list[np.ndarray]:
    return [pcm[start : start + SAMPLE_RATE] for start in range(0, pcm.size, SAMPLE_RATE)]


def test_whole_clip_gets_its_label(vad, media_dir, expected, audio_name):
    analysis = vad.analyze(read_wav(media_dir / audio_name))

    assert is_speech(analysis) is expected["audio"][audio_name]["speech"]


def test_one_second_windows_get_the_clip_label(vad, media_dir, expected, audio_name):
    windows = one_second_windows(read_wav(media_dir / audio_name))

    labels = [is_speech(vad.analyze(window)) for window in windows]

    assert any(labels) is expected["audio"][audio_name]["speech"]


def test_fake_microphone_is_speech_whole_and_in_every_window(vad, media_dir):
    pcm = read_wav(media_dir / FAKE_MIC)

    assert is_speech(vad.analyze(pcm))
    assert all(is_speech(vad.analyze(window)) for window in one_second_windows(pcm))


def test_each_call_starts_from_a_fresh_state(vad, media_dir):
    speech = read_wav(media_dir / "speech_en.wav")[:SAMPLE_RATE]
    silence = read_wav(media_dir / "silence.wav")[:SAMPLE_RATE]

    first = vad.analyze(silence)
    vad.analyze(speech)

    assert vad.analyze(silence) == first


def test_windows_analysed_together_match_one_by_one(vad, media_dir, expected):
    # Windows of different clips and lengths (tails are shorter), as a batch of attempts has.
    windows = [
        window
        for name in sorted(expected["audio"])
        for window in one_second_windows(read_wav(media_dir / name))
    ]
    windows.append(np.zeros(0, dtype=np.int16))

    together = vad.analyze_many(windows)

    assert len(together) == len(windows) > 10
    for window, batched in zip(windows, together, strict=True):
        alone = vad.analyze(window)
        assert batched.duration_s == alone.duration_s
        assert batched.dbfs == alone.dbfs
        assert batched.speech_prob_max == pytest.approx(alone.speech_prob_max, abs=1e-4)
        assert batched.speech_fraction == alone.speech_fraction
        assert is_speech(batched) is is_speech(alone)


def test_float_samples_give_the_same_result_as_int16(vad, media_dir):
    pcm = read_wav(media_dir / FAKE_MIC)

    as_float = vad.analyze(pcm.astype(np.float32) / 32768.0)

    assert as_float == vad.analyze(pcm)


def test_analysis_reports_duration_and_is_json_safe(vad, media_dir):
    analysis = vad.analyze(read_wav(media_dir / "silence.wav"))

    assert analysis.duration_s == pytest.approx(4.0)
    assert analysis.dbfs == DBFS_FLOOR
    assert json.loads(json.dumps(analysis.to_dict(), allow_nan=False)) == analysis.to_dict()
    assert set(analysis.to_dict()) == {
        "speech_prob_max",
        "speech_prob_mean",
        "speech_fraction",
        "dbfs",
        "duration_s",
        "speech_held_s",
        "narrowband",
    }


def test_empty_audio_is_silent(vad):
    analysis = vad.analyze(np.zeros(0, np.int16))

    assert analysis == AudioAnalysis(
        speech_prob_max=0.0,
        speech_prob_mean=0.0,
        speech_fraction=0.0,
        dbfs=DBFS_FLOOR,
        duration_s=0.0,
        speech_held_s=0.0,
    )


def test_is_speech_needs_a_peak_enough_windows_and_a_held_level():
    brief_click = AudioAnalysis(
        speech_prob_max=0.9,
        speech_prob_mean=0.03,
        speech_fraction=0.03,
        dbfs=-30.0,
        duration_s=1.0,
        speech_held_s=0.2,
    )
    knock = replace(brief_click, speech_fraction=0.2, speech_held_s=0.056)

    assert not is_speech(brief_click)
    assert is_speech(brief_click, min_fraction=0.02)
    assert not is_speech(brief_click, prob_threshold=0.95, min_fraction=0.02)
    assert not is_speech(knock)
    assert is_speech(knock, min_held_s=0.0)


@pytest.mark.parametrize(
    "samples",
    [np.zeros((2, 100), np.int16), np.zeros(100, np.int32), [0, 1, 2]],
    ids=["stereo", "int32", "list"],
)
def test_audio_must_be_mono_int16_or_float32(vad, samples):
    with pytest.raises(AnalysisError):
        vad.analyze(samples)


def test_silence_is_at_the_floor(media_dir):
    assert dbfs(read_wav(media_dir / "silence.wav")) == DBFS_FLOOR


def test_white_noise_level(media_dir):
    level = dbfs(read_wav(media_dir / "white_noise.wav"))

    assert level == pytest.approx(WHITE_NOISE_DBFS, abs=DBFS_TOLERANCE)


def test_full_scale_square_wave_is_zero_dbfs():
    square = np.tile(np.array([32767, -32768], np.int16), 800)

    assert dbfs(square) == pytest.approx(0.0, abs=0.01)


def test_read_wav_rejects_other_sample_rates(tmp_path):
    path = tmp_path / "8k.wav"
    with wave.open(str(path), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(8000)
        stream.writeframes(bytes(1600))

    with pytest.raises(AnalysisError) as error:
        read_wav(path)

    assert (
        str(error.value) == f"{path}: need 16000 Hz mono 16-bit, got 8000 Hz, 1 channel(s), 16-bit"
    )


def test_missing_silero_package_names_the_model_and_the_fix(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)

    with pytest.raises(ModelNotFoundError) as error:
        models.silero_vad_path()

    assert "silero_vad.onnx" in str(error.value)
    assert "pip install --no-deps silero-vad==6.2.3" in str(error.value)
