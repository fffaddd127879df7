// The composer: a campaign's name, message (variables, discount code, links), audience and
// schedule, with the message's length and SMS segments, a preview and the credits it would
// cost, all as the API computes them; a test to the merchant's own phone; launch after a
// confirmation that shows the recipients and credits.
import { api, ApiError } from "./lib/api.js";
import { byId, fill, h } from "./lib/dom.js";
import { dateTime, number, shopTimeZone, useShop, zonedParts, zonedToIso } from "./lib/format.js";
import { imagePicker } from "./lib/media.js";
import { abTestEditor } from "./lib/ab_test.js";
import { fillLocalTime, localTimeFields, localTimeSummary, showLocalTime, timeChoices } from "./lib/local_time.js";
import { appUrl, go, pathId } from "./lib/nav.js";
import { busy, clearFieldErrors, debounce, showError, showFieldErrors, toast, valueOf } from "./lib/ui.js";

const form = byId("composer");
const field = (name) => form.querySelector(`[name="${name}"]`);
let campaignId = location.pathname.endsWith("/edit") ? pathId(-2) : null;
let discounts = [];
let estimateFor = null; // the draft's fields the shown estimate was computed for
const image = imagePicker({ zone: field("media_id"), preview: byId("media-preview"), remove: byId("remove-image"), onChange: () => staleEstimate() });
const abTest = abTestEditor(byId("ab-test"), { bodyOf: () => valueOf(form, "body") });

// --- the form's fields and the API's -----------------------------------------------------------

function scheduled() {
  return valueOf(form, "when") === "later";
}

function sendAt() {
  if (!scheduled()) return null;
  const day = valueOf(form, "send_at");
  const time = valueOf(form, "send_time");
  return day && time ? zonedToIso(day, time) : undefined;
}

function payload() {
  const data = { name: valueOf(form, "name"), body: valueOf(form, "body") };
  const audience = valueOf(form, "segment_id");
  if (audience) data.segment_id = audience === "all" ? null : Number(audience);
  const discount = valueOf(form, "discount_id");
  data.discount_id = discount ? Number(discount) : null;
  data.media_id = image.id;
  data.send_at = sendAt() ?? null;
  return { ...data, ...localTimeFields(form) };
}

// A 422's messages beside their fields, anything else in the form's banner.
function report(error, target = "form-error", owner = form) {
  if (error instanceof ApiError && error.status === 422) {
    const rest = showFieldErrors(owner, error);
    if (rest) fill(target, h("s-banner", { tone: "critical", heading: "Check the campaign" }, h("s-paragraph", {}, rest)));
    else fill(target);
    return;
  }
  showError(target, error, { heading: "The campaign could not be saved" });
}

// --- saving the draft ----------------------------------------------------------------------------

async function save() {
  clearFieldErrors(form);
  fill("form-error");
  if (scheduled() && sendAt() === undefined) {
    field("send_at").setAttribute("error", "Choose a date and a time.");
    throw new Error("incomplete schedule");
  }
  const data = payload();
  const campaign = campaignId
    ? await api(`/campaigns/${campaignId}`, { method: "PATCH", body: data })
    : await api("/campaigns", { method: "POST", body: data });
  if (!campaignId) {
    campaignId = campaign.id;
    history.replaceState(null, "", appUrl(`/campaigns/${campaign.id}/edit`));
    document.title = `Edit campaign · SMS Blossom`;
  }
  await abTest.save(campaignId);
  return campaign;
}

async function saveOrReport() {
  try {
    return await save();
  } catch (error) {
    if (error instanceof ApiError) report(error);
    return null;
  }
}

// --- counter and preview (POST /api/templates/preview) ---------------------------------------------

let previewing;
const refreshPreview = debounce(async () => {
  const body = valueOf(form, "body");
  previewing?.abort();
  if (!body.trim()) {
    fill("counter", "Type a message to see its length and segments.");
    fill("preview", h("s-text", { color: "subdued" }, "Nothing to preview yet."));
    return;
  }
  previewing = new AbortController();
  const discount = valueOf(form, "discount_id");
  try {
    const preview = await api("/templates/preview", {
      method: "POST",
      body: { body, discount_id: discount ? Number(discount) : null },
      signal: previewing.signal,
    });
    field("body").removeAttribute("error");
    const parts = preview.segments === 1 ? "1 SMS segment" : `${number(preview.segments)} SMS segments`;
    fill("counter", `${number(preview.characters)} characters · ${parts} · ${preview.encoding}`);
    fill("preview", h("p", { class: "sms-bubble" }, preview.text));
  } catch (error) {
    if (error.name === "AbortError") return;
    if (error instanceof ApiError && error.status === 422) {
      const fields = error.fields;
      if (fields.body) field("body").setAttribute("error", [fields.body].flat().join(" "));
      if (fields.discount_id) field("discount_id").setAttribute("error", [fields.discount_id].flat().join(" "));
      fill("counter", "Fix the message to see its length and segments.");
      fill("preview");
      return;
    }
    showError("preview", error, { heading: "The preview could not load" });
  }
}, 350);

// --- estimate (GET /api/campaigns/<id>/estimate, on the saved draft) --------------------------------

function estimateKey() {
  const data = payload();
  return JSON.stringify([data.body, data.segment_id, data.discount_id, data.media_id, abTest.key()]);
}

function showEstimate(figures) {
  const parts = figures.segments_per_message === 1 ? "1 segment" : `${number(figures.segments_per_message)} segments`;
  fill(
    "estimate",
    h(
      "div",
      { class: "metrics" },
      h("div", { class: "metric" }, h("s-text", {}, "Recipients"), h("div", { class: "metric-value" }, number(figures.recipients))),
      h("div", { class: "metric" }, h("s-text", {}, "Estimated credits"), h("div", { class: "metric-value" }, number(figures.credits))),
    ),
    h("s-paragraph", { color: "subdued" }, `At most ${parts} per message (${figures.encoding}); a message never costs more than estimated.`),
    figures.mms_recipients ? h("s-paragraph", {}, `${number(figures.mms_recipients)} get the image as MMS; ${number(figures.sms_recipients)} get an SMS with a link to it.`) : null,
  );
}

async function estimate() {
  fill("estimate", h("div", { class: "skeleton", style: "height: 88px" }));
  try {
    const figures = await api(`/campaigns/${campaignId}/estimate`);
    estimateFor = estimateKey();
    showEstimate(figures);
    return figures;
  } catch (error) {
    if (error instanceof ApiError && error.code === "segment_missing") {
      field("segment_id").setAttribute("error", error.message);
      fill("estimate");
    } else showError("estimate", error, { heading: "The cost could not be estimated" });
    return null;
  }
}

function staleEstimate() {
  if (estimateFor === null || estimateFor === estimateKey()) return;
  fill(
    "estimate",
    h("s-paragraph", {}, "The campaign changed since its cost was estimated."),
    h("s-button", { onclick: (event) => busy(event.currentTarget, saveAndEstimate) }, "Update estimate"),
  );
}

async function saveAndEstimate() {
  if (!valueOf(form, "segment_id")) {
    fill("estimate", h("s-paragraph", { color: "subdued" }, "Choose an audience to see how many subscribers get it and what it costs."));
    return null;
  }
  if (!(await saveOrReport())) {
    fill("estimate", h("s-paragraph", { color: "subdued" }, "Fix the fields above to see the cost."));
    return null;
  }
  return estimate();
}

// --- inserting variables, links and discount codes -------------------------------------------------

function insert(text) {
  const area = field("body");
  const value = area.value || "";
  const start = typeof area.selectionStart === "number" ? area.selectionStart : value.length;
  const end = typeof area.selectionEnd === "number" ? area.selectionEnd : start;
  const before = value.slice(0, start);
  const spaced = (before && !/\s$/.test(before) ? " " : "") + text;
  area.value = before + spaced + value.slice(end);
  area.dispatchEvent(new Event("input", { bubbles: true }));
  area.focus();
}

function insertLink() {
  const link = field("link");
  const url = link.value.trim();
  if (!/^https?:\/\/\S+$/i.test(url)) {
    link.setAttribute("error", "Enter a web address starting with https://");
    return;
  }
  link.removeAttribute("error");
  insert(url);
  link.value = "";
}

function insertDiscount() {
  const select = field("discount_id");
  if (!select.value) {
    select.setAttribute("error", "Choose a discount first, or create one.");
    return;
  }
  select.removeAttribute("error");
  insert("{{discount_code}}");
}

function discountLabel(discount) {
  const value = discount.value_type === "percentage" ? `${discount.value}%` : discount.value;
  return `${discount.title} (${discount.code}${discount.kind === "unique" ? "-…" : ""}, ${value} off)`;
}

function fillDiscounts(selected) {
  const select = field("discount_id");
  select.replaceChildren(
    h("s-option", { value: "" }, "No discount"),
    discounts.map((discount) => h("s-option", { value: discount.id }, discountLabel(discount))),
  );
  select.value = selected ? String(selected) : "";
}

async function loadDiscounts(selected) {
  try {
    const page = await api("/discounts", { query: { limit: 200 } });
    discounts = page.items;
    fillDiscounts(selected);
  } catch (error) {
    field("discount_id").setAttribute("error", error.message);
  }
}

async function createDiscount() {
  const modalForm = byId("discount-form");
  clearFieldErrors(modalForm);
  fill("discount-error");
  const body = Object.fromEntries(["title", "kind", "code", "value_type", "value"].map((name) => [name, valueOf(modalForm, name)]));
  try {
    const discount = await api("/discounts", { method: "POST", body });
    discounts = [discount, ...discounts];
    fillDiscounts(discount.id);
    byId("discount-modal").hideOverlay();
    toast("Discount created");
    refreshPreview();
    staleEstimate();
  } catch (error) {
    report(error, "discount-error", modalForm);
  }
}

// --- schedule ----------------------------------------------------------------------------------------

function timeOptions(selected) {
  timeChoices(field("send_time"), selected);
}

function showSchedule() {
  byId("schedule").hidden = !scheduled();
  field("send_at").setAttribute("details", `In your shop's time zone (${shopTimeZone()}).`);
  showLocalTime(form);
}

// --- test send (POST /api/campaigns/<id>/test-send) ------------------------------------------------

async function testSend() {
  const phone = field("phone");
  phone.removeAttribute("error");
  fill("test-result");
  if (!(await saveOrReport())) return;
  try {
    const test = await api(`/campaigns/${campaignId}/test-send`, { method: "POST", body: { phone: phone.value } });
    const outcome = test.state === "skipped" || test.state === "failed" ? `It was not sent (${test.skip_reason || test.error_code || test.state}).` : "Check your phone.";
    fill(
      "test-result",
      h("s-banner", { tone: test.state === "skipped" || test.state === "failed" ? "warning" : "success", heading: `Test sent to ${test.phone}` }, h("s-paragraph", {}, outcome)),
      h("s-paragraph", { color: "subdued" }, `${number(test.sent_today)} of ${number(test.daily_limit)} tests today.`),
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 422 && error.fields.phone) {
      phone.setAttribute("error", [error.fields.phone].flat().join(" "));
      return;
    }
    const banner = showError("test-result", error, { heading: "The test was not sent" });
    if (error instanceof ApiError && error.status === 402) banner.append(credits(error.details));
  }
}

function credits(details) {
  if (details.required === undefined) return null;
  return h(
    "s-paragraph",
    {},
    `Needed: ${number(details.required)} credits. Available: ${number(details.available)} credits. `,
    h("s-link", { href: appUrl("/billing") }, "Buy credits"),
  );
}

// --- review and launch --------------------------------------------------------------------------------

async function review() {
  if (!valueOf(form, "segment_id")) {
    field("segment_id").setAttribute("error", "Choose who gets this campaign.");
    field("segment_id").focus();
    return;
  }
  const figures = await saveAndEstimate();
  if (!figures) return;
  const when = sendAt();
  fill("launch-error");
  fill(
    "launch-figures",
    h(
      "dl",
      { class: "figures" },
      h("dt", {}, "Recipients"),
      h("dd", {}, number(figures.recipients)),
      h("dt", {}, "Estimated credits"),
      h("dd", {}, number(figures.credits)),
      h("dt", {}, "Sends"),
      h("dd", {}, when ? `${dateTime(when)} (${shopTimeZone()})` : localTimeSummary(form) || "Now"),
    ),
    h("s-paragraph", {}, "The credits are held when it starts; what is not used goes back to your balance."),
  );
  byId("launch").textContent = when ? "Schedule campaign" : "Send campaign";
  byId("launch-modal").showOverlay();
}

async function launch() {
  fill("launch-error");
  const when = sendAt();
  try {
    await api(`/campaigns/${campaignId}/launch`, { method: "POST", body: { send_at: when ?? null } });
    toast(when ? "Campaign scheduled" : "Campaign launched");
    go(`/campaigns/${campaignId}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) {
      byId("launch-modal").hideOverlay(); // e.g. a time that has passed: shown beside the date
      report(error);
      return;
    }
    const banner = showError("launch-error", error, { heading: "The campaign was not launched" });
    if (error instanceof ApiError && error.status === 402) banner.append(credits(error.details));
  }
}

// --- loading ------------------------------------------------------------------------------------------

function fillSegments(segments, selected) {
  const select = field("segment_id");
  const known = selected === null || selected === undefined || segments.some((segment) => segment.id === selected);
  select.replaceChildren(
    h("s-option", { value: "all" }, "All subscribers"),
    segments.map((segment) => h("s-option", { value: segment.id }, segment.name)),
    known ? null : h("s-option", { value: "", disabled: true }, "A deleted segment"),
  );
  if (!known) {
    select.value = "";
    select.setAttribute("error", "This campaign's segment no longer exists: choose another audience.");
  } else if (campaignId) select.value = selected ? String(selected) : "all";
}

function fillForm(campaign) {
  field("name").value = campaign.name;
  field("body").value = campaign.body;
  if (campaign.send_at) {
    const parts = zonedParts(campaign.send_at);
    field("when").value = "later";
    field("send_at").value = parts.date;
    timeOptions(parts.time);
  }
}

async function main() {
  const editing = campaignId !== null;
  try {
    const [shop, campaign, segments] = await Promise.all([
      api("/shop"),
      editing ? api(`/campaigns/${campaignId}`) : null,
      api("/segments"),
    ]);
    useShop(shop);
    timeOptions();
    fillLocalTime(form, campaign);
    if (campaign && campaign.state !== "draft") {
      fill(
        "composer-body",
        h("s-banner", { tone: "info", heading: "This campaign can no longer be edited" }, h("s-paragraph", {}, "Only a draft can be edited. "), h("s-link", { href: appUrl(`/campaigns/${campaign.id}`) }, "Open the campaign")),
      );
      for (const id of ["save", "review"]) byId(id).hidden = true;
      return;
    }
    if (campaign) fillForm(campaign);
    await image.load(campaign?.media_id);
    await abTest.load(campaignId);
    fillSegments(segments.items, campaign ? campaign.segment_id : undefined);
    showSchedule();
    form.hidden = false;
    fill("composer-body");
    byId("composer-body").hidden = true;
    refreshPreview();
    // Below the fold: the discounts, then the estimate of a saved draft.
    await loadDiscounts(campaign?.discount_id);
    if (campaign) await estimate();
    else saveAndEstimate();
  } catch (error) {
    showError("page-error", error, { heading: "The campaign could not load" });
    fill("composer-body");
  }
}

form.addEventListener("submit", (event) => event.preventDefault());
form.addEventListener("input", (event) => {
  const name = event.target.getAttribute?.("name");
  if (name === "body") refreshPreview();
  if (name) event.target.removeAttribute("error");
  staleEstimate();
});
field("discount_id").addEventListener("change", () => {
  refreshPreview();
  staleEstimate();
});
field("segment_id").addEventListener("change", () => {
  field("segment_id").removeAttribute("error");
  saveAndEstimate();
});
field("when").addEventListener("change", showSchedule);
byId("insert-variable").addEventListener("click", () => insert(`{{${valueOf(form, "variable")}}}`));
byId("insert-link").addEventListener("click", insertLink);
byId("insert-discount").addEventListener("click", insertDiscount);
byId("create-discount").addEventListener("click", (event) => busy(event.currentTarget, createDiscount));
byId("test-send").addEventListener("click", (event) => busy(event.currentTarget, testSend));
byId("save").addEventListener("click", (event) =>
  busy(event.currentTarget, async () => {
    if (!(await saveOrReport())) return;
    toast("Draft saved");
    if (valueOf(form, "segment_id")) await estimate();
  }),
);
byId("review").addEventListener("click", (event) => busy(event.currentTarget, review));
byId("launch").addEventListener("click", (event) => busy(event.currentTarget, launch));

main();
