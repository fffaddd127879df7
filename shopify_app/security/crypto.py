"""Encryption at rest (AES-256-GCM) and blind indexes for personal data and shop secrets.

Tokens look like `v1.<kid>.<base64url(nonce || ciphertext+tag)>` without padding: the version
lets the format change later, the key id lets old rows stay readable while keys rotate (the
first key in ENCRYPTION_KEYS encrypts, every key decrypts). Each value is bound to its table,
column and shop through associated data, so a ciphertext copied into another shop's row, or
into another column, fails to decrypt instead of leaking.

Encrypted columns cannot be searched, so lookups go through a blind index: an HMAC of the
normalised value, keyed separately and scoped per shop, so equal phones in two shops do not
link. Only `keyring()` touches Flask; everything else works on plain values.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Container, Iterator, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

VERSION = "v1"
NONCE_BYTES = 12  # 96 bits: the size GCM is designed for; random per value.
TAG_BYTES = 16
KEY_BYTES = 32  # AES-256
MIN_BLIND_INDEX_KEY_BYTES = 32
EXTENSION_NAME = "sms_blossom_keyring"

_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # no "." so the token splits unambiguously
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_KIND = re.compile(r"[a-z][a-z0-9_]*")  # no ":" so the HMAC input splits unambiguously


class DecryptionError(ValueError):
    """A token could not be turned back into plaintext: malformed, unknown key, or forged.

    Messages name the key id and associated data at most, never the plaintext or the token,
    so they are safe to log.
    """


def aad_for(*, table: str, column: str, shop_id: int | None) -> str:
    """Associated data binding a value to where it lives, e.g. "contacts.phone:shop=42".

    Shop-level rows (the shop's own tokens) pass the shop's own id; `None` is only for values
    that belong to no shop, and is spelt out so it can never collide with a real id.
    """
    owner = "none" if shop_id is None else str(int(shop_id))
    return f"{table}.{column}:shop={owner}"


def normalise_email(value: str) -> str:
    """The one spelling of an email address that blind indexes are computed over."""
    return value.strip().lower()


class Keyring:
    """The encryption keys (first one current) and the blind index key, validated once."""

    def __init__(self, keys: Mapping[str, bytes], blind_index_key: bytes) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one encryption key")
        for kid, key in keys.items():
            if not _KID.fullmatch(kid):
                raise ValueError(f"key id {kid!r} must be 1-32 letters, digits, - or _")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {kid!r} must be {KEY_BYTES} bytes (AES-256), got {len(key)}")
        if len(blind_index_key) < MIN_BLIND_INDEX_KEY_BYTES:
            raise ValueError(f"the blind index key must be at least {MIN_BLIND_INDEX_KEY_BYTES} bytes")
        self._ciphers = {kid: AESGCM(bytes(key)) for kid, key in keys.items()}
        self._blind_index_key = bytes(blind_index_key)
        self.current_kid: str = next(iter(keys))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Keyring:
        """Build from the keys `config.py` already parsed and validated."""
        return cls(config["ENCRYPTION_KEYRING"], config["BLIND_INDEX_KEY_BYTES"])

    def __repr__(self) -> str:
        # Key material must never reach a log line or a traceback.
        return f"Keyring(kids={list(self._ciphers)!r}, current={self.current_kid!r})"

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def encrypt(self, plaintext: str, *, aad: str) -> str:
        """Encrypt with the current key and a fresh random nonce."""
        kid = self.current_kid
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[kid].encrypt(nonce, plaintext.encode("utf-8"), _associated_data(kid, aad))
        encoded = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{VERSION}.{kid}.{encoded}"

    def sealer(self, *, aad: str) -> Callable[[str], str]:
        """`encrypt(value, aad=aad)` for many values: the cipher, associated data and token
        header are looked up once, and nonces drawn from the OS 4 KB at a time (a bulk
        import seals four columns of every row with a handful of `aad`s)."""
        kid = self.current_kid
        cipher, associated = self._ciphers[kid], _associated_data(kid, aad)
        header = f"{VERSION}.{kid}."
        nonces = _nonces()

        def seal(plaintext: str) -> str:
            nonce = next(nonces)
            sealed = nonce + cipher.encrypt(nonce, plaintext.encode("utf-8"), associated)
            return header + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

        return seal

    def decrypt(self, token: str, *, aad: str) -> str:
        """Decrypt with whichever key the token names; any failure is a `DecryptionError`."""
        kid, blob = _parse(token, known=self._ciphers)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise DecryptionError(f"token was encrypted with unknown key id {kid!r}")
        nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        try:
            plaintext = cipher.decrypt(nonce, sealed, _associated_data(kid, aad))
        except InvalidTag:
            raise DecryptionError(f"token failed authentication for {aad!r} (tampered or wrong row)") from None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError("decrypted value is not valid UTF-8") from None

    def needs_rotation(self, token: str) -> bool:
        """True when the token was not encrypted with the current key (read the header only)."""
        kid, _ = _parse(token)
        return kid != self.current_kid

    def reencrypt(self, token: str, *, aad: str) -> str:
        """Move a value onto the current key; how rotation retires an old key."""
        return self.encrypt(self.decrypt(token, aad=aad), aad=aad)

    def blind_index(self, value: str, *, kind: str, shop_id: int) -> str:
        """Hex HMAC-SHA256 of an already normalised value (E.164 phone, `normalise_email`).

        Kind and shop id are inside the HMAC so a phone's index never equals an email's, and
        the same phone in two shops cannot be linked across them.
        """
        if not _KIND.fullmatch(kind):
            raise ValueError(f"blind index kind {kind!r} must be lower-case letters, digits or _")
        message = f"{kind}:{int(shop_id)}:{value}".encode()
        return hmac.new(self._blind_index_key, message, hashlib.sha256).hexdigest()

    def blind_indexer(self, *, kind: str, shop_id: int) -> Callable[[str], str]:
        """`blind_index(value, kind=kind, shop_id=shop_id)` for many values: copies of an HMAC
        already keyed and fed the `kind:shop:` prefix (the same bytes, so the same digest)."""
        if not _KIND.fullmatch(kind):
            raise ValueError(f"blind index kind {kind!r} must be lower-case letters, digits or _")
        prefixed = hmac.new(self._blind_index_key, f"{kind}:{int(shop_id)}:".encode(), hashlib.sha256)

        def index(value: str) -> str:
            digest = prefixed.copy()
            digest.update(value.encode())
            return digest.hexdigest()

        return index


def keyring() -> Keyring:
    """The current app's keyring, built on first use and kept with the app's extensions."""
    ring = current_app.extensions.get(EXTENSION_NAME)
    if ring is None:
        ring = Keyring.from_config(current_app.config)
        current_app.extensions[EXTENSION_NAME] = ring
    return ring


@functools.lru_cache(maxsize=4096)  # a batch decrypts one shop's columns: a handful of distinct values
def _associated_data(kid: str, aad: str) -> bytes:
    # The header is authenticated too, so a token's version and key id cannot be rewritten.
    return f"{VERSION}.{kid}|{aad}".encode()


def _nonces(batch: int = 4096 // NONCE_BYTES) -> Iterator[bytes]:
    """Random nonces, each used once: one `os.urandom` call per `batch` of them. A process
    forked while holding some (a worker pool) draws its own instead: the parent and the child
    would otherwise both use the rest, and a repeated GCM nonce leaks the key stream."""
    while True:
        pid = os.getpid()
        pool = os.urandom(NONCE_BYTES * batch)
        for start in range(0, len(pool), NONCE_BYTES):
            if os.getpid() != pid:
                break
            yield pool[start : start + NONCE_BYTES]


def _parse(token: str, known: Container[str] = ()) -> tuple[str, bytes]:
    """Split and decode a token's header and payload, or raise `DecryptionError`. A key id in
    `known` (the keyring's) is well-formed without the pattern's check: half of _parse's time."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise DecryptionError("token is not of the form version.kid.payload")
    version, kid, encoded = parts
    if version != VERSION:
        raise DecryptionError("token has an unknown version")  # not echoed: it may be plaintext
    if kid not in known and not _KID.fullmatch(kid):
        raise DecryptionError("token has a malformed key id")
    if "+" in encoded or "/" in encoded or "=" in encoded:  # strict mode below rejects the rest
        raise DecryptionError("token payload is not base64url")
    try:  # C calls on bytes (str.translate is a slow per-character mapping); strict_mode
        # refuses whitespace and anything outside the alphabet
        standard = encoded.encode("ascii").translate(_FROM_URLSAFE) + b"=" * (-len(encoded) % 4)
        blob = binascii.a2b_base64(standard, strict_mode=True)
    except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
        raise DecryptionError("token payload is not valid base64url") from None
    # The decoder ignores the unused low bits of the last character, so four spellings would
    # decode alike; only the one we write is a token.
    if binascii.b2a_base64(blob, newline=False) != standard:
        raise DecryptionError("token payload is not canonical base64url")
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("token payload is too short to hold a nonce and tag")
    return kid, blob
