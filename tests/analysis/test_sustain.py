"""The held-level check: a voice holds its level, an impact decays."""

import numpy as np
import pytest

from proctoring.analysis import sustain

FRAME_S = sustain.FRAME_SAMPLES / sustain.SAMPLE_RATE


def all_speech(levels: np.ndarray) -> np.ndarray:
    return np.ones(levels.size, dtype=bool)


def decay(start_db: float, frames: int, db_per_frame: float) -> np.ndarray:
    return start_db - db_per_frame * np.arange(frames)


def test_a_steady_vowel_is_held_for_its_length():
    vowel = np.full(25, -20.0)  # 200 ms at one level

    held = sustain.held_seconds(vowel, all_speech(vowel), before=np.full(3, -20.0))

    assert held == pytest.approx(25 * FRAME_S)


def test_an_impact_decaying_like_a_door_knock_holds_almost_nothing():
    # A wooden ring loses about 3.5 dB per 24 ms: 1.2 dB per 8 ms frame.
    knock = np.concatenate([np.full(3, -60.0), decay(-12.0, 30, 1.2)])

    held = sustain.held_seconds(knock, all_speech(knock), before=np.zeros(0))

    # The first 24 ms (compared with the silence before the impact), then none of the tail.
    assert held == pytest.approx(sustain.HELD_DECAY_LAG * FRAME_S)


def test_only_frames_under_speech_steps_count():
    vowel = np.full(20, -20.0)
    speech = np.zeros(20, dtype=bool)
    speech[5:10] = True

    assert sustain.held_seconds(vowel, speech, before=np.full(3, -20.0)) == pytest.approx(
        5 * FRAME_S
    )


def test_the_first_frames_need_the_previous_window_to_count():
    vowel = np.full(10, -20.0)

    alone = sustain.held_seconds(vowel, all_speech(vowel), before=np.zeros(0))
    continued = sustain.held_seconds(vowel, all_speech(vowel), before=np.full(3, -20.0))

    assert alone == pytest.approx((10 - sustain.HELD_DECAY_LAG) * FRAME_S)
    assert continued == pytest.approx(10 * FRAME_S)


def test_speech_well_after_a_loud_knock_still_counts():
    knock = decay(-5.0, 10, 3.0)  # loud, 20 dB over the voice
    quiet_gap = np.full(sustain.HELD_PEAK_RADIUS, -70.0)
    voice = np.full(20, -25.0)
    levels = np.concatenate([knock, quiet_gap, voice])

    held = sustain.held_seconds(levels, all_speech(levels), before=np.zeros(0))

    # The voice is judged against its own loudness, not the knock's (further than the radius).
    assert held == pytest.approx(20 * FRAME_S)


def test_a_voice_right_after_a_loud_knock_is_judged_against_the_knock():
    knock = decay(-5.0, 5, 3.0)
    voice = np.full(40, -25.0)
    levels = np.concatenate([knock, voice])

    held = sustain.held_seconds(levels, all_speech(levels), before=np.zeros(0))

    # A voice frame counts once no knock frame more than 10 dB louder (-5 .. -14 dB, frames
    # 0-3) lies within HELD_PEAK_RADIUS of it: from frame 3 + 20 + 1 = 24 to 44.
    assert held == pytest.approx(21 * FRAME_S)


def test_frame_levels_of_silence_and_full_scale():
    silent = np.zeros(256, np.float32)
    square = np.tile(np.array([1.0, -1.0], np.float32), 128)

    assert sustain.frame_levels(silent).tolist() == [sustain.LEVEL_FLOOR_DB] * 2
    assert sustain.frame_levels(square).tolist() == pytest.approx([0.0, 0.0])


def test_eleven_frames_meet_the_default_exactly():
    from proctoring.analysis.audio import MIN_SPEECH_HELD_S

    vowel = np.full(11, -20.0)

    assert sustain.held_seconds(vowel, all_speech(vowel), before=np.full(3, -20.0)) == (
        MIN_SPEECH_HELD_S
    )
