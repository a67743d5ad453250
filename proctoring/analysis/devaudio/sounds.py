"""Everyday room sounds synthesised with numpy: impulsive events, steady noises, music.

Each maker takes a seeded numpy Generator and returns float32 samples at 16 kHz with a peak or
RMS level that a desk microphone would plausibly record. They are physical sketches, not
recordings: a knock is a few decaying wood modes, a clap a band of noise with a fast decay.
"""

import numpy as np

SAMPLE_RATE = 16_000
TWO_PI = 2.0 * np.pi

# Wooden door panel: low modes that ring for tens of milliseconds (Hz, decay time s).
DOOR_MODES = ((95.0, 0.060), (180.0, 0.040), (260.0, 0.030), (420.0, 0.020), (700.0, 0.012))
# Knuckles on a desk: stiffer, higher, shorter.
DESK_MODES = ((310.0, 0.025), (620.0, 0.015), (1150.0, 0.010), (1900.0, 0.006))
# A dropped pen or phone rings high; a dropped book thuds low.
PEN_MODES = ((1800.0, 0.030), (3100.0, 0.020), (4700.0, 0.012))
BOOK_MODES = ((85.0, 0.050), (160.0, 0.035), (330.0, 0.020))
# A door swinging shut: the slab's thump, then the latch.
SLAM_MODES = ((55.0, 0.120), (90.0, 0.080), (150.0, 0.050), (240.0, 0.030))
LATCH_MODES = ((2600.0, 0.008), (3900.0, 0.006))
# Cough: a burst of breath noise shaped by the vocal tract (formant Hz, bandwidth Hz).
COUGH_FORMANTS = ((550.0, 200.0), (1350.0, 300.0), (2500.0, 400.0))
EVENT_S = 0.4  # long enough for the slowest mode above to die away


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


def place(total_s: float, events: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """Sum events into a clip of `total_s` seconds, each at its start time."""
    out = silence(total_s).astype(np.float64)
    for start_s, event in events:
        begin = round(start_s * SAMPLE_RATE)
        part = event[: max(0, out.size - begin)]
        out[begin : begin + part.size] += part
    return out.astype(np.float32)


def at_peak(samples: np.ndarray, peak_dbfs: float) -> np.ndarray:
    peak = float(np.abs(samples).max())
    return samples if peak == 0 else samples * (10 ** (peak_dbfs / 20) / peak)


def at_rms(samples: np.ndarray, rms_dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return samples if rms == 0 else samples * (10 ** (rms_dbfs / 20) / rms)


def modes(rng: np.random.Generator, table, *, seconds: float = EVENT_S) -> np.ndarray:
    """Damped sinusoids with random phases and slightly random strengths and pitches."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    out = np.zeros_like(t)
    for frequency, decay_s in table:
        pitch = frequency * rng.uniform(0.95, 1.05)
        out += (
            rng.uniform(0.5, 1.0)
            * np.sin(TWO_PI * pitch * t + rng.uniform(0, TWO_PI))
            * (np.exp(-t / decay_s))
        )
    return out


def transient(rng: np.random.Generator, *, seconds: float, decay_s: float) -> np.ndarray:
    """A burst of white noise with an exponential decay: the contact click of an impact."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return rng.normal(0.0, 1.0, t.size) * np.exp(-t / decay_s)


def band(samples: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """A brick-wall band-pass by FFT (the clips are short; ringing is masked by the envelopes)."""
    spectrum = np.fft.rfft(samples)
    freqs = np.fft.rfftfreq(samples.size, 1.0 / SAMPLE_RATE)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    return np.fft.irfft(spectrum, samples.size)


def resonate(samples: np.ndarray, formants) -> np.ndarray:
    """Noise shaped by resonances (Gaussian bumps in the spectrum at each formant)."""
    spectrum = np.fft.rfft(samples)
    freqs = np.fft.rfftfreq(samples.size, 1.0 / SAMPLE_RATE)
    gain = sum(np.exp(-0.5 * ((freqs - f) / bw) ** 2) for f, bw in formants)
    return np.fft.irfft(spectrum * gain, samples.size)


def impact(rng: np.random.Generator, table, *, click: float, click_decay_s: float) -> np.ndarray:
    ring = modes(rng, table)
    hit = transient(rng, seconds=0.02, decay_s=click_decay_s) * click
    ring[: hit.size] += hit
    return at_peak(ring, 0.0)


def knock(rng: np.random.Generator, table=DOOR_MODES) -> np.ndarray:
    return impact(rng, table, click=0.3, click_decay_s=0.001)


def clap(rng: np.random.Generator) -> np.ndarray:
    burst = transient(rng, seconds=0.08, decay_s=rng.uniform(0.008, 0.015))
    return at_peak(band(burst, 700.0, 3000.0) + 0.3 * burst, 0.0)


def key_press(rng: np.random.Generator, *, heavy: bool = False) -> np.ndarray:
    """A key's press and release: two clicks 40-90 ms apart over a small desk thump."""

    def click() -> np.ndarray:
        return band(transient(rng, seconds=0.012, decay_s=0.0015), 1500.0, 7000.0)

    thump = modes(rng, ((180.0, 0.012), (420.0, 0.008)), seconds=0.05) * (0.6 if heavy else 0.25)
    out = np.zeros(round(0.16 * SAMPLE_RATE))
    release = round(rng.uniform(0.04, 0.09) * SAMPLE_RATE)
    out[: thump.size] += thump
    first, second = click(), 0.6 * click()
    out[: first.size] += first
    out[release : release + second.size] += second
    return at_peak(out, 0.0)


def cough(rng: np.random.Generator) -> np.ndarray:
    """An explosive breath burst through the vocal tract: 10 ms attack, 150-250 ms decay."""
    seconds = 0.35
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    attack = np.minimum(t / 0.01, 1.0)
    envelope = attack * np.exp(-np.maximum(t - 0.04, 0.0) / rng.uniform(0.05, 0.08))
    noise = resonate(rng.normal(0.0, 1.0, t.size), COUGH_FORMANTS)
    return at_peak(noise * envelope, 0.0)


def dropped(rng: np.random.Generator, table, *, bounces: int) -> np.ndarray:
    """An impact and its bounces, each sooner and softer than the one before."""
    events, start, gap, gain = [], 0.0, rng.uniform(0.18, 0.28), 1.0
    for _ in range(bounces + 1):
        events.append((start, gain * impact(rng, table, click=0.5, click_decay_s=0.0008)))
        start, gap, gain = start + gap, gap * 0.65, gain * 0.55
    return place(start + EVENT_S, events)


def scrape(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A chair leg dragged on the floor: stick-slip pulses through a sliding resonance."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    rate = np.linspace(rng.uniform(25, 40), rng.uniform(60, 90), t.size)  # stick-slip, Hz
    pulses = (np.sin(TWO_PI * np.cumsum(rate) / SAMPLE_RATE) > 0.6).astype(float)
    friction = rng.normal(0.0, 1.0, t.size) * (0.3 + pulses)
    shaped = band(friction, 250.0, 2500.0)
    envelope = np.sin(np.pi * t / seconds) ** 0.5
    return at_peak(shaped * envelope, 0.0)


def door_close(rng: np.random.Generator) -> np.ndarray:
    latch = impact(rng, LATCH_MODES, click=0.8, click_decay_s=0.0006)
    slam = impact(rng, SLAM_MODES, click=0.2, click_decay_s=0.003)
    return at_peak(place(0.6, [(0.0, slam), (0.035, 0.4 * latch)]), 0.0)


# ---- steady noises ---------------------------------------------------------------------------


def coloured_noise(rng: np.random.Generator, seconds: float, exponent: float) -> np.ndarray:
    """Noise with power falling as 1/f**exponent (1: pink, 2: brown), above 20 Hz."""
    size = round(seconds * SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, size))
    freqs = np.fft.rfftfreq(size, 1.0 / SAMPLE_RATE)
    shape = np.where(freqs < 20.0, 0.0, 1.0 / np.maximum(freqs, 20.0) ** (exponent / 2))
    return np.fft.irfft(spectrum * shape, size)


def tones(seconds: float, partials) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return sum(gain * np.sin(TWO_PI * hz * t) for hz, gain in partials)


def fan(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A desk fan: pink airflow noise, low-passed, pulsing at the blade rate, with motor hum."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    air = band(coloured_noise(rng, seconds, 1.0), 40.0, 3000.0)
    air *= 1.0 + 0.15 * np.sin(TWO_PI * 23.0 * t)  # 3 blades at about 460 rpm
    hum = tones(seconds, ((100.0, 0.02), (200.0, 0.01), (69.0, 0.015)))
    return at_rms(at_rms(air, 0.0) + hum * 10, 0.0)


def air_conditioner(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Wall unit: broadband vent noise, a compressor's mains hum and a faint whine."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    vent = band(rng.normal(0.0, 1.0, t.size), 150.0, 5000.0)
    vent *= 1.0 + 0.05 * np.sin(TWO_PI * 0.3 * t)
    hum = tones(seconds, ((50.0, 1.0), (100.0, 0.7), (150.0, 0.4), (300.0, 0.2), (1230.0, 0.05)))
    return at_rms(at_rms(vent, 0.0) + 0.4 * hum / np.sqrt(2), 0.0)


def street(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Traffic through a closed window: brown rumble and cars swelling past every few seconds."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    rumble = at_rms(band(coloured_noise(rng, seconds, 2.0), 30.0, 800.0), 0.0)
    passing = np.zeros_like(t)
    for centre in np.arange(rng.uniform(0.5, 2.0), seconds, rng.uniform(2.5, 4.0)):
        width = rng.uniform(0.8, 1.6)
        passing += rng.uniform(0.8, 2.0) * np.exp(-0.5 * ((t - centre) / width) ** 2)
    tyres = at_rms(band(rng.normal(0.0, 1.0, t.size), 80.0, 1500.0), 0.0)
    return at_rms(rumble + tyres * passing, 0.0)


# ---- music -----------------------------------------------------------------------------------

BPM = 100
# I-V-vi-IV in C, as (root Hz, third ratio): a progression half of pop music uses.
CHORDS = ((261.63, 5 / 4), (392.00, 5 / 4), (440.00, 6 / 5), (349.23, 5 / 4))
MELODY = (659.25, 587.33, 523.25, 587.33, 659.25, 659.25, 659.25, 587.33)


def instrument(hz: float, seconds: float, *, harmonics: int = 6, decay_s: float = 0.8):
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(TWO_PI * hz * k * t) / k**1.3 for k in range(1, harmonics + 1))
    attack = np.minimum(t / 0.01, 1.0)
    return tone * attack * np.exp(-t / decay_s)


def kick(seconds: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    sweep = 50.0 + 90.0 * np.exp(-t / 0.03)
    return np.sin(TWO_PI * np.cumsum(sweep) / SAMPLE_RATE) * np.exp(-t / 0.12)


def music(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Four bars looped: chords, bass, a melody, kick, snare and hi-hat."""
    beat = 60.0 / BPM
    events = []
    for index, start in enumerate(np.arange(0.0, seconds, beat)):
        root, third = CHORDS[(index // 4) % len(CHORDS)]
        if index % 4 == 0:
            chord = sum(instrument(root * r, 4 * beat, decay_s=1.5) for r in (1, third, 1.5))
            events.append((start, 0.25 * chord))
        events.append((start, 0.4 * instrument(root / 4, beat, harmonics=3, decay_s=0.3)))
        events.append((start, 0.3 * instrument(MELODY[index % len(MELODY)], beat, decay_s=0.4)))
        drum = kick() if index % 2 == 0 else 0.5 * transient(rng, seconds=0.2, decay_s=0.05)
        events.append((start, 0.6 * drum))
        events.append(
            (
                start + beat / 2,
                0.15 * band(transient(rng, seconds=0.05, decay_s=0.01), 6000.0, 7900.0),
            )
        )
    return at_peak(place(seconds, events), -3.0)
