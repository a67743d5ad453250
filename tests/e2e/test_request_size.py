"""A real uvicorn: a chunked body (no Content-Length) past the limit is refused with the 413."""

import http.client
import json
import urllib.parse

from django.conf import settings

SESSIONS = "/api/v1/agent/sessions/"


def post_chunked(base_url: str, path: str, chunks: list[bytes]) -> tuple[int, dict]:
    address = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        connection.request("POST", path, body=iter(chunks), headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_past_the_limit_gets_413_request_too_large(stack):
    limit = settings.PROCTOR_MAX_REQUEST_BYTES
    chunks = [b'{"pad": "'] + [b"x" * 65536] * (limit // 65536 + 2) + [b'"}']

    status, body = post_chunked(stack.url, SESSIONS, chunks)

    assert status == 413
    assert body["code"] == "request_too_large"


def test_a_small_chunked_body_is_answered_as_usual(stack):
    status, body = post_chunked(stack.url, SESSIONS, [b"{", b"}"])

    assert status == 400  # read whole and validated: the required fields are missing
    assert "code" in body and body["code"] != "request_too_large"
