// Subscribers: search and filter the contacts, page through them, add one, import a CSV (with
// the merchant's consent attestation) or the SMS subscribers Shopify already has, and export the
// current selection.
import { ApiError, api, download, upload } from "./lib/api.js";
import { byId, fill, h } from "./lib/dom.js";
import { date, number, startOfDay, useShop } from "./lib/format.js";
import { appUrl } from "./lib/nav.js";
import { consentBadge, fullName } from "./lib/contacts.js";
import { badge, busy, clearFieldErrors, emptyState, hideModal, showError, showFieldErrors, table, toast, valueOf } from "./lib/ui.js";

const PAGE_SIZE = 25;
const POLL_MS = 1000;

const state = { query: {}, cursors: [null], shopLoaded: false };

// --- the list ----------------------------------------------------------------------------------

function filterQuery(form) {
  const query = {};
  const search = valueOf(form, "q").trim();
  if (search) query[search.includes("@") ? "email" : "phone"] = search;
  for (const name of ["consent_state", "tag"]) {
    const value = valueOf(form, name).trim();
    if (value) query[name] = value;
  }
  for (const name of ["created_from", "created_to"]) {
    const value = valueOf(form, name);
    if (value) query[name] = startOfDay(value);
  }
  return query;
}

function contactsTable(items) {
  return table({
    label: "Contacts",
    headers: ["Phone", "Name", "Consent", "Tags", "Created"],
    rows: items.map((contact) => [
      h("s-link", { href: appUrl(`/subscribers/${contact.id}`) }, contact.phone),
      fullName(contact) || "—",
      consentBadge(contact.consent_state),
      contact.tags.length ? h("span", { class: "tags" }, contact.tags.map((tag) => badge(tag))) : "—",
      date(contact.created_at),
    ]),
  });
}

function filtered() {
  return Object.keys(state.query).length > 0;
}

async function loadPage() {
  const form = byId("filters");
  const cursor = state.cursors.at(-1);
  try {
    const [page, shop] = await Promise.all([
      api("/contacts", { query: { ...state.query, limit: PAGE_SIZE, cursor } }),
      state.shopLoaded ? null : api("/shop"),
    ]);
    if (shop) {
      useShop(shop);
      state.shopLoaded = true;
    }
    fill("page-error");
    if (!page.items.length) {
      fill(
        "contacts",
        filtered()
          ? emptyState({ heading: "No contacts match", text: "Change or clear the filters to see more contacts." })
          : emptyState({
              heading: "No subscribers yet",
              text: "Add a subscriber, import a CSV of shoppers who agreed to your texts, or add the sign-up form to your storefront.",
            }),
      );
    } else {
      fill("contacts", contactsTable(page.items));
    }
    setPager(page.next_cursor);
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) {
      const fields = { ...error.fields };
      const search = fields.phone || fields.email;
      delete fields.phone;
      delete fields.email;
      const rest = showFieldErrors(form, { fields });
      if (search) form.querySelector('[name="q"]').setAttribute("error", [search].flat().join(" "));
      if (rest) showError("page-error", new ApiError(422, { error: { message: rest } }), { heading: "Check the filters" });
      fill("contacts", emptyState({ heading: "No contacts match", text: "Correct the filters above and search again." }));
    } else {
      showError("page-error", error, { heading: "The contacts could not load" });
      fill("contacts");
    }
    setPager(null);
  }
}

function setPager(nextCursor) {
  state.nextCursor = nextCursor;
  byId("previous").toggleAttribute("disabled", state.cursors.length <= 1);
  byId("next").toggleAttribute("disabled", !nextCursor);
}

function reload() {
  state.cursors = [null];
  return loadPage();
}

function search(event) {
  event.preventDefault();
  const form = byId("filters");
  clearFieldErrors(form);
  state.query = filterQuery(form);
  reload();
}

// --- add a subscriber --------------------------------------------------------------------------

function contactBody(form) {
  const body = { phone: valueOf(form, "phone").trim() };
  for (const name of ["first_name", "last_name", "email"]) {
    const value = valueOf(form, name).trim();
    if (value) body[name] = value;
  }
  const tags = valueOf(form, "tags")
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
  if (tags.length) body.tags = tags;
  body.consent_state = valueOf(form, "consent_state");
  const consentText = valueOf(form, "consent_text").trim();
  if (body.consent_state === "subscribed" && consentText) body.consent_text = consentText;
  return body;
}

async function addContact() {
  const form = byId("add-form");
  clearFieldErrors(form);
  fill("add-error");
  try {
    const contact = await api("/contacts", { method: "POST", body: contactBody(form) });
    hideModal("add-modal");
    form.reset();
    syncConsentText();
    toast(`Subscriber ${contact.phone} saved`);
    await reload();
  } catch (error) {
    const rest = error instanceof ApiError ? showFieldErrors(form, error) : "";
    if (!(error instanceof ApiError) || rest || !Object.keys(error.fields).length) {
      showError("add-error", rest ? new ApiError(error.status, { error: { message: rest } }) : error, { heading: "The subscriber was not added" });
    }
  }
}

function syncConsentText() {
  const form = byId("add-form");
  form.querySelector('[name="consent_text"]').hidden = valueOf(form, "consent_state") !== "subscribed";
}

// --- import and export -------------------------------------------------------------------------

function transferBanner(id, ...children) {
  let slot = byId(id);
  if (!slot) {
    slot = h("div", { id });
    byId("transfers").append(slot);
  }
  return fill(slot, ...children);
}

function counted(count, one, many) {
  return `${number(count)} ${count === 1 ? one : many}`;
}

function importProgress(transfer) {
  // A CSV import reads rows; a Shopify import (kind shopify_import) reads Shopify's customers.
  const shopify = transfer.kind === "shopify_import";
  const heading = transfer.status === "completed" ? "Import finished" : transfer.status === "failed" ? "Import failed" : shopify ? "Importing from Shopify" : "Importing subscribers";
  const tone = transfer.status === "completed" ? (transfer.error_count ? "warning" : "success") : transfer.status === "failed" ? "critical" : "info";
  const unit = shopify ? "customers" : "rows";
  const rows = transfer.total_rows ? `${number(transfer.processed_rows)} of ${number(transfer.total_rows)} ${unit} read` : `${number(transfer.processed_rows)} ${unit} read`;
  const waiting = shopify && !transfer.processed_rows && transfer.status !== "completed" && transfer.status !== "failed";
  const updated = shopify && transfer.updated_count ? `, ${counted(transfer.updated_count, "existing contact", "existing contacts")} subscribed` : "";
  const errors = transfer.errors || [];
  return h(
    "s-banner",
    { tone, heading },
    waiting
      ? h("s-paragraph", {}, "Shopify is preparing the export of its SMS subscribers. This can take a few minutes; you can leave this page.")
      : h("s-paragraph", {}, `${transfer.filename || "CSV"}: ${rows}, ${counted(transfer.created_count, "new subscriber", "new subscribers")}${updated}, ${counted(transfer.error_count, "row", "rows")} with problems.`),
    transfer.failure ? h("s-paragraph", {}, transfer.failure) : null,
    errors.length
      ? h(
          "ul",
          { class: "import-errors", "aria-label": "Rows with problems" },
          errors.slice(0, 20).map((item) => h("li", {}, `Row ${item.row}, ${item.field}: ${item.error}`)),
          errors.length > 20 || transfer.error_count > errors.length ? h("li", {}, `and ${number(transfer.error_count - Math.min(errors.length, 20))} more`) : null,
        )
      : null,
  );
}

async function poll(path, render) {
  for (;;) {
    const transfer = await api(path);
    render(transfer);
    if (transfer.status === "completed" || transfer.status === "failed") return transfer;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function startImport() {
  const form = byId("import-form");
  clearFieldErrors(form);
  fill("import-error");
  const data = new FormData();
  const file = form.querySelector('[name="file"]').files?.[0];
  if (file) data.append("file", file, file.name);
  if (valueOf(form, "consent_attestation")) data.append("consent_attestation", "true");
  let transfer;
  try {
    transfer = await upload("/contacts/imports", data);
  } catch (error) {
    const rest = error instanceof ApiError ? showFieldErrors(form, error) : "";
    if (!(error instanceof ApiError) || rest || !Object.keys(error.fields).length) {
      showError("import-error", rest ? new ApiError(error.status, { error: { message: rest } }) : error, { heading: "The import did not start" });
    }
    return;
  }
  hideModal("import-modal");
  form.reset();
  followImport(transfer); // the button is free again while the import runs
}

async function followImport(transfer) {
  const id = `import-${transfer.id}`;
  transferBanner(id, importProgress(transfer));
  try {
    const done = await poll(`/contacts/imports/${transfer.id}`, (current) => transferBanner(id, importProgress(current)));
    if (done.status === "completed") toast(`Import finished: ${counted(done.created_count + (done.updated_count || 0), "new subscriber", "new subscribers")}`);
    await reload();
  } catch (error) {
    showError(transferBanner(id), error, { heading: "The import's progress could not load" });
  }
}

async function startShopifyImport() {
  let transfer;
  try {
    // 202 starts an import; 200 answers the one already running, which is followed the same way.
    transfer = await api("/contacts/shopify-import", { method: "POST" });
  } catch (error) {
    showError("page-error", error, { heading: "The import from Shopify did not start" });
    return;
  }
  followImport(transfer);
}

async function followRunningShopifyImport() {
  // The import started at install (or in another tab) shows its progress here too.
  let transfer;
  try {
    transfer = await api("/contacts/shopify-import"); // null (204) when the shop never imported
  } catch (error) {
    showError("page-error", error, { heading: "The import from Shopify could not load" });
    return;
  }
  if (transfer && (transfer.status === "queued" || transfer.status === "running")) followImport(transfer);
}

function exportProgress(transfer, onDownload) {
  if (transfer.status === "completed") {
    return h(
      "s-banner",
      { tone: "success", heading: "Export ready" },
      h("s-paragraph", {}, `${number(transfer.total_rows)} contacts. The file can be downloaded for 7 days.`),
      h("s-button", { onclick: onDownload }, "Download CSV"),
    );
  }
  if (transfer.status === "failed") {
    return h("s-banner", { tone: "critical", heading: "Export failed" }, h("s-paragraph", {}, transfer.failure || "Try again."));
  }
  return h("s-banner", { tone: "info", heading: "Exporting contacts" }, h("s-paragraph", {}, `${number(transfer.processed_rows)} contacts written so far.`));
}

async function startExport(event) {
  const button = event.currentTarget;
  await busy(button, async () => {
    let transfer;
    try {
      const query = new URLSearchParams(state.query).toString();
      transfer = await api(`/contacts/exports${query ? `?${query}` : ""}`, { method: "POST" });
    } catch (error) {
      showError("page-error", error, { heading: "The export did not start" });
      return;
    }
    const id = `export-${transfer.id}`;
    const save = async (click) => {
      try {
        await busy(click.currentTarget, () => download(`/contacts/exports/${transfer.id}/download`, { filename: "contacts.csv" }));
      } catch (error) {
        showError(transferBanner(id), error, { heading: "The export could not download" });
      }
    };
    try {
      await poll(`/contacts/exports/${transfer.id}`, (current) => transferBanner(id, exportProgress(current, save)));
    } catch (error) {
      showError(transferBanner(id), error, { heading: "The export's progress could not load" });
    }
  });
}

// --- wiring ------------------------------------------------------------------------------------

function main() {
  const params = new URLSearchParams(location.search);
  if (params.has("deleted")) {
    toast("Subscriber deleted");
    params.delete("deleted");
    history.replaceState(null, "", `${location.pathname}${params.size ? `?${params}` : ""}`);
  }
  byId("filters").addEventListener("submit", search);
  byId("clear-filters").addEventListener("click", () => {
    const form = byId("filters");
    form.reset();
    for (const field of form.querySelectorAll("[name]")) field.value = "";
    clearFieldErrors(form);
    state.query = {};
    reload();
  });
  byId("previous").addEventListener("click", () => {
    if (state.cursors.length > 1) state.cursors.pop();
    loadPage();
  });
  byId("next").addEventListener("click", () => {
    if (!state.nextCursor) return;
    state.cursors.push(state.nextCursor);
    loadPage();
  });
  byId("add-form").addEventListener("change", syncConsentText);
  byId("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addContact();
  });
  byId("add-save").addEventListener("click", (event) => busy(event.currentTarget, addContact));
  byId("import-start").addEventListener("click", (event) => busy(event.currentTarget, startImport));
  byId("export").addEventListener("click", startExport);
  byId("shopify-import").addEventListener("click", (event) => busy(event.currentTarget, startShopifyImport));
  loadPage();
  followRunningShopifyImport();
}

main();
