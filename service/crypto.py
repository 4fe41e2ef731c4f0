"""Encryption at rest for resident registration numbers.

PIPA article 24-2 requires RRNs stored electronically to be encrypted. Each number is
stored twice, never in plain text:

* ``encrypt`` — AES-256-GCM with a fresh 96-bit nonce (``nonce || ciphertext+tag``), so the
  same number encrypts differently every time and can be decrypted for an authorised read;
* ``blind_index`` — HMAC-SHA256 under a separate key, deterministic, for exact lookups and
  unique indexes without decrypting.

Both keys are derived with HKDF from one 32-byte data key, so an operator manages one secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12
_AAD = b"seonbyeol:rrn:v1"


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


@dataclass(frozen=True)
class RRNCipher:
    """Encrypt, decrypt and index RRN digits with keys derived from one data key."""

    enc_key: bytes
    index_key: bytes

    @classmethod
    def from_data_key(cls, data_key: bytes) -> RRNCipher:
        if len(data_key) < 32:
            raise ValueError("data key must be at least 32 bytes")
        return cls(_derive(data_key, b"seonbyeol rrn aes-gcm"), _derive(data_key, b"seonbyeol rrn hmac"))

    def encrypt(self, digits: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self.enc_key).encrypt(nonce, digits.encode("ascii"), _AAD)

    def decrypt(self, blob: bytes) -> str:
        nonce, body = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        return AESGCM(self.enc_key).decrypt(nonce, body, _AAD).decode("ascii")

    def blind_index(self, digits: str) -> str:
        mac = self._index_mac.copy()  # copying a keyed HMAC skips re-deriving the pads per row
        mac.update(digits.encode("ascii"))
        return mac.hexdigest()

    @cached_property
    def _index_mac(self) -> hmac.HMAC:
        return hmac.new(self.index_key, digestmod=hashlib.sha256)


def token_hash(token: str) -> str:
    """Hash an API bearer token for storage (tokens are 256-bit random, so SHA-256 suffices)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
