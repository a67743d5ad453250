"""Camera files for the identity end-to-end test (issue #18), generated into var/identity/.

`python -m scripts.make_identity_video [DIR]` writes two Y4M files (640x480, 4:2:0, at FPS):
- `switch_*.y4m`: the astronaut for SWITCH_S seconds, then one of the people of t1.jpg;
- `same_*.y4m`: the astronaut throughout.
Both sway a few pixels every frame and carry sensor noise, so no two frames are the same. The
people come from ../shared/media through the identity development set
(proctoring/analysis/identity/devset.py); nothing here is committed media.
"""

import argparse
import os
from pathlib import Path

import cv2
import numpy as np

from proctoring.analysis import vision
from proctoring.analysis.identity import devset

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "identity"
MEDIA_DIR = Path(os.environ.get("PROCTOR_MEDIA_DIR", ROOT.parent / "shared" / "media"))
MODEL_DIR = Path(os.environ.get("PROCTOR_MODEL_DIR", ROOT.parent / "shared" / "models"))
FPS = 4
SECONDS = 34
# Late enough that the candidate's face has settled (3 matches, decision 0020) before someone
# else takes the seat: the switch is then found at the settled rate, the slower one.
SWITCH_S = 16
CANDIDATE, OTHER = "astronaut", "t1#4"
FACE_WIDTH = 150
SWAY_PX = 8
NOISE_SIGMA = 5.0


def frames(people: dict[str, devset.Person], *, switch_s: float | None):
    rng = np.random.default_rng(18)
    for index in range(FPS * SECONDS):
        t = index / FPS
        who = OTHER if switch_s is not None and t >= switch_s else CANDIDATE
        sway = (int(SWAY_PX * np.sin(t * 1.3)), int(SWAY_PX / 2 * np.cos(t * 0.9)))
        width = FACE_WIDTH + 6 * np.sin(t * 0.7)
        frame = devset.webcam_frame(people[who], width, sway)
        noisy = frame + rng.normal(0.0, NOISE_SIGMA, frame.shape)
        yield np.clip(noisy, 0, 255).astype(np.uint8)


def write_y4m(path: Path, images) -> None:
    width, height = devset.FRAME_SIZE
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for image in images:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())


def make(directory: Path = DEFAULT_DIR) -> dict[str, Path]:
    """Both files (made again only when missing); returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    # The timeline is in the name, so a file of an earlier timeline is never reused.
    suffix = f"{SECONDS}s_{SWITCH_S}s.y4m"
    wanted = {"switch": directory / f"switch_{suffix}", "same": directory / f"same_{suffix}"}
    if all(path.is_file() for path in wanted.values()):
        return wanted
    counter = vision.load_counter("yunet", MODEL_DIR)
    people = {p.name: p for p in devset.people(MEDIA_DIR, counter)}
    write_y4m(wanted["switch"], frames(people, switch_s=SWITCH_S))
    write_y4m(wanted["same"], frames(people, switch_s=None))
    return wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    for name, path in make(parser.parse_args().directory).items():
        print(name, path)


if __name__ == "__main__":
    main()
