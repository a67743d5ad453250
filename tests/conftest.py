"""Shared fixtures: clients with credentials, an authenticated API client, Redis, paths."""

import base64
import os
from pathlib import Path

import pytest
import redis as redis_lib
from django.conf import settings
from rest_framework.test import APIClient

from proctoring.services.clients import NewClient, client_create

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MEDIA_DIR = Path(os.environ.get("PROCTOR_MEDIA_DIR", SHARED / "media"))
MODEL_DIR = Path(settings.PROCTOR_MODEL_DIR)


@pytest.fixture
def new_client(db) -> NewClient:
    return client_create(name="Exam Platform A")


@pytest.fixture
def other_client(db) -> NewClient:
    return client_create(name="Exam Platform B")


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def client_api(credentials: NewClient) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=basic_auth(credentials.client.client_id, credentials.client_secret)
    )
    return client


@pytest.fixture
def api(new_client) -> APIClient:
    """An API client authenticated as `new_client`."""
    return client_api(new_client)


@pytest.fixture
def other_api(other_client) -> APIClient:
    """An API client authenticated as `other_client`: for the cross-tenant 404s."""
    return client_api(other_client)


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


@pytest.fixture
def redis_client():
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    client.ping()
    return client


def clear_rate_limits() -> None:
    """Throttle and failed-HMAC counters live in Redis for minutes."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    for pattern in ("*throttle_*", "*hmac-failures*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """No test inherits another's throttle or failed-HMAC counts."""
    yield
    if "redis_client" in request.fixturenames or request.node.get_closest_marker("django_db"):
        clear_rate_limits()
