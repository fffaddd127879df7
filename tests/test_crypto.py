"""Encryption at rest and blind indexes: what a stored value may and may not be turned into."""

from __future__ import annotations

import base64
import os

import pytest

from shopify_app.security.crypto import (
    DecryptionError,
    Keyring,
    aad_for,
    keyring,
    normalise_email,
)

PHONE = "+306912345678"
PHONE_AAD = aad_for(table="contacts", column="phone", shop_id=42)
OTHER_SHOP_AAD = aad_for(table="contacts", column="phone", shop_id=43)


def new_key() -> bytes:
    return os.urandom(32)


def make_ring(*kids_and_keys: tuple[str, bytes], blind_index_key: bytes | None = None) -> Keyring:
    keys = dict(kids_and_keys) or {"k1": new_key()}
    return Keyring(keys, blind_index_key or new_key())


def payload(token: str) -> bytes:
    encoded = token.split(".")[2]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def with_payload(token: str, blob: bytes) -> str:
    version, kid, _ = token.split(".")
    return f"{version}.{kid}.{base64.urlsafe_b64encode(blob).rstrip(b'=').decode()}"


def test_aad_names_table_column_and_shop() -> None:
    assert PHONE_AAD == "contacts.phone:shop=42"
    assert aad_for(table="shops", column="access_token", shop_id=7) == "shops.access_token:shop=7"


def test_encrypted_value_round_trips() -> None:
    ring = make_ring()
    token = ring.encrypt(PHONE, aad=PHONE_AAD)
    assert ring.decrypt(token, aad=PHONE_AAD) == PHONE


def test_token_is_versioned_names_its_key_and_hides_the_plaintext() -> None:
    ring = make_ring(("k1", new_key()))
    token = ring.encrypt(PHONE, aad=PHONE_AAD)
    version, kid, encoded = token.split(".")
    assert (version, kid) == ("v1", "k1")
    assert "=" not in encoded
    assert PHONE not in token


@pytest.mark.parametrize("value", ["Ελένη Παπαδοπούλου", "名前 🌸", "", "a" * 10_000])
def test_unicode_empty_and_long_values_round_trip(value: str) -> None:
    ring = make_ring()
    assert ring.decrypt(ring.encrypt(value, aad=PHONE_AAD), aad=PHONE_AAD) == value


def test_same_value_encrypts_differently_each_time_with_a_fresh_nonce() -> None:
    ring = make_ring()
    first, second = ring.encrypt(PHONE, aad=PHONE_AAD), ring.encrypt(PHONE, aad=PHONE_AAD)
    assert first != second
    assert payload(first)[:12] != payload(second)[:12]


def test_ciphertext_copied_to_another_shop_fails() -> None:
    ring = make_ring()
    token = ring.encrypt(PHONE, aad=PHONE_AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(token, aad=OTHER_SHOP_AAD)


def test_ciphertext_copied_to_another_column_fails() -> None:
    ring = make_ring()
    token = ring.encrypt(PHONE, aad=PHONE_AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(token, aad=aad_for(table="contacts", column="email", shop_id=42))


@pytest.mark.parametrize("position", [0, 12, -1])  # nonce, ciphertext, tag
def test_tampered_byte_fails(position: int) -> None:
    ring = make_ring()
    token = ring.encrypt(PHONE, aad=PHONE_AAD)
    blob = bytearray(payload(token))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionError):
        ring.decrypt(with_payload(token, bytes(blob)), aad=PHONE_AAD)


def test_rewritten_key_id_fails_even_when_the_key_matches() -> None:
    key = new_key()
    token = make_ring(("k1", key)).encrypt(PHONE, aad=PHONE_AAD)
    forged = token.replace("v1.k1.", "v1.alias.", 1)
    with pytest.raises(DecryptionError):
        make_ring(("alias", key)).decrypt(forged, aad=PHONE_AAD)


def test_unknown_key_id_fails() -> None:
    token = make_ring(("k1", new_key())).encrypt(PHONE, aad=PHONE_AAD)
    with pytest.raises(DecryptionError, match="unknown key id"):
        make_ring(("k2", new_key())).decrypt(token, aad=PHONE_AAD)


def test_same_kid_with_a_different_key_fails() -> None:
    token = make_ring(("k1", new_key())).encrypt(PHONE, aad=PHONE_AAD)
    with pytest.raises(DecryptionError):
        make_ring(("k1", new_key())).decrypt(token, aad=PHONE_AAD)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v1",
        "v1.k1",
        "v1.k1.",
        "v1.k1.AAAA.extra",
        "v2.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.bad kid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.k1.not*base64!",
        "v1.k1.AAAA+/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.k1.A",
        "v1.k1.AAAAAAAA",
        PHONE,
    ],
)
def test_malformed_token_fails_with_decryption_error(token: str) -> None:
    ring = make_ring(("k1", new_key()))
    with pytest.raises(DecryptionError):
        ring.decrypt(token, aad=PHONE_AAD)


def test_decryption_error_is_a_value_error() -> None:
    assert issubclass(DecryptionError, ValueError)


def test_rotation_old_tokens_stay_readable_and_move_to_the_new_key() -> None:
    k1, k2, blind = new_key(), new_key(), new_key()
    old_ring = make_ring(("k1", k1), blind_index_key=blind)
    token = old_ring.encrypt(PHONE, aad=PHONE_AAD)

    new_ring = make_ring(("k2", k2), ("k1", k1), blind_index_key=blind)
    assert new_ring.decrypt(token, aad=PHONE_AAD) == PHONE
    assert new_ring.needs_rotation(token) is True

    rotated = new_ring.reencrypt(token, aad=PHONE_AAD)
    assert rotated.split(".")[1] == "k2"
    assert new_ring.needs_rotation(rotated) is False
    assert make_ring(("k2", k2)).decrypt(rotated, aad=PHONE_AAD) == PHONE


def test_reencrypt_with_the_wrong_aad_fails() -> None:
    ring = make_ring()
    token = ring.encrypt(PHONE, aad=PHONE_AAD)
    with pytest.raises(DecryptionError):
        ring.reencrypt(token, aad=OTHER_SHOP_AAD)


def test_needs_rotation_rejects_malformed_tokens() -> None:
    with pytest.raises(DecryptionError):
        make_ring().needs_rotation("not-a-token")


def test_error_messages_never_contain_the_plaintext() -> None:
    secret = "+306900000001"
    ring = make_ring(("k1", new_key()))
    token = ring.encrypt(secret, aad=PHONE_AAD)
    blob = bytearray(payload(token))
    blob[-1] ^= 0x01
    attempts = [
        lambda: ring.decrypt(token, aad=OTHER_SHOP_AAD),
        lambda: ring.decrypt(with_payload(token, bytes(blob)), aad=PHONE_AAD),
        lambda: make_ring(("k2", new_key())).decrypt(token, aad=PHONE_AAD),
        lambda: ring.decrypt(secret, aad=PHONE_AAD),
        lambda: ring.decrypt(f"{secret}.k1.AAAA", aad=PHONE_AAD),
    ]
    for attempt in attempts:
        with pytest.raises(DecryptionError) as caught:
            attempt()
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)
        assert caught.value.__cause__ is None


def test_keyring_repr_hides_key_material() -> None:
    key = new_key()
    text = repr(make_ring(("k1", key)))
    assert "k1" in text
    assert key.hex() not in text
    assert repr(key) not in text


@pytest.mark.parametrize(
    ("keys", "blind_index_key"),
    [
        ({}, b"b" * 32),
        ({"k1": b"short"}, b"b" * 32),
        ({"bad.kid": b"k" * 32}, b"b" * 32),
        ({"k1": b"k" * 32}, b"short"),
    ],
)
def test_keyring_rejects_unusable_keys(keys: dict[str, bytes], blind_index_key: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the message varies per problem)
        Keyring(keys, blind_index_key)


def test_blind_index_is_deterministic_per_shop() -> None:
    ring = make_ring()
    first = ring.blind_index(PHONE, kind="phone", shop_id=42)
    assert first == ring.blind_index(PHONE, kind="phone", shop_id=42)
    assert len(first) == 64
    assert int(first, 16) >= 0


def test_blind_index_differs_across_shops_kinds_and_keys() -> None:
    blind = new_key()
    ring = make_ring(blind_index_key=blind)
    base = ring.blind_index(PHONE, kind="phone", shop_id=42)
    assert base != ring.blind_index(PHONE, kind="phone", shop_id=43)
    assert base != ring.blind_index(PHONE, kind="email", shop_id=42)
    assert base != make_ring(blind_index_key=new_key()).blind_index(PHONE, kind="phone", shop_id=42)
    # The encryption keys play no part: rotating them keeps every index valid.
    assert base == make_ring(("k9", new_key()), blind_index_key=blind).blind_index(PHONE, kind="phone", shop_id=42)


def test_blind_index_kind_cannot_smuggle_a_separator() -> None:
    with pytest.raises(ValueError, match="kind"):
        make_ring().blind_index(PHONE, kind="phone:42", shop_id=1)


def test_normalised_emails_share_one_blind_index() -> None:
    ring = make_ring()
    assert normalise_email("  Eleni@Example.COM \n") == "eleni@example.com"
    assert ring.blind_index(normalise_email(" Eleni@Example.COM"), kind="email", shop_id=1) == ring.blind_index(
        normalise_email("eleni@example.com"), kind="email", shop_id=1
    )


def test_keyring_for_the_app_comes_from_config_and_is_built_once() -> None:
    from shopify_app import create_app

    app = create_app({"APP_ENV": "test", "DATABASE_URL": "sqlite://"})
    with app.app_context():
        ring = keyring()
        assert ring is keyring()
        assert app.extensions["sms_blossom_keyring"] is ring
        assert ring.current_kid == next(iter(app.config["ENCRYPTION_KEYRING"]))
        token = ring.encrypt(PHONE, aad=PHONE_AAD)
        assert Keyring.from_config(app.config).decrypt(token, aad=PHONE_AAD) == PHONE


# --- The token parser is strict: one spelling per value ----------------------------------------


def strays(token: str) -> list[str]:
    """Spellings of a valid token that differ from it by stray characters or separators."""
    version, kid, encoded = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # The payload's last character carries unused low bits; flipping one decodes to the same bytes.
    last = alphabet[alphabet.index(encoded[-1]) ^ 1]
    return [
        f" {token}",
        f"{token} ",
        f"{token}\n",
        f"{version}.{kid}. {encoded}",
        f"{version}.{kid}.{encoded[:8]}\t{encoded[8:]}",
        f"{version}.{kid}.{encoded[:8]}\n{encoded[8:]}",
        f"{token}=",
        f"{token}==",
        f"{version}.{kid}.{encoded[:8]}={encoded[8:]}",
        f"{version}.{kid}.{encoded[:-1]}+",
        f"{version}.{kid}.{encoded[:-1]}/",
        f"{version}.{kid}.{encoded[:-1]}*",
        f"{version}.{kid}.{encoded[:-1]}\u0661",  # an Arabic-Indic digit
        f"{version}.{kid}.{encoded[:-1]}é",
        f"{version}.{kid}.{encoded[:-1]}\x00",
        f"{version}.{kid}.{encoded[:-1]}{last}",
        f"{token}.",
        f".{token}",
        f"{version}..{kid}.{encoded}",
        f"{version}.{kid}..{encoded}",
        f"{version}.{kid}.{encoded[:8]}.{encoded[8:]}",
    ]


def test_a_token_with_any_stray_character_or_separator_is_refused_before_decryption() -> None:
    ring = make_ring(("k1", new_key()))
    token = ring.encrypt(PHONE, aad=PHONE_AAD)
    assert ring.decrypt(token, aad=PHONE_AAD) == PHONE
    for stray in strays(token):
        with pytest.raises(DecryptionError) as caught:
            ring.decrypt(stray, aad=PHONE_AAD)
        assert "authentication" not in str(caught.value), repr(stray)  # the parser refused it


MALFORMED_KIDS = ["", "k" * 33, "k 1", "k/1", "k+1", "kä", "k1\n"]


@pytest.mark.parametrize("kid", MALFORMED_KIDS)
def test_a_key_id_that_is_not_1_to_32_letters_digits_dashes_or_underscores_is_refused(kid: str) -> None:
    ring = make_ring(("k1", new_key()))
    _, _, encoded = ring.encrypt(PHONE, aad=PHONE_AAD).split(".")
    with pytest.raises(DecryptionError, match="malformed key id"):
        ring.decrypt(f"v1.{kid}.{encoded}", aad=PHONE_AAD)
    with pytest.raises(DecryptionError, match="malformed key id"):
        ring.needs_rotation(f"v1.{kid}.{encoded}")


@pytest.mark.parametrize("kid", ["k" * 32, "K-_9", "k"])
def test_a_well_formed_key_id_the_keyring_lacks_is_unknown_not_malformed(kid: str) -> None:
    ring = make_ring(("k1", new_key()))
    _, _, encoded = ring.encrypt(PHONE, aad=PHONE_AAD).split(".")
    with pytest.raises(DecryptionError, match="unknown key id"):
        ring.decrypt(f"v1.{kid}.{encoded}", aad=PHONE_AAD)
    assert ring.needs_rotation(f"v1.{kid}.{encoded}") is True


def test_a_keyring_takes_key_ids_of_1_to_32_characters() -> None:
    assert make_ring(("k" * 32, new_key())).current_kid == "k" * 32
    assert make_ring(("K-_9", new_key())).current_kid == "K-_9"
    for kid in ("", "k" * 33, "k 1", "kä"):
        with pytest.raises(ValueError, match="key id"):
            make_ring((kid, new_key()))


@pytest.mark.parametrize("version", ["", "v", "V1", "v2", "v01", " v1", "v1 ", "v1\n"])
def test_only_version_v1_is_read(version: str) -> None:
    ring = make_ring(("k1", new_key()))
    _, kid, encoded = ring.encrypt(PHONE, aad=PHONE_AAD).split(".")
    with pytest.raises(DecryptionError, match="unknown version"):
        ring.decrypt(f"{version}.{kid}.{encoded}", aad=PHONE_AAD)


def test_a_payload_shorter_than_nonce_and_tag_is_refused_and_exactly_that_long_is_read() -> None:
    ring = make_ring(("k1", new_key()))
    empty = ring.encrypt("", aad=PHONE_AAD)
    assert len(payload(empty)) == 12 + 16
    assert ring.decrypt(empty, aad=PHONE_AAD) == ""
    for cut in (27, 12, 1):
        with pytest.raises(DecryptionError, match="too short"):
            ring.decrypt(with_payload(empty, payload(empty)[:cut]), aad=PHONE_AAD)


def test_nonce_and_tag_are_split_at_12_bytes() -> None:
    ring = make_ring(("k1", new_key()))
    token = ring.encrypt(PHONE, aad=PHONE_AAD)
    blob = payload(token)
    assert len(blob) == 12 + len(PHONE) + 16
    moved = blob[1:12] + blob[:1] + blob[12:]  # the same bytes, the nonce rotated by one
    with pytest.raises(DecryptionError, match="authentication"):
        ring.decrypt(with_payload(token, moved), aad=PHONE_AAD)


@pytest.mark.parametrize("token", [None, b"v1.k1.AAAA", 42])
def test_a_token_that_is_not_a_string_is_refused(token: object) -> None:
    with pytest.raises(DecryptionError, match=r"version\.kid\.payload"):
        make_ring().decrypt(token, aad=PHONE_AAD)  # type: ignore[arg-type]


def test_invalid_utf8_plaintext_is_a_decryption_error() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = new_key()
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, b"\xff\xfe", f"v1.k1|{PHONE_AAD}".encode())
    token = f"v1.k1.{base64.urlsafe_b64encode(nonce + sealed).rstrip(b'=').decode()}"
    with pytest.raises(DecryptionError) as caught:
        make_ring(("k1", key)).decrypt(token, aad=PHONE_AAD)
    assert str(caught.value) == "decrypted value is not valid UTF-8"


# --- Known answers and exact messages ----------------------------------------------------------

KAT_KEY = bytes(range(32))
KAT_NONCE = bytes(range(100, 112))
KAT_PLAINTEXT = "+3069000000154"
# AES-256-GCM(KAT_KEY, KAT_NONCE, KAT_PLAINTEXT, aad=b"v1.k1|contacts.phone:shop=42"), nonce first,
# base64url without padding (it ends in "X", uses "-" and "_"): pinned once, checked below.
KAT_TOKEN = "v1.k1.ZGVmZ2hpamtsbW5vYyjuUEDZZq4OUm_Z71EmyktfNl_IsBcEuRdrL-8X"


def test_encryption_matches_the_pinned_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from shopify_app.security import crypto

    ring = Keyring({"k1": KAT_KEY}, b"b" * 32)
    monkeypatch.setattr(crypto.os, "urandom", lambda n: KAT_NONCE[:n])
    assert ring.encrypt(KAT_PLAINTEXT, aad=PHONE_AAD) == KAT_TOKEN
    sealed = AESGCM(KAT_KEY).encrypt(KAT_NONCE, KAT_PLAINTEXT.encode(), b"v1.k1|contacts.phone:shop=42")
    assert payload(KAT_TOKEN) == KAT_NONCE + sealed
    assert ring.decrypt(KAT_TOKEN, aad=PHONE_AAD) == KAT_PLAINTEXT


def test_values_that_belong_to_no_shop_say_so_in_their_aad() -> None:
    assert aad_for(table="app", column="secret", shop_id=None) == "app.secret:shop=none"
    assert aad_for(table="t", column="c", shop_id=0) == "t.c:shop=0"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("v1.k1", "token is not of the form version.kid.payload"),
        ("v2.k1.AAAA", "token has an unknown version"),
        ("v1.k 1.AAAA", "token has a malformed key id"),
        ("v1.k1.AAAA/AAA", "token payload is not base64url"),
        ("v1.k1.AAAA+AAA", "token payload is not base64url"),
        ("v1.k1.AAAA=AAA", "token payload is not base64url"),
        ("v1.k1.AAAA AAA", "token payload is not valid base64url"),
        ("v1.k1.AAAA AAAA", "token payload is not valid base64url"),  # 8 characters once the space goes
        ("v1.k1.AAAA*AAAA", "token payload is not valid base64url"),
        ("v1.k1.AAAA\nAAAA", "token payload is not valid base64url"),
        ("v1.k1.AAAAé", "token payload is not valid base64url"),
        ("v1.k1.AAAAB", "token payload is not valid base64url"),  # 5 characters hold no whole byte
        ("v1.k1.AB", "token payload is not canonical base64url"),  # "AA" is the one spelling
        ("v1.k1.AAAA", "token payload is too short to hold a nonce and tag"),
        ("v1.k2." + "A" * 38, "token was encrypted with unknown key id 'k2'"),
        ("v1.k1." + "A" * 38, "token failed authentication for 'contacts.phone:shop=42' (tampered or wrong row)"),
    ],
)
def test_each_refusal_names_its_reason(token: str, message: str) -> None:
    with pytest.raises(DecryptionError) as caught:
        make_ring(("k1", new_key())).decrypt(token, aad=PHONE_AAD)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("keys", "blind_index_key", "message"),
    [
        ({}, b"b" * 32, "a keyring needs at least one encryption key"),
        ({"k.1": b"k" * 32}, b"b" * 32, "key id 'k.1' must be 1-32 letters, digits, - or _"),
        ({"k1": b"k" * 31}, b"b" * 32, "key 'k1' must be 32 bytes (AES-256), got 31"),
        ({"k1": b"k" * 33}, b"b" * 32, "key 'k1' must be 32 bytes (AES-256), got 33"),
        ({"k1": b"k" * 32}, b"b" * 31, "the blind index key must be at least 32 bytes"),
    ],
)
def test_an_unusable_keyring_says_what_is_wrong(keys: dict, blind_index_key: bytes, message: str) -> None:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 (the message is checked exactly below)
        Keyring(keys, blind_index_key)
    assert str(caught.value) == message


def test_a_blind_index_key_longer_than_32_bytes_is_fine() -> None:
    assert len(make_ring(blind_index_key=b"b" * 64).blind_index(PHONE, kind="phone", shop_id=1)) == 64


def test_a_bad_blind_index_kind_is_named() -> None:
    with pytest.raises(ValueError) as caught:  # noqa: PT011
        make_ring().blind_index(PHONE, kind="Phone", shop_id=1)
    assert str(caught.value) == "blind index kind 'Phone' must be lower-case letters, digits or _"


def test_a_sealer_seals_as_encrypt_does_with_a_new_nonce_every_value():
    ring = make_ring(("k1", new_key()))
    seal = ring.sealer(aad="contacts.phone:shop=7")
    tokens = [seal(f"+1415555{n:04d}") for n in range(1000)]  # past one batch of nonces
    assert [ring.decrypt(token, aad="contacts.phone:shop=7") for token in tokens] == [
        f"+1415555{n:04d}" for n in range(1000)
    ]
    nonces = {base64.urlsafe_b64decode(token.split(".")[2] + "==")[:12] for token in tokens}
    assert len(nonces) == 1000
    with pytest.raises(DecryptionError):
        ring.decrypt(tokens[0], aad="contacts.phone:shop=8")


def test_a_blind_indexer_gives_the_blind_index():
    ring = make_ring(("k1", new_key()))
    index = ring.blind_indexer(kind="phone", shop_id=3)
    for value in ("+14155550142", "", "é", "+14155550143"):
        assert index(value) == ring.blind_index(value, kind="phone", shop_id=3)
    assert index("+1") != ring.blind_indexer(kind="phone", shop_id=4)("+1")
