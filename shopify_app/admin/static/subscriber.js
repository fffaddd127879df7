// One subscriber: profile, tags (add, remove), consent history, the texts sent to them;
// unsubscribe and delete, each after a confirmation.
import { ApiError, api } from "./lib/api.js";
import { consentBadge, fullName } from "./lib/contacts.js";
import { byId, fill, h } from "./lib/dom.js";
import { dateTime, number, useShop } from "./lib/format.js";
import { appUrl, go, pathId } from "./lib/nav.js";
import { badge, busy, clearFieldErrors, emptyState, hideModal, showError, showFieldErrors, table, toast, valueOf } from "./lib/ui.js";

const id = pathId();
const MESSAGE_PAGE = 20;
const SOURCES = { proxy_form: "Storefront sign-up", admin: "Changed in the app", import: "CSV import", shopify: "Shopify", keyword: "Text keyword", confirmation_link: "Confirmation link", unsubscribe_link: "Unsubscribe link" };
const KINDS = { broadcast: "Campaign", automation: "Automation", transactional: "Order update", conversation: "Inbox reply" };
const MESSAGE_TONES = { delivered: "success", sent: "info", failed: "critical", unknown: "warning" };

let messagesCursor = null;

function row(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

// The Shopify customer's SMS consent, as the consent sync last left it (contact.shopify_sync).
const SHOPIFY_SYNC = {
  synced: "Consent copied to the Shopify customer",
  pending: "Being copied to Shopify",
  not_synced: "Not copied: no Shopify customer has this phone (Settings can add one)",
  failed: "Not copied: Shopify refused the change",
};

function showContact(contact) {
  const name = fullName(contact);
  document.querySelector("s-page").setAttribute("heading", name || contact.phone);
  document.title = `${name || contact.phone} · SMS Blossom`;
  fill(
    "profile",
    h(
      "dl",
      { class: "details-list" },
      row("Phone", contact.phone),
      row("Name", name || "—"),
      row("Email", contact.email || "—"),
      row("Birthday", contact.birthday || "—"),
      row("Consent", consentBadge(contact.consent_state)),
      row("In Shopify", SHOPIFY_SYNC[contact.shopify_sync] || "Not sent yet"),
      row("Country", contact.country_code || "—"),
      row("Created", dateTime(contact.created_at)),
    ),
  );
  byId("unsubscribe").toggleAttribute("disabled", contact.consent_state === "unsubscribed");
  fill(
    "tags",
    contact.tags.length
      ? h(
          "ul",
          { class: "tag-list", "aria-label": "Tags" },
          contact.tags.map((tag) =>
            h(
              "li",
              {},
              badge(tag),
              h("s-button", { variant: "tertiary", accessibilityLabel: `Remove tag ${tag}`, onclick: (event) => busy(event.currentTarget, () => removeTag(tag)) }, "Remove"),
            ),
          ),
        )
      : h("s-paragraph", {}, "No tags yet. Tags let you build segments, e.g. VIP or wholesale."),
  );
}

function showConsent(events) {
  if (!events.length) {
    fill("consent", h("s-paragraph", {}, "No consent recorded: this contact never subscribed to texts."));
    return;
  }
  fill(
    "consent",
    table({
      label: "Consent history",
      headers: ["When", "Change", "How", "Consent text"],
      rows: events
        .slice()
        .reverse()
        .map((event) => [dateTime(event.occurred_at), consentBadge(event.state), SOURCES[event.source] || event.source, event.consent_text || "—"]),
    }),
  );
}

async function loadMessages({ more = false } = {}) {
  try {
    const page = await api(`/contacts/${id}/messages`, { query: { limit: MESSAGE_PAGE, cursor: more ? messagesCursor : undefined } });
    messagesCursor = page.next_cursor;
    byId("more-messages").hidden = !messagesCursor;
    const rows = page.items.map((message) => [
      dateTime(message.sent_at),
      message.campaign_kind === "broadcast" ? h("s-link", { href: appUrl(`/campaigns/${message.campaign_id}`) }, message.campaign_name) : message.campaign_name || "—",
      KINDS[message.campaign_kind] || "—",
      badge(message.state, MESSAGE_TONES[message.state]),
      number(message.segments ?? 0),
    ]);
    if (more) {
      const body = byId("messages").querySelector("s-table-body");
      for (const cells of rows) body.append(h("s-table-row", {}, cells.map((cell) => h("s-table-cell", {}, cell))));
    } else if (!rows.length) {
      fill("messages", h("s-paragraph", {}, "No texts sent to this subscriber yet. Campaigns and automations they receive show here."));
    } else {
      fill("messages", table({ label: "Messages sent", headers: ["Sent", "From", "Kind", "State", "Segments"], rows }));
    }
  } catch (error) {
    showError("messages", error, { heading: "The messages could not load" });
  }
}

async function refresh() {
  const [contact, consent] = await Promise.all([api(`/contacts/${id}`), api(`/contacts/${id}/consent-events`)]);
  showContact(contact);
  showConsent(consent.items);
}

async function addTags(event) {
  event.preventDefault();
  const form = byId("tag-form");
  clearFieldErrors(form);
  const tags = valueOf(form, "tags")
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
  if (!tags.length) {
    form.querySelector('[name="tags"]').setAttribute("error", "Enter a tag.");
    return;
  }
  try {
    showContact(await api(`/contacts/${id}/tags`, { method: "POST", body: { tags } }));
    form.querySelector('[name="tags"]').value = "";
    toast(tags.length === 1 ? "Tag added" : "Tags added");
  } catch (error) {
    const rest = error instanceof ApiError ? showFieldErrors(form, error) : "";
    if (!(error instanceof ApiError) || rest || !Object.keys(error.fields).length) showError("page-error", error, { heading: "The tags were not added" });
  }
}

async function removeTag(tag) {
  try {
    showContact(await api(`/contacts/${id}/tags/${encodeURIComponent(tag)}`, { method: "DELETE" }));
    toast("Tag removed");
  } catch (error) {
    showError("page-error", error, { heading: "The tag was not removed" });
  }
}

async function unsubscribe() {
  try {
    await api(`/contacts/${id}`, { method: "PATCH", body: { consent_state: "unsubscribed" } });
    hideModal("unsubscribe-modal");
    await refresh();
    toast("Unsubscribed");
  } catch (error) {
    hideModal("unsubscribe-modal");
    showError("page-error", error, { heading: "The subscriber was not unsubscribed" });
  }
}

async function remove() {
  try {
    await api(`/contacts/${id}`, { method: "DELETE" });
    go("/subscribers", { deleted: "1" });
  } catch (error) {
    showError("delete-error", error, { heading: "The subscriber was not deleted" });
  }
}

async function main() {
  byId("back").setAttribute("href", appUrl("/subscribers"));
  byId("tag-form").addEventListener("submit", addTags);
  byId("unsubscribe-confirm").addEventListener("click", (event) => busy(event.currentTarget, unsubscribe));
  byId("delete-confirm").addEventListener("click", (event) => busy(event.currentTarget, remove));
  byId("more-messages").addEventListener("click", (event) => busy(event.currentTarget, () => loadMessages({ more: true })));
  try {
    const [shop, contact, consent] = await Promise.all([api("/shop"), api(`/contacts/${id}`), api(`/contacts/${id}/consent-events`)]);
    useShop(shop);
    showContact(contact);
    showConsent(consent.items);
  } catch (error) {
    const notFound = error instanceof ApiError && error.status === 404;
    showError("page-error", error, { heading: notFound ? "This subscriber does not exist" : "The subscriber could not load" });
    for (const region of ["profile", "tags", "consent", "messages"]) fill(region);
    return;
  }
  loadMessages();
}

main();
