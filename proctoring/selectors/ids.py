"""Ids as they arrive in URL paths."""


def path_pk(value: int | str) -> int:
    """A plain positive integer id, or 0 (which matches nothing) for anything else.

    ASCII only: "³" and "٣" are digits to str.isdigit() but not to int().
    """
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else 0
