// Segments: the saved audiences with their counts, and an editor that builds the API's filters
// from rows of field / condition / value, with the audience counted by the API as it changes.
import { ApiError, api } from "./lib/api.js";
import { byId, fill, h } from "./lib/dom.js";
import { dateTime, dayOf, number, startOfDay, useShop } from "./lib/format.js";
import { busy, debounce, emptyState, hideModal, showError, showModal, table, toast } from "./lib/ui.js";
import { COMMERCE_FIELDS, COMMERCE_KINDS, commerceValue, commerceValueControl } from "./lib/commerce_filters.js";
import { productPicker } from "./lib/product_picker.js";

// What the segment filter schema allows (shopify_app/schemas/segments.py), as rows: each
// condition is one of the API's filter keys.
const FIELDS = {
  consent_state: { label: "Consent", conditions: [["consent_state", "is"]], value: "consent" },
  tags: { label: "Tags", conditions: [["tags_any", "include any of"], ["tags_all", "include all of"], ["tags_none", "include none of"]], value: "list" },
  country: { label: "Country", conditions: [["country_codes", "is one of"]], value: "countries" },
  created: { label: "Date added", conditions: [["created_from", "on or after"], ["created_to", "before"]], value: "date" },
  last_order: { label: "Last order", conditions: [["last_order_from", "on or after"], ["last_order_to", "before"]], value: "date" },
  has_ordered: { label: "Has ordered", conditions: [["has_ordered", "is"]], value: "boolean" },
  has_clicked: { label: "Has clicked a link", conditions: [["has_clicked", "is"]], value: "boolean" },
  ...COMMERCE_FIELDS,
};
const FIELD_OF_KEY = Object.fromEntries(Object.entries(FIELDS).flatMap(([field, spec]) => spec.conditions.map(([key]) => [key, field])));
const CONSENT = [["subscribed", "Subscribed"], ["pending", "Pending"], ["unsubscribed", "Unsubscribed"]];

const editor = { segment: null, controller: null, rows: 0 };

function options(pairs, selected) {
  return pairs.map(([value, label]) => h("s-option", { value, selected: value === selected }, label));
}

function subscribers(count) {
  return `${number(count)} ${count === 1 ? "subscriber" : "subscribers"}`;
}

// --- the filter rows ---------------------------------------------------------------------------

function valueControl(kind, key, value = "") {
  const common = { label: "Value", name: key, "data-role": "value" };
  if (kind === "consent") return h("s-select", { ...common, value: value || "subscribed" }, options(CONSENT, value || "subscribed"));
  if (kind === "boolean") return h("s-select", { ...common, value: value || "true" }, options([["true", "Yes"], ["false", "No"]], value || "true"));
  if (kind === "date") return h("s-date-field", { ...common, value });
  const commerce = commerceValueControl(kind, common, value);
  if (commerce) return commerce;
  if (kind === "countries") return h("s-text-field", { ...common, value, details: "Two-letter country codes separated by commas, e.g. US, CA." });
  return h("s-text-field", { ...common, value, details: "Separate tags with commas." });
}

function filterRow(field = "tags", key = null, value = "") {
  editor.rows += 1;
  const index = editor.rows;
  const row = h("fieldset", { class: "filter-row", "data-row": index });
  const legend = h("legend", {}, `Filter ${index}`);
  const fieldSelect = h("s-select", { label: "Field", "data-role": "field", value: field }, options(Object.entries(FIELDS).map(([name, spec]) => [name, spec.label]), field));
  const conditionSlot = h("div", { class: "filter-condition" });
  const valueSlot = h("div", { class: "filter-value" });
  const remove = h("s-button", { variant: "tertiary", accessibilityLabel: `Remove filter ${index}`, onclick: () => removeRow(row) }, "Remove");

  function build(chosenField, chosenKey, chosenValue) {
    const spec = FIELDS[chosenField];
    const conditionKey = chosenKey || spec.conditions[0][0];
    const condition = h("s-select", { label: "Condition", "data-role": "condition", value: conditionKey }, options(spec.conditions, conditionKey));
    condition.addEventListener("change", () => {
      const control = valueSlot.firstElementChild;
      control.setAttribute("name", condition.value);
      control.removeAttribute("error");
    });
    fill(conditionSlot, condition);
    const control = valueControl(spec.value, conditionKey, chosenValue);
    fill(valueSlot, control, spec.value === "products" ? productPicker(control, index) : null);
  }

  fieldSelect.addEventListener("change", () => build(fieldSelect.value, null, ""));
  build(field, key, value);
  row.append(legend, fieldSelect, conditionSlot, valueSlot, remove);
  return row;
}

function removeRow(row) {
  row.remove();
  audienceChanged();
}

function rows() {
  return [...byId("filter-rows").querySelectorAll(".filter-row")];
}

// The API's filters object from the rows; rows without a value are left out.
function filtersFromRows() {
  const filters = {};
  for (const row of rows()) {
    const field = row.querySelector('[data-role="field"]').value;
    const key = row.querySelector('[data-role="condition"]').value;
    const raw = String(row.querySelector('[data-role="value"]').value ?? "").trim();
    if (!raw) continue;
    const kind = FIELDS[field].value;
    if (kind === "list" || kind === "countries") {
      const items = raw.split(",").map((item) => item.trim()).filter(Boolean);
      filters[key] = [...new Set([...(filters[key] || []), ...items])];
    } else if (kind === "date") {
      filters[key] = startOfDay(raw);
    } else if (kind === "boolean") {
      filters[key] = raw === "true";
    } else if (kind in COMMERCE_KINDS) {
      filters[key] = commerceValue(kind, raw);
    } else {
      filters[key] = raw;
    }
  }
  return filters;
}

function rowsFromFilters(filters) {
  const built = [];
  for (const [key, value] of Object.entries(filters || {})) {
    const field = FIELD_OF_KEY[key];
    if (!field) continue;
    const kind = FIELDS[field].value;
    const text = Array.isArray(value) ? value.join(", ") : kind === "date" ? dayOf(value) : String(value);
    built.push(filterRow(field, key, text));
  }
  return built;
}

function clearErrors() {
  for (const control of byId("segment-form").querySelectorAll("[error]")) control.removeAttribute("error");
  fill("editor-error");
}

// 422 details next to their fields: the name, and each filter key's value control.
function showErrors(error) {
  const fields = error.fields || {};
  const unclaimed = [];
  const flat = (messages) => (Array.isArray(messages) ? messages.flatMap(flat) : messages && typeof messages === "object" ? Object.values(messages).flatMap(flat) : [String(messages)]);
  if (fields.name) byId("segment-form").querySelector('[name="name"]').setAttribute("error", flat(fields.name).join(" "));
  const filters = fields.filters || {};
  for (const [key, messages] of Object.entries(Array.isArray(filters) ? { _schema: filters } : filters)) {
    const controls = [...byId("filter-rows").querySelectorAll(`[data-role="value"][name="${CSS.escape(key)}"]`)];
    if (controls.length) for (const control of controls) control.setAttribute("error", flat(messages).join(" "));
    else unclaimed.push(flat(messages).join(" "));
  }
  for (const [key, messages] of Object.entries(fields)) if (key !== "name" && key !== "filters") unclaimed.push(flat(messages).join(" "));
  if (unclaimed.length || !Object.keys(fields).length) {
    showError("editor-error", unclaimed.length ? new ApiError(422, { error: { message: unclaimed.join(" ") } }) : error, { heading: "Check the segment" });
  }
}

// --- the live count ----------------------------------------------------------------------------

async function countAudience() {
  editor.controller?.abort();
  const controller = new AbortController();
  editor.controller = controller;
  byId("audience-count").setAttribute("aria-busy", "true");
  try {
    const result = await api("/segments/count", { method: "POST", body: { filters: filtersFromRows() }, signal: controller.signal });
    clearErrors();
    fill("audience-count", subscribers(result.count));
    fill("audience-subscribed", `(${number(result.subscribed)} can receive marketing texts)`);
  } catch (error) {
    if (error.name === "AbortError") return;
    clearErrors();
    fill("audience-count", "—");
    fill("audience-subscribed");
    if (error instanceof ApiError && error.status === 422) showErrors(error);
    else showError("editor-error", error, { heading: "The audience could not be counted" });
  }
}

const audienceChanged = debounce(countAudience, 400);

// --- saving, editing, deleting -----------------------------------------------------------------

function startEditing(segment) {
  editor.segment = segment;
  editor.rows = 0;
  const form = byId("segment-form");
  clearErrors();
  byId("editor").setAttribute("heading", segment ? `Edit segment: ${segment.name}` : "New segment");
  form.querySelector('[name="name"]').value = segment ? segment.name : "";
  byId("cancel-edit").hidden = !segment;
  const built = segment ? rowsFromFilters(segment.filters) : [];
  fill("filter-rows", built.length ? built : filterRow());
  countAudience();
}

function save(event) {
  event.preventDefault();
  return busy(byId("save-segment"), saveSegment);
}

async function saveSegment() {
  clearErrors();
  const body = { name: byId("segment-form").querySelector('[name="name"]').value.trim(), filters: filtersFromRows() };
  try {
    const saved = editor.segment
      ? await api(`/segments/${editor.segment.id}`, { method: "PATCH", body })
      : await api("/segments", { method: "POST", body });
    toast(editor.segment ? "Segment saved" : "Segment created");
    startEditing(saved);
    await loadSegments();
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) showErrors(error);
    else showError("editor-error", error, { heading: "The segment was not saved" });
  }
}

let deleting = null;

function askDelete(segment) {
  deleting = segment;
  fill("delete-text", `“${segment.name}” is deleted; its subscribers are not.`);
  fill("delete-error");
  showModal("delete-modal");
}

async function confirmDelete() {
  try {
    await api(`/segments/${deleting.id}`, { method: "DELETE" });
    hideModal("delete-modal");
    toast("Segment deleted");
    if (editor.segment?.id === deleting.id) startEditing(null);
    await loadSegments();
  } catch (error) {
    showError("delete-error", error, { heading: "The segment was not deleted" });
  }
}

// --- the list ----------------------------------------------------------------------------------

async function loadSegments() {
  const { items } = await api("/segments");
  if (!items.length) {
    fill(
      "segments",
      emptyState({ heading: "No segments yet", text: "Build one below: choose filters such as tags or last order, watch the audience count, and save it to send campaigns to." }),
    );
    return;
  }
  const counts = new Map();
  fill(
    "segments",
    table({
      label: "Saved segments",
      headers: ["Segment", "Audience", "Updated", "Actions"],
      rows: items.map((segment) => {
        const cell = h("span", { "aria-busy": "true" }, h("s-spinner", { accessibilityLabel: "Counting" }));
        counts.set(segment.id, cell);
        return [
          segment.name,
          cell,
          dateTime(segment.updated_at),
          h(
            "span",
            { class: "row-actions" },
            h("s-button", { variant: "tertiary", accessibilityLabel: `Edit ${segment.name}`, onclick: () => startEditing(segment) }, "Edit"),
            h("s-button", { variant: "tertiary", tone: "critical", accessibilityLabel: `Delete ${segment.name}`, onclick: () => askDelete(segment) }, "Delete"),
          ),
        ];
      }),
    }),
  );
  // Counts after the list has painted, one at a time (each is a query over the shop's contacts).
  for (const segment of items) {
    const cell = counts.get(segment.id);
    try {
      const result = await api(`/segments/${segment.id}/count`);
      fill(cell, subscribers(result.count));
    } catch (error) {
      fill(cell, error instanceof ApiError ? error.message : "—");
    }
  }
}

async function main() {
  byId("segment-form").addEventListener("submit", save);
  for (const type of ["input", "change"]) {
    byId("segment-form").addEventListener(type, (event) => {
      if (event.target.getAttribute("name") !== "name") audienceChanged();
    });
  }
  byId("add-filter").addEventListener("click", () => {
    byId("filter-rows").append(filterRow());
    audienceChanged();
  });
  byId("new-segment").addEventListener("click", () => {
    startEditing(null);
    byId("segment-form").querySelector('[name="name"]').focus();
  });
  byId("cancel-edit").addEventListener("click", () => startEditing(null));
  byId("delete-confirm").addEventListener("click", (event) => busy(event.currentTarget, confirmDelete));
  try {
    useShop(await api("/shop"));
    startEditing(null);
    await loadSegments();
  } catch (error) {
    showError("page-error", error, { heading: "The segments could not load" });
    fill("segments");
  }
}

main();
