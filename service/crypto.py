"""Encryption at rest for resident registration numbers.

PIPA article 24-2 requires RRNs stored electronically to be encrypted. Each number is
stored twice, never in plain text:

* ``encrypt`` — AES-256-GCM with a fresh 96-bit nonce, so the same number encrypts
  differently every time and can be decrypted for an authorised read;
* ``blind_index`` — HMAC-SHA256 under a separate key, deterministic, for exact lookups and
  unique indexes without decrypting.

Both keys are derived with HKDF from one 32-byte data key, so an operator manages one secret.

Key rotation (``seonbyeol rotate-key``, service/keys.py) needs to know which data key a stored
value belongs to, so the cipher is a small **key ring**: the current key (``SEONBYEOL_DATA_KEY``)
encrypts and indexes everything new; the previous keys (``SEONBYEOL_OLD_DATA_KEYS``) still
decrypt, and give the candidate indexes a lookup must try while rows are being moved. Every key
has a ``key_id`` (a fingerprint derived from it, never the key) that is written into each
ciphertext (``02 || key id || nonce || ciphertext+tag``) and into the ``key_id`` column of the
row. Ciphertexts written before key ids existed (``nonce || ciphertext+tag``) are still read:
the GCM tag tells which key of the ring made them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12
_AAD = b"seonbyeol:rrn:v1"  # ciphertexts without a key id (before key rotation existed)
_AAD_V2 = b"seonbyeol:rrn:v2:"  # followed by the key id, so a header cannot be swapped
_VERSION = b"\x02"
_KEY_ID_BYTES = 4
_LEGACY_LENGTH = _NONCE_BYTES + 13 + 16
_V2_MIN_LENGTH = 1 + _KEY_ID_BYTES + _NONCE_BYTES + 16
KEY_ID_LENGTH = 2 * _KEY_ID_BYTES
"""Length of a key id in hexadecimal characters (the ``key_id`` columns)."""


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


class UnknownKey(LookupError):
    """A ciphertext was made under a key that is not in the ring (add it to SEONBYEOL_OLD_DATA_KEYS)."""


def key_id_of(blob: bytes | None) -> str | None:
    """The key id written into a ciphertext, or None for one written before key ids (or no ciphertext).

    An old-format ciphertext of the 13 RRN digits is exactly 41 bytes (nonce, digits, tag); a
    current one is 46 and starts with the version byte.
    """
    if not blob or len(blob) == _LEGACY_LENGTH or blob[:1] != _VERSION or len(blob) < _V2_MIN_LENGTH:
        return None
    return blob[1 : 1 + _KEY_ID_BYTES].hex()


@dataclass(frozen=True)
class RRNCipher:
    """Encrypt, decrypt and index RRN digits with keys derived from one data key, plus the
    previous data keys of the ring (``previous``) for reading and looking up older rows."""

    enc_key: bytes
    index_key: bytes
    key_id: str = ""
    previous: tuple[RRNCipher, ...] = field(default=(), repr=False)
    # What this process learnt about the database under this ring (service/keys.py: whether rows
    # under old keys remain); not part of the key material.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_data_key(cls, data_key: bytes, previous: Iterable[bytes] = ()) -> RRNCipher:
        """The ring of ``data_key`` (current) and ``previous`` (older keys, newest first)."""
        current = cls._single(data_key)
        olds: list[RRNCipher] = []
        seen = {current.key_id}
        for old_key in previous:
            old = cls._single(old_key)
            if old.key_id in seen:
                raise ValueError(f"data key {old.key_id} is given twice (or two keys share a key id)")
            seen.add(old.key_id)
            olds.append(old)
        return cls(current.enc_key, current.index_key, current.key_id, tuple(olds))

    @classmethod
    def _single(cls, data_key: bytes) -> RRNCipher:
        if len(data_key) < 32:
            raise ValueError("data key must be at least 32 bytes")
        key_id = _derive(data_key, b"seonbyeol key id")[:_KEY_ID_BYTES].hex()
        return cls(_derive(data_key, b"seonbyeol rrn aes-gcm"), _derive(data_key, b"seonbyeol rrn hmac"), key_id)

    # ------------------------------------------------------------------ the ring

    @property
    def ring(self) -> tuple[RRNCipher, ...]:
        """Every key, the current one first."""
        return (self.current, *self.previous)

    @cached_property
    def current(self) -> RRNCipher:
        """The current key alone (without the previous ones)."""
        return RRNCipher(self.enc_key, self.index_key, self.key_id) if self.previous else self

    def key(self, key_id: str) -> RRNCipher:
        for candidate in self.ring:
            if candidate.key_id == key_id:
                return candidate
        raise UnknownKey(f"key {key_id} is not in the key ring (SEONBYEOL_DATA_KEY, SEONBYEOL_OLD_DATA_KEYS)")

    def candidate_indexes(self, digits: str) -> list[str]:
        """The blind index of ``digits`` under every key of the ring, the current key's first:
        a lookup that must find a person whichever key their row is under tries all of them."""
        return [k.blind_index(digits) for k in self.ring]

    # ------------------------------------------------------------------ one key

    def encrypt(self, digits: str) -> bytes:
        """Encrypt under the current key, its key id in the header."""
        return self.encrypt_many([digits])[0]

    def encrypt_many(self, numbers: Sequence[str]) -> list[bytes]:
        """:meth:`encrypt` for many numbers (imports): one cipher object and one draw of random
        nonces for all of them instead of one each (each nonce is still its own 96 random bits)."""
        header = _VERSION + bytes.fromhex(self.key_id)
        aad = _AAD_V2 + header[1:]
        seal = AESGCM(self.enc_key).encrypt
        nonces = os.urandom(_NONCE_BYTES * len(numbers))
        out = []
        for i, digits in enumerate(numbers):
            nonce = nonces[i * _NONCE_BYTES : (i + 1) * _NONCE_BYTES]
            out.append(header + nonce + seal(nonce, digits.encode("ascii"), aad))
        return out

    def blind_indexes(self, numbers: Sequence[str]) -> list[str]:
        """:meth:`blind_index` for many numbers (imports)."""
        return list(map(self.blind_index, numbers))

    def decrypt(self, blob: bytes) -> str:
        """Decrypt with whichever key of the ring made the ciphertext (raises InvalidTag if none)."""
        key_id = key_id_of(blob)
        if key_id is not None:
            key = self.key(key_id)
            start = 1 + _KEY_ID_BYTES
            nonce, body = blob[start : start + _NONCE_BYTES], blob[start + _NONCE_BYTES :]
            return AESGCM(key.enc_key).decrypt(nonce, body, _AAD_V2 + blob[1:start]).decode("ascii")
        nonce, body = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        for key in self.ring:
            try:
                return AESGCM(key.enc_key).decrypt(nonce, body, _AAD).decode("ascii")
            except InvalidTag:
                continue
        raise InvalidTag()

    def key_of_ciphertext(self, blob: bytes) -> str:
        """The id of the key that made ``blob`` (old-format ciphertexts are tried against the ring)."""
        key_id = key_id_of(blob)
        if key_id is not None:
            return key_id
        nonce, body = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        for key in self.ring:
            try:
                AESGCM(key.enc_key).decrypt(nonce, body, _AAD)
            except InvalidTag:
                continue
            return key.key_id
        raise InvalidTag()

    def blind_index(self, digits: str) -> str:
        """The index under the current key (what new rows store): HMAC-SHA256 (RFC 2104) from
        the key's two padded hash states, computed once; per number two ``sha256`` copies and no
        ``hmac.HMAC`` object (measured alternating: 3.5 → 2.2 µs a number, an import's 1,000,000 of them)."""
        inner, outer = self._index_pads
        mac = inner.copy()
        mac.update(digits.encode("ascii"))
        out = outer.copy()
        out.update(mac.digest())
        return out.hexdigest()

    @cached_property
    def _index_pads(self) -> tuple[Any, Any]:
        """SHA-256 after ``key ⊕ ipad`` and after ``key ⊕ opad`` (a key longer than the block is
        hashed first, as RFC 2104 says; ours are 32 bytes)."""
        key, block = self.index_key, hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        return (hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key)))


def token_hash(token: str) -> str:
    """Hash an API bearer token for storage (tokens are 256-bit random, so SHA-256 suffices)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
