"""No secret reaches a log line, even at DEBUG: a whole session, then every log is searched."""

import base64
import urllib.parse

import httpx
import pytest

from proctoring import signing
from tests.conftest import MEDIA_DIR, basic_auth
from tests.e2e.conftest import stack_env
from tests.e2e.faults import AgentRun, FaultStack, RedisServer, agent_command

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

TEST_ATTEMPT_ID = "secrets-in-logs-1"


def _needles(client_id: str, secret: str, hashed: str) -> dict[str, str]:
    """Every form in which a secret could be written out."""
    return {
        "client secret": secret,
        "Basic credentials": basic_auth(client_id, secret).removeprefix("Basic "),
        "hashed attempt id": hashed,
        "hashed attempt id (URL-quoted)": urllib.parse.quote(hashed, safe=""),
        "hashed attempt id (hex)": base64.b64decode(hashed).hex(),
    }


def _integrator_reads(base_url: str, auth: str) -> dict[str, str]:
    """What an integrator does after the test: read the attempt, mint and use evidence links."""
    tokens: dict[str, str] = {}
    attempt_url = f"{base_url}/api/v1/attempts/{TEST_ATTEMPT_ID}/"
    with httpx.Client(headers={"Authorization": auth}, timeout=15) as http:
        assert http.get(attempt_url).status_code == 200
        evidence = http.get(f"{attempt_url}evidence/").json()
        items = evidence["results"] if isinstance(evidence, dict) else evidence
        assert items, "testTakerPhoto gives at least one evidence file"
        for item in items:
            link = http.post(f"{attempt_url}evidence/{item['id']}/link/").json()
            url = link["url"]
            token = url.rstrip("/").rsplit("/", 1)[-1]
            tokens[f"evidence link token {item['id']}"] = token
            # No credentials: the signed link is the credential.
            download = httpx.get(urllib.parse.urljoin(base_url, url), timeout=15)
            assert download.status_code == 200
    return tokens


def test_no_secret_in_any_log_at_debug(transactional_db, new_client, tmp_path):
    client_id, secret = new_client.client.client_id, new_client.client_secret
    hashed = signing.hash_test_attempt_id(client_secret=secret, test_attempt_id=TEST_ATTEMPT_ID)
    redis_server = RedisServer(tmp_path / "redis").start()
    log_dir = tmp_path / "logs"
    stack = FaultStack(
        env=stack_env(REDIS_URL=redis_server.url, PROCTOR_LOG_LEVEL="DEBUG"), log_dir=log_dir
    )
    stack.worker_loglevel = "DEBUG"
    try:
        stack.start()
        args = agent_command(
            stack,
            client_id=client_id,
            client_secret=secret,
            test_attempt_id=TEST_ATTEMPT_ID,
            seconds=5,
            media_dir=MEDIA_DIR,
            tracking={"testTakerPhoto": True},
            verbose=True,
        )
        run = AgentRun(args, log_dir)
        assert run.wait() == 0, run.stderr()[-3000:]
        tokens = _integrator_reads(stack.url, basic_auth(client_id, secret))
    finally:
        stack.stop()
        redis_server.stop()

    logs = {**stack.all_logs(), "agent stderr": run.stderr(), "agent stdout": run.stdout()}
    # The processes did log at DEBUG, so the search covers what DEBUG adds.
    assert " DEBUG " in logs["web"] and " DEBUG " in logs["media"]
    assert "DEBUG" in logs["worker"]
    assert "apMonitoringStopped" in logs["agent stdout"]
    found = [
        f"{what} in {name}: {line.strip()[:200]}"
        for what, needle in {**_needles(client_id, secret, hashed), **tokens}.items()
        for name, text in logs.items()
        for line in text.splitlines()
        if needle in line
    ]
    assert found == []
