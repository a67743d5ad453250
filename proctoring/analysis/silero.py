"""Silero VAD's ONNX model stepped over batches of audio, at 16 kHz or at its 8 kHz rate.

One Silero step is 32 ms: 512 new samples at 16 kHz (256 at 8 kHz) after the last 64 (32) of
the previous step, with a recurrent state of shape (2, batch, 128). Rows of a batch are
independent, so several windows (of different attempts) share each model call.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from proctoring.analysis.errors import AnalysisError

STATE_LAYERS, STATE_WIDTH = 2, 128


@dataclass(frozen=True)
class Rate:
    """A sample rate Silero runs at, with its step and its step-to-step context."""

    hz: int
    step: int  # new samples per 32 ms step
    context: int  # samples of the previous step read in front of each step


WIDEBAND = Rate(16_000, 512, 64)
NARROWBAND = Rate(8_000, 256, 32)
# Decimation to 8 kHz: a windowed-sinc low-pass at 3.6 kHz (below the new 4 kHz Nyquist, above
# the 3.4 kHz top of the telephone band), 63 taps: a 4 ms filter, short next to a 1 s window.
DECIMATION_TAPS = 63
DECIMATION_CUTOFF_HZ = 3_600.0


class SileroModel:
    """The model in one onnxruntime session; run() steps a batch of stretches through it."""

    def __init__(self, model_file: str | os.PathLike[str], *, threads: int) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(
                str(model_file), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises assorted types for a bad file
            raise AnalysisError(f"cannot load Silero VAD model {model_file}: {error}") from error

    def run(
        self,
        rate: Rate,
        starts: Sequence[tuple[np.ndarray, np.ndarray]],
        stretches: Sequence[np.ndarray],
    ) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
        """Per stretch: each step's probability, and (state, tail) after its whole steps.

        `starts` gives each stretch's (state (2, 128), tail (rate.context,)). A last step that
        is not whole is zero-padded: its probability counts, but the state it leaves does not
        (the padding is not audio that the stream's next window follows).
        """
        if not stretches:
            return [], []
        steps = [-(-samples.size // rate.step) for samples in stretches]
        whole = np.array([samples.size // rate.step for samples in stretches])
        batch = np.zeros((len(stretches), max(max(steps), 1) * rate.step), dtype=np.float32)
        for row, samples in zip(batch, stretches, strict=True):
            row[: samples.size] = samples
        state = np.stack([state for state, _ in starts], axis=1).astype(np.float32)
        context = np.stack([tail for _, tail in starts]).astype(np.float32)
        probs = np.empty((len(stretches), max(steps)), dtype=np.float32)
        sample_rate = np.array(rate.hz, dtype=np.int64)
        for index in range(max(steps)):
            window = batch[:, index * rate.step : (index + 1) * rate.step]
            step = np.concatenate([context, window], axis=1)
            feed = {"input": step, "state": state, "sr": sample_rate}
            output, new_state = self._session.run(None, feed)
            probs[:, index] = output[:, 0]
            moves = index < whole  # rows for which this step is whole audio
            state = np.where(moves[None, :, None], new_state, state)
            context = np.where(moves[:, None], step[:, -rate.context :], context)
        ends = [
            (state[:, row].copy(), tail_of(tail, samples, rate))
            for row, ((_, tail), samples) in enumerate(zip(starts, stretches, strict=True))
        ]
        return [row[:count] for row, count in zip(probs, steps, strict=True)], ends


def fresh_start(rate: Rate) -> tuple[np.ndarray, np.ndarray]:
    """Silero's zero state, with silence before the first step."""
    return (
        np.zeros((STATE_LAYERS, STATE_WIDTH), dtype=np.float32),
        np.zeros(rate.context, dtype=np.float32),
    )


def tail_of(before: np.ndarray, samples: np.ndarray, rate: Rate) -> np.ndarray:
    """The last `rate.context` samples of the audio so far: what Silero reads next."""
    return np.concatenate([before, samples])[-rate.context :].astype(np.float32)


def _low_pass() -> np.ndarray:
    taps = np.arange(DECIMATION_TAPS) - (DECIMATION_TAPS - 1) / 2
    cutoff = 2 * DECIMATION_CUTOFF_HZ / WIDEBAND.hz
    kernel = cutoff * np.sinc(cutoff * taps) * np.hamming(DECIMATION_TAPS)
    return (kernel / kernel.sum()).astype(np.float32)


_LOW_PASS = _low_pass()


def to_narrowband(samples: np.ndarray) -> np.ndarray:
    """16 kHz float samples as 8 kHz ones (low-passed, every other sample)."""
    factor = WIDEBAND.hz // NARROWBAND.hz
    return np.convolve(samples, _LOW_PASS, mode="same")[::factor].astype(np.float32)
