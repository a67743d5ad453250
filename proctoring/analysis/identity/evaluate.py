"""How well the identity check tells people apart, on the development set (no Django).

Each person is enrolled as the product enrols (three webcam frames, the product's counter,
landmarks, quality gate and embedding); every probe frame of every person is compared with every
person's references. A pair of the same person is *genuine*, of two people an *impostor* pair.

- FAR (false accepts) = impostor pairs at or over the match threshold / impostor pairs;
- FRR (false rejects) = genuine pairs under it / genuine pairs;
- the issue's target set: frontal faces at least 80 px wide (judgeable, not turned);
- per condition: how often a genuine face would be called a *different person* (a false
  impersonation frame) and how often an impostor would (the check doing its job).
"""

import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from proctoring.analysis import vision
from proctoring.analysis.identity import MATCH, MISMATCH, UNCERTAIN, devset, load_probe, similarity
from proctoring.analysis.thresholds import DEFAULT_THRESHOLDS, Thresholds

MS_PER_S = 1000.0
ROC_THRESHOLDS = tuple(round(0.15 + 0.05 * i, 2) for i in range(11))  # 0.15 .. 0.65
TARGET_MIN_WIDTH = 80.0  # the "frontal faces at least 80 px wide"


@dataclass(frozen=True)
class Probe:
    person: str
    condition: str
    group: str
    found: bool  # exactly one face found and embedded
    quality: dict
    embedding: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Pair:
    reference: str
    person: str
    condition: str
    group: str
    genuine: bool
    similarity: float
    verdict: str
    target: bool  # in the target set (frontal, judgeable, >= 80 px)


@dataclass
class IdentityEvaluation:
    model: str
    detector: str
    match_at: float
    mismatch_below: float
    people: list[str]
    pairs: list[Pair]
    unprobed: list[str]  # person@condition where no single face was found or embedded
    enrolled: dict[str, int]
    landmark_ms: float
    embed_ms: float

    def rates(self, *, target_only: bool, threshold: float | None = None) -> dict[str, float | int]:
        """FAR and FRR at `threshold` (default: the match threshold)."""
        threshold = self.match_at if threshold is None else threshold
        pairs = [p for p in self.pairs if p.target or not target_only]
        genuine = [p for p in pairs if p.genuine]
        impostor = [p for p in pairs if not p.genuine]
        false_accepts = sum(p.similarity >= threshold for p in impostor)
        false_rejects = sum(p.similarity < threshold for p in genuine)
        return {
            "threshold": threshold,
            "genuine": len(genuine),
            "impostor": len(impostor),
            "false_accepts": false_accepts,
            "false_rejects": false_rejects,
            "far": false_accepts / len(impostor) if impostor else None,
            "frr": false_rejects / len(genuine) if genuine else None,
        }

    def roc(self, *, target_only: bool = True) -> list[dict]:
        return [self.rates(target_only=target_only, threshold=t) for t in ROC_THRESHOLDS]

    def by_condition(self) -> list[dict]:
        rows = defaultdict(list)
        for pair in self.pairs:
            rows[(pair.group, pair.condition)].append(pair)
        table = []
        for (group, condition), pairs in rows.items():
            genuine = [p for p in pairs if p.genuine]
            impostor = [p for p in pairs if not p.genuine]
            table.append(
                {
                    "group": group,
                    "condition": condition,
                    "genuine": len(genuine),
                    "genuine_min": min((p.similarity for p in genuine), default=None),
                    "genuine_median": _median([p.similarity for p in genuine]),
                    "impostor_max": max((p.similarity for p in impostor), default=None),
                    "genuine_mismatch": sum(p.verdict == MISMATCH for p in genuine),
                    "genuine_uncertain": sum(p.verdict == UNCERTAIN for p in genuine),
                    "impostor_mismatch": sum(p.verdict == MISMATCH for p in impostor),
                    "impostor_match": sum(p.verdict == MATCH for p in impostor),
                    "impostor": len(impostor),
                }
            )
        return table

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "detector": self.detector,
            "match_at": self.match_at,
            "mismatch_below": self.mismatch_below,
            "people": self.people,
            "enrolled": self.enrolled,
            "unprobed": self.unprobed,
            "landmark_ms": self.landmark_ms,
            "embed_ms": self.embed_ms,
            "target": self.rates(target_only=True),
            "all": self.rates(target_only=False),
            "roc": self.roc(),
            "conditions": self.by_condition(),
            "pairs": [asdict(p) for p in self.pairs],
        }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def evaluate_identity(
    root: Path,
    *,
    model_dir: Path,
    detector: str,
    embedder: str,
    main_input: tuple[int, int] | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> IdentityEvaluation:
    counter = vision.load_counter(detector, model_dir, main_input=main_input)
    probe = load_probe(detector=detector, embedder=embedder, model_dir=model_dir)
    decision = thresholds.identity(embedder)
    persons = devset.people(root, counter)
    references: dict[str, np.ndarray] = {}
    timing = {"landmark": [], "embed": []}
    for person in persons:
        embeddings = []
        for frame in devset.enrolment_frames(person):
            found = _probe(counter, probe, frame, timing)
            if found is not None and not found.problem and found.embedding is not None:
                embeddings.append(found.embedding)
        if embeddings:
            references[person.name] = np.stack(embeddings)
    probes: list[Probe] = []
    unprobed = []
    for person in persons:
        for condition, frame in devset.probe_frames(person):
            found = _probe(counter, probe, frame, timing)
            if found is None or found.embedding is None:
                unprobed.append(f"{person.name}@{condition.name}")
                continue
            probes.append(
                Probe(
                    person.name,
                    condition.name,
                    condition.group,
                    True,
                    found.quality.to_dict(),
                    found.embedding,
                )
            )
    pairs = [
        _pair(name, refs, item, decision) for name, refs in references.items() for item in probes
    ]
    return IdentityEvaluation(
        model=embedder,
        detector=detector,
        match_at=decision.match_at,
        mismatch_below=decision.mismatch_below,
        people=[p.name for p in persons],
        pairs=pairs,
        unprobed=unprobed,
        enrolled={name: len(refs) for name, refs in references.items()},
        landmark_ms=_median(timing["landmark"]) or 0.0,
        embed_ms=_median(timing["embed"]) or 0.0,
    )


def _probe(counter, probe, frame: np.ndarray, timing: dict):
    faces = counter.detect(frame)
    if len(faces) != 1:
        return None
    started = time.process_time()
    landmarks = probe.landmarker.locate(frame, faces[0].box)
    timing["landmark"].append((time.process_time() - started) * MS_PER_S)
    started = time.process_time()
    found = probe.probe(frame, faces[0].box)
    if found.embedding is not None and landmarks is not None:
        # probe() landmarks again; what it adds over locate() is the alignment and embedding.
        timing["embed"].append((time.process_time() - started) * MS_PER_S - timing["landmark"][-1])
    return found


def _pair(reference: str, refs: np.ndarray, item: Probe, decision) -> Pair:
    sim = similarity(refs, item.embedding)
    target = item.quality.get("width", 0.0) >= TARGET_MIN_WIDTH and decision.judgeable(item.quality)
    return Pair(
        reference=reference,
        person=item.person,
        condition=item.condition,
        group=item.group,
        genuine=reference == item.person,
        similarity=round(sim, 4),
        verdict=decision.verdict(sim, item.quality),
        target=target,
    )
