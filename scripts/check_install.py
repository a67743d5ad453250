"""Fail the install when the GUI build of OpenCV slipped in beside the headless one."""

import importlib.metadata as md
import sys


def main() -> int:
    installed = {d.metadata["Name"].lower() for d in md.distributions()}
    gui = {"opencv-python", "opencv-contrib-python"} & installed
    if gui:
        print(
            f"error: {', '.join(sorted(gui))} installed beside the headless build", file=sys.stderr
        )
        return 1
    if "opencv-python-headless" not in installed:
        print("error: opencv-python-headless is missing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
