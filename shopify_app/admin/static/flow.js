// A flow: its settings (name, trigger and the trigger's settings, re-entry, "end when they
// order"), its on/off switch, its steps (lib/flow_steps.js), saved together with PATCH
// /api/flows/<id> as a new version; then its report and its runs (lib/flow_reports.js).
import { all, api } from "./lib/api.js";
import { fill, h } from "./lib/dom.js";
import { REENTRY, numbering } from "./lib/flow_labels.js";
import { showReport, showRuns } from "./lib/flow_reports.js";
import { whole } from "./lib/flow_step_forms.js";
import { stepsEditor } from "./lib/flow_steps.js";
import { number, useShop } from "./lib/format.js";
import { placeErrors } from "./lib/forms.js";
import { appUrl, go, pathId } from "./lib/nav.js";
import { busy, clearFieldErrors, hideModal, showError, showModal, toast } from "./lib/ui.js";

const flowId = pathId();
const SOURCES = { keyword: "Texted a keyword", proxy_form: "Signed up on a form" };
let flow;
let catalog;
let editor;
let settings; // {form, config area, state}
const state = { dirty: false };

// Said once (a live region repeating it at every keystroke would be noise).
function changed() {
  if (state.dirty) return;
  state.dirty = true;
  fill("save-status", "Unsaved changes");
}

function option(value, label, chosen) {
  return h("s-option", { value, selected: value === chosen }, label);
}

// The chosen trigger's own settings, written into `config` (the trigger_config sent on save).
function triggerSettings(trigger, config) {
  const field = (control, key, read) => {
    control.setAttribute("name", "trigger_config"); // the API's 422 names trigger_config
    control.addEventListener("input", () => {
      config[key] = read(control.value);
      changed();
    });
    return control;
  };
  if (trigger === "tag_added") return field(h("s-text-field", { label: "Tag that starts the flow", value: config.tag || "" }), "tag", String);
  if (trigger === "browsed_product") return field(h("s-number-field", { label: "Wait after the visit (minutes)", min: 15, value: config.window_minutes ?? 60 }), "window_minutes", whole);
  if (trigger === "win_back") return field(h("s-number-field", { label: "Days without an order", min: 7, value: config.days ?? 90 }), "days", whole);
  if (trigger === "joined") {
    const sources = new Set(config.sources || []);
    return h(
      "fieldset",
      { class: "filter-row" },
      h("legend", {}, "How they joined"),
      Object.entries(SOURCES).map(([key, label]) => {
        const box = h("s-checkbox", { label, checked: sources.has(key), ".checked": sources.has(key) });
        box.addEventListener("change", () => {
          if (box.checked) sources.add(key);
          else sources.delete(key);
          config.sources = Object.keys(SOURCES).filter((name) => sources.has(name));
          changed();
        });
        return box;
      }),
    );
  }
  return null;
}

function settingsForm() {
  const values = { trigger: flow.trigger, config: { ...(flow.trigger_config || {}) }, reentry: { ...(flow.reentry || { mode: "per_trigger" }) } };
  const name = h("s-text-field", { label: "Name", name: "name", value: flow.name, maxlength: 120 });
  // A flow made from an automation keeps its trigger (the API refuses another: flow_trigger_fixed).
  const fixed = flow.from_automation ? { disabled: true, details: "A flow made from an automation keeps its trigger. Create a new flow for another trigger." } : {};
  const trigger = h("s-select", { label: "Trigger", name: "trigger", value: flow.trigger, ".value": flow.trigger, ...fixed }, catalog.triggers.map((item) => option(item.key, item.label, flow.trigger)));
  const triggerArea = h("div", {}, triggerSettings(values.trigger, values.config));
  const reentry = h("s-select", { label: "Re-entry", name: "reentry", value: values.reentry.mode, ".value": values.reentry.mode }, Object.entries(REENTRY).map(([key, label]) => option(key, label, values.reentry.mode)));
  const days = h("s-number-field", { label: "Cooldown (days)", name: "reentry_days", min: 1, max: 365, value: values.reentry.days ?? 30, hidden: values.reentry.mode !== "cooldown" });
  const exitOnOrder = h("s-checkbox", { label: "End the flow when they order", name: "exit_on_order", checked: flow.exit_on_order, ".checked": flow.exit_on_order });
  trigger.addEventListener("change", () => {
    values.trigger = trigger.value;
    values.config = { ...(catalog.triggers.find((item) => item.key === values.trigger)?.config || {}) };
    fill(triggerArea, triggerSettings(values.trigger, values.config));
    editor.render(); // the variables a text may use follow the trigger
    changed();
  });
  reentry.addEventListener("change", () => {
    days.hidden = reentry.value !== "cooldown";
    changed();
  });
  for (const control of [name, days]) control.addEventListener("input", changed);
  exitOnOrder.addEventListener("change", changed);
  const form = h("form", { class: "automation-form", novalidate: true, "aria-label": "Flow settings" }, name, trigger, triggerArea, h("div", { class: "field-row" }, reentry, days), exitOnOrder);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  const payload = () => {
    const mode = reentry.value || "per_trigger";
    return {
      name: String(name.value ?? "").trim(),
      trigger: values.trigger,
      trigger_config: values.config,
      reentry: mode === "cooldown" ? { mode, days: whole(days.value) } : { mode },
      exit_on_order: Boolean(exitOnOrder.checked),
      steps: editor.tree,
    };
  };
  return { form, payload, trigger: () => values.trigger };
}

function onOff() {
  const control = h("s-switch", { label: "Flow on", checked: flow.enabled, ".checked": flow.enabled });
  control.addEventListener("change", async () => {
    const enabled = Boolean(control.checked);
    control.setAttribute("disabled", "");
    fill("switch-error");
    try {
      flow = { ...flow, ...(await api(`/flows/${flowId}`, { method: "PATCH", body: { enabled } })) };
      control.checked = flow.enabled;
      toast(`${flow.name} ${flow.enabled ? "on" : "off"}`);
    } catch (error) {
      control.checked = flow.enabled;
      showError("switch-error", error, { heading: `The flow could not be turned ${enabled ? "on" : "off"}` });
    } finally {
      control.removeAttribute("disabled");
    }
  });
  return control;
}

function inProgress(count) {
  return count === 1 ? "1 run in progress keeps the steps it started with." : `${number(count)} runs in progress keep the steps they started with.`;
}

function refused(items, heading) {
  const list = h("ul", { class: "import-errors" }, items.map((item) => h("li", {}, item)));
  fill("save-error", h("s-banner", { tone: "critical", heading }, list));
}

async function save() {
  const button = document.getElementById("save");
  fill("save-error");
  clearFieldErrors(settings.form);
  const problems = editor.check();
  if (problems.length) {
    editor.showErrors(problems);
    refused(problems.map(editor.describe), "The flow was not saved: fix the steps marked below");
    return;
  }
  editor.clear();
  const before = flow.version?.number;
  button.setAttribute("loading", "");
  try {
    flow = await api(`/flows/${flowId}`, { method: "PATCH", body: settings.payload() });
    state.dirty = false;
    const version = flow.version?.number;
    fill("save-status", `Saved as version ${number(version)}`);
    toast(`${flow.name} saved`);
    document.getElementById("page").setAttribute("heading", flow.name);
    fill(
      "save-notice",
      flow.active_runs && before && before !== version
        ? h("s-banner", { tone: "info", heading: `Runs in progress finish on version ${number(before)}` }, h("s-paragraph", {}, `${inProgress(flow.active_runs)} New runs start on version ${number(version)}.`))
        : null,
    );
  } catch (error) {
    if (error.status !== 422) {
      showError("save-error", error, { heading: "The flow was not saved" });
      return;
    }
    const stepErrors = error.details.step_errors || [];
    const unclaimedSteps = stepErrors.length ? editor.showErrors(stepErrors) : [];
    const fields = { ...error.fields };
    delete fields.steps;
    // A cooldown's days are refused under "reentry": beside the days when they are shown.
    if (fields.reentry && !settings.form.querySelector("[name=reentry_days]").hidden) {
      fields.reentry_days = fields.reentry;
      delete fields.reentry;
    }
    const rest = placeErrors(settings.form, { fields });
    const messages = [...stepErrors.filter((item) => !unclaimedSteps.includes(item.message)).map(editor.describe), ...unclaimedSteps, rest].filter(Boolean);
    refused(messages.length ? messages : ["Fix the fields marked below, then save again."], "The flow was not saved");
  } finally {
    button.removeAttribute("loading");
  }
}

function layout() {
  const steps = h("div", { id: "steps" });
  const saveButton = h("s-button", { variant: "primary", id: "save", onclick: save }, "Save flow");
  return [
    h("s-section", { heading: "Settings" }, h("div", { id: "switch-error" }), onOff(), settings.form),
    h("s-section", { heading: "Steps" }, h("s-paragraph", {}, "Steps run from top to bottom. A condition splits the flow into Yes and No; each branch ends with its last step."), steps),
    h("div", { class: "save-bar" }, h("div", { id: "save-error" }), h("div", { id: "save-notice" }), h("div", { class: "inline-controls" }, saveButton, h("p", { id: "save-status", role: "status", class: "subdued" }))),
  ];
}

// Only a flow the merchant made (not one of the automations) can be deleted, and only when off:
// the API says so (409) when it is on.
function deletion() {
  const button = document.getElementById("delete");
  button.hidden = Boolean(flow.from_automation) || flow.engine !== "steps";
  button.addEventListener("click", () => {
    fill("delete-error");
    showModal("delete-modal");
  });
  const confirm = document.getElementById("delete-confirm");
  confirm.addEventListener("click", async () => {
    try {
      await busy(confirm, () => api(`/flows/${flowId}`, { method: "DELETE" }));
      hideModal("delete-modal");
      toast(`${flow.name} deleted`);
      go("/flows");
    } catch (error) {
      showError("delete-error", error, { heading: "The flow was not deleted" });
    }
  });
}

async function main() {
  document.getElementById("all-flows").setAttribute("href", appUrl("/flows"));
  try {
    const [shop, detail, kinds, segments] = await Promise.all([api("/shop"), api(`/flows/${flowId}`), api("/flows/catalog"), all("/segments")]);
    useShop(shop);
    flow = detail;
    catalog = kinds;
    document.getElementById("page").setAttribute("heading", flow.name);
    settings = settingsForm();
    const context = { catalog, segments, trigger: () => settings.trigger(), changed };
    const parts = layout();
    fill("flow", parts);
    deletion();
    editor = stepsEditor(document.getElementById("steps"), { steps: structuredClone(flow.steps || []), context });
    fill("save-status", flow.version ? `Version ${number(flow.version.number)}` : "");
    const numbers = numbering(flow.steps || []);
    // A one-text flow its automation still runs has automation runs, not flow runs (GET
    // /api/automations/<id>/runs, on the Automations page), until it gets a second step.
    const runsArea = document.getElementById("runs");
    const runsShown =
      flow.engine === "automation"
        ? fill(runsArea, h("s-paragraph", {}, "This flow is still run by its automation until you give it a second step: its recent runs are on ", h("s-link", { href: appUrl("/automations") }, "the Automations page"), "."))
        : showRuns(runsArea, flowId, numbers);
    await Promise.all([showReport(document.getElementById("report"), flowId, numbers), runsShown]);
  } catch (error) {
    showError("page-error", error, { heading: "The flow could not load" });
    for (const id of ["flow", "report", "runs"]) fill(id);
  }
}

main();
