"""Same person, different person, or cannot tell: the verdict on one compared face."""

from dataclasses import dataclass

MATCH = "match"
MISMATCH = "mismatch"
UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Decision:
    """Where a model's similarity scale puts the verdicts, and which faces may be judged."""

    match_at: float  # this similarity or more: the same person
    mismatch_below: float  # under this: a different person (between the two: uncertain)
    min_face_px: float
    max_turn: float
    min_sharpness: float

    def judgeable(self, quality: dict) -> bool:
        """Too small, turned away or blurred faces are never judged: they stay uncertain."""
        return (
            quality.get("width", 0.0) >= self.min_face_px
            and quality.get("turn", 1.0) <= self.max_turn
            and quality.get("sharpness", 0.0) >= self.min_sharpness
        )

    def verdict(self, similarity: float | None, quality: dict) -> str:
        if similarity is None or not self.judgeable(quality):
            return UNCERTAIN
        if similarity >= self.match_at:
            return MATCH
        if similarity < self.mismatch_below:
            return MISMATCH
        return UNCERTAIN
