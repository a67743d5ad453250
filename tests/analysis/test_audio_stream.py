"""What a window knows of its stream: the VAD carry, a context of preceding audio, and the
8 kHz pass for telephone-band windows; measured on the development audio set."""

import json

import numpy as np
import pytest

from proctoring.analysis import audio, devaudio
from proctoring.analysis.audio import AudioStream, VadCarry, is_speech, read_wav
from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.evaluate_audio import audio_windows

SECOND = audio.SAMPLE_RATE
CLIPS = ("door_knocks.wav", "speech_headset.wav", "short_answers.wav", "whisper.wav")


@pytest.fixture(scope="module")
def dev_dir():
    return devaudio.ensure(names=CLIPS)


@pytest.fixture(scope="module")
def headset(dev_dir) -> np.ndarray:
    return read_wav(dev_dir / "speech_headset.wav")


def test_a_stream_is_the_same_as_windows_handed_their_carries(vad, headset):
    windows = audio_windows(headset)[:6]

    streamed = vad.analyze_streams([AudioStream(windows)])[0]
    chained, carry = [], None
    for window in windows:
        [analysis] = vad.analyze_many([window], carries=[carry])
        chained.append(analysis)
        carry = analysis.carry

    for one, other in zip(streamed, chained, strict=True):
        assert one.to_dict() == pytest.approx(other.to_dict(), abs=1e-5)


def test_streams_stepped_together_match_each_alone(vad, headset, media_dir):
    speech = audio_windows(read_wav(media_dir / "speech_en.wav"))[:3]
    narrow = audio_windows(headset)[:5]

    together = vad.analyze_streams([AudioStream(speech), AudioStream(narrow)])

    assert len(together[0]) == 3 and len(together[1]) == 5
    for stream, found in zip((speech, narrow), together, strict=True):
        alone = vad.analyze_streams([AudioStream(stream)])[0]
        for one, other in zip(found, alone, strict=True):
            assert one.to_dict() == pytest.approx(other.to_dict(), abs=1e-4)


def test_a_carry_survives_json(vad, headset):
    first, second = audio_windows(headset)[3:5]
    carry = vad.analyze(first).carry

    restored = VadCarry.from_dict(json.loads(json.dumps(carry.to_dict())))
    [direct] = vad.analyze_many([second], carries=[carry])
    [via_json] = vad.analyze_many([second], carries=[restored])

    assert len(json.dumps(carry.to_dict())) < 2000
    assert via_json.to_dict() == pytest.approx(direct.to_dict(), abs=1e-4)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"state": "!!", "tail": "", "levels": []},
        {"state": "AAAA", "tail": "AAAA", "levels": []},
    ],
    ids=["empty", "not base64", "wrong sizes"],
)
def test_a_broken_carry_is_an_analysis_error(data):
    with pytest.raises(AnalysisError, match="not a VAD carry"):
        VadCarry.from_dict(data)


def test_context_starts_a_window_where_its_carry_would(vad, headset):
    windows = audio_windows(headset)
    index = 7  # a window of words that a fresh state misses on this quiet headset

    fresh = vad.analyze(windows[index])
    warmed = vad.analyze(windows[index], context=np.concatenate(windows[index - 2 : index]))

    assert warmed.speech_fraction > fresh.speech_fraction
    assert warmed.speech_held_s >= fresh.speech_held_s


def test_contexts_of_different_lengths_batch_like_one_by_one(vad, headset):
    windows = audio_windows(headset)
    contexts = [None, windows[0][:5000], np.concatenate(windows[:3])]
    picked = windows[1:4]

    together = vad.analyze_many(picked, contexts=contexts)

    for window, context, batched in zip(picked, contexts, together, strict=True):
        assert batched.to_dict() == pytest.approx(
            vad.analyze(window, context=context).to_dict(), abs=1e-4
        )


def test_one_carry_or_context_per_window(vad, headset):
    with pytest.raises(AnalysisError, match="one context and one carry"):
        vad.analyze_many(audio_windows(headset)[:2], carries=[None])


def test_a_telephone_band_window_gets_the_8khz_pass(vad, headset, media_dir):
    narrow = vad.analyze(audio_windows(headset)[2])
    wide = vad.analyze(read_wav(media_dir / "speech_en.wav")[:SECOND])

    assert (narrow.narrowband, wide.narrowband) == (1.0, 0.0)
    assert audio.high_band_db(audio_windows(headset)[2]) < -35


def test_the_8khz_pass_finds_telephone_speech_a_fresh_16khz_state_misses(headset):
    with_pass = audio.load_vad()
    without = audio.load_vad(narrowband_pass=False)
    windows = audio_windows(headset)

    found = [is_speech(a) for a in with_pass.analyze_many(windows)]
    before = [is_speech(a) for a in without.analyze_many(windows)]

    assert sum(found) > sum(before) + 3
    assert all(f for f, b in zip(found, before, strict=True) if b)


def test_knocks_are_not_speech_but_fooled_the_old_rule(vad, dev_dir):
    windows = audio_windows(read_wav(dev_dir / "door_knocks.wav"))

    analyses = vad.analyze_streams([AudioStream(windows)])[0]
    old_rule = [is_speech(a, min_held_s=0.0) for a in vad.analyze_many(windows)]

    assert not any(is_speech(a) for a in analyses)
    assert any(old_rule)  # the clip does exercise the problem of issue #20


def test_every_one_word_answer_is_found(vad, dev_dir):
    pcm = read_wav(dev_dir / "short_answers.wav")
    labels = json.loads((dev_dir / "expected.json").read_text())["audio"]["short_answers.wav"]
    analyses = vad.analyze_streams([AudioStream(audio_windows(pcm))])[0]
    flagged = [index for index, a in enumerate(analyses) if is_speech(a)]

    for start, end in labels["speech_s"]:
        assert any(int(start) <= index <= int(end) for index in flagged), (start, end)


def test_the_ingest_can_hand_each_window_the_second_before_it(vad, headset):
    from fractions import Fraction

    import av

    from proctoring.ingest.sampling import AudioWindower

    windower = AudioWindower(window_s=1.0, context_s=1.0)
    windows = []
    for start in range(0, 4 * SECOND, 320):  # 20 ms frames of the headset clip, 16 kHz mono
        frame = av.AudioFrame.from_ndarray(
            headset[None, start : start + 320], format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = SECOND, start, Fraction(1, SECOND)
        windows += windower.push(frame, start / SECOND)

    assert [w.context.size for w in windows] == [0, SECOND, SECOND, SECOND]
    for before, window in zip(windows, windows[1:], strict=False):
        assert np.array_equal(window.context, before.pcm)
    assert AudioWindower(window_s=1.0).context_s == 0.0  # off unless asked for
    analysis = vad.analyze(windows[2].pcm, context=windows[2].context)
    assert analysis.carry is not None
