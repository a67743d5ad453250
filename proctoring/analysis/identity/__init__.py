"""The identity layer (issue #18): is the face in front of the camera the enrolled candidate's?

No Django here. Landmarks come from the counter's detector family run again on the one face
(landmarks.py), faces are aligned to the ArcFace template (align.py), judged for size, pose and
sharpness (quality.py), embedded with SFace or MobileFaceNet (embedders.py) and compared by cosine
similarity; decision.py turns a similarity into match, mismatch or uncertain.
"""

import os

from proctoring.analysis.identity.decision import MATCH, MISMATCH, UNCERTAIN, Decision
from proctoring.analysis.identity.embedders import FaceEmbedder, load_embedder, similarity
from proctoring.analysis.identity.landmarks import FaceLandmarker
from proctoring.analysis.identity.probe import IdentityProbe, ProbedFace

__all__ = [
    "MATCH",
    "MISMATCH",
    "UNCERTAIN",
    "Decision",
    "FaceEmbedder",
    "FaceLandmarker",
    "IdentityProbe",
    "ProbedFace",
    "load_embedder",
    "load_probe",
    "similarity",
]


def load_probe(
    *, detector: str, embedder: str, model_dir: str | os.PathLike[str], threads: int = 1
) -> IdentityProbe:
    """The identity pipeline: landmarks from `detector`'s family, embeddings from `embedder`."""
    return IdentityProbe(
        FaceLandmarker(detector, model_dir, threads=threads),
        load_embedder(embedder, model_dir, threads=threads),
    )
