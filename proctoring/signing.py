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


def evidence_link_token(*, client_id: str, evidence_id: int) -> str:
    """A signed, timestamped token naming one evidence file of one client."""
    from django.core import signing as django_signing

    return django_signing.dumps(
        {"c": client_id, "e": evidence_id}, salt=EVIDENCE_LINK_SALT, compress=False
    )


def evidence_link_read(*, token: str, max_age_s: int) -> tuple[str, int] | None:
    """(client_id, evidence_id) when the token is authentic and younger than max_age_s."""
    from django.core import signing as django_signing

    try:
        value = django_signing.loads(token, salt=EVIDENCE_LINK_SALT, max_age=max_age_s)
    except django_signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(value, dict) or not isinstance(value.get("e"), int):
        return None
    return str(value.get("c")), value["e"]


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
