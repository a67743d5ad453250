"""CPU use of the agent's sending side: `python -m agent.bench_cpu CAMERA MICROPHONE`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole, MediaPlayer
from aiortc.mediastreams import MediaStreamTrack

from agent.tracks import DEFAULT_MAX_FPS, LoopingFileTrack, RateLimitedVideoTrack
from agent.webrtc import MediaSession, use_host_addresses

DEFAULT_SECONDS = 10.0
LOOPBACK = "127.0.0.1"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread: loop, encoders, readers
    return usage.ru_utime + usage.ru_stime


async def _receive() -> None:
    """The answering peer, in a child process so that its decoding is not counted."""
    use_host_addresses([LOOPBACK])
    loop = asyncio.get_running_loop()
    offer = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sink = MediaBlackhole()
    pc.on("track", sink.addTrack)
    await pc.setRemoteDescription(RTCSessionDescription(**offer))
    await pc.setLocalDescription(await pc.createAnswer())
    await sink.start()
    print(json.dumps({"sdp": pc.localDescription.sdp, "type": "answer"}), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # until the parent closes stdin
    await sink.stop()
    await pc.close()


def _tracks(camera: str, microphone: str, max_fps: float) -> dict[str, MediaStreamTrack]:
    video = LoopingFileTrack(camera, "video", factory=MediaPlayer)
    return {
        "camera": RateLimitedVideoTrack(video, max_fps, "camera"),
        "microphone": LoopingFileTrack(microphone, "audio", factory=MediaPlayer),
    }


async def _send(args: argparse.Namespace) -> dict[str, float]:
    use_host_addresses([LOOPBACK])
    tracks = _tracks(args.camera, args.microphone, args.max_fps)
    session = MediaSession(tracks, lambda message: None, lambda state: None)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.bench_cpu", "--receive",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        child.stdin.write((json.dumps(await session.create_offer()) + "\n").encode())
        await session.accept_answer(json.loads(await child.stdout.readline()))
        await session.wait_connected()
        cpu, wall = _cpu_s(), time.monotonic()
        await asyncio.sleep(args.seconds)
        cpu, wall = _cpu_s() - cpu, time.monotonic() - wall
    finally:
        await session.close()
        child.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), 5)
        if child.returncode is None:
            child.kill()
            await child.wait()
    return {
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "core_pct": round(100 * cpu / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("camera", nargs="?")
    parser.add_argument("microphone", nargs="?")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    parser.add_argument("--max-fps", type=float, default=DEFAULT_MAX_FPS)
    parser.add_argument("--receive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        asyncio.run(_receive())
        return
    if not (args.camera and args.microphone):
        parser.error("CAMERA and MICROPHONE files are required")
    result = asyncio.run(_send(args))
    print(json.dumps({"max_fps": args.max_fps, **result}))


if __name__ == "__main__":
    main()
