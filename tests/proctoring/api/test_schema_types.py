"""The OpenAPI schema types every request and response field (issue #19): a walk over the
whole schema finds no value without a type, and no object without properties, except the few
free-form objects that say so (x-free-form) in a description, listed here."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from proctoring.api.schema import FREE_FORM

COMBINERS = {"$ref", "oneOf", "allOf", "anyOf"}
# Objects whose keys vary by violation type, event or field; each is described in words.
DOCUMENTED_FREE_FORM = {
    "paths./api/v1/protocol/.get.responses.200.content.application/json.schema",
    "components.schemas.Error.properties.errors",
    "components.schemas.EvidenceOutput.properties.data",
    "components.schemas.ViolationOutput.properties.details",
    "components.schemas.WebhookDeliveryOutput.properties.payload",
    "components.schemas.AttemptOutput.properties.identity.properties.frames",
    "components.schemas.AttemptOutput.properties.identity.properties.id_card",
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _schemas(node, path=()):
    """Every (path, schema object) in the document: media-type schemas, components, and what
    they nest (properties, items, additionalProperties, combinators)."""
    if isinstance(node, dict):
        for key, child in node.items():
            here = (*path, key)
            if _is_schema_position(path, key) and isinstance(child, dict):
                yield here, child
            yield from _schemas(child, here)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _schemas(child, (*path, str(index)))


def _is_schema_position(path: tuple, key: str) -> bool:
    parent = path[-1] if path else ""
    if key in ("schema", "items", "additionalProperties"):
        return True
    return parent in ("properties",) or path[-2:] == ("components", "schemas")


def _problem(node: dict) -> str | None:
    if not ({"type", "enum"} | COMBINERS) & set(node):
        return "has no type"
    if node.get("type") != "object" or {"oneOf", "allOf", "anyOf"} & set(node):
        return None
    extra = node.get("additionalProperties")
    if node.get("properties") or isinstance(extra, dict) and extra:
        return None
    if node.get(FREE_FORM) and node.get("description"):
        return "free-form"
    return "is an object without properties"


def test_the_walk_sees_what_it_must_refuse():
    assert _problem({"description": "a JSONField"}) == "has no type"
    assert _problem({"type": "object"}) == "is an object without properties"
    assert _problem({"type": "object", "additionalProperties": {}}) == (
        "is an object without properties"
    )
    assert _problem({"type": "object", "additionalProperties": {"type": "integer"}}) is None


def test_no_untyped_value_in_the_schema(schema):
    problems, free = [], set()
    for path, node in _schemas(schema):
        problem = _problem(node)
        name = ".".join(path)
        if problem == "free-form":
            free.add(name)
        elif problem:
            problems.append(f"{name} {problem}")
    assert problems == []
    assert free == DOCUMENTED_FREE_FORM


def test_the_session_offer_and_options_are_typed(schema):
    components = schema["components"]["schemas"]
    session = components["AgentSessionInputRequest"]["properties"]
    assert session["offer"]["properties"]["type"]["enum"] == ["offer"]
    assert session["offer"]["required"] == ["type", "sdp"]
    options = session["options"]
    assert options["additionalProperties"] is False
    tracking = options["properties"]["trackingOptions"]["properties"]
    assert tracking["numPhotosAtRandom"]["type"] == "integer"
    assert tracking["numPhotosAtRandom"]["maximum"] == 100
    assert tracking["recordSession"]["type"] == "boolean"
    answer = components["AgentSessionOutput"]["properties"]
    assert answer["answer"]["properties"]["type"]["enum"] == ["answer"]
    assert "trackingOptions" in answer["options"]["properties"]
    detail = components["AttemptOutput"]["properties"]
    assert detail["recording_url"]["format"] == "uri" and detail["recording_url"]["nullable"]
    review = detail["violations"]["items"]
    assert review["$ref"].endswith("/ViolationOutput")
    verdict = components["ViolationOutput"]["properties"]["review"]
    assert verdict.get("nullable") or "oneOf" in verdict or "allOf" in verdict
