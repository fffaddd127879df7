"""Contacts and their consent: the sealed records (phones by blind index), CSV import and
export, storefront sign-up and the join page, inbound texts (keywords, the inbox), and the
sync of SMS consent with Shopify's customers.

    contacts.py           contacts: create/merge, update, delete, list, consent (apply_consent)
    phones.py             phone numbers: E.164, the shop's country as default region
    pii.py                field-level encryption and blind indexes of a shop's PII
    spreadsheet.py        CSV cells made safe for spreadsheets, and read back
    transfers.py          what imports and exports share: the transfer row, its sealed chunks
    csv_import.py         a CSV upload read into contacts, in resumable batches
    csv_rows.py           what one CSV row says: profile fields, consent, the file's claim
    pipeline.py           a batch's CPU stage in a thread while the previous batch is stored
    csv_export.py         the contacts written to a CSV file, streamed, deleted after a week
    contact_transfers.py  the CSV names blueprints and jobs call (re-exported from the three above)
    shopify_customers.py  Shopify customers -> contacts, and Shopify-side SMS consent
    shopify_consent.py    our consent changes sent to Shopify (outbox, push, sweep)
    shopify_import.py     Shopify's SMS subscribers imported: the bulk operation and its polling
    shopify_jsonl.py      the bulk operation's JSONL streamed into contacts, chunk by chunk
    signup.py             storefront sign-up, double opt-in and abuse limits
    join_page.py          the hosted join page: disclosure, links, QR code, allowed countries
    inbound.py            inbound texts: STOP/START/HELP, opt-in replies, join keyword, the inbox
    reply_intent.py       what a shopper's text asks for
    inbox_reads.py        the inbox's unread marks
    inbox_replies.py      who the merchant may answer from the inbox
    outbox.py             the app's own texts sent (keyword answers, opt-in): registered by automations
    keyword_recipients.py the answer to a stranger's HELP: its wording and its number, for the batch

Other service packages these modules may import: shops (settings, owned, tokens), sending
(senders, ratelimit, claim's TestRecipient) and ops (pagination). Never automations, campaigns, billing, privacy or
webhooks: those build on contacts. Where contacts must set something of theirs going, they
register instead: the welcome automation with `contacts.when_subscribed`, the app's own texts
with `outbox.provides`. The install
(shops/auth.py) starts the Shopify import itself: shopify_import needs only shops/tokens.py.
"""
