"""The identity layer on the real models: landmarks, alignment, embeddings, quality, verdicts."""

import cv2
import numpy as np
import pytest

from proctoring.analysis import findings, vision
from proctoring.analysis.errors import AnalysisError
from proctoring.analysis.identity import (
    MATCH,
    MISMATCH,
    UNCERTAIN,
    Decision,
    devset,
    load_embedder,
    load_probe,
    similarity,
)
from proctoring.analysis.identity import quality as q
from proctoring.analysis.identity.align import ALIGNED_SIZE, align_face
from proctoring.analysis.identity.evaluate import evaluate_identity
from proctoring.analysis.thresholds import DEFAULT_THRESHOLDS, Thresholds

MAIN_INPUT = (320, 256)


@pytest.fixture(scope="module")
def counter(model_dir):
    return vision.load_counter("scrfd_500m", model_dir, main_input=MAIN_INPUT)


@pytest.fixture(scope="module")
def probe(model_dir):
    return load_probe(detector="scrfd_500m", embedder="sface", model_dir=model_dir)


@pytest.fixture(scope="module")
def people(media_dir, counter):
    return {person.name: person for person in devset.people(media_dir, counter)}


def references(probe, counter, person):
    found = []
    for frame in devset.enrolment_frames(person):
        (face,) = counter.detect(frame)
        found.append(probe.probe(frame, face.box).embedding)
    return np.stack(found)


@pytest.mark.parametrize("detector", ["scrfd_500m", "yunet"])
def test_landmarks_of_each_face_lie_inside_it_in_the_template_order(model_dir, media_dir, detector):
    counter = vision.load_counter(detector, model_dir, main_input=MAIN_INPUT)
    probe = load_probe(detector=detector, embedder="sface", model_dir=model_dir)
    group = cv2.imread(str(media_dir / "t1.jpg"))
    faces = counter.detect(group)
    assert len(faces) == 6
    for face in faces:
        found = probe.landmarker.locate(group, face.box)
        x1, y1, x2, y2 = face.box
        points = found.points
        assert np.all((points[:, 0] > x1 - 5) & (points[:, 0] < x2 + 5))
        assert np.all((points[:, 1] > y1 - 5) & (points[:, 1] < y2 + 5))
        left_eye, right_eye, nose, left_mouth, right_mouth = points
        assert left_eye[0] < right_eye[0] and left_mouth[0] < right_mouth[0]
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(left_mouth[1], right_mouth[1])


def test_sface_embeds_exactly_as_opencvs_face_recognizer(model_dir, media_dir):
    """The preprocessing is OpenCV Zoo's: the same crop gives the same vector."""
    image = cv2.imread(str(media_dir / "astronaut.png"))
    height, width = image.shape[:2]
    yunet = cv2.FaceDetectorYN.create(
        str(model_dir / "face_detection_yunet_2023mar.onnx"), "", (width, height), 0.6, 0.3, 10
    )
    _, faces = yunet.detect(image)
    recognizer = cv2.FaceRecognizerSF.create(
        str(model_dir / "face_recognition_sface_2021dec.onnx"), ""
    )
    theirs = recognizer.feature(recognizer.alignCrop(image, faces[0])).reshape(-1)
    ours = load_embedder("sface", model_dir).embed(align_face(image, faces[0][4:14]))
    assert float(ours @ (theirs / np.linalg.norm(theirs))) > 0.999


@pytest.mark.parametrize("model", ["sface", "mobilefacenet"])
def test_the_eight_people_of_the_shared_media_are_told_apart(model_dir, counter, people, model):
    probe = load_probe(detector="scrfd_500m", embedder=model, model_dir=model_dir)
    decision = DEFAULT_THRESHOLDS.identity(model)
    enrolled = {name: references(probe, counter, person) for name, person in people.items()}
    impostor_verdicts = []
    for name, person in people.items():
        frame = cv2.GaussianBlur(devset.webcam_frame(person, 110, (20, -10)), (0, 0), 0.8)
        (face,) = counter.detect(frame)
        live = probe.probe(frame, face.box)
        for other, refs in enrolled.items():
            verdict = decision.verdict(similarity(refs, live.embedding), live.quality.to_dict())
            if other == name:
                assert verdict == MATCH, name
            else:
                impostor_verdicts.append(verdict)
    # Nobody is taken for someone else; a look-alike may land in the uncertain band.
    assert MATCH not in impostor_verdicts
    assert impostor_verdicts.count(MISMATCH) >= 0.9 * len(impostor_verdicts)


def test_an_embedding_is_a_unit_vector_and_the_aligned_crop_is_112(probe, counter, people):
    frame = devset.webcam_frame(people["astronaut"], 150)
    (face,) = counter.detect(frame)
    found = probe.probe(frame, face.box)
    assert found.aligned.shape == (ALIGNED_SIZE, ALIGNED_SIZE, 3)
    assert abs(float(np.linalg.norm(found.embedding)) - 1.0) < 1e-5
    assert found.problem == ""


def test_enrolment_says_what_is_wrong_with_a_frame(probe, counter, people, media_dir):
    two = cv2.imread(str(media_dir / "two_faces.png"))
    empty = cv2.imread(str(media_dir / "empty_room.png"))
    small = devset.webcam_frame(people["astronaut"], 60)
    blurred = cv2.GaussianBlur(devset.webcam_frame(people["astronaut"], 150), (0, 0), 3.0)
    outcomes = {}
    for label, frame in (("two", two), ("empty", empty), ("small", small), ("blur", blurred)):
        found = probe.enrolment_candidate(frame, [f.box for f in counter.detect(frame)])
        outcomes[label] = found if isinstance(found, str) else found.problem
    assert outcomes == {
        "two": q.MULTIPLE_FACES,
        "empty": q.NO_FACE,
        "small": q.TOO_SMALL,
        "blur": q.BLURRED,
    }


def test_a_turned_face_measures_turned():
    frontal = np.array([[40, 50], [72, 50], [56, 70], [44, 90], [68, 90]], dtype=np.float32)
    turned = frontal.copy()
    turned[2, 0] = 68  # the nose close to the right eye: the head is turned
    assert q.turn_of(frontal) == pytest.approx(0.0)
    assert q.turn_of(turned) > q.ENROL_MAX_TURN


def test_verdicts_keep_poor_faces_uncertain():
    decision = Decision(
        match_at=0.4, mismatch_below=0.3, min_face_px=80, max_turn=0.35, min_sharpness=7
    )
    good = {"width": 120.0, "turn": 0.1, "sharpness": 20.0}
    assert decision.verdict(0.8, good) == MATCH
    assert decision.verdict(0.1, good) == MISMATCH
    assert decision.verdict(0.35, good) == UNCERTAIN
    assert decision.verdict(None, good) == UNCERTAIN
    for poor in ({**good, "width": 60.0}, {**good, "turn": 0.5}, {**good, "sharpness": 3.0}):
        assert decision.verdict(0.05, poor) == UNCERTAIN


def frame_data(sim, *, width=120.0, faces=1, model="sface"):
    return {
        "count": faces,
        "faces": [{"box": [0, 0, width, width], "score": 0.9}] * faces,
        "identity": {
            "model": model,
            "sim": sim,
            "quality": {"width": width, "turn": 0.05, "sharpness": 20.0},
        },
    }


def test_a_different_person_is_a_finding_only_on_a_lone_judgeable_face():
    th = DEFAULT_THRESHOLDS
    assert findings.video_finding(frame_data(0.1), th) == findings.IMPERSONATION
    assert findings.video_finding(frame_data(0.9), th) == ""
    assert findings.video_finding(frame_data(0.35), th) == ""  # the uncertain band
    assert findings.video_finding(frame_data(0.1, width=50.0), th) == ""  # too small to judge
    assert findings.video_finding(frame_data(0.1, faces=2), th) == findings.MULTIPLE_HUMANS
    assert findings.video_finding(frame_data(0.1, model="retired"), th) == ""
    # A re-score with another threshold judges the stored similarity again.
    looser = Thresholds.from_dict({"identity_mismatch_sface": 0.05})
    assert findings.video_finding(frame_data(0.1), looser) == ""


def test_an_impersonation_incident_keeps_the_lowest_similarity():
    rows = [
        findings.Row("s", "video", seq, float(seq), 1.0, frame_data(sim))
        for seq, sim in enumerate([0.9, 0.2, 0.1, 0.15, 0.9])
    ]
    (incident,) = findings.incidents(rows, DEFAULT_THRESHOLDS, gap=2.0)
    assert (incident.type, incident.start, incident.end) == ("impersonation", 1.0, 4.0)
    assert incident.details == {"min_similarity": 0.1, "model": "sface"}


def test_identity_thresholds_are_checked():
    with pytest.raises(ValueError, match="identity_mismatch_sface"):
        Thresholds.from_dict({"identity_mismatch_sface": 0.9})
    with pytest.raises(ValueError, match="no identity thresholds for model 'arcface'"):
        DEFAULT_THRESHOLDS.identity("arcface")


def test_an_unknown_embedder_is_refused(model_dir):
    with pytest.raises(AnalysisError, match="unknown face embedding model 'arcface'"):
        load_embedder("arcface", model_dir)


def test_a_card_face_matches_its_person_only(probe, counter, people):
    enrolled = references(probe, counter, people["astronaut"])
    decision = DEFAULT_THRESHOLDS.identity("sface")
    for person, expected in (("astronaut", MATCH), ("Tom_Hanks_54745", MISMATCH)):
        frame = devset.holding_card(people["astronaut"], devset.id_card(people[person]))
        card_face, live_face = sorted(counter.detect(frame), key=lambda f: f.box[2] - f.box[0])
        card = probe.probe(frame, card_face.box)
        sim = similarity(enrolled, card.embedding)
        assert (sim >= decision.match_at) == (expected == MATCH), (person, sim)


def test_the_development_set_separates_people_at_the_chosen_thresholds(media_dir, model_dir):
    report = evaluate_identity(
        media_dir,
        model_dir=model_dir,
        detector="scrfd_500m",
        embedder="sface",
        main_input=MAIN_INPUT,
    )
    assert len(report.people) == 8 and set(report.enrolled.values()) == {3}
    # No genuine frame is ever called a different person: that would be a false violation.
    assert not [p for p in report.pairs if p.genuine and p.verdict == MISMATCH]
    target = report.rates(target_only=True)
    assert target["genuine"] >= 150 and target["impostor"] >= 1000
    assert target["far"] <= 0.005 and target["frr"] <= 0.02
    impostors = [p for p in report.pairs if not p.genuine and p.target]
    assert sum(p.verdict == MISMATCH for p in impostors) / len(impostors) > 0.9


def test_the_name_and_expiry_printed_on_a_card_are_read(people):
    import datetime as dt

    from proctoring.analysis.identity import card_text

    card = devset.id_card(people["astronaut"], name="COLLINS EILEEN", expires="2031-06-30")
    lines = card_text.read_lines(card)
    today = dt.date(2026, 12, 2)
    found = card_text.check_card_text(lines, name="Eileen Collins", today=today)
    assert found.to_dict() == {"name": "match", "expiry": "2031-06-30", "expired": False}
    other = card_text.check_card_text(lines, name="Ada Lovelace", today=today)
    assert other.name == "mismatch"
    later = card_text.check_card_text(lines, name="", today=dt.date(2032, 1, 1))
    assert (later.name, later.expired) == ("not_checked", True)


def test_card_text_rules_on_what_ocr_gives():
    import datetime as dt

    from proctoring.analysis.identity import card_text

    lines = ["IDENTITYCARD", "NAME C0LLINSEILEEN", "B0RN 1990-01-01", "EXPIRES2O31-06-30"]
    assert card_text.name_verdict(lines, "Eileen Collins") == "match"
    assert card_text.name_verdict(lines, "Eileen Colins") == "match"  # one letter off
    assert card_text.name_verdict(lines, "Jane Doe") == "mismatch"
    assert card_text.name_verdict([], "Jane Doe") == "unreadable"
    assert card_text.expiry_date(lines) == dt.date(2031, 6, 30)
    assert card_text.expiry_date(["VALID UNTIL 31.12.2027", "ISSUED 01.01.2030"]) == dt.date(
        2027, 12, 31
    )
    assert card_text.expiry_date(["no date here"]) is None


def test_evaluate_detectors_prints_the_identity_section(media_dir, model_dir, tmp_path):
    import io
    import json

    from django.core.management import call_command

    stdout = io.StringIO()
    out = tmp_path / "report.json"
    call_command(
        "evaluate_detectors", str(media_dir), "--detector", "scrfd_500m", "--no-dev-audio",
        "--embedder", "mobilefacenet", "--model-dir", str(model_dir), "--json", str(out),
        stdout=stdout,
    )  # fmt: skip
    text = stdout.getvalue()
    summary = text[text.index("Identity (genuine") :]
    rows = [line.split() for line in summary.splitlines() if line.startswith("mobilefacenet")]
    frontal = next(row for row in rows if "frontal" in row)
    assert frontal[:2] == ["mobilefacenet", "scrfd_500m"] and frontal[-1] == "0.450"
    assert "ROC (frontal faces at least 80 px wide)" in summary
    (report,) = json.loads(out.read_text())["identity"]
    assert report["model"] == "mobilefacenet" and len(report["roc"]) == 11
    assert report["target"]["impostor"] >= 1000 and report["target"]["far"] <= 0.005
