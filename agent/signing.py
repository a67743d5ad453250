"""hashedTestAttemptId: what the integrator's backend computes; `autoproctor-agent hash` prints it.

The agent itself never holds the client secret: this is for integrators testing locally.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# The SDK's limit on a test attempt id.
MAX_TEST_ATTEMPT_ID_CHARS = 40


def hash_test_attempt_id(
    client_secret: str, test_attempt_id: str, *, hex_form: bool = False
) -> str:
    """base64(HMAC-SHA256(key=client_secret, msg=test_attempt_id)); the hex form on request."""
    if not client_secret:
        raise ValueError("the client secret is empty")
    if not test_attempt_id or len(test_attempt_id) > MAX_TEST_ATTEMPT_ID_CHARS:
        raise ValueError(
            f"a test attempt id has 1 to {MAX_TEST_ATTEMPT_ID_CHARS} characters, "
            f"not {len(test_attempt_id)}"
        )
    digest = hmac.new(client_secret.encode(), test_attempt_id.encode(), hashlib.sha256)
    return digest.hexdigest() if hex_form else base64.b64encode(digest.digest()).decode()
