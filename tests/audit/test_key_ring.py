"""The key ring: ciphertexts name their key, old ciphertexts stay readable, settings are checked."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service import create_app
from service.config import ConfigError
from service.crypto import RRNCipher, UnknownKey, key_id_of

OLD, NEW, OTHER = b"o" * 32, b"n" * 32, b"x" * 32
DIGITS = "9001011234567"


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def test_a_ciphertext_names_its_key_and_the_ring_reads_old_ones() -> None:
    old, ring = RRNCipher.from_data_key(OLD), RRNCipher.from_data_key(NEW, [OLD])
    blob = old.encrypt(DIGITS)
    assert key_id_of(blob) == old.key_id != ring.key_id
    assert ring.decrypt(blob) == DIGITS
    assert ring.candidate_indexes(DIGITS) == [ring.blind_index(DIGITS), old.blind_index(DIGITS)]
    assert key_id_of(ring.encrypt(DIGITS)) == ring.key_id
    with pytest.raises(UnknownKey):
        RRNCipher.from_data_key(NEW).decrypt(blob)  # without the old key in the ring


def test_ciphertexts_from_before_key_ids_are_still_read() -> None:
    old = RRNCipher.from_data_key(OLD)
    nonce = os.urandom(12)
    legacy = nonce + AESGCM(old.enc_key).encrypt(nonce, DIGITS.encode(), b"seonbyeol:rrn:v1")  # release 0.1/0.2
    assert key_id_of(legacy) is None
    ring = RRNCipher.from_data_key(NEW, [OLD])
    assert ring.decrypt(legacy) == DIGITS and ring.key_of_ciphertext(legacy) == old.key_id
    with pytest.raises(InvalidTag):
        RRNCipher.from_data_key(OTHER).decrypt(legacy)


def test_a_swapped_key_id_header_is_refused() -> None:
    ring = RRNCipher.from_data_key(NEW, [OLD])
    blob = bytearray(ring.encrypt(DIGITS))
    blob[1:5] = bytes.fromhex(ring.previous[0].key_id)  # claim the old key
    with pytest.raises(InvalidTag):
        ring.decrypt(bytes(blob))


def test_a_key_twice_in_the_ring_is_refused() -> None:
    with pytest.raises(ValueError):
        RRNCipher.from_data_key(NEW, [OLD, OLD])


def _app(tmp_path: Path, **settings: object) -> None:
    create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "s",
                "INSTANCE_PATH": str(tmp_path / "i"), "DATA_KEY": _b64(NEW), **settings})  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"OLD_DATA_KEYS": "not base64!"}, "SEONBYEOL_OLD_DATA_KEYS"),
        ({"OLD_DATA_KEYS": _b64(b"short")}, "at least 32 bytes"),
        ({"OLD_DATA_KEYS": _b64(NEW)}, "current key"),
        ({"AUDIT_RETENTION_DAYS": "729"}, "730"),
        ({"AUDIT_RETENTION_DAYS": "two years"}, "SEONBYEOL_AUDIT_RETENTION_DAYS"),
    ],
)
def test_bad_key_and_retention_settings_stop_start_up(tmp_path: Path, settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _app(tmp_path, **settings)


def test_old_keys_and_retention_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEONBYEOL_OLD_DATA_KEYS", f"{_b64(OLD)}, {_b64(OTHER)}")
    monkeypatch.setenv("SEONBYEOL_AUDIT_RETENTION_DAYS", "730")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "s",
                      "INSTANCE_PATH": str(tmp_path / "i"), "DATA_KEY": _b64(NEW)})  # fmt: skip
    cipher = app.extensions["seonbyeol.cipher"]
    assert [k.key_id for k in cipher.previous] == [RRNCipher.from_data_key(k).key_id for k in (OLD, OTHER)]
    assert app.config["AUDIT_RETENTION_DAYS"] == 730
