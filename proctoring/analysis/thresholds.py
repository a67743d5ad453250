"""Every analysis threshold, with its documented default; layered per client and per attempt."""

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    # Faces: the detector's own floor is 0.5 (SCRFD) / 0.6 (YuNet); a higher value here drops
    # weaker faces before counting.
    face_score: float = 0.5
    max_humans: int = 1
    # A video violation needs K flagged frames among N consecutive sampled frames (1/s): one bad
    # frame is not an incident, two in three seconds are.
    video_k: int = 2
    video_n: int = 3
    # Speech: Silero probability and the fraction of 32 ms steps over it in a 1 s window.
    speech_prob: float = 0.5
    speech_min_fraction: float = 0.10
    # ... and the seconds of those steps that hold a voice's level (audio.MIN_SPEECH_HELD_S,
    # proctoring/analysis/sustain.py): a knock's decaying ring does not. 0 turns the check off.
    speech_min_held_s: float = 0.088
    speech_k: int = 1
    speech_n: int = 1
    # Noise: a loud non-speech sound, relative to the background calibrated in the first
    # seconds and updated slowly, so a constant fan or traffic noise becomes the background.
    noise_over_background_db: float = 20.0
    noise_min_dbfs: float = -45.0
    # Most of the 1 s window must be loud: clicks and knocks are short and stay below this.
    noise_loud_fraction: float = 0.5
    noise_k: int = 2
    noise_n: int = 3
    background_calibration_s: float = 5.0
    background_fast_weight: float = 0.5
    background_slow_weight: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any] | None, *, base: "Thresholds | None" = None
    ) -> "Thresholds":
        """Override some values of `base`; unknown names or wrong types raise ValueError."""
        base = base or DEFAULT_THRESHOLDS
        if not data:
            return base
        if not isinstance(data, dict):
            raise ValueError("thresholds must be an object")
        known = {f.name: f.type for f in fields(cls)}
        changes = {}
        for name, value in data.items():
            if name not in known:
                raise ValueError(f"unknown threshold '{name}'")
            changes[name] = _checked(name, value, known[name])
        result = replace(base, **changes)
        _check_windows(result)
        return result


def _checked(name: str, value: Any, kind: str) -> float | int:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value):
        raise ValueError(f"threshold '{name}' must be a number")
    # The field's annotation: the class itself, or its name under postponed annotations.
    if kind in (int, "int"):
        if value != int(value) or value < 0:
            raise ValueError(f"threshold '{name}' must be a whole number >= 0")
        return int(value)
    return float(value)


def _check_windows(thresholds: "Thresholds") -> None:
    for prefix in ("video", "speech", "noise"):
        k, n = getattr(thresholds, f"{prefix}_k"), getattr(thresholds, f"{prefix}_n")
        if not 1 <= k <= n:
            raise ValueError(f"thresholds '{prefix}_k' and '{prefix}_n' need 1 <= k <= n")


DEFAULT_THRESHOLDS = Thresholds()
