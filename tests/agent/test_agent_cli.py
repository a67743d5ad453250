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
    assert events[-2]["detail"]["code"] == 4018
    assert "agent error 4018: server" in done.stderr


@pytest.mark.parametrize("raw", ["{not json", "@/nonexistent/options.json"])
def test_cli_refuses_unreadable_options(raw, media, closed_port_url):
    done = subprocess.run(
        _command(closed_port_url, media, "--options", raw),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("invalid --options:")


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
