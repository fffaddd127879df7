// Flows: the shop's flows a page at a time (GET /api/flows, which also lists the pre-flow
// automations as one-step flows), each with its trigger, on/off, version and runs in progress;
// "Create flow" opens the templates (GET /api/flows/templates) and "Start from scratch".
import { api } from "./lib/api.js";
import { byId, fill, h } from "./lib/dom.js";
import { dateTime, number, useShop } from "./lib/format.js";
import { pages } from "./lib/forms.js";
import { go, appUrl } from "./lib/nav.js";
import { badge, busy, emptyState, showError, table } from "./lib/ui.js";

const PAGE_SIZE = 25;
const SCRATCH = {
  name: "New flow",
  trigger: "welcome",
  steps: [{ id: "s1", type: "send", body: "Thanks for joining {{shop_name}}!" }],
};

function rows(items) {
  return items.map((flow) => [
    h("s-link", { href: appUrl(`/flows/${flow.id}`) }, flow.name),
    flow.trigger_label || flow.trigger,
    flow.enabled ? badge("On", "success") : badge("Off"),
    flow.version ? `Version ${number(flow.version)}` : "—",
    number(flow.active_runs ?? 0),
    dateTime(flow.updated_at),
  ]);
}

function render(page, first) {
  if (!page.items.length && first) {
    fill("list", emptyState({ heading: "No flows yet", text: "Start from a template, such as a welcome series or an abandoned checkout reminder, and change it as you like.", action: { label: "Create flow", onclick: openTemplates } }));
    return;
  }
  fill("list", table({ label: "Flows", headers: ["Flow", "Trigger", "Status", "Version", "Runs in progress", "Updated"], rows: rows(page.items) }));
}

const load = (cursor) => api("/flows", { query: { limit: PAGE_SIZE, cursor } });
const list = pages({ load, render, heading: "The flows could not load" });

async function create(button, body) {
  fill("template-error");
  try {
    const flow = await busy(button, () => api("/flows", { method: "POST", body }));
    go(`/flows/${flow.id}`);
  } catch (error) {
    showError("template-error", error, { heading: "The flow could not be created" });
  }
}

function templateCard(template) {
  const use = h("s-button", { variant: "primary", accessibilityLabel: `Use ${template.name}`, onclick: () => create(use, { template: template.key }) }, "Use template");
  return h("li", { class: "template" }, h("s-heading", {}, template.name), h("s-paragraph", {}, template.description || ""), use);
}

let templatesLoaded = false;

async function openTemplates() {
  const region = byId("templates");
  region.hidden = false;
  if (templatesLoaded) {
    region.querySelector("s-button")?.focus();
    return;
  }
  try {
    const { items } = await api("/flows/templates");
    templatesLoaded = true;
    const scratch = h("s-button", { onclick: () => create(scratch, SCRATCH) }, "Start from scratch");
    fill("template-list", h("div", { id: "template-error" }), h("ul", { class: "templates", "aria-label": "Templates" }, items.map(templateCard)), scratch);
    region.querySelector("s-button")?.focus();
  } catch (error) {
    showError("template-list", error, { heading: "The templates could not load" });
  }
}

async function main() {
  byId("create").addEventListener("click", openTemplates);
  byId("automations-link").setAttribute("href", appUrl("/automations"));
  try {
    const [shop, page] = await Promise.all([api("/shop"), load(undefined)]);
    useShop(shop);
    list.shown(page);
  } catch (error) {
    showError("page-error", error, { heading: "The flows could not load" });
    fill("list");
  }
}

main();
