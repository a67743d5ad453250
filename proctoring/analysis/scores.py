"""Precision and recall of one class, shared by every evaluation table."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ClassScore:
    """One violation class: positives are items labelled in it, predictions items put in it."""

    positives: int
    predicted: int
    true_positives: int

    @property
    def precision(self) -> float | None:
        # Undefined, not 0 or 1, when nothing was predicted: there is nothing to be right about.
        return self.true_positives / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.positives if self.positives else None

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall}


def class_score(expected: Sequence[bool], predicted: Sequence[bool]) -> ClassScore:
    """Counts for precision and recall from per-item class membership, label and prediction."""
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} labels but {len(predicted)} predictions")
    pairs = list(zip(expected, predicted, strict=True))
    return ClassScore(
        positives=sum(label for label, _ in pairs),
        predicted=sum(guess for _, guess in pairs),
        true_positives=sum(label and guess for label, guess in pairs),
    )
