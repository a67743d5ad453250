"""The attempt hash: DESIGN.md's vector, base64 and hex forms, and secrets at rest."""

import base64

import pytest

from proctoring import signing

SECRET = "Jbso5da3H86m"
ATTEMPT = "unique-test-attempt-id"
VECTOR = "aaoRmws2stj82DlxRqqtWNk/IRcumWCm8DCjuNHN6hA="


def test_hash_matches_the_design_vector():
    assert signing.hash_test_attempt_id(client_secret=SECRET, test_attempt_id=ATTEMPT) == VECTOR


@pytest.mark.parametrize("form", ["base64", "hex"])
def test_both_forms_verify(form):
    candidate = VECTOR if form == "base64" else base64.b64decode(VECTOR).hex()
    assert signing.verify_test_attempt_hash(
        client_secret=SECRET, test_attempt_id=ATTEMPT, candidate=candidate
    )


@pytest.mark.parametrize(
    "candidate",
    ["", "not-base64!!", VECTOR[:-4] + "AAA=", "00" * 32, base64.b64encode(b"short").decode()],
)
def test_wrong_hashes_are_refused(candidate):
    assert not signing.verify_test_attempt_hash(
        client_secret=SECRET, test_attempt_id=ATTEMPT, candidate=candidate
    )


def test_hash_of_another_attempt_is_refused():
    assert not signing.verify_test_attempt_hash(
        client_secret=SECRET, test_attempt_id="another-attempt", candidate=VECTOR
    )


def test_secret_round_trips_encrypted():
    token = signing.encrypt_secret(SECRET)
    assert SECRET not in token
    assert signing.decrypt_secret(token) == SECRET
