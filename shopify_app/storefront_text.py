"""The words shoppers read on the storefront (the app proxy's pages and errors), per language.

A dict, not gettext/Babel: some thirty sentences in four languages, no plural forms, no dates or
numbers to format, so a catalogue of .po files, a compile step and a new dependency would buy
nothing; every key must exist in every language (a test checks). Accept-Language is parsed by
Werkzeug. A language is added by adding its column here.

Which language: the form's `locale` field first (a theme posts Liquid's
`{{ request.locale.iso_code }}`, the language the shopper chose on the storefront; Shopify's app
proxy forwards no locale of its own: its query has only shop, path_prefix, timestamp, signature
and logged_in_customer_id), then the browser's Accept-Language, then English.
"""

from __future__ import annotations

import re

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

LANGUAGES = ("en", "fr", "de", "es")  # the first is the fallback
_LOCALE = re.compile(r"([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*")

MESSAGES: dict[str, dict[str, str]] = {
    # --- what went wrong, one sentence per field -------------------------------------------------
    "consent_required": {
        "en": "Tick the box to agree to receive texts.",
        "fr": "Cochez la case pour accepter de recevoir nos SMS.",
        "de": "Bitte setzen Sie das Häkchen, um dem Empfang unserer SMS zuzustimmen.",
        "es": "Marca la casilla para aceptar recibir nuestros SMS.",
    },
    "phone_required": {
        "en": "Enter your mobile number.",
        "fr": "Saisissez votre numéro de mobile.",
        "de": "Bitte geben Sie Ihre Handynummer ein.",
        "es": "Introduce tu número de móvil.",
    },
    "phone_invalid": {
        "en": "Check your mobile number: include the country code, like +1 415 555 0142.",
        "fr": "Vérifiez votre numéro de mobile : ajoutez l'indicatif du pays, par exemple +33 6 12 34 56 78.",
        "de": "Bitte prüfen Sie Ihre Handynummer und geben Sie die Ländervorwahl an, z. B. +49 151 23456789.",
        "es": "Revisa tu número de móvil: incluye el prefijo del país, por ejemplo +34 612 345 678.",
    },
    "phone_country": {
        "en": "This shop can't send texts to numbers from that country.",
        "fr": "Cette boutique ne peut pas envoyer de SMS aux numéros de ce pays.",
        "de": "Dieser Shop kann keine SMS an Nummern aus diesem Land senden.",
        "es": "Esta tienda no puede enviar SMS a números de ese país.",
    },
    "email_invalid": {
        "en": "Enter a valid email address, like name@example.com.",
        "fr": "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr.",
        "de": "Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@beispiel.de.",
        "es": "Introduce un correo electrónico válido, por ejemplo nombre@ejemplo.com.",
    },
    "birthday_invalid": {
        "en": "Enter your birthday as year-month-day (1990-05-17) or month-day (05-17).",
        "fr": "Indiquez votre date de naissance au format année-mois-jour (1990-05-17) ou mois-jour (05-17).",
        "de": "Bitte geben Sie Ihren Geburtstag als Jahr-Monat-Tag (1990-05-17) oder Monat-Tag (05-17) ein.",
        "es": "Escribe tu cumpleaños como año-mes-día (1990-05-17) o mes-día (05-17).",
    },
    "name_invalid": {
        "en": "Check your name: it can be at most 100 characters long.",
        "fr": "Vérifiez votre nom : il peut compter 100 caractères au maximum.",
        "de": "Bitte prüfen Sie Ihren Namen: Er darf höchstens 100 Zeichen lang sein.",
        "es": "Revisa tu nombre: puede tener como máximo 100 caracteres.",
    },
    "product_invalid": {
        "en": "We couldn't tell which product you mean. Reload the page and try again.",
        "fr": "Nous n'avons pas reconnu le produit. Rechargez la page et réessayez.",
        "de": "Wir konnten das Produkt nicht erkennen. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
        "es": "No hemos reconocido el producto. Recarga la página e inténtalo de nuevo.",
    },
    "form_invalid": {
        "en": "Something in the form isn't right. Reload the page and try again.",
        "fr": "Quelque chose ne va pas dans le formulaire. Rechargez la page et réessayez.",
        "de": "Im Formular stimmt etwas nicht. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
        "es": "Algo no está bien en el formulario. Recarga la página e inténtalo de nuevo.",
    },
    "disclosure_changed": {
        "en": "The sign-up terms have changed since this page opened. Reload the page, read them and sign up again.",
        "fr": (
            "Les conditions d'inscription ont changé depuis l'ouverture de cette page. "
            "Rechargez la page, relisez-les et inscrivez-vous à nouveau."
        ),
        "de": (
            "Die Anmeldebedingungen haben sich geändert, seit diese Seite geöffnet wurde. "
            "Bitte laden Sie die Seite neu, lesen Sie sie und melden Sie sich erneut an."
        ),
        "es": (
            "Las condiciones de suscripción han cambiado desde que se abrió esta página. "
            "Recarga la página, léelas y suscríbete de nuevo."
        ),
    },
    "too_many_attempts": {
        "en": "Too many attempts. Please try again later.",
        "fr": "Trop de tentatives. Veuillez réessayer plus tard.",
        "de": "Zu viele Versuche. Bitte versuchen Sie es später erneut.",
        "es": "Demasiados intentos. Inténtalo de nuevo más tarde.",
    },
    "signup_unavailable": {
        "en": "Text sign-up isn't available in this shop right now.",
        "fr": "L'inscription aux SMS n'est pas disponible dans cette boutique pour le moment.",
        "de": "Die SMS-Anmeldung ist in diesem Shop derzeit nicht verfügbar.",
        "es": "La suscripción por SMS no está disponible en esta tienda por ahora.",
    },
    "link_invalid": {
        "en": "This link is no longer valid. Use the link in our latest text, or sign up again.",
        "fr": "Ce lien n'est plus valide. Utilisez le lien de notre dernier SMS ou inscrivez-vous à nouveau.",
        "de": "Dieser Link ist nicht mehr gültig. Nutzen Sie den Link aus unserer letzten SMS "
        "oder melden Sie sich erneut an.",
        "es": "Este enlace ya no es válido. Usa el enlace de nuestro último SMS o vuelve a suscribirte.",
    },
    "page_expired": {
        "en": "This page has expired. Reload it and try again.",
        "fr": "Cette page a expiré. Rechargez-la et réessayez.",
        "de": "Diese Seite ist abgelaufen. Bitte laden Sie sie neu und versuchen Sie es erneut.",
        "es": "Esta página ha caducado. Recárgala e inténtalo de nuevo.",
    },
    "something_wrong": {
        "en": "Something went wrong. Please try again.",
        "fr": "Une erreur s'est produite. Veuillez réessayer.",
        "de": "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
        "es": "Algo ha salido mal. Inténtalo de nuevo.",
    },
    "check_form_title": {
        "en": "Please check the form",
        "fr": "Veuillez vérifier le formulaire",
        "de": "Bitte prüfen Sie das Formular",
        "es": "Revisa el formulario",
    },
    "sorry_title": {"en": "Sorry", "fr": "Désolé", "de": "Entschuldigung", "es": "Lo sentimos"},
    # --- what went right -------------------------------------------------------------------------
    "subscribed_title": {
        "en": "You're subscribed",
        "fr": "Vous êtes inscrit",
        "de": "Sie sind angemeldet",
        "es": "Ya estás suscrito",
    },
    "already_subscribed": {
        "en": "This number already gets our texts.",
        "fr": "Ce numéro reçoit déjà nos SMS.",
        "de": "Diese Nummer erhält unsere SMS bereits.",
        "es": "Este número ya recibe nuestros SMS.",
    },
    "pending_title": {"en": "Almost there", "fr": "Presque fini", "de": "Fast geschafft", "es": "Ya casi está"},
    "pending": {
        "en": "We texted you a link: reply Y or tap it to confirm your subscription.",
        "fr": "Nous vous avons envoyé un lien par SMS : répondez Y ou touchez-le pour confirmer votre inscription.",
        "de": "Wir haben Ihnen einen Link per SMS geschickt: Antworten Sie Y oder tippen Sie darauf, "
        "um Ihre Anmeldung zu bestätigen.",
        "es": "Te hemos enviado un enlace por SMS: responde Y o tócalo para confirmar tu suscripción.",
    },
    "stock_title": {
        "en": "We'll text you",
        "fr": "Nous vous préviendrons par SMS",
        "de": "Wir schicken Ihnen eine SMS",
        "es": "Te avisaremos por SMS",
    },
    "stock_pending": {
        "en": "We texted you a link: confirm your subscription and we'll tell you when it's back.",
        "fr": "Nous vous avons envoyé un lien par SMS : confirmez votre inscription "
        "et nous vous préviendrons de son retour.",
        "de": "Wir haben Ihnen einen Link per SMS geschickt: Bestätigen Sie Ihre Anmeldung, "
        "dann sagen wir Ihnen Bescheid, sobald es wieder da ist.",
        "es": "Te hemos enviado un enlace por SMS: confirma tu suscripción y te avisaremos cuando vuelva.",
    },
    "stock_waiting": {
        "en": "We'll text you once when it's back in stock.",
        "fr": "Nous vous enverrons un SMS dès son retour en stock.",
        "de": "Wir schicken Ihnen eine SMS, sobald es wieder vorrätig ist.",
        "es": "Te enviaremos un SMS cuando vuelva a estar disponible.",
    },
    "confirm_title": {
        "en": "Confirm your subscription",
        "fr": "Confirmez votre inscription",
        "de": "Bestätigen Sie Ihre Anmeldung",
        "es": "Confirma tu suscripción",
    },
    "confirm_question": {
        "en": "Get our marketing texts at {phone}?",
        "fr": "Recevoir nos SMS marketing au {phone} ?",
        "de": "Unsere Marketing-SMS an {phone} erhalten?",
        "es": "¿Recibir nuestros SMS de marketing en el {phone}?",
    },
    "confirm_button": {"en": "Confirm", "fr": "Confirmer", "de": "Bestätigen", "es": "Confirmar"},
    "confirmed_title": {"en": "Subscribed", "fr": "Inscription confirmée", "de": "Angemeldet", "es": "Suscrito"},
    "confirmed": {
        "en": "Thanks! You will now receive our texts.",
        "fr": "Merci ! Vous recevrez désormais nos SMS.",
        "de": "Danke! Sie erhalten ab jetzt unsere SMS.",
        "es": "¡Gracias! A partir de ahora recibirás nuestros SMS.",
    },
    "unsubscribe_title": {
        "en": "Unsubscribe",
        "fr": "Se désinscrire",
        "de": "Abmelden",
        "es": "Darse de baja",
    },
    "unsubscribe_question": {
        "en": "Stop marketing texts to {phone}?",
        "fr": "Ne plus recevoir nos SMS marketing au {phone} ?",
        "de": "Keine Marketing-SMS mehr an {phone}?",
        "es": "¿Dejar de recibir SMS de marketing en el {phone}?",
    },
    "unsubscribe_button": {"en": "Unsubscribe", "fr": "Me désinscrire", "de": "Abmelden", "es": "Darme de baja"},
    "unsubscribed_title": {"en": "Unsubscribed", "fr": "Désinscription confirmée", "de": "Abgemeldet", "es": "Baja"},
    "unsubscribed": {
        "en": "You will not receive marketing texts from us any more.",
        "fr": "Vous ne recevrez plus nos SMS marketing.",
        "de": "Sie erhalten keine Marketing-SMS mehr von uns.",
        "es": "Ya no recibirás nuestros SMS de marketing.",
    },
    "preferences_title": {
        "en": "Your text preferences",
        "fr": "Vos préférences SMS",
        "de": "Ihre SMS-Einstellungen",
        "es": "Tus preferencias de SMS",
    },
    "preferences_subscribed": {
        "en": "{phone} gets our marketing texts.",
        "fr": "Le {phone} reçoit nos SMS marketing.",
        "de": "{phone} erhält unsere Marketing-SMS.",
        "es": "El {phone} recibe nuestros SMS de marketing.",
    },
    "preferences_pending": {
        "en": "{phone} has not confirmed the subscription yet.",
        "fr": "Le {phone} n'a pas encore confirmé l'inscription.",
        "de": "{phone} hat die Anmeldung noch nicht bestätigt.",
        "es": "El {phone} aún no ha confirmado la suscripción.",
    },
    "preferences_unsubscribed": {
        "en": "{phone} gets no marketing texts.",
        "fr": "Le {phone} ne reçoit pas nos SMS marketing.",
        "de": "{phone} erhält keine Marketing-SMS.",
        "es": "El {phone} no recibe SMS de marketing.",
    },
    # --- the hosted join page (/apps/sms/join) ---------------------------------------------------
    "join_headline": {
        "en": "Get texts from {shop}",
        "fr": "Recevez les SMS de {shop}",
        "de": "SMS von {shop} erhalten",
        "es": "Recibe los SMS de {shop}",
    },
    "join_country_label": {"en": "Country", "fr": "Pays", "de": "Land", "es": "País"},
    "join_phone_label": {
        "en": "Mobile number",
        "fr": "Numéro de mobile",
        "de": "Handynummer",
        "es": "Número de móvil",
    },
    "join_first_name_label": {
        "en": "First name (optional)",
        "fr": "Prénom (facultatif)",
        "de": "Vorname (optional)",
        "es": "Nombre (opcional)",
    },
    "join_email_label": {
        "en": "Email (optional)",
        "fr": "E-mail (facultatif)",
        "de": "E-Mail (optional)",
        "es": "Correo electrónico (opcional)",
    },
    "join_birthday_label": {
        "en": "Birthday (optional)",
        "fr": "Date de naissance (facultatif)",
        "de": "Geburtstag (optional)",
        "es": "Cumpleaños (opcional)",
    },
    "join_button": {"en": "Sign up", "fr": "S'inscrire", "de": "Anmelden", "es": "Suscribirme"},
    "join_frequency": {
        "en": "Up to 8 msgs/month",
        "fr": "Jusqu'à 8 SMS par mois",
        "de": "Bis zu 8 SMS pro Monat",
        "es": "Hasta 8 SMS al mes",
    },
    # The consent disclosure beside the checkbox; its text is what a sign-up stores as consent.
    "join_disclosure": {
        "en": "By checking this box, I agree to receive recurring automated marketing text messages from "
        "{shop} at the number provided. Consent is not a condition of purchase. {frequency}. "
        "Msg & data rates may apply. Reply HELP for help, STOP to cancel. See our {terms} and {privacy}.",
        "fr": "En cochant cette case, j'accepte de recevoir des SMS marketing automatisés et récurrents de "
        "{shop} au numéro indiqué. Ce consentement n'est pas une condition d'achat. {frequency}. "
        "Des frais de messages et de données peuvent s'appliquer. Répondez HELP pour obtenir de l'aide, "
        "STOP pour vous désinscrire. Consultez nos {terms} et notre {privacy}.",
        "de": "Mit diesem Häkchen stimme ich zu, wiederkehrende automatisierte Marketing-SMS von {shop} "
        "an die angegebene Nummer zu erhalten. Die Zustimmung ist keine Voraussetzung für einen Kauf. "
        "{frequency}. Es können Gebühren für Nachrichten und Daten anfallen. Antworten Sie HELP für Hilfe, "
        "STOP zum Abmelden. Siehe unsere {terms} und {privacy}.",
        "es": "Al marcar esta casilla, acepto recibir mensajes de texto de marketing automatizados y "
        "recurrentes de {shop} en el número indicado. El consentimiento no es condición de compra. "
        "{frequency}. Pueden aplicarse tarifas de mensajes y datos. Responde HELP para obtener ayuda, "
        "STOP para cancelar. Consulta nuestros {terms} y nuestra {privacy}.",
    },
    "join_terms": {
        "en": "terms of service",
        "fr": "conditions d'utilisation",
        "de": "Nutzungsbedingungen",
        "es": "términos del servicio",
    },
    "join_privacy": {
        "en": "privacy policy",
        "fr": "politique de confidentialité",
        "de": "Datenschutzerklärung",
        "es": "política de privacidad",
    },
}


def _language_of(locale: object) -> str | None:
    """The language subtag of a locale: fr, fr-CA, FR_ca -> fr; anything else -> None."""
    if not isinstance(locale, str) or len(locale) > 35:
        return None
    match = _LOCALE.fullmatch(locale.strip().lower())
    return match.group(1) if match else None


def choose_language(form_locale: object, accept_language: str | None) -> str:
    """The form's locale if we speak it, else the best of Accept-Language we speak, else English."""
    language = _language_of(form_locale)
    if language in LANGUAGES:
        return language
    accepted = parse_accept_header(accept_language or "", LanguageAccept)
    return accepted.best_match(LANGUAGES) or LANGUAGES[0]


def say(key: str, language: str, **values: str) -> str:
    """The sentence `key` in `language` (English where it is missing), `values` filled in."""
    translations = MESSAGES[key]
    text = translations.get(language) or translations[LANGUAGES[0]]
    return text.format(**values) if values else text
