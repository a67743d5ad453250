"""Tenant isolation on every object route: another client's credentials get 404 for every
method of every integrator route that names an object, and nothing changes. The routes are read
from the URL configuration, so a new route is covered the day it is added."""

import pytest
from django.urls import URLPattern, reverse

from proctoring.api import urls as api_urls
from proctoring.models import Attempt, WebhookDelivery
from tests.proctoring.factories import EvidenceFactory, ViolationFactory, scored_attempt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
# Routes that name an object, and the methods their views answer.
METHODS = ("get", "post", "put", "patch", "delete")


def _object_routes() -> list[URLPattern]:
    return [
        route
        for route in api_urls.urlpatterns
        if route.pattern.converters and not route.name.startswith("agent-")
    ]


@pytest.fixture
def owned(new_client):
    """One of each object, owned by new_client."""
    attempt = scored_attempt(new_client, "mine-1")
    violation = ViolationFactory(attempt=attempt)
    evidence = EvidenceFactory(attempt=attempt)
    delivery = WebhookDelivery.objects.create(
        client=new_client.client,
        attempt=attempt,
        event="attempt.scored",
        url="https://hooks.example.com/x",
        payload={"event": "attempt.scored"},
    )
    return {
        "test_attempt_id": attempt.test_attempt_id,
        "violation_id": str(violation.pk),
        "evidence_id": str(evidence.pk),
        "delivery_id": str(delivery.pk),
    }


def test_every_object_route_is_covered():
    names = {route.name for route in _object_routes()}
    # The list the sweep below must reach; a new object route makes this fail until it is named.
    assert names >= {
        "attempt-detail",
        "attempt-rescore",
        "violation-list",
        "violation-detail",
        "evidence-list",
        "evidence-link",
        "attempt-id-card",
        "attempt-report-link",
        "webhook-delivery-detail",
        "webhook-delivery-resend",
    }


@pytest.mark.parametrize("route", _object_routes(), ids=lambda route: route.name)
def test_another_client_gets_404_on_every_method(route, owned, api, other_api):
    if route.name in ("evidence-download", "recording-download"):
        pytest.skip(
            "authenticated by its signed token, not by a client "
            "(test_integrator.py, test_media_links.py)"
        )
    url = reverse(route.name, kwargs={name: owned[name] for name in route.pattern.converters})
    before = _state()
    answered = []
    for method in METHODS:
        response = getattr(other_api, method)(url, {}, format="json")
        if response.status_code == 405:
            continue  # the view has no such method
        answered.append(method)
        assert response.status_code == 404, (route.name, method, response.content)
        assert response.json()["code"].endswith("not_found"), response.json()
    assert answered, f"{route.name}: no method answered"
    assert _state() == before
    # The same URL is the owner's object: the 404s above were about whose it is.
    assert getattr(api, answered[0])(url, {}, format="json").status_code != 404


def _state() -> tuple:
    """What another client must never change: the owner's scores, verdicts and deliveries."""
    return (
        list(Attempt.objects.values_list("trust_score", "review_verdict", "status")),
        list(WebhookDelivery.objects.values_list("status", "tries")),
    )
