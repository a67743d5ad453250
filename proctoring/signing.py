"""All HMAC and secret-at-rest code: attempt hashes, secret generation and encryption."""

import base64
import binascii
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

CLIENT_ID_PREFIX = "cl_"
CLIENT_ID_BYTES = 12
CLIENT_SECRET_BYTES = 24
SESSION_TOKEN_BYTES = 32


def hash_test_attempt_id(*, client_secret: str, test_attempt_id: str) -> str:
    """base64(HMAC-SHA256(key=client_secret, msg=test_attempt_id)), as integrators compute it."""
    digest = hmac.new(client_secret.encode(), test_attempt_id.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _decode_hash(candidate: str) -> bytes | None:
    """Accept the base64 form and the hex form of a 32-byte digest; None when it is neither."""
    candidate = candidate.strip()
    if len(candidate) == 64:
        try:
            return bytes.fromhex(candidate)
        except ValueError:
            return None
    try:
        raw = base64.b64decode(candidate, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == hashlib.sha256().digest_size else None


def verify_test_attempt_hash(*, client_secret: str, test_attempt_id: str, candidate: str) -> bool:
    expected = hmac.new(client_secret.encode(), test_attempt_id.encode(), hashlib.sha256).digest()
    given = _decode_hash(candidate)
    # compare_digest on equal-length inputs even when decoding failed keeps timing uniform.
    return hmac.compare_digest(expected, given if given is not None else b"\0" * len(expected))


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(CLIENT_ID_BYTES)


def new_client_secret() -> str:
    return secrets.token_urlsafe(CLIENT_SECRET_BYTES)


def new_session_token() -> str:
    """Returned once to the client that starts a media session: its proof on resume."""
    return secrets.token_urlsafe(SESSION_TOKEN_BYTES)


def session_token_hash(token: str) -> str:
    """What the server keeps of a session token (a leaked database row cannot resume)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def secret_encryption_key() -> str:
    """The Fernet key in use: the configured one, or outside production one derived from
    SECRET_KEY so local set-ups need no extra step."""
    configured = settings.PROCTOR_SECRET_ENCRYPTION_KEY
    if configured:
        return configured
    derived = hashlib.sha256(("proctor-secrets:" + settings.SECRET_KEY).encode()).digest()
    return base64.urlsafe_b64encode(derived).decode()


def _fernet() -> Fernet:
    return Fernet(secret_encryption_key().encode())


def encrypt_secret(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("client secret cannot be decrypted with the configured key") from exc


# --- Face templates (issue #18) -------------------------------------------------------------
# Biometric data: encrypted at rest with the same Fernet key as client secrets, so a leaked
# database dump holds no usable face template without the key. The plaintext is the embedding's
# float32 bytes (little-endian), nothing else.
TEMPLATE_DTYPE = "<f4"


def encrypt_template(embedding) -> str:
    import numpy as np

    data = np.asarray(embedding, dtype=TEMPLATE_DTYPE).tobytes()
    return _fernet().encrypt(data).decode()


def decrypt_template(token: str):
    """The embedding as a float32 numpy vector; RuntimeError when the key does not fit."""
    import numpy as np

    try:
        data = _fernet().decrypt(token.encode())
    except InvalidToken as exc:
        raise RuntimeError("a face template cannot be decrypted with the configured key") from exc
    return np.frombuffer(data, dtype=TEMPLATE_DTYPE).astype(np.float32)


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- Results page, evidence links, webhooks (issue #5) -------------------------------------

EVIDENCE_LINK_SALT = "proctoring.evidence-download"
WEBHOOK_SIGNATURE_HEADER = "X-Proctor-Signature"


def verify_hmac_any(*, secrets_: list[str], message: str, candidate: str) -> bool:
    """True when `candidate` is the HMAC of `message` under any of the secrets (rotation)."""
    results = [
        verify_test_attempt_hash(client_secret=s, test_attempt_id=message, candidate=candidate)
        for s in secrets_
    ]
    return any(results)


MEDIA_LINK_SALTS = {
    "evidence": EVIDENCE_LINK_SALT,
    "recording": "proctoring.recording-download",
}
REPORT_LINK_SALT = "proctoring.attempt-report"


def media_link_token(
    *, kind: str, client_id: str, object_id: int | str, expires_at: int | None = None
) -> str:
    """A signed, timestamped token naming one evidence file or one recording of one client.

    Without `expires_at` the link lives the reader's max age from now (API-minted links); with
    it, until that unix time (links minted into a report, which live as long as the report)."""
    from django.core import signing as django_signing

    payload: dict = {"c": client_id, "o": object_id}
    if expires_at is not None:
        payload["x"] = int(expires_at)
    return django_signing.dumps(payload, salt=MEDIA_LINK_SALTS[kind], compress=False)


def media_link_read(
    *, kind: str, token: str, max_age_s: int, now: float
) -> tuple[str, int | str] | None:
    """(client_id, object id) when the token is authentic and unexpired, else None."""
    from django.core import signing as django_signing

    salt = MEDIA_LINK_SALTS[kind]
    try:
        value = django_signing.loads(token, salt=salt)
        if not isinstance(value, dict) or "o" not in value:
            return None
        if "x" in value:
            if not isinstance(value["x"], int) or value["x"] < now:
                return None
        else:
            django_signing.loads(token, salt=salt, max_age=max_age_s)
    except django_signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    return str(value.get("c")), value["o"]


def evidence_link_token(*, client_id: str, evidence_id: int, expires_at: int | None = None) -> str:
    return media_link_token(
        kind="evidence", client_id=client_id, object_id=evidence_id, expires_at=expires_at
    )


def evidence_link_read(*, token: str, max_age_s: int, now: float) -> tuple[str, int] | None:
    """(client_id, evidence_id) when the token is authentic and unexpired."""
    found = media_link_read(kind="evidence", token=token, max_age_s=max_age_s, now=now)
    if found is None or not isinstance(found[1], int):
        return None
    return found


# Reports (issue #19): the link is the credential of a read-only page, so it names the client,
# the attempt and its own expiry; a forged or edited token fails the signature, a late one is
# told apart (a page can then say "ask for a new link" rather than "this link is wrong").
REPORT_LINK_VALID, REPORT_LINK_EXPIRED, REPORT_LINK_INVALID = "valid", "expired", "invalid"


def report_link_token(*, client_id: str, attempt_id: int, expires_at: int) -> str:
    from django.core import signing as django_signing

    payload = {"c": client_id, "a": attempt_id, "x": int(expires_at)}
    return django_signing.dumps(payload, salt=REPORT_LINK_SALT, compress=False)


def report_link_read(*, token: str, now: float) -> tuple[str, dict | None]:
    """(state, payload): VALID or EXPIRED with {"c", "a", "x"}, or (INVALID, None)."""
    from django.core import signing as django_signing

    try:
        value = django_signing.loads(token, salt=REPORT_LINK_SALT)
    except django_signing.BadSignature:
        return REPORT_LINK_INVALID, None
    shape_ok = isinstance(value, dict) and all(
        isinstance(value.get(key), kind) for key, kind in (("c", str), ("a", int), ("x", int))
    )
    if not shape_ok:
        return REPORT_LINK_INVALID, None
    # An expired link's payload is still authentic: its page may say so inside the client's frame.
    return (REPORT_LINK_EXPIRED if value["x"] < now else REPORT_LINK_VALID), value


def webhook_signature(*, secrets_: list[str], timestamp: int, body: bytes) -> str:
    """The X-Proctor-Signature header: t=<unix seconds>, then v1=<hex HMAC-SHA256 of "t.body">
    under each webhook secret valid now (two during a rotation's grace period)."""
    signed = f"{timestamp}.".encode() + body
    digests = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets_]
    return ",".join([f"t={timestamp}", *(f"v1={digest}" for digest in digests)])


def webhook_verify(*, secret: str, header: str, body: bytes, now: int, tolerance_s: int) -> bool:
    """The reference check a receiver runs (docs/api.md shows the same in plain Python)."""
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    try:
        timestamp = int(dict(pairs).get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for name, value in pairs if name == "v1")


# --- TURN REST credentials (browser SDK, coturn's use-auth-secret) ---------------------------


def turn_rest_credential(*, secret: str, username: str) -> str:
    """The TURN password for `username` ("<expiry unix time>:<user>"): base64(HMAC-SHA1(secret,
    username)), which coturn recomputes with the same static-auth-secret. SHA-1 is the scheme's
    (draft-uberti-behave-turn-rest), not a choice: the credential lives hours at most."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
