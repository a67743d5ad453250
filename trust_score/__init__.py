"""Trust Score: a pure, versioned score (0-100) of an attempt from its violations; no Django."""

from trust_score.defaults import COUNT_TYPES, DURATION_TYPES, TYPE_ORDER, TYPES, VERSION
from trust_score.profile import DEFAULT_PROFILE, Profile
from trust_score.result import Component, ScoreResult
from trust_score.scoring import curve, score
from trust_score.violations import ViolationSpan

__all__ = [
    "COUNT_TYPES",
    "DEFAULT_PROFILE",
    "DURATION_TYPES",
    "TYPES",
    "TYPE_ORDER",
    "VERSION",
    "Component",
    "Profile",
    "ScoreResult",
    "ViolationSpan",
    "curve",
    "score",
]
