"""The scorer's output: the score, its version, the profile used and a per-type breakdown."""

from dataclasses import asdict, dataclass
from typing import Any

from trust_score.defaults import DURATION
from trust_score.profile import Profile

FRACTION = "fraction"
PER_HOUR = "per_hour"


@dataclass(frozen=True, slots=True)
class Component:
    """What one violation type cost, and why.

    measure is what the curve sees: a fraction of the test (unit "fraction") for durations, or
    events per hour (unit "per_hour") for counts. seconds (durations) or count (counts) is the
    evidence behind it; the other is None.
    """

    type: str
    kind: str
    measure: float
    unit: str
    seconds: float | None
    count: int | None
    weight: float
    half_point: float
    points_lost: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def evidence(self) -> str:
        """The raw evidence in words: '92.5 s' or '3 events'."""
        if self.kind == DURATION:
            return f"{self.seconds:g} s"
        return f"{self.count} event" + ("" if self.count == 1 else "s")

    def measure_text(self) -> str:
        if self.unit == FRACTION:
            return f"{self.measure * 100:.2f} %"
        return f"{self.measure:.2f} /h"


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """score = max(0, 100 - points_lost), rounded to 1 decimal; lower is more suspicious.

    100.0 only when nothing was scored: any scored evidence, however small, caps it at 99.9.
    """

    score: float
    version: str
    components: tuple[Component, ...]
    profile: Profile
    test_seconds: float
    points_lost: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: what proctoring stores with the attempt."""
        return {
            "version": self.version,
            "score": self.score,
            "test_seconds": self.test_seconds,
            "points_lost": self.points_lost,
            "components": [component.to_dict() for component in self.components],
            "profile": self.profile.to_dict(),
        }

    def component(self, violation_type: str) -> Component:
        for component in self.components:
            if component.type == violation_type:
                return component
        raise KeyError(violation_type)

    def table(self, *, all_components: bool = False) -> str:
        """A plain-text breakdown for reviewers and the docs; types without evidence left out."""
        width = max(len(c.type) for c in self.components)
        lines = [
            f"{self.version}  score {self.score:.1f}  test {self.test_seconds:g} s",
            f"{'type':<{width}} {'evidence':>10} {'measure':>9} {'weight':>6} {'lost':>6}",
        ]
        for c in self.components:
            if all_components or c.seconds or c.count:
                lines.append(
                    f"{c.type:<{width}} {c.evidence():>10} {c.measure_text():>9} "
                    f"{c.weight:>6g} {c.points_lost:>6.2f}"
                )
        lines.append(f"{'total':<{width}} {'':>10} {'':>9} {'':>6} {self.points_lost:>6.2f}")
        return "\n".join(lines)
