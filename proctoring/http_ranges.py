"""Files served with HTTP byte ranges (RFC 9110 §14), so a <video> or <audio> element can seek
in a recording or a clip. Werkzeug parses the Range header (a maintained parser of an
error-prone grammar); one range per request, as media elements ask for: several ranges, or a
range past the end, are 416 with `Content-Range: bytes */<size>`."""

import mimetypes

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from werkzeug.http import parse_range_header

CHUNK_BYTES = 64 * 1024
RANGE_NOT_SATISFIABLE = 416
PARTIAL_CONTENT = 206
RANGE_REFUSAL = {
    "code": "range_not_satisfiable",
    "message": "Send one byte range within the file, e.g. Range: bytes=0-1023.",
}


def _chunks(handle, start: int, length: int):
    try:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK_BYTES, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _headers(response, *, filename: str) -> HttpResponse:
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def ranged_file_response(request, field_file) -> HttpResponse:
    """200 with the whole file, 206 with the one range asked for, or 416."""
    name = field_file.name.rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    size = field_file.size
    header = request.headers.get("Range")
    if header is None:
        response = FileResponse(field_file.open("rb"), content_type=content_type)
        return _headers(response, filename=name)
    parsed = parse_range_header(header)
    span = parsed.range_for_length(size) if parsed is not None else None
    if span is None:
        refused = JsonResponse(RANGE_REFUSAL, status=RANGE_NOT_SATISFIABLE)
        refused["Content-Range"] = f"bytes */{size}"
        return _headers(refused, filename=name)
    start, stop = span
    response = StreamingHttpResponse(
        _chunks(field_file.open("rb"), start, stop - start),
        status=PARTIAL_CONTENT,
        content_type=content_type,
    )
    response["Content-Range"] = parsed.to_content_range_header(size)
    response["Content-Length"] = str(stop - start)
    return _headers(response, filename=name)
