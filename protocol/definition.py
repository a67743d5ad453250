"""Reads `protocol.json` once, from inside the package (works from a wheel or a one-file build)."""

import json
from functools import cache
from importlib import resources
from typing import Any


def raw_json() -> str:
    """The definition as it is stored, for serving it to browsers byte for byte."""
    return resources.files(__package__).joinpath("protocol.json").read_text("utf-8")


@cache
def definition() -> dict[str, Any]:
    return json.loads(raw_json())
