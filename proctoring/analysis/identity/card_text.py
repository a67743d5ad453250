"""The name and expiry date printed on an ID card, read with RapidOCR (issue #18).

`rapidocr-onnxruntime` 1.4.4 (Apache-2.0) carries its PP-OCRv4 detection and recognition models
inside its wheel and runs them on onnxruntime: nothing is downloaded at run time. It declares
the GUI build of OpenCV, so it is installed with --no-deps (requirements/no-deps.txt), like
insightface. On the synthetic cards of the development set it reads every line, with spaces
dropped or added and O read as 0 now and then, in about 1 s of CPU per image (docs/accuracy.md).

Only verdicts are kept: whether the attempt's name is on the card, the expiry date and whether
it has passed. The text itself (a date of birth, a card number) is never stored.
"""

import datetime as dt
import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from proctoring.analysis.errors import AnalysisError

MATCH, MISMATCH, UNREADABLE, NOT_CHECKED = "match", "mismatch", "unreadable", "not_checked"
# A name part counts as found when some stretch of the card's letters is this close to it: OCR
# drops a letter or reads I for l now and then, a different name differs in several.
NAME_PART_RATIO = 0.8
MIN_NAME_PART = 2
EXPIRY_WORDS = ("EXP", "VALID", "UNTIL", "GULTIG", "ABLAUF", "VENC", "EXPIR")
DATE_PATTERNS = (
    (re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})"), ("y", "m", "d")),
    (re.compile(r"(\d{1,2})[-./](\d{1,2})[-./](\d{4})"), ("d", "m", "y")),
)
# Letters OCR takes for digits inside a date.
DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "S": "5"})


@dataclass(frozen=True)
class CardText:
    name: str  # match, mismatch, unreadable (no text), not_checked (no name given)
    expiry: dt.date | None
    expired: bool | None  # None when no expiry date could be read

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "expired": self.expired,
        }


@functools.cache
def _engine():
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as error:
        raise AnalysisError(
            "rapidocr-onnxruntime is not installed (pip install --no-deps -r "
            "requirements/no-deps.txt)"
        ) from error
    return RapidOCR()


def ocr_available() -> bool:
    try:
        _engine()
    except AnalysisError:
        return False
    return True


def read_lines(bgr: np.ndarray) -> list[str]:
    found, _ = _engine()(bgr)
    return [text for _, text, _ in found or []]


def check_card_text(lines: list[str], *, name: str, today: dt.date) -> CardText:
    expiry = expiry_date(lines)
    return CardText(
        name=name_verdict(lines, name),
        expiry=expiry,
        expired=None if expiry is None else expiry < today,
    )


def _letters(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z]", "", plain.upper())


def name_verdict(lines: list[str], name: str) -> str:
    parts = [_letters(part) for part in re.split(r"[\s,\-]+", name or "")]
    parts = [part for part in parts if len(part) >= MIN_NAME_PART]
    if not parts:
        return NOT_CHECKED
    text = _letters(" ".join(lines).replace("0", "O"))
    if not text:
        return UNREADABLE
    return MATCH if all(_found(part, text) for part in parts) else MISMATCH


def _found(part: str, text: str) -> bool:
    if part in text:
        return True
    width = len(part)
    return any(
        difflib.SequenceMatcher(None, part, text[i : i + width]).ratio() >= NAME_PART_RATIO
        for i in range(max(1, len(text) - width + 1))
    )


def expiry_date(lines: list[str]) -> dt.date | None:
    """The date on the line that says it is the expiry, else the latest date on the card."""
    dated = []
    for line in lines:
        for found in _dates(line):
            labelled = any(word in _letters(line) for word in EXPIRY_WORDS)
            dated.append((labelled, found))
    if not dated:
        return None
    labelled = [found for is_expiry, found in dated if is_expiry]
    return max(labelled) if labelled else max(found for _, found in dated)


def _dates(line: str) -> list[dt.date]:
    text = line.translate(DIGIT_LOOKALIKES)
    found = []
    for pattern, order in DATE_PATTERNS:
        for match in pattern.finditer(text):
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            try:
                found.append(dt.date(parts["y"], parts["m"], parts["d"]))
            except ValueError:
                continue
    return found
