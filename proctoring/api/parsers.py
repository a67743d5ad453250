"""Request bodies: JSON the code can walk and PostgreSQL can store, or a 400 before any view."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# The deepest body the API takes is options.trackingOptions.<flag>; far deeper is hostile.
MAX_JSON_DEPTH = 16
PREFIX = "JSON parse error - "
TOO_DEEP = f"{PREFIX}nested deeper than {MAX_JSON_DEPTH} levels."


class JSONParser(parsers.JSONParser):
    """DRF's parser, refusing valid JSON that would otherwise end in a 5xx further in: nesting
    past Python's recursion limit, NUL characters (PostgreSQL text and jsonb cannot hold them)
    and unpaired surrogates (UTF-8 cannot encode them; RFC 7493 forbids them)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        problem = _unstorable(data)
        if problem:
            raise ParseError(PREFIX + problem)
        return data


def _unstorable(data) -> str | None:
    """What makes `data` unfit to keep, if anything (walked without recursion)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return TOO_DEEP.removeprefix(PREFIX)
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            if "\x00" in value:
                return "strings must not contain NUL (\\u0000) characters."
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "strings must not contain unpaired surrogates."
    return None


class BeaconJSONParser(JSONParser):
    """JSON sent as text/plain: what `navigator.sendBeacon(url, string)` sends when a page goes
    away (a JSON content type would need a CORS preflight, which a beacon cannot make). Only the
    views that a page may call while it unloads accept it (the stop)."""

    media_type = "text/plain"
