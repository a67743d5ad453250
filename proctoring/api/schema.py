"""OpenAPI helpers: the one error component, documented error codes, Basic auth scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    """Every API failure: a stable machine code and a human message."""

    code = serializers.CharField()
    message = serializers.CharField()
    errors = serializers.JSONField(required=False, help_text="Field errors (validation_error).")

    class Meta:
        ref_name = "Error"


def errors(**by_status: list[str]) -> dict:
    """{status: OpenApiResponse(Error)} naming the codes each status may carry.

    Usage: errors(e400=["validation_error"], e404=["attempt_not_found"]).
    """
    return {
        int(key[1:]): OpenApiResponse(ErrorOutput, description="codes: " + ", ".join(codes))
        for key, codes in by_status.items()
    }


BINARY_FILE = OpenApiResponse(OpenApiTypes.BINARY, description="the file")

# Errors every endpoint may answer with, besides its own.
COMMON = {"e413": ["request_too_large"], "e429": ["rate_limited"]}
AUTH = {"e401": ["not_authenticated", "unknown_client"], **COMMON}


class ClientBasicAuthScheme(OpenApiAuthenticationExtension):
    target_class = "proctoring.api.auth.ClientBasicAuthentication"
    name = "clientBasic"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "client_id as the user name, client_secret as the password.",
        }
