"""`python -m agent run`: setup, start, stream until --duration or a signal, stop, destroy."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from agent.codes import AgentError
from agent.console import HumanPrinter, JsonPrinter
from agent.lifecycle import AutoProctor
from agent.tracks import DEFAULT_MAX_FPS, RECORDING_MAX_FPS
from agent.webrtc import (
    DEFAULT_AUDIO_FRAME_MS,
    DEFAULT_MAX_VIDEO_BITRATE,
    OPUS_FRAME_MS,
    RECORDING_MAX_VIDEO_BITRATE,
)

STATUS_INTERVAL_S = 1.0
EXIT_OK, EXIT_AGENT_ERROR, EXIT_BAD_OPTIONS = 0, 1, 2
SOURCE_HELP = "a media file (looped forever) or FORMAT:DEVICE"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agent", description=__doc__)
    run = parser.add_subparsers(dest="command", required=True).add_parser("run")
    for flag in ("--server", "--client-id", "--test-attempt-id", "--hashed-test-attempt-id"):
        run.add_argument(flag, required=True)
    run.add_argument("--camera", help=f"{SOURCE_HELP}, e.g. v4l2:/dev/video0")
    run.add_argument("--microphone", help=f"{SOURCE_HELP}, e.g. pulse:default")
    run.add_argument(
        "--screen",
        help="the entire screen: 'auto' (default: the X display in $DISPLAY, or the desktop on "
        "Windows/macOS), an X display such as :0, FORMAT:DEVICE (x11grab, gdigrab, avfoundation) "
        "or a media file",
    )
    run.add_argument(
        "--test-window",
        metavar="REGEX",
        help="title pattern of the test's window (default: the window in front at start)",
    )
    run.add_argument("--duration", type=float, help="seconds to stream (default: until a signal)")
    run.add_argument("--options", help="proctoringOptions as JSON, or @path to a JSON file")
    run.add_argument(
        "--ice-host",
        action="extend",
        nargs="+",
        dest="ice_hosts",
        metavar="ADDR",
        help="offer exactly these host ICE addresses (e.g. 127.0.0.1 for a local server)",
    )
    run.add_argument(
        "--max-fps",
        type=float,
        help=f"camera frames/s (default {DEFAULT_MAX_FPS:g}; "
        f"{RECORDING_MAX_FPS:g} with recordSession)",
    )
    run.add_argument(
        "--max-bitrate",
        type=int,
        help=f"camera VP8 bits/s (default {DEFAULT_MAX_VIDEO_BITRATE}; "
        f"{RECORDING_MAX_VIDEO_BITRATE} with recordSession)",
    )
    run.add_argument(
        "--audio-frame-ms",
        type=int,
        choices=OPUS_FRAME_MS,
        default=DEFAULT_AUDIO_FRAME_MS,
        help="Opus milliseconds per packet",
    )
    run.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    run.add_argument("-v", "--verbose", action="store_true", help="log to stderr at INFO level")
    return parser


def load_options(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
    return json.loads(text)


def _stop_on_signals(done: asyncio.Event) -> None:
    # Ctrl-C and SIGTERM mean "stop cleanly", not "die with the attempt open"; installed before
    # setup so that a signal during setup or start is not lost either.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, done.set)


async def _wait_for_stop(agent: AutoProctor, done: asyncio.Event, printer: Any, duration: Any):
    loop = asyncio.get_running_loop()
    end = loop.time() + duration if duration is not None else None
    while not done.is_set() and (end is None or loop.time() < end):
        printer.status(agent)
        timeout = STATUS_INTERVAL_S if end is None else min(STATUS_INTERVAL_S, end - loop.time())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), max(timeout, 0))


async def run(args: argparse.Namespace, options: dict[str, Any] | None) -> int:
    printer = JsonPrinter() if args.json else HumanPrinter()
    done = asyncio.Event()
    _stop_on_signals(done)
    agent = AutoProctor(
        client_id=args.client_id,
        test_attempt_id=args.test_attempt_id,
        hashed_test_attempt_id=args.hashed_test_attempt_id,
        server=args.server,
        camera=args.camera,
        microphone=args.microphone,
        screen=args.screen,
        test_window=args.test_window,
        ice_host_addresses=args.ice_hosts,
        on_event=printer,
        max_fps=args.max_fps,
        max_video_bitrate=args.max_bitrate,
        audio_frame_ms=args.audio_frame_ms,
    )
    try:
        await agent.setup(options)
        await agent.start()
        await _wait_for_stop(agent, done, printer, args.duration)
        await agent.stop()
        return EXIT_OK
    except AgentError as error:
        print(f"agent error {int(error.code)}: {error.message}", file=sys.stderr)
        return EXIT_AGENT_ERROR
    finally:
        await agent.destroy()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        options = load_options(args.options)
    except (OSError, ValueError) as exc:
        print(f"invalid --options: {exc}", file=sys.stderr)
        return EXIT_BAD_OPTIONS
    return asyncio.run(run(args, options))
