"""`python -m agent run --json` against the fake server, in a real subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent import BlockingAutoProctor
from tests.agent.agent_fake_server import ThreadedFakeServer
from tests.agent.support import CREDENTIALS, NO_DESKTOP_OPTIONS

REPO = Path(__file__).parents[2]
CLI_TIMEOUT_S = 60
LIFECYCLE = [
    "apSetupCompleted",
    "apMonitoringStarted",
    "apMonitoringStopped",
    "apInstanceDestroyed",
]


def _command(server: str, media: dict, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "agent",
        "run",
        "--server",
        server,
        "--client-id",
        CREDENTIALS["client_id"],
        "--test-attempt-id",
        CREDENTIALS["test_attempt_id"],
        "--hashed-test-attempt-id",
        CREDENTIALS["hashed_test_attempt_id"],
        "--camera",
        media["camera"],
        "--microphone",
        media["microphone"],
        "--ice-host",
        "127.0.0.1",
        "--json",
        *(extra if "--options" in extra else (*extra, "--options", json.dumps(NO_DESKTOP_OPTIONS))),
    ]


def _events(stdout: str) -> list[dict]:
    lines = stdout.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(set(obj) == {"event", "detail"} for obj in parsed)
    return parsed


def _lifecycle(events: list[dict]) -> list[str]:
    return [e["event"] for e in events if e["event"] in LIFECYCLE]


def test_cli_json_prints_one_object_per_event(media, loopback_ice):
    options = json.dumps({"testDuration": 5, "lookupKey": "cli", **NO_DESKTOP_OPTIONS})
    with ThreadedFakeServer(trust_score=77.0) as server:
        done = subprocess.run(
            _command(server.url, media, "--duration", "1.5", "--options", options),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )
    assert done.returncode == 0, done.stderr
    events = _events(done.stdout)
    assert _lifecycle(events) == LIFECYCLE
    stopped = next(e["detail"] for e in events if e["event"] == "apMonitoringStopped")
    assert stopped["trustScore"] == 77.0
    sessions = [body for _, path, body in server.fake.requests if path.endswith("sessions/")]
    assert sessions[0]["options"]["lookupKey"] == "cli"


def test_cli_sigterm_means_stop(media, loopback_ice):
    with ThreadedFakeServer() as server:
        process = subprocess.Popen(
            _command(server.url, media), cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        try:
            for line in process.stdout:
                if json.loads(line)["event"] == "apMonitoringStarted":
                    break
            process.send_signal(signal.SIGTERM)
            rest, _ = process.communicate(timeout=CLI_TIMEOUT_S)
        finally:
            process.kill()
    assert process.returncode == 0
    assert _lifecycle(_events(rest)) == LIFECYCLE[2:]


def test_cli_exits_non_zero_with_the_code_on_error(media, closed_port_url):
    done = subprocess.run(
        _command(closed_port_url, media, "--duration", "1"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    assert done.returncode == 1
    events = _events(done.stdout)
    assert [e["event"] for e in events][-2:] == ["apErrorEvent", "apInstanceDestroyed"]
    assert events[-2]["detail"]["errorCode"] == 4018
    # In JSON mode the error is its event line, and is not printed again anywhere.
    assert "4018" not in done.stderr


def test_a_fatal_error_is_one_line_printed_once(media, closed_port_url):
    command = [
        arg for arg in _command(closed_port_url, media, "--duration", "1") if arg != "--json"
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "4018" in line]
    assert errors == [
        f"error 4018: server {closed_port_url} unreachable: All connection attempts failed"
    ]
    assert "4018" not in done.stdout


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            "{not json",
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ("@/nonexistent/o.json", "[Errno 2] No such file or directory: '/nonexistent/o.json'"),
    ],
)
def test_cli_refuses_unreadable_options_with_a_json_error(raw, reason, media, closed_port_url):
    done = subprocess.run(
        _command(closed_port_url, media, "--options", raw),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    assert done.returncode == 2
    assert _events(done.stdout) == [
        {
            "event": "apErrorEvent",
            "detail": {"errorCode": 4901, "message": f"invalid --options: {reason}"},
        }
    ]
    assert done.stderr == ""


def test_cli_refuses_unreadable_options_in_one_human_line(media, closed_port_url):
    command = [a for a in _command(closed_port_url, media, "--options", "{") if a != "--json"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error 4901: invalid --options: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    ]


def test_a_usage_error_in_json_mode_is_a_json_error_line():
    done = subprocess.run(
        [sys.executable, "-m", "agent", "run", "--json", "--server", "http://x"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    assert done.returncode == 2
    [line] = _events(done.stdout)
    assert line["event"] == "apErrorEvent"
    assert line["detail"] == {
        "errorCode": 4901,
        "message": "autoproctor-agent run: the following arguments are required: --client-id, "
        "--test-attempt-id, --hashed-test-attempt-id",
    }


def test_blocking_wrapper_runs_the_lifecycle(media, loopback_ice):
    names = []
    with ThreadedFakeServer(trust_score=55.5) as server:
        ap = BlockingAutoProctor(
            **CREDENTIALS, server=server.url, **media, ice_host_addresses=loopback_ice
        )
        for name in LIFECYCLE:
            ap.on(name, lambda event: names.append(event.name))
        with ap:
            ap.setup(NO_DESKTOP_OPTIONS)
            assert ap.start()["resumed"] is False
            assert ap.stop()["trustScore"] == 55.5
        ap.destroy()
    assert names == LIFECYCLE
    with pytest.raises(RuntimeError, match="destroyed"):
        ap.start()


def test_cli_takes_a_screen_and_a_test_window_pattern():
    from agent.cli import build_parser

    args = build_parser().parse_args(
        ["run", "--server", "s", "--client-id", "c", "--test-attempt-id", "t",
         "--hashed-test-attempt-id", "h", "--screen", ":1", "--test-window", "^Exam"]
    )  # fmt: skip
    assert (args.screen, args.test_window) == (":1", "^Exam")
