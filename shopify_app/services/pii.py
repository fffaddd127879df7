"""Field-level encryption of a shop's PII columns, through the app keyring.

Every value is bound (AES-GCM associated data) to its table, column and shop, so a ciphertext
copied to another shop's row or another column fails to decrypt.
"""

from __future__ import annotations

from ..security.crypto import aad_for, keyring, normalise_email


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
