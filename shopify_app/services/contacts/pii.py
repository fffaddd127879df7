"""Field-level encryption of a shop's PII columns, through the app keyring.

Every value is bound (AES-GCM associated data) to its table, column and shop, so a ciphertext
copied to another shop's row or another column fails to decrypt.
"""

from __future__ import annotations

from ...security.crypto import aad_for, keyring, normalise_email


def seal(value: str | None, *, table: str, column: str, shop_id: int) -> str | None:
    if value is None or value == "":
        return None
    return keyring().encrypt(value, aad=aad_for(table=table, column=column, shop_id=shop_id))


def unseal(token: str | None, *, table: str, column: str, shop_id: int) -> str | None:
    if token is None:
        return None
    return keyring().decrypt(token, aad=aad_for(table=table, column=column, shop_id=shop_id))


def phone_hash(e164: str, *, shop_id: int) -> str:
    return keyring().blind_index(e164, kind="phone", shop_id=shop_id)


def email_hash(email: str, *, shop_id: int) -> str:
    return keyring().blind_index(normalise_email(email), kind="email", shop_id=shop_id)


def limit_subject(value: str, *, kind: str, shop_id: int | None = None) -> str:
    """How a rate-limit key names a phone or an IP: a keyed hash (the blind index's HMAC, its own
    kind, so it matches no stored index), never the value, since Redis keys are in clear.
    `shop_id=None` for limits that are not per shop (0 is no shop's id)."""
    return keyring().blind_index(value, kind=f"limit_{kind}", shop_id=shop_id or 0)
