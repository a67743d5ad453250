"""Every analysis threshold, with its documented default; layered per client and per attempt."""

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proctoring.analysis.identity.decision import Decision


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
    # Identity (issue #18): the cosine similarity of a face to the enrolled references, on each
    # embedding model's own scale (a frame records which model embedded it). At or above
    # `match` it is the same person; under `mismatch` a different one; in between, and for any
    # face too small, turned or blurred to judge, it is "uncertain" and never a violation. The
    # values and what they cost are measured in docs/accuracy.md ("Identity").
    identity_match_sface: float = 0.4
    identity_mismatch_sface: float = 0.3
    identity_match_mobilefacenet: float = 0.45
    identity_mismatch_mobilefacenet: float = 0.3
    identity_min_face_px: float = 80.0
    identity_max_turn: float = 0.35
    identity_min_sharpness: float = 7.0

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

    def identity(self, model: str) -> "Decision":
        """The identity verdicts for faces embedded by `model` (sface or mobilefacenet)."""
        from proctoring.analysis.identity.decision import Decision

        if model not in IDENTITY_MODELS:
            raise ValueError(f"no identity thresholds for model {model!r}")
        return Decision(
            match_at=getattr(self, f"identity_match_{model}"),
            mismatch_below=getattr(self, f"identity_mismatch_{model}"),
            min_face_px=self.identity_min_face_px,
            max_turn=self.identity_max_turn,
            min_sharpness=self.identity_min_sharpness,
        )


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
    for model in IDENTITY_MODELS:
        match = getattr(thresholds, f"identity_match_{model}")
        mismatch = getattr(thresholds, f"identity_mismatch_{model}")
        if mismatch > match:
            raise ValueError(
                f"thresholds 'identity_mismatch_{model}' must not be above 'identity_match_{model}'"
            )


IDENTITY_MODELS = ("sface", "mobilefacenet")


DEFAULT_THRESHOLDS = Thresholds()
