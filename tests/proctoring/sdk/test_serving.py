"""The SDK at its versioned URLs: the script with the definition written in, its caching, its
type declarations, and the demo exam page (off unless a demo client is named)."""

import pytest

from proctoring.sdk import files

SCRIPT = "/sdk/v1/autoproctor.js"


def test_the_script_is_javascript_cached_and_loadable_from_any_origin(client):
    response = client.get(SCRIPT)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response["ETag"] == files.script().etag
    assert b"class AutoProctor" in response.content


def test_a_browser_that_has_it_gets_a_304(client):
    etag = client.get(SCRIPT)["ETag"]
    again = client.get(SCRIPT, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""


def test_the_type_declarations_are_served(client):
    response = client.get("/sdk/v1/autoproctor.d.ts")
    assert response.status_code == 200
    assert b"declare class AutoProctor" in response.content


def test_only_get_is_served(client):
    assert client.post(SCRIPT).status_code == 405


@pytest.mark.django_db
def test_the_demo_page_is_off_without_a_demo_client(client, settings):
    settings.PROCTOR_SDK_DEMO_CLIENT_ID = ""
    assert client.get("/sdk/v1/demo/").status_code == 404


@pytest.mark.django_db
def test_the_demo_page_signs_an_attempt_and_never_shows_the_secret(client, settings, new_client):
    from proctoring import signing

    settings.PROCTOR_SDK_DEMO_CLIENT_ID = new_client.client.client_id
    first = client.get("/sdk/v1/demo/")
    assert first.status_code == 302
    attempt = first["Location"].split("attempt=")[1]
    assert attempt.startswith("demo-")
    page = client.get(first["Location"])
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    html = page.content.decode()
    hashed = signing.hash_test_attempt_id(
        client_secret=new_client.client_secret, test_attempt_id=attempt
    )
    assert f'"hashedTestAttemptId": "{hashed}"' in html
    assert new_client.client_secret not in html
    assert '<script src="../autoproctor.js"></script>' in html
    # An attempt id that is not the demo's own form gets a fresh one.
    assert client.get("/sdk/v1/demo/?attempt=somebody-else").status_code == 302


@pytest.mark.django_db
def test_the_demo_page_is_off_in_production_whatever_the_environment(settings):
    # backend/settings.py: PROCTOR_SDK_DEMO_CLIENT_ID is "" when PROCTOR_ENV=production.
    import subprocess
    import sys

    code = (
        "import os; os.environ.update(PROCTOR_ENV='production', DJANGO_SECRET_KEY='x', "
        "DJANGO_ALLOWED_HOSTS='h', PROCTOR_SECRET_ENCRYPTION_KEY='k', "
        "PROCTOR_SDK_DEMO_CLIENT_ID='cl_x'); from backend import settings as s; "
        "print(repr(s.PROCTOR_SDK_DEMO_CLIENT_ID))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "''", done.stderr[-500:]
