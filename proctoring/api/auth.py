"""Integrator authentication: HTTP Basic with client_id:client_secret."""

import base64
import binascii

from rest_framework import authentication, exceptions, permissions

from proctoring import selectors
from proctoring.models import Client


class ClientBasicAuthentication(authentication.BaseAuthentication):
    www_authenticate_realm = "proctoring"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Basic authorization header.")
        try:
            client_id, _, secret = base64.b64decode(header[1]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed("Malformed Basic authorization header.") from exc
        client = selectors.client_get_by_credentials(client_id=client_id, client_secret=secret)
        if client is None:
            raise exceptions.AuthenticationFailed("Invalid client credentials.")
        return (client, client)

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with a challenge) rather than 403 to anonymous requests.
        return f'Basic realm="{self.www_authenticate_realm}"'


class IsClient(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, Client)
