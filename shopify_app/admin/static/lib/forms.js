// Helpers for forms with nested fields and for cursor-paginated lists ("Show more", or a page
// at a time).
import { api } from "./api.js";
import { fill, h } from "./dom.js";
import { number } from "./format.js";
import { showError, showFieldErrors } from "./ui.js";

// A 422's messages next to their fields, nested ones too: a control with
// data-field="quiet_hours.start" takes the messages at fields.quiet_hours.start. Flat fields go
// through showFieldErrors (name = API field). Returns the unclaimed messages, joined.
export function placeErrors(form, error) {
  const flat = {};
  const nested = [];
  for (const [field, messages] of Object.entries(error.fields || {})) {
    const isMap = messages && typeof messages === "object" && !Array.isArray(messages);
    const keys = isMap ? Object.keys(messages) : [];
    const claimed = keys.length && keys.every((key) => form.querySelector(`[data-field="${CSS.escape(`${field}.${key}`)}"]`));
    if (claimed) nested.push([field, messages]);
    else flat[field] = messages;
  }
  const rest = showFieldErrors(form, { fields: flat });
  for (const [field, messages] of nested) {
    for (const [key, text] of Object.entries(messages)) {
      form.querySelector(`[data-field="${CSS.escape(`${field}.${key}`)}"]`).setAttribute("error", [text].flat(Infinity).join(" "));
    }
  }
  return rest;
}

// A cursor-paginated list: the first page (given, or fetched), then "Show more" for the next.
// `render(items)` returns rows to append to `body` (an element); `errorTarget` shows failures;
// `pick(answer)` finds {items, next_cursor} in an answer that holds more (GET /api/billing).
export function pager({ path, query = {}, first, body, more, render, errorTarget, label = "Show more", pick = (answer) => answer }) {
  let cursor = null;
  const button = h("s-button", { onclick: () => next() }, label);
  more.replaceChildren();

  function show(page) {
    body.append(...render(page.items || []));
    cursor = page.next_cursor || null;
    if (cursor) more.replaceChildren(button);
    else more.replaceChildren();
  }

  async function next() {
    button.setAttribute("loading", "");
    try {
      show(pick(await api(path, { query: { ...query, cursor } })));
    } catch (error) {
      showError(errorTarget, error, { heading: "The next page could not load" });
    } finally {
      button.removeAttribute("loading");
    }
  }

  if (first) show(first);
  return { next, show };
}

// A list shown a page at a time through the API's cursor, with "Previous page" / "Next page".
// `load(cursor)` fetches a page; `render(page, first)` fills the list (`first`: no page before
// it, where an empty page means an empty list). `shown(page)` shows a page already fetched (the
// first, fetched with the shop); the pager goes to `pagerTarget`, a failed load to `errorTarget`.
export function pages({ load, render, heading, pagerTarget = "pager", errorTarget = "page-error" }) {
  const cursors = [undefined]; // the cursor of each page seen so far; the last is the page shown

  function controls(nextCursor) {
    const page = cursors.length;
    if (page === 1 && !nextCursor) return [];
    return h(
      "s-stack",
      { direction: "inline" },
      h("s-button", { disabled: page === 1, onclick: () => show(-1) }, "Previous page"),
      h("s-text", {}, `Page ${number(page)}`),
      h("s-button", { disabled: !nextCursor, onclick: () => show(+1, nextCursor) }, "Next page"),
    );
  }

  function shown(page) {
    render(page, cursors.length === 1);
    fill(pagerTarget, controls(page.next_cursor));
  }

  async function show(step, nextCursor) {
    if (step > 0) cursors.push(nextCursor);
    if (step < 0 && cursors.length > 1) cursors.pop();
    fill(errorTarget);
    try {
      shown(await load(cursors.at(-1)));
    } catch (error) {
      showError(errorTarget, error, { heading });
    }
  }

  return { shown, show };
}

// Run `fn` `wait` ms after the last call (debounced API calls while the merchant types).
export function debounce(fn, wait = 400) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}
