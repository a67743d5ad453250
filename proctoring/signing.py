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


def _fernet() -> Fernet:
    configured = settings.PROCTOR_SECRET_ENCRYPTION_KEY
    if configured:
        return Fernet(configured.encode())
    # Outside production the key derives from SECRET_KEY so local set-ups need no extra step.
    derived = hashlib.sha256(("proctor-secrets:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("client secret cannot be decrypted with the configured key") from exc


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
