"""The admin sets a client's allowed origins (the browser SDK's exam pages) and its report
branding (name, logo, the pages that may frame its reports), validated."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def change(admin_client, client_obj, origins: str, **branding: str):
    url = reverse("admin:proctoring_client_change", args=[client_obj.pk])
    form = {
        "name": client_obj.name,
        "is_active": "on",
        "webhook_url": "",
        "retention_days": client_obj.retention_days,
        "required_checks": "[]",
        "concurrent_sessions": client_obj.concurrent_sessions,
        "allowed_origins": origins,
        "display_name": "",
        "logo_url": "",
        "report_frame_ancestors": "[]",
        **branding,
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


def test_report_branding_is_saved_normalized(admin_client, new_client):
    response = change(
        admin_client,
        new_client.client,
        "[]",
        display_name="Acme Exams",
        logo_url="https://cdn.acme.example/logo.png",
        report_frame_ancestors='["https://LMS.acme.example/"]',
    )
    assert response.status_code == 302, response.content[-2000:]
    new_client.client.refresh_from_db()
    assert new_client.client.display_name == "Acme Exams"
    assert new_client.client.logo_url == "https://cdn.acme.example/logo.png"
    assert new_client.client.report_frame_ancestors == ["https://lms.acme.example"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("report_frame_ancestors", '["https://lms.example/quiz"]', "is not an origin like"),
        ("report_frame_ancestors", '["https://x.example; script-src *"]', "is not an origin like"),
        ("logo_url", "javascript:alert(1)", "logo_url must be an"),
    ],
)
def test_bad_branding_is_refused_by_name(admin_client, new_client, field, value, message):
    response = change(admin_client, new_client.client, "[]", **{field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    new_client.client.refresh_from_db()
    assert (new_client.client.logo_url, new_client.client.report_frame_ancestors) == ("", [])
