"""`autoproctor-agent` (or `python -m agent`): run, hash and doctor."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

from agent import __version__, doctor
from agent.codes import AgentError, ErrorCode
from agent.console import HumanPrinter, JsonPrinter, Printer
from agent.lifecycle import AutoProctor, State
from agent.signing import hash_test_attempt_id
from agent.tracking import TAB_MODES
from agent.tracks import DEFAULT_MAX_FPS, RECORDING_MAX_FPS
from agent.webrtc import (
    DEFAULT_AUDIO_FRAME_MS,
    DEFAULT_MAX_VIDEO_BITRATE,
    OPUS_FRAME_MS,
    RECORDING_MAX_VIDEO_BITRATE,
)

PROG = "autoproctor-agent"
STATUS_INTERVAL_S = 1.0
EXIT_OK, EXIT_AGENT_ERROR, EXIT_USAGE = 0, 1, 2
SECRET_ENV = "AUTOPROCTOR_CLIENT_SECRET"  # noqa: S105  (a variable name)
SOURCE_HELP = "a device as FORMAT:DEVICE, or a media file (played in real time, looped)"

DESCRIPTION = """\
The open-proctor capture agent: streams a candidate's webcam, microphone and screen to an
open-proctor server over WebRTC while they take a test, with the AutoProctor SDK's lifecycle
(setup, start, stop) and events (apSetupCompleted, apMonitoringStarted, apErrorEvent, ...)."""

EPILOG = f"""\
examples:
  {PROG} doctor
  {PROG} run --server https://proctor.example.org --client-id cl_abc123 \\
      --test-attempt-id attempt-42 --hashed-test-attempt-id 'aaoRmws2...hA=' \\
      --camera v4l2:/dev/video0 --microphone alsa:default
  {PROG} hash --secret "$CLIENT_SECRET" --attempt attempt-42

Where the credentials come from: your exam platform creates the test attempt and hands the
candidate the server URL, its client id, the test attempt id and the attempt's hash. The
client secret stays with the platform (the server prints id and secret once, in
`manage.py create_client`).

exit status: 0 done, 1 an agent error (its code is printed), 2 a usage error."""

RUN_EPILOG = f"""\
hashed test attempt id: base64(HMAC-SHA256(key=client secret, msg=test attempt id)), the hex
form accepted too. The platform's backend computes it; to compute one for a local test:
  {PROG} hash --secret SECRET --attempt ATTEMPT_ID

sources: cameras are v4l2:/dev/video0 (Linux), avfoundation:0 (macOS), dshow:video=NAME
(Windows); microphones alsa:default (Linux; PulseAudio and PipeWire answer there too),
avfoundation::0, dshow:audio=NAME. `{PROG} doctor` lists this machine's devices.
A media file (a .y4m, a .wav, a still .png...) plays in real time and loops.

--options takes the SDK's proctoringOptions as JSON (or @file.json), e.g.
  --options '{{"track": {{"audio": true, "numHumans": true, "tabSwitch": false}}}}'
On a machine without a desktop (no DISPLAY), turn off what needs one:
  --options '{{"track": {{"tabSwitch": false, "captureSwitchedTab": false,
              "detectMultipleScreens": false}}}}'

Ctrl-C (or SIGTERM) stops the attempt cleanly and prints the Trust Score."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one apErrorEvent line when --json was asked for."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            JsonPrinter().error(AgentError(ErrorCode.INVALID_OPTIONS, f"{self.prog}: {message}"))
            self.exit(EXIT_USAGE)
        super().error(message)


def _add_credentials(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("the test attempt (from your exam platform)")
    group.add_argument(
        "--server", required=True, metavar="URL",
        help="the proctoring server's address, e.g. https://proctor.example.org",
    )  # fmt: skip
    group.add_argument(
        "--client-id", required=True, metavar="ID",
        help="the exam platform's client id on that server (it starts with cl_)",
    )  # fmt: skip
    group.add_argument(
        "--test-attempt-id", required=True, metavar="ID",
        help="the platform's id of this test attempt (at most 40 characters)",
    )  # fmt: skip
    group.add_argument(
        "--hashed-test-attempt-id", required=True, metavar="HASH",
        help="the attempt's HMAC, computed by the platform (see below)",
    )  # fmt: skip


def _add_sources(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("what is captured")
    group.add_argument(
        "--camera", metavar="SOURCE", help=f"the webcam: {SOURCE_HELP}; needed by numHumans"
    )
    group.add_argument(
        "--microphone", metavar="SOURCE", help=f"the microphone: {SOURCE_HELP}; needed by audio"
    )
    group.add_argument(
        "--screen", metavar="SOURCE",
        help="the entire screen: 'auto' (default: the X display in $DISPLAY, or the desktop on "
        "Windows/macOS), an X display such as :0, FORMAT:DEVICE (x11grab, gdigrab, "
        "avfoundation) or a media file",
    )  # fmt: skip
    group.add_argument(
        "--test-window", metavar="REGEX",
        help="title pattern of the test's window, e.g. '^Exam'; any other title in front is a "
        "switch away (default: the window in front when monitoring starts)",
    )  # fmt: skip
    group.add_argument(
        "--tabs", choices=TAB_MODES, default="auto",
        help="whether a title change inside the test window (another browser tab) is a switch "
        "away: auto (default) when that window is a known browser (Chrome, Chromium, Edge, "
        "Firefox, Brave, Opera, Vivaldi, Safari, Safe Exam Browser), on, or off",
    )  # fmt: skip


def _add_tuning(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("tuning")
    group.add_argument(
        "--max-fps", type=float, metavar="N",
        help=f"camera frames/s (default {DEFAULT_MAX_FPS:g}; {RECORDING_MAX_FPS:g} with "
        "recordSession)",
    )  # fmt: skip
    group.add_argument(
        "--max-bitrate", type=int, metavar="BPS",
        help=f"camera VP8 bits/s (default {DEFAULT_MAX_VIDEO_BITRATE}; "
        f"{RECORDING_MAX_VIDEO_BITRATE} with recordSession)",
    )  # fmt: skip
    group.add_argument(
        "--audio-frame-ms", type=int, choices=OPUS_FRAME_MS, default=DEFAULT_AUDIO_FRAME_MS,
        metavar="MS", help=f"Opus milliseconds per packet, one of {OPUS_FRAME_MS} "
        f"(default {DEFAULT_AUDIO_FRAME_MS})",
    )  # fmt: skip
    group.add_argument(
        "--ice-host", action="extend", nargs="+", dest="ice_hosts", metavar="ADDR",
        help="offer exactly these local addresses for the media connection (e.g. 127.0.0.1 "
        "when the server runs on this machine; default: every interface)",
    )  # fmt: skip


def _add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run", help="proctor one test attempt: setup, start, stream, stop",
        description="Proctor one test attempt: check the devices and the server (setup), start\n"
        "monitoring, stream until --duration or Ctrl-C, then stop and print the Trust Score.",
        epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _add_credentials(run)
    _add_sources(run)
    group = run.add_argument_group("how it runs")
    group.add_argument(
        "--options", metavar="JSON",
        help="proctoringOptions as JSON, or @path to a JSON file (default: the SDK's defaults)",
    )  # fmt: skip
    group.add_argument(
        "--duration", type=float, metavar="SECONDS",
        help="stop after this many seconds (default: at Ctrl-C or SIGTERM)",
    )  # fmt: skip
    _add_output(group)
    _add_tuning(run)


def _add_output(group: Any) -> None:
    group.add_argument(
        "--json", action="store_true",
        help="print one JSON object per event on stdout ({\"event\": name, \"detail\": {...}}, "
        "the browser SDK's names and fields), errors included, and nothing else",
    )  # fmt: skip
    group.add_argument("-v", "--verbose", action="store_true", help="log to stderr")


def _add_hash(commands: Any) -> None:
    hashing = commands.add_parser(
        "hash", help="compute hashedTestAttemptId (for integrators testing locally)",
        description="Print base64(HMAC-SHA256(key=client secret, msg=test attempt id)): what the\n"
        "exam platform's backend computes for each attempt. Never give the secret to a candidate.",
        epilog=f"example:\n  {PROG} hash --secret Jbso5da3H86m --attempt unique-test-attempt-id"
        "\n  aaoRmws2stj82DlxRqqtWNk/IRcumWCm8DCjuNHN6hA=",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    hashing.add_argument(
        "--secret", metavar="SECRET",
        help=f"the client secret; '-' reads it from stdin (default: ${SECRET_ENV})",
    )  # fmt: skip
    hashing.add_argument(
        "--attempt", required=True, metavar="ID", help="the test attempt id (at most 40 chars)"
    )
    hashing.add_argument("--hex", action="store_true", help="print the hex form instead")


def _add_doctor(commands: Any) -> None:
    check = commands.add_parser(
        "doctor", help="list devices, screens and the window manager; say which options work",
        description="List this machine's cameras, microphones, screen and window manager, and "
        "say which trackingOptions will work here, with the fix for those that will not. Exit "
        "status 1 when an option that is on by default will not work.",
    )  # fmt: skip
    check.add_argument("--camera", metavar="SOURCE", help="also try to open this camera")
    check.add_argument("--microphone", metavar="SOURCE", help="also try to open this microphone")
    check.add_argument("--screen", metavar="SOURCE", help="the screen to try (default: auto)")
    check.add_argument("--json", action="store_true", help="print the report as one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(commands)
    _add_hash(commands)
    _add_doctor(commands)
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


async def _wait_for_stop(agent: AutoProctor, done: asyncio.Event, printer: Printer, duration):
    loop = asyncio.get_running_loop()
    end = loop.time() + duration if duration is not None else None
    # A destroyed instance (another session took over) has nothing left to stop.
    while (
        not done.is_set()
        and agent.state is not State.DESTROYED
        and (end is None or loop.time() < end)
    ):
        printer.status(agent)
        timeout = STATUS_INTERVAL_S if end is None else min(STATUS_INTERVAL_S, end - loop.time())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), max(timeout, 0))


async def run(args: argparse.Namespace, options: dict[str, Any] | None, printer: Printer) -> int:
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
        tabs=args.tabs,
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
        if agent.state is State.DESTROYED:
            return EXIT_AGENT_ERROR  # replaced by another session: its error event said why
        await agent.stop()
        return EXIT_OK
    except AgentError as error:
        printer.error(error)  # printed already as its event, unless it never became one
        return EXIT_AGENT_ERROR
    finally:
        await agent.destroy()


def _command_run(args: argparse.Namespace) -> int:
    printer: Printer = JsonPrinter() if args.json else HumanPrinter()
    try:
        options = load_options(args.options)
    except (OSError, ValueError) as exc:
        printer.error(AgentError(ErrorCode.INVALID_OPTIONS, f"invalid --options: {exc}"))
        return EXIT_USAGE
    return asyncio.run(run(args, options, printer))


def _command_hash(args: argparse.Namespace) -> int:
    secret = args.secret if args.secret is not None else os.environ.get(SECRET_ENV, "")
    if secret == "-":  # noqa: S105  (read from stdin)
        secret = sys.stdin.readline().strip()
    try:
        print(hash_test_attempt_id(secret, args.attempt, hex_form=args.hex))
    except ValueError as exc:
        print(f"{PROG} hash: {exc} (give --secret or ${SECRET_ENV})", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _command_doctor(args: argparse.Namespace) -> int:
    try:
        report = asyncio.run(
            doctor.examine(camera=args.camera, microphone=args.microphone, screen=args.screen)
        )
    except AgentError as error:
        (JsonPrinter() if args.json else HumanPrinter()).error(error)
        return EXIT_AGENT_ERROR
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print("\n".join(doctor.render(report)))
    return EXIT_AGENT_ERROR if report.turn_off else EXIT_OK


COMMANDS = {"run": _command_run, "hash": _command_hash, "doctor": _command_doctor}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _Parser.json_errors = "--json" in argv
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return COMMANDS[args.command](args)
