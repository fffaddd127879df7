"""What a shopper reads when the storefront sign-up goes wrong: one plain sentence per field, in
the form's language (its `locale` field, else the browser's Accept-Language, else English), in
the Liquid page and in the JSON error shape alike."""

from __future__ import annotations

import re
import string

import pytest

from shopify_app.services.contacts.signup import SIGNUP_LIMITS
from shopify_app.storefront_text import LANGUAGES, MESSAGES, choose_language

from .shopify_signing import proxy_query
from .test_signup_proxy import FORM, contacts, post

NO_CONSENT = {key: value for key, value in FORM.items() if key != "consent"}
TICK_THE_BOX = {
    "en": "Tick the box to agree to receive texts.",
    "fr": "Cochez la case pour accepter de recevoir nos SMS.",
    "de": "Bitte setzen Sie das Häkchen, um dem Empfang unserer SMS zuzustimmen.",
    "es": "Marca la casilla para aceptar recibir nuestros SMS.",
}
# What marshmallow and our services say to developers; a shopper must never read them.
DEVELOPER_WORDS = ("Missing data for required field", "Not a valid", "Longer than", "Please check the form.")


@pytest.fixture
def client(app, shop):
    return app.test_client()


def page_text(response) -> str:
    assert response.mimetype == "application/liquid"
    return response.get_data(as_text=True)


def error(response) -> dict:
    body = response.get_json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_the_form_without_the_box_ticked_says_tick_the_box_in_plain_words(client):
    response = post(client, data=NO_CONSENT)
    assert response.status_code == 422
    body = page_text(response)
    assert TICK_THE_BOX["en"] in body
    assert not any(words in body for words in DEVELOPER_WORDS)
    assert contacts() == []


@pytest.mark.parametrize("language", ["fr", "de", "es"])
def test_the_forms_locale_field_chooses_the_language(client, language):
    response = post(client, data={**NO_CONSENT, "consent": "", "locale": language})
    assert response.status_code == 422
    body = page_text(response)
    assert TICK_THE_BOX[language] in body
    assert f'lang="{language}"' in body
    assert response.headers["Content-Language"] == language


def test_json_keeps_the_error_shape_with_the_plain_words_in_message_and_details(client):
    response = post(client, json={**NO_CONSENT, "locale": "fr-CA"})
    assert response.status_code == 422
    found = error(response)
    assert found["code"] == "validation_failed"
    assert found["message"] == TICK_THE_BOX["fr"]
    assert found["details"]["fields"] == {"consent": [TICK_THE_BOX["fr"]]}


@pytest.mark.parametrize(
    ("locale", "accept_language", "expected"),
    [
        (None, "de-AT,de;q=0.9,en;q=0.5", "de"),  # no form field: the browser's language
        ("es", "fr", "es"),  # the storefront's language (Liquid's request.locale) comes first
        ("pt-BR", "fr;q=0.8, en;q=0.2", "fr"),  # one we do not speak: the browser's next
        ("it", None, "en"),  # nothing we speak: English
        (None, "ja, zh;q=0.8", "en"),
        ("<script>alert(1)</script>", "xx", "en"),  # garbage is ignored, never echoed
    ],
)
def test_language_comes_from_the_form_then_accept_language_then_english(client, locale, accept_language, expected):
    payload = {**NO_CONSENT, **({"locale": locale} if locale else {})}
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = post(client, data=payload, headers=headers)
    body = page_text(response)
    assert TICK_THE_BOX[expected] in body
    assert "<script>" not in body
    assert "alert(1)" not in body


@pytest.mark.parametrize(
    ("change", "field", "sentence"),
    [
        ({"phone": "12345"}, "phone", "Check your mobile number: include the country code, like +1 415 555 0142."),
        ({"phone": "  "}, "phone", "Enter your mobile number."),
        ({"phone": "+306912345678"}, "phone", "This shop can't send texts to numbers from that country."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address, like name@example.com."),
        (
            {"birthday": "1990-13-45"},
            "birthday",
            "Enter your birthday as year-month-day (1990-05-17) or month-day (05-17).",
        ),
        ({"first_name": "A" * 101}, "first_name", "Check your name: it can be at most 100 characters long."),
    ],
)
def test_each_problem_is_one_plain_sentence_on_its_field(client, change, field, sentence):
    response = post(client, json={**FORM, **change})
    assert response.status_code == 422
    found = error(response)
    assert found["details"]["fields"] == {field: [sentence]}
    assert found["message"] == sentence
    html = post(client, data={**FORM, **change})
    body = page_text(html)
    assert sentence.replace("'", "&#x27;") in body
    assert not any(words in body for words in DEVELOPER_WORDS)
    assert contacts() == []


def test_an_invalid_phone_reads_plainly_in_french(client):
    response = post(client, data={**FORM, "phone": "12345", "locale": "fr"})
    assert "Vérifiez votre numéro de mobile" in page_text(response)


def test_several_problems_are_all_named_each_on_its_field(client):
    response = post(client, json={"email": "nope", "locale": "de"})
    found = error(response)
    fields = found["details"]["fields"]
    assert set(fields) == {"phone", "email", "consent"}
    assert fields["consent"] == [TICK_THE_BOX["de"]]
    assert fields["phone"] == ["Bitte geben Sie Ihre Handynummer ein."]
    for [sentence] in fields.values():
        assert sentence in found["message"]


def test_too_many_attempts_is_plain_and_keeps_retry_after(client):
    limit, _window = SIGNUP_LIMITS["phone"]
    for _ in range(limit):
        assert post(client, json=FORM).status_code == 201
    response = post(client, json={**FORM, "locale": "es"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    found = error(response)
    assert found["code"] == "rate_limited"
    assert found["message"] == "Demasiados intentos. Inténtalo de nuevo más tarde."
    assert found["details"]["scope"] == "phone"
    page = post(client, data=FORM, headers={"Accept-Language": "fr"})
    assert "Trop de tentatives" in page_text(page)


def test_an_expired_link_reads_plainly_in_the_browsers_language(client):
    response = client.get("/proxy/confirm?" + proxy_query(t="forged"), headers={"Accept-Language": "de"})
    assert response.status_code == 401
    assert "Dieser Link ist nicht mehr gültig" in page_text(response)


def test_a_hostile_value_in_the_form_is_never_echoed(client):
    hostile = "<img src=x onerror=alert(1)>{{ shop.secret }}"
    for change in ({"phone": hostile}, {"email": hostile}, {"locale": hostile}, {"birthday": hostile}):
        body = page_text(post(client, data={**FORM, **change}))
        assert "<img" not in body
        assert "onerror" not in body
        assert "{{" not in body


def test_success_answers_speak_the_forms_language_too(client):
    response = post(client, data={**FORM, "locale": "fr"})
    assert response.status_code == 201
    assert "Nous vous avons envoyé un lien par SMS" in page_text(response)


# --- the catalogue -------------------------------------------------------------------------------


def placeholders(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_every_message_exists_in_every_language_with_the_same_placeholders():
    assert LANGUAGES[0] == "en"
    for key, translations in MESSAGES.items():
        assert set(translations) == set(LANGUAGES), key
        english = placeholders(translations["en"])
        for language, text in translations.items():
            assert text, (key, language)
            assert text.strip() == text, (key, language)
            assert placeholders(text) == english, (key, language)
            assert not re.search(r"[<>{}]", re.sub(r"\{\w+\}", "", text)), (key, language)


@pytest.mark.parametrize(
    ("locale", "header", "expected"),
    [("FR_ca", "", "fr"), ("", "es-MX", "es"), (None, "*", "en"), ("de", "fr", "de"), (42, "", "en")],
)
def test_choose_language(locale, header, expected):
    assert choose_language(locale, header) == expected
