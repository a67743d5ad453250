"""The CLI's `--help`, `hash` and `doctor`, as a person would run them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent.cli import build_parser
from tests.agent.support import CREDENTIALS
from tests.agent.xserver import xserver

REPO = Path(__file__).parents[2]
TIMEOUT_S = 60
SECRET = "Jbso5da3H86m"  # the SDK documentation's test vector
HASH = CREDENTIALS["hashed_test_attempt_id"]


def agent(*args: str, env: dict | None = None, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        input=stdin,
    )


def _headless_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DISPLAY"}


def test_help_describes_the_agent_its_commands_and_gives_examples():
    done = agent("--help")
    assert done.returncode == 0
    text = done.stdout
    assert text.startswith("usage: autoproctor-agent [-h] [--version] COMMAND ...")
    assert "streams a candidate's webcam, microphone and screen" in text
    for command in ("run", "hash", "doctor"):
        assert f"\n    {command} " in text
    assert "examples:\n  autoproctor-agent doctor\n  autoproctor-agent run --server" in text
    assert "manage.py create_client" in text  # where the client id comes from


def test_every_flag_of_every_command_is_explained():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them there
    for name, command in commands.items():
        for action in command._actions:
            assert action.help, f"{name} {action.option_strings} has no help"


def test_run_help_says_how_to_compute_the_hash_and_names_the_sources():
    done = agent("run", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "base64(HMAC-SHA256(key=client secret, msg=test attempt id))" in text
    assert "autoproctor-agent hash --secret SECRET --attempt ATTEMPT_ID" in text
    assert "v4l2:/dev/video0" in text and "alsa:default" in text
    assert '"track": {"tabSwitch": false, "captureSwitchedTab": false,' in text


def test_hash_prints_the_sdks_test_vector():
    done = agent("hash", "--secret", SECRET, "--attempt", CREDENTIALS["test_attempt_id"])
    assert (done.returncode, done.stdout, done.stderr) == (0, HASH + "\n", "")


def test_hash_reads_the_secret_from_stdin_or_the_environment_and_has_a_hex_form():
    attempt = CREDENTIALS["test_attempt_id"]
    from_stdin = agent("hash", "--secret", "-", "--attempt", attempt, stdin=SECRET + "\n")
    env = {**os.environ, "AUTOPROCTOR_CLIENT_SECRET": SECRET}
    from_env = agent("hash", "--attempt", attempt, "--hex", env=env)
    assert from_stdin.stdout == HASH + "\n"
    assert (
        from_env.stdout.strip()
        == "69aa119b0b36b2d8fcd8397146aaad58d93f21172e9960a6f030a3b8d1cdea10"
    )


def test_hash_refuses_an_attempt_id_the_server_would_refuse():
    done = agent("hash", "--secret", SECRET, "--attempt", "x" * 41)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "autoproctor-agent hash: a test attempt id has 1 to 40 characters, not 41 "
        "(give --secret or $AUTOPROCTOR_CLIENT_SECRET)"
    ]


def test_doctor_on_a_headless_host_says_what_will_not_work_and_how_to_run_anyway():
    done = agent("doctor", env=_headless_env())
    assert done.returncode == 1  # options on by default will not work here
    lines = done.stdout.splitlines()
    assert "display         none (DISPLAY is not set)" in lines
    tab_switch = next(line for line in lines if line.strip().startswith("tabSwitch"))
    assert "NO  no X display: DISPLAY is not set." in tab_switch
    assert """--options '{"track": {"tabSwitch": false}}'""" in tab_switch
    assert lines[-1].startswith('To run here without what will not work: --options \'{"track": {')


def test_doctor_json_with_media_files_on_a_desktop_with_a_window_manager(media):
    with xserver() as x:
        x.start_window_manager()
        done = agent(
            "doctor", "--json", "--camera", media["camera"], "--microphone", media["microphone"],
            env={**os.environ, "DISPLAY": x.display},
        )  # fmt: skip
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    assert report["window_manager"] == "Openbox"
    assert report["monitors"] == 1
    assert {name for name, verdict in report["options"].items() if not verdict["works"]} == set()
    assert report["options"]["numHumans"]["why"] == f"works with --camera {media['camera']}"
    assert report["turnOff"] is None
    assert "x11grab" in report["capture_formats"]


def test_doctor_names_a_camera_that_cannot_be_opened(media):
    done = agent("doctor", "--json", "--camera", "/nonexistent/cam.y4m", env=_headless_env())
    verdict = json.loads(done.stdout)["options"]["numHumans"]
    assert verdict == {"works": False, "why": "camera source '/nonexistent/cam.y4m' not found"}


def test_version_is_the_distributions():
    from agent import __version__

    assert agent("--version").stdout == f"autoproctor-agent {__version__}\n"
