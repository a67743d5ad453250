"""Schemathesis against the generated OpenAPI schema, through the WSGI app: no 5xx, and every
response matches the schema (status documented, body shape). Bounded to finish well within 60 s."""

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from backend.wsgi import application
from tests.conftest import basic_auth
from tests.proctoring.test_api_guards import _clear

pytestmark = pytest.mark.django_db(transaction=True)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).exclude(
    # Opening a media session needs a running ingest; test_api_agent covers it for real.
    path="/api/v1/agent/sessions/"
)
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
GENEROUS = {"client": "100000/min", "ip": "100000/min"}


@pytest.fixture
def auth_headers(new_client):
    from tests.proctoring.test_api_integrator import scored_attempt

    scored_attempt(new_client, "s-1")
    _clear()
    yield {"Authorization": basic_auth(new_client.client.client_id, new_client.client_secret)}
    _clear()


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, auth_headers, tmp_path):
    with override_settings(
        PROCTOR_THROTTLE_RATES=GENEROUS,
        PROCTOR_HMAC_FAILURES_PER_CLIENT=10**6,
        PROCTOR_HMAC_FAILURES_PER_IP=10**6,
        MEDIA_ROOT=tmp_path,
    ):
        case.call_and_validate(headers=auth_headers, checks=CHECKS)
