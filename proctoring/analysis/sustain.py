"""The held-level check: is the sound under Silero's speech steps sustained like a voice?

Silero VAD, given a knock, a dropped book or a desk tap, can score the steps after the impact
0.6-0.9 for 100-300 ms, long enough to pass the 10 % rule of a 1 s window (docs/analysis.md).
What tells such a sound from speech is its envelope. An impact peaks at once and then decays:
a wooden door's ring loses 3.5 dB or more per 24 ms and is 10 dB down within 70-150 ms. A voice
holds each syllable's level within a few dB for 60-250 ms. So an 8 ms frame under a speech step
is *held* when

- it has not fallen more than HELD_DECAY_DB below the frame HELD_DECAY_LAG frames earlier, and
- it is within HELD_RANGE_DB of the loudest frame within HELD_PEAK_RADIUS frames around it
  (so a tail is judged against its own impact, and speech next to a loud knock still counts).

`speech_held_s` is how long the held frames last in total. On the development set (6 seeded
draws of every clip, docs/analysis.md) impulsive noises reached at most 0.080 s, and every
one-word answer at least 0.112 s in the window that carries it (audio.MIN_SPEECH_HELD_S).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FRAME_SAMPLES = 128  # 8 ms at 16 kHz; four frames make one 32 ms Silero step
SAMPLE_RATE = 16_000
HELD_DECAY_LAG = 3  # frames: 24 ms
HELD_DECAY_DB = 3.0
HELD_RANGE_DB = 10.0
HELD_PEAK_RADIUS = 20  # frames each side: 160 ms
# Levels the next window needs from this one: the decay lag and the peak radius look back.
HELD_HISTORY = max(HELD_DECAY_LAG, HELD_PEAK_RADIUS)
LEVEL_FLOOR_DB = -100.0  # digital silence, as audio.DBFS_FLOOR
HELD_DECIMALS = 4  # whole frames are multiples of 8 ms: rounding keeps 11 frames == 0.088
_UNKNOWN_BEFORE = np.inf  # a frame whose predecessor is unknown is not counted as held
_NOTHING = -np.inf


def frame_levels(samples: np.ndarray) -> np.ndarray:
    """Level in dBFS of each whole 8 ms frame of float samples in [-1, 1]."""
    count = samples.size // FRAME_SAMPLES
    frames = samples[: count * FRAME_SAMPLES].astype(np.float64).reshape(count, FRAME_SAMPLES)
    power = np.mean(np.square(frames), axis=1)
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(power), LEVEL_FLOOR_DB)


def held_seconds(levels: np.ndarray, speech: np.ndarray, *, before: np.ndarray) -> float:
    """Seconds of held frames among `levels` where `speech` (one flag per frame) is set.

    `before` holds the levels of the frames just before these (up to HELD_HISTORY, from the
    previous window of the stream); none means the first frames cannot count as held.
    """
    if not levels.size:
        return 0.0
    history = before[-HELD_HISTORY:]
    track = np.concatenate([history, levels])
    earlier = np.concatenate([np.full(HELD_DECAY_LAG, _UNKNOWN_BEFORE), track[:-HELD_DECAY_LAG]])
    padded = np.concatenate(
        [np.full(HELD_PEAK_RADIUS, _NOTHING), track, np.full(HELD_PEAK_RADIUS, _NOTHING)]
    )
    local_peak = sliding_window_view(padded, 2 * HELD_PEAK_RADIUS + 1).max(axis=1)
    held = (track >= earlier - HELD_DECAY_DB) & (track >= local_peak - HELD_RANGE_DB)
    own = held[history.size :] & speech[: levels.size]
    return round(float(np.count_nonzero(own)) * FRAME_SAMPLES / SAMPLE_RATE, HELD_DECIMALS)
