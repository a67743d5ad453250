"""The identity development set, made in memory from the shared media (issue #18).

People: the six of t1.jpg, the astronaut and Tom Hanks (eight identities; their faces are found
by the product's own counter, not by fixed boxes). Each is cut out as a head-and-shoulders
portrait and put in front of a grey 640x480 "webcam", then changed the way a webcam changes a
face: size, light, noise, compression, blur, head pose (in-plane rotation, and a synthetic
yaw made by a perspective warp), a mirror image, and the video path (the Y4M's 4:2:0 and VP8 at
the agent's bitrate). Every variant comes from the same photo of each person: genuine pairs are
easier than two photos taken on different days, so the false-reject figures are a lower bound;
docs/accuracy.md says so next to them.
"""

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from proctoring.analysis import vision
from proctoring.analysis.errors import AnalysisError

FRAME_SIZE = (640, 480)
BACKGROUND = 128
# A portrait is this many face widths wide and high, centred on the face (shoulders below).
PORTRAIT_WIDTHS = 3.0
SOURCES = {"t1.jpg": 6, "astronaut.png": 1, "Tom_Hanks_54745.png": 1}
# Tom_Hanks_54745.png is a 112x112 aligned crop: padded so that a detector sees a whole head.
CLOSEUP_PAD = 56
REFERENCE_WIDTH = 150  # px: the candidate at arm's length from a laptop camera
ENROL_SWAY = ((0, 0), (4, -3), (-5, 2))  # the enrolment's three frames, a little apart
SEED = 18
VP8_BITRATE = 150_000  # the agent's camera cap (agent/webrtc.py DEFAULT_MAX_VIDEO_BITRATE)
VP8_FRAMES = 6


@dataclass(frozen=True)
class Person:
    name: str
    portrait: np.ndarray  # BGR, the face centred, PORTRAIT_WIDTHS face widths across
    face_width: float  # the face's width in the portrait, in pixels


@dataclass(frozen=True)
class Condition:
    name: str
    group: str  # size, light, noise, compression, blur, pose, mirror, video
    face_width: int
    change: Callable[[np.ndarray], np.ndarray]
    offset: tuple[int, int] = (0, 0)


def missing_sources(root: Path) -> list[str]:
    """The shared media files the set is made from that `root` lacks."""
    return [name for name in SOURCES if not (root / name).is_file()]


def people(root: Path, counter: vision.HumanCounter) -> list[Person]:
    """The eight identities of the shared media, found by `counter`."""
    found = []
    for name, expected in SOURCES.items():
        path = root / name
        if not path.is_file():
            raise AnalysisError(f"identity development set: {path} is missing")
        image = vision.decode_jpeg(path.read_bytes())
        if image.shape[0] <= 2 * CLOSEUP_PAD:
            image = cv2.copyMakeBorder(image, *(CLOSEUP_PAD,) * 4, cv2.BORDER_REPLICATE)
        faces = sorted(counter.detect(image), key=lambda f: (f.box[0], f.box[1]))
        if len(faces) != expected:
            raise AnalysisError(f"{name}: {len(faces)} faces found, {expected} expected")
        for index, face in enumerate(faces):
            label = name.rsplit(".", 1)[0] + (f"#{index}" if expected > 1 else "")
            found.append(_portrait(label, image, face.box))
    return found


def _portrait(name: str, image: np.ndarray, box) -> Person:
    x1, y1, x2, y2 = box
    width = x2 - x1
    side = int(round(width * PORTRAIT_WIDTHS))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 + width * 0.35  # a little lower: the shoulders
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    pad = side
    padded = cv2.copyMakeBorder(
        image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(BACKGROUND,) * 3
    )
    crop = padded[y0 + pad : y0 + pad + side, x0 + pad : x0 + pad + side].copy()
    return Person(name=name, portrait=crop, face_width=float(width))


def webcam_frame(person: Person, face_width: float, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The person in front of a grey 640x480 webcam, the face `face_width` px wide."""
    scale = face_width / person.face_width
    side = max(8, int(round(person.portrait.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    portrait = cv2.resize(person.portrait, (side, side), interpolation=interpolation)
    width, height = FRAME_SIZE
    frame = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    left = (width - side) // 2 + offset[0]
    top = (height - side) // 2 + offset[1] + int(0.1 * height)
    _paste(frame, portrait, left, top)
    return frame


def _paste(frame: np.ndarray, image: np.ndarray, left: int, top: int) -> None:
    height, width = frame.shape[:2]
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(width, left + image.shape[1]), min(height, top + image.shape[0])
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = image[y0 - top : y1 - top, x0 - left : x1 - left]


def enrolment_frames(person: Person) -> list[np.ndarray]:
    return [webcam_frame(person, REFERENCE_WIDTH, offset) for offset in ENROL_SWAY]


def conditions() -> list[Condition]:
    """Every probe condition, by group. Sizes are face widths in the 640x480 frame."""
    same = REFERENCE_WIDTH
    found = [
        Condition(f"width-{w}", "size", w, _identity) for w in (200, 150, 120, 100, 80, 64, 48, 40)
    ]
    found += [
        Condition("dark-50%", "light", same, lambda f: cv2.convertScaleAbs(f, alpha=0.5)),
        Condition("bright+60", "light", same, lambda f: cv2.convertScaleAbs(f, beta=60)),
        Condition("backlit", "light", same, _backlit),
        Condition("warm-light", "light", same, _warm),
        Condition("noise-s10", "noise", same, lambda f: _noise(f, 10.0)),
        Condition("noise-s20", "noise", same, lambda f: _noise(f, 20.0)),
        Condition("jpeg-q40", "compression", same, lambda f: _jpeg(f, 40)),
        Condition("jpeg-q15", "compression", same, lambda f: _jpeg(f, 15)),
        Condition("blur-s1", "blur", same, lambda f: cv2.GaussianBlur(f, (0, 0), 1.0)),
        Condition("blur-s2", "blur", same, lambda f: cv2.GaussianBlur(f, (0, 0), 2.0)),
        Condition("blur-s3", "blur", same, lambda f: cv2.GaussianBlur(f, (0, 0), 3.0)),
        Condition("roll+15", "pose", same, lambda f: _rotate(f, 15.0)),
        Condition("roll-15", "pose", same, lambda f: _rotate(f, -15.0)),
        Condition("yaw+20", "pose", same, lambda f: _yaw(f, 20.0)),
        Condition("yaw-20", "pose", same, lambda f: _yaw(f, -20.0)),
        Condition("yaw+40", "pose", same, lambda f: _yaw(f, 40.0)),
        Condition("mirror", "mirror", same, lambda f: cv2.flip(f, 1)),
        Condition("sway+30", "pose", same, _identity, offset=(30, -12)),
        Condition("y4m-420", "video", same, _yuv420),
        Condition("vp8-150k", "video", same, _vp8),
        Condition("vp8-150k@100", "video", 100, _vp8),
        Condition(
            "low-light",
            "light",
            100,
            lambda f: _jpeg(_noise(cv2.convertScaleAbs(f, alpha=0.5), 12.0), 40),
        ),
    ]
    return found


def probe_frames(person: Person) -> Iterator[tuple[Condition, np.ndarray]]:
    for condition in conditions():
        frame = webcam_frame(person, condition.face_width, condition.offset)
        yield condition, condition.change(frame)


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame


def _noise(frame: np.ndarray, sigma: float) -> np.ndarray:
    noise = np.random.default_rng(SEED).normal(0.0, sigma, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    return vision.decode_jpeg(vision.encode_jpeg(frame, quality=quality))


def _rotate(frame: np.ndarray, degrees: float) -> np.ndarray:
    height, width = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(frame, matrix, (width, height), borderValue=(BACKGROUND,) * 3)


def _yaw(frame: np.ndarray, degrees: float) -> np.ndarray:
    """A head turned `degrees` left or right, roughly: the picture plane seen at that angle
    (foreshortened across, the far side shorter). A flat photo cannot show the nose's profile,
    so real turns are harder than this."""
    height, width = frame.shape[:2]
    theta = np.radians(abs(degrees))
    squeeze = width * (1 - np.cos(theta)) / 2
    shrink = height * 0.5 * np.sin(theta) * 0.25
    src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    if degrees > 0:  # the right side moves away
        dst = [
            [squeeze, 0],
            [width - squeeze, shrink],
            [width - squeeze, height - shrink],
            [squeeze, height],
        ]
    else:
        dst = [
            [squeeze, shrink],
            [width - squeeze, 0],
            [width - squeeze, height],
            [squeeze, height - shrink],
        ]
    matrix = cv2.getPerspectiveTransform(src, np.float32(dst))
    return cv2.warpPerspective(frame, matrix, (width, height), borderValue=(BACKGROUND,) * 3)


def _backlit(frame: np.ndarray) -> np.ndarray:
    """A window behind the candidate: the face dark, the background bright."""
    dark = cv2.convertScaleAbs(frame, alpha=0.45)
    background = np.all(frame == BACKGROUND, axis=2)
    dark[background] = 235
    return dark


def _warm(frame: np.ndarray) -> np.ndarray:
    gains = np.array([0.75, 0.95, 1.2], dtype=np.float32)  # B, G, R: a tungsten lamp
    return np.clip(frame.astype(np.float32) * gains, 0, 255).astype(np.uint8)


def _yuv420(frame: np.ndarray) -> np.ndarray:
    """The fake camera's path: 4:2:0 chroma, as the Y4M file stores it."""
    yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)


@functools.lru_cache(maxsize=1)
def _vp8_available() -> bool:
    try:
        import av

        av.CodecContext.create("libvpx", "w")
    except Exception:  # PyAV without libvpx: the condition is skipped, and says so
        return False
    return True


def _vp8(frame: np.ndarray) -> np.ndarray:
    """Through the agent's video codec: VP8 at its camera bitrate, a few frames in (the encoder's
    rate control settles), decoded as the media process decodes it."""
    if not _vp8_available():
        raise AnalysisError("PyAV has no libvpx here: the VP8 condition cannot be made")
    import av

    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height = frame.shape[1], frame.shape[0]
    encoder.pix_fmt = "yuv420p"
    encoder.bit_rate = VP8_BITRATE
    encoder.time_base = Fraction(1, 2)
    decoder = av.CodecContext.create("libvpx", "r")
    decoded = None
    for index in range(VP8_FRAMES):
        image = av.VideoFrame.from_ndarray(frame, format="bgr24").reformat(format="yuv420p")
        image.pts = index
        for packet in encoder.encode(image):
            for out in decoder.decode(packet):
                decoded = out.to_ndarray(format="bgr24")
    for packet in encoder.encode(None):
        for out in decoder.decode(packet):
            decoded = out.to_ndarray(format="bgr24")
    if decoded is None:
        raise AnalysisError("the VP8 round trip gave no frame")
    return decoded


# --- Synthetic ID cards (the ID card check's tests and evaluation) ---------------------------
CARD_SIZE = (856, 540)  # ID-1 (credit card) proportions, 10 px a millimetre
CARD_PHOTO = (60, 120, 300, 420)  # x0, y0, x1, y1 of the photo on the card
CARD_COLOUR = (235, 228, 220)
CARD_BAND = (150, 90, 40)
CARD_TEXT = (40, 40, 40)


def id_card(person: Person, *, name: str = "DOE JANE", expires: str = "2031-06-30") -> np.ndarray:
    """A plain ID card with the person's photo, a name and an expiry date (as text only)."""
    width, height = CARD_SIZE
    card = np.full((height, width, 3), CARD_COLOUR, dtype=np.uint8)
    card[:90] = CARD_BAND
    cv2.putText(card, "IDENTITY CARD", (40, 62), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (255, 255, 255), 3)
    x0, y0, x1, y1 = CARD_PHOTO
    face_width = (x1 - x0) / PORTRAIT_WIDTHS * 1.35
    scale = face_width / person.face_width
    side = int(round(person.portrait.shape[0] * scale))
    photo = cv2.resize(person.portrait, (side, side), interpolation=cv2.INTER_AREA)
    top = (side - (y1 - y0)) // 2
    left = (side - (x1 - x0)) // 2
    card[y0:y1, x0:x1] = photo[top : top + (y1 - y0), left : left + (x1 - x0)]
    for row, text in enumerate((f"NAME  {name}", "BORN  1990-01-01", f"EXPIRES  {expires}")):
        cv2.putText(card, text, (340, 190 + 70 * row), cv2.FONT_HERSHEY_SIMPLEX, 1.0, CARD_TEXT, 2)
    return card


def holding_card(person: Person, card: np.ndarray, *, card_width: int = 400) -> np.ndarray:
    """The person in front of the webcam, holding `card` up beside their face."""
    frame = webcam_frame(person, 120, offset=(-150, -30))
    height = int(round(card.shape[0] * card_width / card.shape[1]))
    small = cv2.resize(card, (card_width, height), interpolation=cv2.INTER_AREA)
    _paste(frame, small, FRAME_SIZE[0] - card_width - 10, 140)
    return frame
