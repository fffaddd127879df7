// Inbox: conversations (GET /api/inbox, newest first), a thread (GET /api/inbox/<contact_id>)
// and a reply box (POST /api/inbox/<contact_id>/reply with an Idempotency-Key per draft).
import { api } from "./lib/api.js";
import { byId, fill, h } from "./lib/dom.js";
import { dateTime, number, useShop } from "./lib/format.js";
import { pager } from "./lib/forms.js";
import { appUrl } from "./lib/nav.js";
import { badge, emptyState, showError, showFieldErrors, clearFieldErrors, toast } from "./lib/ui.js";

const CONSENT_TONES = { subscribed: "success", pending: "attention", unsubscribed: "critical" };
const REPLY_STATES = {
  sent: ["Sent", "success"],
  delivered: ["Delivered", "success"],
  queued: ["Sending", "info"],
  submitting: ["Sending", "info"],
  deferred: ["Waiting for quiet hours to end", "attention"],
  skipped: ["Not sent", "critical"],
  failed: ["Not sent", "critical"],
  cancelled: ["Cancelled", undefined],
};
const THREAD_PAGE = 30;

function displayName(contact) {
  const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ").trim();
  return name || contact.phone || `Subscriber ${contact.id}`;
}

function conversationRows(threads) {
  return threads.map(({ contact, latest, unread }) =>
    h(
      "li",
      { class: "conversation", "data-contact": contact.id },
      h(
        "s-button",
        { variant: "tertiary", onclick: () => openThread(contact) },
        displayName(contact),
      ),
      " ",
      badge(contact.consent_state, CONSENT_TONES[contact.consent_state]),
      " ",
      h("span", { class: "unread" }, unread ? badge(`${number(unread)} unread`, "info") : null),
      h("div", { class: "conversation-latest" }, h("s-text", {}, latest.text ?? "")),
      h("div", {}, h("s-text", { tone: "subdued" }, dateTime(latest.received_at))),
    ),
  );
}

function inboundRows(messages) {
  // Pages come newest first; a thread reads oldest first.
  return [...messages].reverse().map((message) =>
    h(
      "li",
      { class: "bubble bubble-in" },
      h("s-paragraph", {}, message.text ?? ""),
      h(
        "s-text",
        { tone: "subdued" },
        dateTime(message.received_at),
        message.keyword ? ` · keyword ${message.keyword}` : "",
        message.outcome ? ` · ${message.outcome.replaceAll("_", " ")}` : "",
      ),
    ),
  );
}

function replyRow(text, result) {
  const [label, tone] = REPLY_STATES[result.state] || [result.state, undefined];
  let note = "";
  if (result.state === "deferred" && result.defer_until) note = ` until ${dateTime(result.defer_until)}`;
  if (result.skip_reason) note += ` (${result.skip_reason.replaceAll("_", " ")})`;
  return h("li", { class: "bubble bubble-out" }, h("s-paragraph", {}, text), h("s-text", {}, "You, now · ", badge(label, tone), note));
}

let current = null; // the open conversation's contact id

async function openThread(contact) {
  current = contact.id;
  const url = new URL(location.href);
  url.searchParams.set("contact", contact.id);
  history.replaceState(null, "", url);
  fill("thread", h("div", { "aria-busy": "true" }, h("div", { class: "skeleton", style: "height: 240px" })));
  let first;
  try {
    first = await api(`/inbox/${contact.id}`, { query: { limit: THREAD_PAGE } });
  } catch (error) {
    if (current === contact.id) showError("thread", error, { heading: "The conversation could not load" });
    return;
  }
  if (current !== contact.id) return; // another conversation was opened meanwhile
  const older = h("div", {});
  const list = h("ol", { class: "thread", "aria-label": `Messages from ${displayName(contact)}` });
  const replies = h("ol", { class: "thread", "aria-label": "Your replies" });
  const error = h("div", {});
  fill(
    "thread",
    h("s-heading", {}, displayName(contact)),
    h(
      "s-paragraph",
      {},
      badge(contact.consent_state, CONSENT_TONES[contact.consent_state]),
      " ",
      h("s-link", { href: appUrl(`/subscribers/${contact.id}`) }, "View subscriber"),
    ),
    error,
    older,
    list,
    replies,
    replyBox(contact, replies),
  );
  // Older pages go above: each page is newest first, so it is prepended as a block.
  pager({
    path: `/inbox/${contact.id}`,
    query: { limit: THREAD_PAGE },
    first,
    body: { append: (...rows) => list.prepend(...rows) },
    more: older,
    render: inboundRows,
    errorTarget: error,
    label: "Show earlier messages",
  });
  if (!first.items.length) list.append(h("li", {}, h("s-paragraph", {}, "No texts from this subscriber yet.")));
  else markRead(contact, first.items[0].id);
}

// Read through the newest text shown: one that arrives meanwhile stays unread.
async function markRead(contact, through) {
  try {
    const mark = await api(`/inbox/${contact.id}/read`, { method: "POST", body: { through } });
    const row = document.querySelector(`.conversation[data-contact="${contact.id}"] .unread`);
    if (row) fill(row, mark.unread ? badge(`${number(mark.unread)} unread`, "info") : null);
    const remaining = await api("/inbox", { query: { limit: 1 } });
    showUnreadTotal(remaining.unread_threads);
  } catch (error) {
    showError("page-error", error, { heading: "The conversation could not be marked read" });
  }
}

function showUnreadTotal(count) {
  fill("unread-total", h("s-paragraph", {}, count ? `${number(count)} ${count === 1 ? "conversation has" : "conversations have"} unread texts.` : "No unread texts."));
}

function replyBox(contact, replies) {
  const errorId = `reply-error-${contact.id}`;
  const field = h("s-text-area", { label: "Reply", name: "text", rows: 3, details: "Sent now from your number, unless it is quiet hours where they are." });
  const send = h("s-button", { variant: "primary", type: "submit" }, "Send reply");
  const form = h("form", { class: "reply", novalidate: true, "aria-label": `Reply to ${displayName(contact)}` }, h("div", { id: errorId }), field, send);
  // One key per draft: sending the same draft again (after a network error) sends it once.
  let draft = null;
  field.addEventListener("input", () => {
    draft = null;
  });

  async function submit(event) {
    event?.preventDefault();
    const text = String(field.value ?? "");
    if (!draft || draft.text !== text) draft = { text, key: crypto.randomUUID() };
    fill(errorId);
    clearFieldErrors(form);
    send.setAttribute("loading", "");
    send.setAttribute("disabled", "");
    try {
      const result = await api(`/inbox/${contact.id}/reply`, { method: "POST", body: { text }, headers: { "Idempotency-Key": draft.key } });
      replies.append(replyRow(text, result));
      field.value = "";
      draft = null;
      toast(result.state === "deferred" ? "Reply will be sent when quiet hours end" : "Reply sent");
    } catch (error) {
      if (error.status === 422) {
        const rest = showFieldErrors(form, error);
        if (rest) fill(errorId, h("s-banner", { tone: "critical", heading: "The reply was not sent" }, h("s-paragraph", {}, rest)));
      } else {
        showError(errorId, error, { heading: "The reply was not sent" });
      }
    } finally {
      send.removeAttribute("loading");
      send.removeAttribute("disabled");
    }
  }
  form.addEventListener("submit", submit);
  return form;
}

async function main() {
  let inbox;
  try {
    const [page, shop] = await Promise.all([api("/inbox", { query: { limit: 30 } }), api("/shop")]);
    useShop(shop);
    inbox = page;
  } catch (error) {
    showError("page-error", error, { heading: "The inbox could not load" });
    fill("conversations");
    return;
  }
  if (!inbox.items.length) {
    fill(
      "conversations",
      emptyState({
        heading: "No texts yet",
        text: "When a subscriber texts your number, the conversation appears here. Invite shoppers to reply in your campaigns.",
        action: { label: "Create campaign", href: appUrl("/campaigns/new") },
      }),
    );
    return;
  }
  showUnreadTotal(inbox.unread_threads);
  const list = h("ul", { class: "conversations", "aria-label": "Conversations" });
  fill("conversations", list);
  pager({ path: "/inbox", query: { limit: 30 }, first: inbox, body: list, more: byId("conversations-more"), render: conversationRows, errorTarget: "page-error", label: "Show older conversations" });
  const wanted = Number(new URLSearchParams(location.search).get("contact"));
  const open = inbox.items.find(({ contact }) => contact.id === wanted);
  if (open) openThread(open.contact);
}

main();
