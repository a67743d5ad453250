"""Retention: purge_expired deletes files and rows past each client's window, idempotently;
secret rotation keeps the previous secret valid for its grace period only."""

import datetime as dt
import os

import pytest
from django.core.management import call_command
from django.utils import timezone

from proctoring.models import Evidence, Observation
from proctoring.services.retention import purge_expired
from proctoring.services.secrets import client_secret_rotate
from tests.conftest import basic_auth
from tests.proctoring.builders import agent_credentials
from tests.proctoring.factories import open_session, record_frame, scored_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def test_purge_deletes_only_what_is_past_the_clients_window(new_client, other_client):
    new_client.client.retention_days = 30
    new_client.client.save()
    old = scored_attempt(new_client, "old", ago_days=31)
    record_frame(open_session(old), 0, 1)
    fresh = scored_attempt(new_client, "fresh", ago_days=29)
    kept_long = scored_attempt(other_client, "theirs", ago_days=31)  # default 90 days
    old_files = [e.file.path for e in old.evidence.all()]

    first = purge_expired()
    assert first.as_dict() == {"evidence": 2, "observations": 1, "recordings": 0, "templates": 0}
    assert not Evidence.objects.filter(attempt=old).exists()
    assert not Observation.objects.filter(attempt=old).exists()
    assert not any(os.path.exists(p) for p in old_files)
    assert Evidence.objects.filter(attempt=fresh).count() == 2
    assert Evidence.objects.filter(attempt=kept_long).count() == 2
    old.refresh_from_db()
    assert old.trust_score == 72.0 and old.violations.count() == 2  # the result stays

    assert purge_expired().as_dict() == {
        "evidence": 0,
        "observations": 0,
        "recordings": 0,
        "templates": 0,
    }


def test_purge_command_and_beat_schedule(new_client, settings, capsys):
    scored_attempt(new_client, "old", ago_days=91)
    call_command("purge_expired")
    assert "purged 2 evidence, 0 observations, 0 recordings" in capsys.readouterr().out
    call_command("purge_expired")
    assert "purged 0 evidence" in capsys.readouterr().out
    entry = settings.CELERY_BEAT_SCHEDULE["purge-expired-evidence"]
    assert entry["task"] == "proctoring.tasks_webhooks.purge_expired"
    assert entry["schedule"] == 24 * 3600


def agent_status_code(api, new_client, secret: str) -> str:
    """The code the agent status endpoint answers an attempt HMAC made with `secret`: with a
    secret that verifies, the HMAC passes and the (never started) attempt is not found."""
    body = agent_credentials(new_client, "r-1", secret=secret)
    return api.post("/api/v1/agent/status/", body, format="json").json()["code"]


def test_rotation_keeps_the_previous_secret_for_the_grace_period(new_client, anonymous_api):
    client = new_client.client
    old_secret = new_client.client_secret
    new_secret = client_secret_rotate(client=client, grace_s=3600)
    client.refresh_from_db()
    for secret in (old_secret, new_secret):
        assert agent_status_code(anonymous_api, new_client, secret) == "attempt_not_found"
        anonymous_api.credentials(HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))
        assert anonymous_api.get("/api/v1/usage/").status_code == 200

    client.previous_secret_expires_at = timezone.now() - dt.timedelta(seconds=1)
    client.save()
    assert agent_status_code(anonymous_api, new_client, old_secret) == "invalid_hash"
    anonymous_api.credentials(HTTP_AUTHORIZATION=basic_auth(client.client_id, old_secret))
    assert anonymous_api.get("/api/v1/usage/").json()["code"] == "unknown_client"


def test_rotation_never_logs_the_secret(new_client, caplog):
    caplog.set_level("DEBUG")
    secret = client_secret_rotate(client=new_client.client)
    assert "secret rotated" in caplog.text
    assert secret not in caplog.text and new_client.client_secret not in caplog.text
