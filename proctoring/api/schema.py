"""OpenAPI helpers: the one error component, documented error codes, Basic auth scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    """Every API failure: a stable machine code and a human message."""

    code = serializers.CharField()
    message = serializers.CharField()
    errors = extend_schema_field(
        {
            "type": "object",
            "additionalProperties": True,
            "x-free-form": True,
            "description": "Field errors (validation_error): field name to its messages, "
            "nested as the request body is.",
        }
    )(type("FieldErrorsField", (serializers.JSONField,), {}))(required=False)

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


# --- What the responses hold, typed (issue #19) ----------------------------------------------
# Free-form objects are few and each says so in its description (FREE_FORM): the schema test
# walks every schema and refuses an untyped value anywhere else.
FREE_FORM = "x-free-form"
_NUMBER, _INTEGER, _STRING, _BOOLEAN = (
    {"type": "number"},
    {"type": "integer"},
    {"type": "string"},
    {"type": "boolean"},
)


def free_form(description: str, *, nullable: bool = False) -> dict:
    """An object whose keys vary (by violation type, by event): documented in words."""
    schema = {"type": "object", "additionalProperties": True, "description": description}
    schema[FREE_FORM] = True
    if nullable:
        schema["nullable"] = True
    return schema


def options_output_schema() -> dict:
    """The options an attempt runs with: every option, its defaults filled in."""
    schema = options_schema()
    from protocol.options import ALIASES

    properties = {k: v for k, v in schema["properties"].items() if k not in ALIASES}
    return {
        "type": "object",
        "properties": properties,
        "description": "proctoringOptions, complete (protocol/protocol.json).",
    }


def user_details_schema() -> dict:
    from protocol.definition import definition

    return _section_schema(definition()["options"]["userDetails"])


def answer_schema() -> dict:
    return {
        "type": "object",
        "required": ["type", "sdp"],
        "properties": {"type": {"type": "string", "enum": ["answer"]}, "sdp": _STRING},
        "description": "The server's WebRTC answer (RTCSessionDescription).",
    }


def thresholds_schema() -> dict:
    import dataclasses

    from proctoring.analysis.thresholds import Thresholds

    properties = {
        f.name: _INTEGER if f.type in (int, "int") else _NUMBER
        for f in dataclasses.fields(Thresholds)
    }
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "description": "Overrides of the analysis thresholds (only those set).",
    }


def _per_type_numbers(description: str) -> dict:
    import trust_score

    return {
        "type": "object",
        "properties": {name: _NUMBER for name in trust_score.TYPE_ORDER},
        "additionalProperties": False,
        "description": description,
    }


def score_profile_schema() -> dict:
    from trust_score.profile import SCALAR_KEYS

    return {
        "type": "object",
        "properties": {
            "weights": _per_type_numbers("Points a violation type can cost at most."),
            "half_points": _per_type_numbers("The measure at which half the weight is lost."),
            **{key: _NUMBER for key in SCALAR_KEYS},
        },
        "additionalProperties": False,
        "description": "Trust Score weights and half points (docs/trust-score.md).",
    }


def score_breakdown_schema() -> dict:
    component = {
        "type": "object",
        "properties": {
            "type": _STRING,
            "kind": {"type": "string", "description": "duration or count"},
            "measure": _NUMBER,
            "unit": {"type": "string", "enum": ["fraction", "per_hour"]},
            "seconds": {"type": "number", "nullable": True},
            "count": {"type": "integer", "nullable": True},
            "weight": _NUMBER,
            "half_point": _NUMBER,
            "points_lost": _NUMBER,
        },
    }
    return {
        "type": "object",
        "properties": {
            "version": _STRING,
            "score": _NUMBER,
            "test_seconds": _NUMBER,
            "points_lost": _NUMBER,
            "components": {"type": "array", "items": component},
            "profile": score_profile_schema(),
        },
        "description": "Why the score is what it is, per violation type; {} before scoring.",
    }


def coverage_schema() -> dict:
    stream = {
        "type": "object",
        "properties": {
            "required": _BOOLEAN,
            "analysed_s": _NUMBER,
            "delivered_s": _NUMBER,
            "ratio": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }
    return {
        "type": "object",
        "additionalProperties": stream,
        "description": "Per stream (camera, microphone, screen): required or not, and the "
        "seconds analysed and delivered.",
    }


def id_card_text_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "name": {
                "type": "string",
                "enum": ["match", "mismatch", "unreadable", "not_checked"],
            },
            "expiry": {"type": "string", "nullable": True, "description": "YYYY-MM-DD"},
            "expired": {"type": "boolean", "nullable": True},
        },
        "description": "What was read on the card; never the text itself.",
    }


def identity_schema() -> dict:
    return {
        "type": "object",
        "nullable": True,
        "properties": {
            "requested": {"type": "object", "additionalProperties": _BOOLEAN},
            "model": _STRING,
            "result": {
                "type": "string",
                "enum": ["verified", "mismatch", "uncertain", "not_enrolled"],
            },
            "enrolment": {
                "type": "object",
                "properties": {
                    "status": _STRING,
                    "references": _INTEGER,
                    "enrolled_at": {"type": "string", "format": "date-time", "nullable": True},
                    "problem": _STRING,
                },
            },
            "frames": free_form("Compared frames: counts by judgement and similarity figures."),
            "random_photos": {"type": "object", "additionalProperties": _INTEGER},
            "impersonation_violations": _INTEGER,
            "id_card": free_form("The ID card tries (docs/api.md, identity)."),
            "reference_evidence_ids": {"type": "array", "items": _INTEGER},
        },
        "description": "The identity check (null when none was asked for). Never an embedding.",
    }
