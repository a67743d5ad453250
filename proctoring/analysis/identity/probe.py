"""One face through the identity pipeline: landmarks, alignment, quality, embedding."""

from dataclasses import dataclass

import numpy as np

from proctoring.analysis.identity import quality as q
from proctoring.analysis.identity.align import align_face
from proctoring.analysis.identity.embedders import FaceEmbedder
from proctoring.analysis.identity.landmarks import FaceLandmarker


@dataclass(frozen=True)
class ProbedFace:
    """What the pipeline made of one face. `embedding` is None when the face was not worth it
    (too small, too turned, no landmarks) or not asked for; `problem` says why it cannot be
    enrolled ("" when it can)."""

    box: tuple[float, float, float, float]
    quality: q.FaceQuality | None
    problem: str
    aligned: np.ndarray | None = None
    embedding: np.ndarray | None = None


class IdentityProbe:
    def __init__(self, landmarker: FaceLandmarker, embedder: FaceEmbedder) -> None:
        self.landmarker = landmarker
        self.embedder = embedder

    @property
    def model(self) -> str:
        return self.embedder.name

    def probe(self, bgr: np.ndarray, box, *, embed: bool = True) -> ProbedFace:
        box = tuple(float(v) for v in box[:4])
        found = self.landmarker.locate(bgr, box)
        if found is None:
            return ProbedFace(box=box, quality=None, problem=q.NO_LANDMARKS)
        aligned = align_face(bgr, found.points)
        quality = q.measure(box=box, points=found.points, aligned_bgr=aligned)
        embedding = None
        if embed and q.worth_embedding(quality):
            embedding = self.embedder.embed(aligned)
        return ProbedFace(
            box=box,
            quality=quality,
            problem=q.enrol_problem(quality),
            aligned=aligned,
            embedding=embedding,
        )

    def enrolment_candidate(self, bgr: np.ndarray, boxes: list) -> ProbedFace | str:
        """The frame's one face, probed, or why the frame cannot enrol anyone: no face, two."""
        if not boxes:
            return q.NO_FACE
        if len(boxes) > 1:
            return q.MULTIPLE_FACES
        return self.probe(bgr, boxes[0])
