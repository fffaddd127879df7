// Settings: sender, quiet hours, frequency cap, keyword and countries, link hosts, the storefront
// sign-up page, Shopify customers (GET/PATCH
// /api/settings), with App Bridge's save bar; the compliance footer as the API writes it.
import { api, blob, download } from "./lib/api.js";
import { byId, fill, h } from "./lib/dom.js";
import { placeErrors } from "./lib/forms.js";
import { busy, clearFieldErrors, showError, toast } from "./lib/ui.js";

const BAR = "settings-save-bar";
const NAME_MODE = "__name__"; // the sender select's "a sender name" choice
const SAMPLE = "Your message";

let loaded = null; // the settings as the API last gave them
let senders = null;
let dirty = false;
const form = byId("settings-form");
const controls = {};

function textField(key, props) {
  controls[key] = h("s-text-field", { autocomplete: "off", ...props });
  return controls[key];
}

function checkbox(key, props) {
  controls[key] = h("s-checkbox", props);
  return controls[key];
}

function numberField(key, props) {
  controls[key] = h("s-number-field", props);
  return controls[key];
}

function senderSection(settings) {
  const chosen = settings.sender_id || "";
  const numbers = senders.items.map((item) => item.number);
  const isName = chosen && !numbers.includes(chosen) && !/^\+?\d+$/.test(chosen);
  const options = [h("s-option", { value: "" }, "Automatic")];
  for (const number of numbers) options.push(h("s-option", { value: number }, number));
  if (chosen && !isName && !numbers.includes(chosen)) options.push(h("s-option", { value: chosen }, `${chosen} (no longer yours)`));
  options.push(h("s-option", { value: NAME_MODE }, "A sender name (letters)"));
  controls.sender = h("s-select", { label: "Send texts from", name: "sender_id", value: isName ? NAME_MODE : chosen }, options);
  controls.sender.value = isName ? NAME_MODE : chosen;
  const nameField = textField("senderName", {
    label: "Sender name",
    name: "sender_name",
    value: isName ? chosen : "",
    details: "Shown instead of a number where carriers allow it (not in the US or Canada).",
  });
  const nameBox = h("div", { hidden: !isName }, nameField);
  controls.sender.addEventListener("change", () => {
    nameBox.hidden = controls.sender.value !== NAME_MODE;
  });
  const now = senders.us_ca_sender
    ? `Texts to the US and Canada go from ${senders.us_ca_sender}; elsewhere from ${senders.other_sender}.`
    : `Texts to the US and Canada are not sent until you have a number of your own; elsewhere they go from ${senders.other_sender}.`;
  return [controls.sender, nameBox, h("s-paragraph", {}, now)];
}

function quietSection(settings) {
  const window = settings.quiet_hours;
  const on = checkbox("quiet", { label: "Hold texts during quiet hours", name: "quiet_hours", checked: Boolean(window) });
  const start = textField("quietStart", { label: "Quiet hours start", "data-field": "quiet_hours.start", value: window?.start ?? "", placeholder: "21:00" });
  const end = textField("quietEnd", { label: "Quiet hours end", "data-field": "quiet_hours.end", value: window?.end ?? "", placeholder: "08:00" });
  return [
    on,
    h("div", { class: "field-row" }, start, end),
    h("s-paragraph", {}, "24-hour time (HH:MM) on each subscriber's own clock. Texts due in the window wait until it ends."),
  ];
}

function capSection(settings) {
  const cap = settings.frequency_cap;
  return [
    checkbox("cap", { label: "Limit how many marketing texts a subscriber gets", name: "frequency_cap", checked: Boolean(cap) }),
    h(
      "div",
      { class: "field-row" },
      numberField("capMessages", { label: "Texts at most", "data-field": "frequency_cap.max_messages", value: cap?.max_messages ?? "" }),
      numberField("capDays", { label: "In this many days", "data-field": "frequency_cap.per_days", value: cap?.per_days ?? "" }),
    ),
  ];
}

function audienceSection(settings) {
  return [
    textField("keyword", {
      label: "Join keyword",
      name: "join_keyword",
      value: settings.join_keyword ?? "",
      details: "Shoppers who text this word to your number are asked to confirm their subscription. Empty: no keyword.",
    }),
    textField("country", {
      label: "Home country",
      name: "default_country",
      value: settings.default_country ?? "",
      details: "Two-letter code (e.g. US): phone numbers written without a country code are read as this country's.",
    }),
    textField("countries", {
      label: "Countries that may sign up",
      name: "signup_countries",
      value: (settings.signup_countries || []).join(", "),
      details: "Two-letter codes separated by commas (e.g. US, CA). Empty: the home country only.",
    }),
  ];
}

function linksSection(settings) {
  return [
    h("s-text-area", {
      label: "Other sites your texts may link to",
      name: "link_hosts",
      rows: 3,
      value: (settings.link_hosts || []).join("\n"),
      details: "One host name a line (e.g. shop.example.com). Links to your store's own domain are always allowed.",
      ".value": (settings.link_hosts || []).join("\n"),
    }),
  ];
}

function joinPageSection(settings) {
  const colour = (key, name, label) =>
    textField(key, { label, name, value: settings[name] ?? "", placeholder: "#000000", details: "A colour as #rrggbb. Empty: your theme's." });
  return [
    textField("joinHeadline", { label: "Headline", name: "join_headline", value: settings.join_headline ?? "", placeholder: "Get texts from us" }),
    textField("joinIncentive", {
      label: "Incentive",
      name: "join_incentive",
      value: settings.join_incentive ?? "",
      details: "What subscribers get, e.g. 10% off your first order. Empty: none shown.",
    }),
    textField("joinFrequency", {
      label: "How often you text",
      name: "signup_frequency_text",
      value: settings.signup_frequency_text ?? "",
      placeholder: "Up to 8 msgs/month",
      details: "Shown in the consent wording shoppers agree to. Empty: “Up to 8 msgs/month” in the shopper's language.",
    }),
    h("div", { class: "field-row" }, colour("joinColour", "join_button_color", "Button colour"), colour("joinTextColour", "join_button_text_color", "Button text colour")),
  ];
}

async function shareSection() {
  try {
    const links = await api("/signup/links");
    const qr = URL.createObjectURL(await blob("/signup/qr.svg"));
    fill(
      "share",
      h("s-paragraph", {}, "Your sign-up page, in your theme: ", h("s-link", { href: links.join_url, target: "_blank" }, links.join_url)),
      links.text_to_join ? h("s-paragraph", {}, `Or tell shoppers: “${links.text_to_join.text}”.`) : h("s-paragraph", {}, "Set a join keyword above to let shoppers join by texting your number."),
      h("img", { class: "qr", src: qr, alt: `QR code for ${links.join_url}`, width: 160, height: 160 }),
      h(
        "div",
        { class: "row-actions" },
        h("s-button", { onclick: (event) => busy(event.currentTarget, () => download("/signup/qr.svg", { filename: "sms-join-qr.svg" })) }, "Download QR code (SVG)"),
        h("s-button", { onclick: (event) => busy(event.currentTarget, () => download("/signup/qr.png", { filename: "sms-join-qr.png" })) }, "Download QR code (PNG)"),
      ),
    );
  } catch (error) {
    showError("share", error, { heading: "The sign-up links could not load" });
  }
}

function customersSection(settings) {
  return [
    checkbox("addCustomers", {
      label: "Add subscribers to Shopify customers",
      name: "add_subscribers_to_shopify",
      checked: Boolean(settings.add_subscribers_to_shopify),
      details:
        "Every subscribe and unsubscribe here is copied to the matching Shopify customer's SMS consent. " +
        "On: a subscriber with no Shopify customer gets one. Off: they are only kept here.",
    }),
  ];
}

function render(settings) {
  fill("sender", senderSection(settings));
  fill("quiet", quietSection(settings));
  fill("cap", capSection(settings));
  fill("audience", audienceSection(settings));
  fill("links", linksSection(settings));
  fill("joinpage", joinPageSection(settings));
  fill("customers", customersSection(settings));
  controls.links = form.querySelector('[name="link_hosts"]');
}

const list = (text, separator) =>
  String(text ?? "")
    .split(separator)
    .map((item) => item.trim())
    .filter(Boolean);
const orNull = (text) => (String(text ?? "").trim() === "" ? null : String(text).trim());
// A whole number as a number; anything else as typed, for the API to say what is wrong.
const whole = (text) => (/^\s*\d+\s*$/.test(String(text ?? "")) ? Number(text) : String(text ?? ""));

// The form as PATCH /api/settings fields.
function values() {
  const mode = controls.sender.value;
  return {
    sender_id: mode === NAME_MODE ? orNull(controls.senderName.value) ?? "" : orNull(mode),
    quiet_hours: controls.quiet.checked ? { start: String(controls.quietStart.value ?? "").trim(), end: String(controls.quietEnd.value ?? "").trim() } : null,
    frequency_cap: controls.cap.checked ? { max_messages: whole(controls.capMessages.value), per_days: whole(controls.capDays.value) } : null,
    join_keyword: orNull(controls.keyword.value),
    default_country: orNull(controls.country.value),
    signup_countries: list(controls.countries.value, ","),
    link_hosts: list(controls.links.value, /\r?\n/),
    add_subscribers_to_shopify: Boolean(controls.addCustomers.checked),
    join_headline: orNull(controls.joinHeadline.value),
    join_incentive: orNull(controls.joinIncentive.value),
    signup_frequency_text: orNull(controls.joinFrequency.value),
    join_button_color: orNull(controls.joinColour.value),
    join_button_text_color: orNull(controls.joinTextColour.value),
  };
}

// Only what changed is sent: an untouched field the API would now refuse (a number the shop no
// longer holds) does not block saving the others.
function changes() {
  const current = values();
  const changed = {};
  for (const [key, value] of Object.entries(current)) {
    if (JSON.stringify(value) !== JSON.stringify(loaded[key] ?? (Array.isArray(value) ? [] : null))) changed[key] = value;
  }
  return changed;
}

function markDirty() {
  if (dirty || !loaded) return;
  dirty = true;
  window.shopify.saveBar.show(BAR);
}

function settle(settings) {
  loaded = settings;
  dirty = false;
  window.shopify.saveBar.hide(BAR);
}

async function save() {
  const button = byId("settings-save");
  const body = changes();
  fill("page-error");
  if (!Object.keys(body).length) {
    settle(loaded);
    return;
  }
  button.setAttribute("loading", "");
  try {
    const saved = await api("/settings", { method: "PATCH", body });
    clearFieldErrors(form);
    settle(saved);
    render(saved);
    toast("Settings saved");
  } catch (error) {
    if (error.status === 422) {
      const named = { ...error.fields };
      if (named.sender_id && controls.sender.value === NAME_MODE) {
        named.sender_name = named.sender_id;
        delete named.sender_id;
      }
      const rest = placeErrors(form, { fields: named });
      const text = rest ? `${error.message} ${rest}` : `${error.message} Fix the fields marked below, then save again.`;
      fill("page-error", h("s-banner", { tone: "critical", heading: "The settings were not saved" }, h("s-paragraph", {}, text)));
    } else {
      showError("page-error", error, { heading: "The settings were not saved" });
    }
  } finally {
    button.removeAttribute("loading");
  }
}

function discard() {
  clearFieldErrors(form);
  fill("page-error");
  render(loaded);
  settle(loaded);
}

async function footer() {
  try {
    const preview = await api("/templates/preview", { method: "POST", body: { body: SAMPLE } });
    fill(
      "footer",
      h("s-paragraph", {}, "Every marketing text names your shop and tells how to opt out, unless its own words already do. A message written as “" + SAMPLE + "” goes out as:"),
      h("blockquote", { class: "sms-preview" }, preview.text),
    );
  } catch (error) {
    showError("footer", error, { heading: "The example could not load" });
  }
}

async function main() {
  try {
    [loaded, senders] = await Promise.all([api("/settings"), api("/senders")]);
  } catch (error) {
    showError("page-error", error, { heading: "The settings could not load" });
    for (const id of ["sender", "quiet", "cap", "audience", "links", "joinpage", "customers", "share", "footer"]) fill(id);
    return;
  }
  render(loaded);
  form.addEventListener("input", markDirty);
  form.addEventListener("change", markDirty);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  byId("settings-save").addEventListener("click", save);
  byId("settings-discard").addEventListener("click", discard);
  footer();
  shareSection();
}

main();
