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


# --- What the request bodies refuse, said in the schema -------------------------------------
# Strings: DRF refuses a NUL character in any CharField (ProhibitNullCharactersValidator).
NO_NUL = "^[^\\x00]*$"
_JSON_TYPES = {"boolean": "boolean", "integer": "integer", "string": "string"}


def _option_schema(spec: dict) -> dict:
    schema = {"type": _JSON_TYPES[spec["type"]]}
    if spec.get("help"):
        schema["description"] = spec["help"]
    if "min" in spec:
        schema["minimum"] = spec["min"]
    if "max" in spec:
        schema["maximum"] = spec["max"]
    if "maxLength" in spec:
        schema["maxLength"] = spec["maxLength"]
    if spec.get("default", "") is None:
        schema["nullable"] = True  # testDuration: null means "not given"
    return schema


def _section_schema(specs: dict) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: _option_schema(spec) for name, spec in specs.items()},
    }


def options_schema() -> dict:
    """proctoringOptions as the protocol definition bounds them: an object (never null), each
    known option typed and bounded, nothing unknown. The same definition the validator reads."""
    from protocol.definition import definition
    from protocol.options import ALIASES

    specs = definition()["options"]
    properties = {
        name: _section_schema(spec)
        if name in ("trackingOptions", "userDetails")
        else _option_schema(spec)
        for name, spec in specs.items()
    }
    for alias, name in ALIASES.items():
        properties[alias] = {**properties[name], "description": f"Another name for {name}."}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "description": "proctoringOptions (protocol/protocol.json); unknown names are refused.",
    }


def offer_schema() -> dict:
    from proctoring.sdp import MAX_SDP_BYTES

    return {
        "type": "object",
        "required": ["type", "sdp"],
        "properties": {
            "type": {"type": "string", "enum": ["offer"]},
            "sdp": {"type": "string", "maxLength": MAX_SDP_BYTES, "pattern": NO_NUL},
        },
        "description": "The WebRTC offer (RTCSessionDescription), at most "
        f"{MAX_SDP_BYTES} bytes of SDP.",
    }


def refuse_nul_in_request_strings(result, generator, request, public):
    """drf-spectacular postprocessing hook: every plain string a request body sends says that a
    NUL character is refused, so a client (and Schemathesis) reads the rule from the schema."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _add_no_nul(component)
    return result


def _add_no_nul(schema: dict) -> None:
    if schema.get("type") == "string" and not ({"enum", "format", "pattern"} & set(schema)):
        schema["pattern"] = NO_NUL
    for child in schema.get("properties", {}).values():
        _add_no_nul(child)
    if isinstance(schema.get("items"), dict):
        _add_no_nul(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        _add_no_nul(schema["additionalProperties"])
