"""Single byte ranges (RFC 9110 §14) over a stored file, so that a <video> element can seek.

Django's FileResponse streams a whole file and ignores `Range`; browsers seek in a WebM recording
by asking for the bytes at its cues. One range per request is what they send; a multi-range
request gets the whole file (200), which RFC 9110 allows.
"""

import re

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(first, last) inclusive for a satisfiable single range; None when there is no usable
    range (serve the whole file); False when it cannot be satisfied (416)."""
    match = RANGE_RE.match(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        length = int(last)
        return (max(size - length, 0), size - 1) if length and size else False
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end


def _chunks(handle, start: int, length: int):
    try:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        handle.close()


def ranged_file_response(request, field_file, content_type: str) -> HttpResponse:
    """200 with the whole file, 206 with one range, or 416; `Accept-Ranges` always."""
    size = field_file.size
    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif wanted is None:
        response = FileResponse(field_file.open("rb"), content_type=content_type)
    else:
        start, end = wanted
        body = _chunks(field_file.open("rb"), start, end - start + 1)
        response = StreamingHttpResponse(body, status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    return response
