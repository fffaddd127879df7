// Automations: each kind with its on/off switch, its message, delay and conditions (PATCH
// /api/automations/<id>), and its recent runs (GET /api/automations/<id>/runs, cursor pages).
import { api } from "./lib/api.js";
import { fill, h } from "./lib/dom.js";
import { dateTime, useShop } from "./lib/format.js";
import { pager, placeErrors } from "./lib/forms.js";
import { appUrl } from "./lib/nav.js";
import { badge, clearFieldErrors, showError, table, toast } from "./lib/ui.js";

const KINDS = {
  welcome: ["Welcome message", "Send welcome messages", "When someone subscribes."],
  abandoned_checkout: ["Abandoned checkout reminder", "Send abandoned checkout reminders", "When a shopper leaves a checkout without ordering."],
  order_confirmation: ["Order confirmation", "Send order confirmations", "When an order is paid."],
  shipping_update: ["Shipping update", "Send shipping updates", "When an order ships."],
  birthday: ["Birthday message", "Send birthday messages", "On each subscriber's birthday."],
  back_in_stock: ["Back in stock alert", "Send back in stock alerts", "When a product a shopper asked about is back."],
  win_back: ["Win-back message", "Send win-back messages", "When a customer has not ordered for a while."],
};
const CONDITIONS = {
  hour: (zone) => `Hour of the day to send (0-23, ${zone || "shop time"})`,
  days: () => "Days without an order",
};
const RUN_TONES = { pending: "info", queued: "success", cancelled: undefined };

let timezone = null;

function describe(automation) {
  const [title, switchLabel, when] = KINDS[automation.kind] || [automation.kind, `Send ${automation.kind}`, ""];
  return { title, switchLabel, when };
}

// A whole number as a number; anything else as typed, for the API to say what is wrong.
const whole = (text) => (/^\s*\d+\s*$/.test(String(text ?? "")) ? Number(text) : String(text ?? ""));

function toggle(automation, title) {
  const control = h("s-switch", { label: title.switchLabel, checked: automation.enabled, ".checked": automation.enabled });
  control.addEventListener("change", async () => {
    const enabled = Boolean(control.checked);
    control.setAttribute("disabled", "");
    try {
      const saved = await api(`/automations/${automation.id}`, { method: "PATCH", body: { enabled } });
      automation.enabled = saved.enabled;
      toast(`${title.title} ${saved.enabled ? "on" : "off"}`);
    } catch (error) {
      control.checked = automation.enabled;
      showError(`automation-${automation.id}-error`, error, { heading: `${title.title} could not be turned ${enabled ? "on" : "off"}` });
    } finally {
      control.removeAttribute("disabled");
    }
  });
  return control;
}

function variableButtons(automation, editor) {
  return h(
    "div",
    { class: "variables" },
    h("s-text", {}, "Insert a variable: "),
    automation.variables.map((name) =>
      h(
        "s-button",
        {
          variant: "tertiary",
          accessibilityLabel: `Insert ${name}`,
          "aria-label": `Insert ${name}`,
          onclick: () => {
            const text = String(editor.value ?? "");
            editor.value = `${text}${text && !text.endsWith(" ") ? " " : ""}{{${name}}}`;
            editor.dispatchEvent(new Event("input", { bubbles: true }));
            editor.focus?.();
          },
        },
        `{{${name}}}`,
      ),
    ),
  );
}

function editor(automation, title) {
  const errorId = `automation-${automation.id}-form-error`;
  const body = h("s-text-area", { label: "Message", name: "body", rows: 3, value: automation.body, ".value": automation.body });
  const limits = automation.limits || {};
  const range = (name) => (limits[name] ? { min: limits[name].min, max: limits[name].max } : {});
  const delay = h("s-number-field", {
    label: "Wait before sending (minutes)",
    name: "delay_minutes",
    value: automation.delay_minutes,
    ...range("delay_minutes"),
  });
  const conditions = Object.entries(automation.conditions || {}).map(([name, value]) =>
    h("s-number-field", { label: (CONDITIONS[name] || (() => name))(timezone), name, "data-condition": name, value, ...range(name) }),
  );
  const save = h("s-button", { variant: "primary", type: "submit" }, "Save");
  const form = h(
    "form",
    { class: "automation-form", novalidate: true, "aria-label": `${title.title} settings` },
    h("div", { id: errorId }),
    body,
    variableButtons(automation, body),
    h("div", { class: "field-row" }, delay, conditions),
    save,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });

  async function submit() {
    const changes = { body: String(body.value ?? ""), delay_minutes: whole(delay.value) };
    if (conditions.length) changes.conditions = Object.fromEntries(conditions.map((field) => [field.dataset.condition, whole(field.value)]));
    fill(errorId);
    save.setAttribute("loading", "");
    try {
      const saved = await api(`/automations/${automation.id}`, { method: "PATCH", body: changes });
      clearFieldErrors(form);
      Object.assign(automation, saved);
      toast(`${title.title} saved`);
    } catch (error) {
      if (error.status === 422) {
        const fields = { ...error.fields };
        // The API names "conditions" for any condition: put it on the field its message names.
        if (fields.conditions && conditions.length) {
          const text = [fields.conditions].flat(Infinity).join(" ");
          const field = conditions.find((control) => text.includes(control.dataset.condition)) || conditions[0];
          fields[field.dataset.condition] = fields.conditions;
          delete fields.conditions;
        }
        const rest = placeErrors(form, { fields });
        fill(errorId, h("s-banner", { tone: "critical", heading: `${title.title} was not saved` }, h("s-paragraph", {}, rest || "Fix the fields marked below, then save again.")));
      } else {
        showError(errorId, error, { heading: `${title.title} was not saved` });
      }
    } finally {
      save.removeAttribute("loading");
    }
  }
  return form;
}

function runRows(runs) {
  return runs.map((run) =>
    h(
      "s-table-row",
      {},
      [
        run.contact_id ? h("s-link", { href: appUrl(`/subscribers/${run.contact_id}`) }, `Subscriber ${run.contact_id}`) : "—",
        badge(run.state, RUN_TONES[run.state]),
        dateTime(run.due_at),
        run.cancel_reason ? run.cancel_reason.replaceAll("_", " ") : "",
      ].map((cell) => h("s-table-cell", {}, cell)),
    ),
  );
}

function runsRegion(automation, title) {
  const region = h("div", { class: "runs" });
  const more = h("div", {});
  const open = h(
    "s-button",
    {
      onclick: async () => {
        open.setAttribute("loading", "");
        try {
          const first = await api(`/automations/${automation.id}/runs`, { query: { limit: 20 } });
          if (!first.items.length) {
            fill(region, h("s-paragraph", {}, `No runs yet. ${title.when} ${automation.enabled ? "A run appears here." : "Turn it on and a run appears here."}`));
            return;
          }
          const grid = table({ label: `Recent runs of ${title.title}`, headers: ["Subscriber", "State", "Due", "Note"], rows: [] });
          fill(region, grid, more);
          pager({ path: `/automations/${automation.id}/runs`, query: { limit: 20 }, first, body: grid.querySelector("s-table-body"), more, render: runRows, errorTarget: region });
        } catch (error) {
          showError(region, error, { heading: "The runs could not load" });
        } finally {
          open.removeAttribute("loading");
        }
      },
    },
    "Show recent runs",
  );
  region.append(open);
  return h("div", {}, h("s-heading", {}, "Recent runs"), region);
}

function section(automation) {
  const title = describe(automation);
  return h(
    "s-section",
    { heading: title.title, "data-kind": automation.kind },
    h("div", { id: `automation-${automation.id}-error` }),
    h("s-paragraph", {}, title.when),
    automation.credit_skips
      ? h(
          "s-banner",
          { tone: "warning", heading: `${automation.credit_skips} ${automation.credit_skips === 1 ? "text" : "texts"} skipped this billing cycle` },
          h("s-paragraph", {}, "There were not enough credits, or your spend cap was reached. ", h("s-link", { href: appUrl("/billing") }, "Go to Billing")),
        )
      : null,
    toggle(automation, title),
    editor(automation, title),
    runsRegion(automation, title),
  );
}

async function main() {
  try {
    const [list, shop] = await Promise.all([api("/automations"), api("/shop")]);
    useShop(shop);
    timezone = shop.timezone;
    if (!list.items.length) {
      fill("automations", h("s-paragraph", {}, "No automations are available for this shop yet. Reload the page in a minute."));
      return;
    }
    fill("automations", list.items.map(section));
  } catch (error) {
    showError("page-error", error, { heading: "The automations could not load" });
    fill("automations");
  }
}

main();
