"""API throughput: wrk against attempt create and retrieve, with the health view as the baseline."""

import re
import secrets
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.report import fmt, fmt_summary, summary, table
from bench.stack import Credentials, new_client, running_stack

NAME = "api"
TITLE = "6. API requests/s and p99 (wrk on loopback, one uvicorn process)"
SECONDS = {"full": 10, "quick": 2}
RUNS = {"full": 3, "quick": 2}
WRK_THREADS = 1
CONNECTIONS = 8
WRK_TIMEOUT_MARGIN_S = 30
RETRIEVE_VIOLATIONS = 20  # a typical attempt page: a score and a few dozen violations at most
BASELINE = "health"
CREATE_SCRIPT = """
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, string.format('{"test_attempt_id": "%s-%d"}', PREFIX, counter))
end
"""
UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
RATE_RE = re.compile(r"Requests/sec:\s+([\d.]+)")
P99_RE = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
P50_RE = re.compile(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
ERRORS_RE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def retrieve_target(url: str, creds: Credentials) -> str:
    """An attempt with RETRIEVE_VIOLATIONS violations, created through the API and the ORM."""
    from bench.scoring import create_attempt_violations

    response = httpx.post(
        f"{url}/api/v1/attempts/",
        json={"test_attempt_id": "bench-api-retrieve"},
        headers={"Authorization": creds.basic},
    )
    response.raise_for_status()
    create_attempt_violations("bench-api-retrieve", RETRIEVE_VIOLATIONS)
    return f"{url}/api/v1/attempts/bench-api-retrieve/"


def wrk(url: str, seconds: int, headers: dict[str, str], script: Path | None) -> dict[str, Any]:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + WRK_TIMEOUT_MARGIN_S,
    ).stdout
    errors = ERRORS_RE.search(out)
    return {
        "rps": float(RATE_RE.search(out).group(1)),
        "p50_ms": _ms(P50_RE.search(out)),
        "p99_ms": _ms(P99_RE.search(out)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def _ms(match: re.Match) -> float:
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def create_script(directory: Path) -> Path:
    """The POST script; a fresh id prefix per run keeps every test_attempt_id unique."""
    path = directory / f"create-{secrets.token_hex(4)}.lua"
    prefix = f"bench-{secrets.token_hex(4)}"
    path.write_text(f'local PREFIX = "{prefix}"\n' + CREATE_SCRIPT)
    return path


def run(mode: str) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-api-") as tmp,
        running_stack(Path(tmp) / "logs") as (stack, _),
    ):
        creds = new_client("bench api")
        auth = {"Authorization": creds.basic}
        targets_ = {
            BASELINE: (f"{stack.url}/api/v1/health/", {}, lambda: None),
            "attempt_create": (
                f"{stack.url}/api/v1/attempts/",
                auth,
                lambda: create_script(Path(tmp)),
            ),
            "attempt_retrieve": (retrieve_target(stack.url, creds), auth, lambda: None),
        }
        raw: dict[str, list[dict]] = {name: [] for name in targets_}
        for _ in range(RUNS[mode]):  # interleaved, so drift hits all three alike
            for name, (url, headers, script) in targets_.items():
                raw[name].append(wrk(url, SECONDS[mode], headers, script()))
    return {
        "seconds": SECONDS[mode],
        "connections": CONNECTIONS,
        "endpoints": {name: _summarise(runs) for name, runs in raw.items()},
    }


def _summarise(runs: list[dict]) -> dict[str, Any]:
    return {
        "rps": summary([r["rps"] for r in runs]),
        "p50_ms": summary([r["p50_ms"] for r in runs]),
        "p99_ms": summary([r["p99_ms"] for r in runs]),
        "errors": sum(r["errors"] for r in runs),
    }


def markdown(result: dict[str, Any]) -> str:
    base = result["endpoints"][BASELINE]["rps"]["median"]
    rows = [
        [
            f"`{name}`" + (" (baseline)" if name == BASELINE else ""),
            fmt_summary(stats["rps"]),
            fmt(stats["rps"]["median"] / base),
            fmt_summary(stats["p50_ms"]),
            fmt_summary(stats["p99_ms"]),
            stats["errors"],
        ]
        for name, stats in result["endpoints"].items()
    ]
    header = ["endpoint", "requests/s", "÷ health", "p50 ms", "p99 ms", "non-2xx"]
    note = (
        f"wrk 4.1, {WRK_THREADS} thread, {result['connections']} connections, "
        f"{result['seconds']} s per run; server and wrk share the 2 cores."
    )
    return note + "\n\n" + table(header, rows)


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return []  # the issue sets no API target; the table is for regressions and capacity planning
