"""The admin sets a client's allowed origins (the browser SDK's exam pages), validated."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def change(admin_client, client_obj, origins: str):
    url = reverse("admin:proctoring_client_change", args=[client_obj.pk])
    form = {
        "name": client_obj.name,
        "is_active": "on",
        "webhook_url": "",
        "retention_days": client_obj.retention_days,
        "required_checks": "[]",
        "concurrent_sessions": client_obj.concurrent_sessions,
        "allowed_origins": origins,
    }
    return admin_client.post(url, form)


def test_origins_are_saved_as_browsers_send_them(admin_client, new_client):
    response = change(
        admin_client, new_client.client, '["https://Exam.example.com/", "http://10.0.0.5:8080"]'
    )
    assert response.status_code == 302, response.content[-2000:]
    new_client.client.refresh_from_db()
    assert new_client.client.allowed_origins == ["http://10.0.0.5:8080", "https://exam.example.com"]


def test_a_url_that_is_not_an_origin_is_refused_by_name(admin_client, new_client):
    response = change(admin_client, new_client.client, '["https://exam.example.com/quiz"]')
    assert response.status_code == 200
    assert "is not an origin like" in response.content.decode()
    new_client.client.refresh_from_db()
    assert new_client.client.allowed_origins == []
