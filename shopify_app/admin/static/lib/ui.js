// Pieces every screen shares: the error banner, 422 messages beside their fields, empty
// states, tables, toasts. Everything is built with h(): text stays text.
import { ApiError } from "./api.js";
import { fill, h } from "./dom.js";

// The error's message from the app's error shape, in a critical banner inside `target`.
export function showError(target, error, { heading = "Something went wrong" } = {}) {
  const message = error instanceof ApiError ? error.message : "Something unexpected happened. Reload the page and try again.";
  if (!(error instanceof ApiError)) console.error(error);
  const banner = h("s-banner", { tone: "critical", heading }, h("s-paragraph", {}, message));
  fill(target, banner);
  return banner;
}

// A 422's messages next to the fields they name (`name` attribute = API field); returns the
// messages no field on the form claimed, joined, for a banner.
export function showFieldErrors(form, error) {
  clearFieldErrors(form);
  const unclaimed = [];
  for (const [field, messages] of Object.entries(error.fields || {})) {
    const text = flatten(messages).join(" ");
    const control = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (control) control.setAttribute("error", text);
    else unclaimed.push(field === "_schema" ? text : `${field}: ${text}`);
  }
  return unclaimed.join(" ");
}

export function clearFieldErrors(form) {
  for (const control of form.querySelectorAll("[error]")) control.removeAttribute("error");
}

function flatten(messages) {
  if (Array.isArray(messages)) return messages.flatMap(flatten);
  if (messages && typeof messages === "object") return Object.values(messages).flatMap(flatten);
  return [String(messages)];
}

// What to do next when a list is empty: a heading, a sentence and, optionally, one action.
export function emptyState({ heading, text, action }) {
  return h(
    "s-section",
    { class: "empty-state" },
    h("s-heading", {}, heading),
    h("s-paragraph", {}, text),
    action ? h("s-button", { variant: "primary", href: action.href, onclick: action.onclick }, action.label) : null,
  );
}

// A table: headers are strings, rows are arrays of cell contents (strings or nodes).
export function table({ label, headers, rows }) {
  return h(
    "s-table",
    { "aria-label": label },
    h("s-table-header-row", {}, headers.map((header) => h("s-table-header", {}, header))),
    h("s-table-body", {}, rows.map((cells) => h("s-table-row", {}, cells.map((cell) => h("s-table-cell", {}, cell))))),
  );
}

export function badge(text, tone) {
  return h("s-badge", { tone }, text);
}

export function toast(message, options) {
  window.shopify.toast.show(message, options);
}

// A value from a field element (Polaris fields carry `value` like native inputs).
export function valueOf(form, name) {
  const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
  if (!control) return undefined;
  if (control.type === "checkbox" || control.localName === "s-checkbox" || control.localName === "s-switch") return Boolean(control.checked);
  return control.value ?? "";
}

// Run an action while its button shows it is busy; errors go to `errorTarget`.
export async function busy(button, action) {
  button.setAttribute("loading", "");
  button.setAttribute("disabled", "");
  try {
    return await action();
  } finally {
    button.removeAttribute("loading");
    button.removeAttribute("disabled");
  }
}

// `fn` called once `wait` ms after the last call (live previews and counts call the API this
// way, not on every keystroke); `.cancel()` drops a pending call.
export function debounce(fn, wait = 400) {
  let timer;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

// Open or close an <s-modal> (Polaris: showOverlay/hideOverlay).
export function showModal(id) {
  document.getElementById(id).showOverlay();
}

export function hideModal(id) {
  document.getElementById(id).hideOverlay();
}
