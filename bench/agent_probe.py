"""The capture agent's CLI, plus a JSON line with the wall time whenever a 2-face stretch starts."""

import json
import sys
import time
from typing import Any

import agent.lifecycle
from agent.cli import main
from agent.tracks import RateLimitedVideoTrack
from bench.media import PATTERN

ONSET_EVENT = "benchOnset"


class OnsetStampingTrack(RateLimitedVideoTrack):
    """Stamps the wall time at which each cycle's first multi-face frame goes to the encoder."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._was_multi = False

    async def recv(self) -> Any:
        frame = await super().recv()
        media_time = float(frame.pts * frame.time_base)
        multi = PATTERN.two_faces_at(media_time)
        if multi and not self._was_multi:
            line = {"event": ONSET_EVENT, "detail": {"wall": time.time(), "media_time": media_time}}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
        self._was_multi = multi
        return frame


if __name__ == "__main__":
    # Only this benchmark entry point swaps the track class; the agent itself is unchanged.
    agent.lifecycle.RateLimitedVideoTrack = OnsetStampingTrack
    sys.exit(main(sys.argv[1:]))
