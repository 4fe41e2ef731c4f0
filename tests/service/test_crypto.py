import hashlib
import hmac
import random

import pytest
from cryptography.exceptions import InvalidTag

from service.crypto import RRNCipher, token_hash


@pytest.fixture
def cipher() -> RRNCipher:
    return RRNCipher.from_data_key(b"x" * 32)


def test_encrypt_round_trips_and_is_randomised(cipher: RRNCipher) -> None:
    a, b = cipher.encrypt("9001011234567"), cipher.encrypt("9001011234567")
    assert a != b
    assert b"9001011234567" not in a
    assert cipher.decrypt(a) == cipher.decrypt(b) == "9001011234567"


def test_tampered_ciphertext_is_refused(cipher: RRNCipher) -> None:
    blob = bytearray(cipher.encrypt("9001011234567"))
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        cipher.decrypt(bytes(blob))


def test_blind_index_is_deterministic_and_keyed(cipher: RRNCipher) -> None:
    other = RRNCipher.from_data_key(b"y" * 32)
    assert cipher.blind_index("9001011234567") == cipher.blind_index("9001011234567")
    assert cipher.blind_index("9001011234567") != cipher.blind_index("9001011234568")
    assert cipher.blind_index("9001011234567") != other.blind_index("9001011234567")
    assert cipher.enc_key != cipher.index_key


def test_short_data_key_is_refused() -> None:
    with pytest.raises(ValueError):
        RRNCipher.from_data_key(b"short")


def test_token_hash_is_sha256_hex() -> None:
    assert len(token_hash("sb_abc")) == 64 and token_hash("sb_abc") != token_hash("sb_abd")


def test_blind_index_is_hmac_sha256_of_the_index_key() -> None:
    """The hand-padded HMAC (precomputed pads) gives what the standard library's HMAC gives:
    stored indexes stay valid. Keys shorter than, equal to and longer than SHA-256's block."""
    rng = random.Random(7)
    for length in (16, 32, 63, 64, 65, 200):
        key = bytes(rng.randrange(256) for _ in range(length))
        cipher = RRNCipher(b"e" * 32, key, "0a1b2c3d")
        for _ in range(200):
            digits = "".join(rng.choice("0123456789") for _ in range(13))
            assert cipher.blind_index(digits) == hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()
