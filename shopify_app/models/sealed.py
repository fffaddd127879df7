"""`Sealed`: a model attribute that reads and writes plaintext over an AES-GCM column.

    class Contact(db.Model):
        phone_ciphertext: Mapped[str] = mapped_column(Text)
        phone = Sealed()            # contact.phone -> "+14155550142"; assignment encrypts

The ciphertext is bound (associated data) to the table, the column and the owning shop
(`shop_id`, or the row's own `id` for `shops`), so a value copied to another shop's row or
another column fails to decrypt. Only the `<name>_ciphertext` column exists in the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..gsm import UCS2, measure
from ..security.crypto import aad_for, keyring


class Sealed:
    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.column = f"{name}_ciphertext"
        self.table = getattr(owner, "__tablename__", None)

    def seal_json(self, shop_id: int, value: Mapping[str, Any] | None) -> str | None:
        """`value` as compact JSON, sealed for a row of shop `shop_id` written without the ORM
        (a bulk INSERT ... ON CONFLICT); None for nothing to seal."""
        if not value:
            return None
        text = json.dumps(dict(value), separators=(",", ":"))
        return keyring().encrypt(text, aad=aad_for(table=str(self.table), column=self.name, shop_id=shop_id))

    def aad(self, row: Any) -> str:
        owner_id = row.id if row.__tablename__ == "shops" else row.shop_id
        if owner_id is None:
            raise ValueError(f"{row.__tablename__}.{self.name}: set the shop (and flush a new shop) before sealing")
        return aad_for(table=row.__tablename__, column=self.name, shop_id=owner_id)

    def __get__(self, row: Any, owner: type | None = None) -> Any:
        if row is None:
            return self
        token = getattr(row, self.column)
        return None if token is None else keyring().decrypt(token, aad=self.aad(row))

    def __set__(self, row: Any, value: str | None) -> None:
        setattr(row, self.column, None if value in (None, "") else keyring().encrypt(str(value), aad=self.aad(row)))


class SealedName(Sealed):
    """A sealed name that also keeps `<name>_len` and the row's `names_ucs2` flag current.

    The length is in SMS encoding units (a "€" counts 2), measured by gsm.py as the segment
    counter measures (templating.py), so a launch's estimate that renders the longest name is a
    true upper bound.
    """

    def __set__(self, row: Any, value: str | None) -> None:
        super().__set__(row, value)
        encoding, characters = measure(value) if value else (None, 0)
        setattr(row, f"{self.name}_len", characters)
        # Sticky on purpose: a UCS-2 name once seen keeps the flag, so the estimate stays an
        # upper bound without decrypting the other name on every write.
        row.names_ucs2 = bool(row.names_ucs2) or encoding == UCS2


def sealed_attributes(model: type) -> list[Sealed]:
    return [value for value in vars(model).values() if isinstance(value, Sealed)]
