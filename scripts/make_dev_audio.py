"""Make the development audio set: `python -m scripts.make_dev_audio [DIR] [--seed N] [--force]`.

Everyday room noises, telephone-band, cheap-microphone and whispered speech, one-word answers
and music, labelled in DIR/expected.json (default var/devaudio/, not committed). The same tool
versions make the same bytes: numpy with fixed seeds, SoX with -R -D, espeak-ng. Needs the
Debian packages espeak-ng and sox (requirements/apt.txt). `evaluate_detectors` and the tests
make the set themselves when it is missing; a different --seed draws a held-out variant of
every recipe (other knocks, pauses and noise) to check that thresholds were not fitted to one
draw.
"""

import argparse
import sys
from pathlib import Path

from proctoring.analysis import devaudio
from proctoring.analysis.errors import AnalysisError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.make_dev_audio", description=__doc__)
    parser.add_argument("directory", nargs="?", type=Path, default=devaudio.DEFAULT_DIR)
    parser.add_argument("--seed", type=int, default=devaudio.SEED, help="another draw")
    parser.add_argument("--force", action="store_true", help="remake even if up to date")
    args = parser.parse_args(argv)
    try:
        if args.force or args.seed != devaudio.SEED:
            devaudio.generate(args.directory, seed=args.seed)
        else:
            devaudio.ensure(args.directory)
    except AnalysisError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(args.directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
