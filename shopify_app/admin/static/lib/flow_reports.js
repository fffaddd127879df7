// A flow's report (GET /api/flows/<id>/report: runs by state, sent, clicks, orders and revenue
// for the flow and for each step) and its runs (GET /api/flows/<id>/runs, filtered by state, a
// page at a time), each run linking to the steps it took.
import { api } from "./api.js";
import { fill, h } from "./dom.js";
import { OUTCOMES, RUN_STATES, RUN_TONES, stepName, words } from "./flow_labels.js";
import { dateTime, money, number } from "./format.js";
import { pager } from "./forms.js";
import { appUrl } from "./nav.js";
import { badge, showError, table } from "./ui.js";

function figures(pairs) {
  return h("dl", { class: "figures" }, pairs.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function counts(map, names = {}) {
  return Object.entries(map || {}).map(([key, count]) => `${names[key] || words(key)}: ${number(count)}`);
}

// What the columns do not show already: skips, waits, exits, tags, and the reasons recorded.
function outcomes(step) {
  const shown = new Set(["yes", "no", "sent"]);
  const rest = Object.fromEntries(Object.entries(step.outcomes || {}).filter(([key]) => !shown.has(key)));
  return [...counts(rest, OUTCOMES), ...counts(step.reasons)].join(" · ") || "—";
}

export async function showReport(target, flowId, numbers) {
  try {
    const report = await api(`/flows/${flowId}/report`);
    const flow = report.flow;
    const runs = flow.runs || {};
    const currency = flow.currency;
    const stepRows = (report.steps || []).map((step) => [
      stepName(numbers, step.step_id, step.type),
      number(step.entered ?? 0),
      number(step.sent ?? 0),
      number(step.clicks ?? 0),
      number(step.orders ?? 0),
      money(step.revenue ?? 0, currency),
      step.type === "condition" ? number(step.outcomes?.yes ?? 0) : "—",
      step.type === "condition" ? number(step.outcomes?.no ?? 0) : "—",
      outcomes(step),
    ]);
    fill(
      target,
      h("s-heading", {}, "Whole flow"),
      figures([
        ["Runs in progress", number(runs.active ?? 0)],
        ["Runs completed", number(runs.completed ?? 0)],
        ["Runs exited", number(runs.exited ?? 0)],
        ["Texts sent", number(flow.sent ?? 0)],
        ["Delivered", number(flow.delivered ?? 0)],
        ["Clicks", number(flow.clicks ?? 0)],
        ["Orders", number(flow.orders ?? 0)],
        ["Revenue", money(flow.revenue ?? 0, currency)],
        ["Exits by reason", counts(flow.exits).join(" · ") || "—"],
      ]),
      h("s-heading", {}, "Each step"),
      stepRows.length
        ? table({ label: "Report by step", headers: ["Step", "Entered", "Sent", "Clicks", "Orders", "Revenue", "Yes", "No", "Other outcomes and reasons"], rows: stepRows })
        : h("s-paragraph", {}, "No step has run yet."),
      h("s-paragraph", { color: "subdued" }, "Orders and revenue are attributed to the text a subscriber clicked or received last before ordering."),
    );
  } catch (error) {
    showError(target, error, { heading: "The report could not load" });
  }
}

function runRows(flowId, numbers) {
  return (runs) =>
    runs.map((run) =>
      h(
        "s-table-row",
        {},
        [
          h("s-link", { href: appUrl(`/flows/${flowId}/runs/${run.id}`), accessibilityLabel: `Run ${run.id}: its steps` }, `Run ${run.id}`),
          run.contact_id ? h("s-link", { href: appUrl(`/subscribers/${run.contact_id}`) }, `Subscriber ${run.contact_id}`) : "—",
          badge(RUN_STATES[run.state] || run.state, RUN_TONES[run.state]),
          run.state === "active" && run.step_id ? stepName(numbers, run.step_id) : "—",
          dateTime(run.started_at),
          dateTime(run.ended_at),
          words(run.exit_reason) || "—",
        ].map((cell) => h("s-table-cell", {}, cell)),
      ),
    );
}

export function showRuns(target, flowId, numbers) {
  const filter = h(
    "s-select",
    { label: "State", name: "state", value: "", ".value": "" },
    h("s-option", { value: "" }, "All runs"),
    Object.entries(RUN_STATES).map(([key, label]) => h("s-option", { value: key }, label)),
  );
  const body = h("div", { "aria-live": "polite" });
  const more = h("div", { class: "pager" });
  async function load() {
    const query = { limit: 20, state: filter.value || undefined };
    try {
      const first = await api(`/flows/${flowId}/runs`, { query });
      if (!first.items.length) {
        fill(body, h("s-paragraph", {}, filter.value ? `No ${RUN_STATES[filter.value].toLowerCase()} runs.` : "No runs yet. A run starts when the trigger happens while the flow is on."));
        fill(more);
        return;
      }
      const grid = table({ label: "Runs", headers: ["Run", "Subscriber", "State", "Current step", "Started", "Ended", "Exit reason"], rows: [] });
      fill(body, grid);
      pager({ path: `/flows/${flowId}/runs`, query, first, body: grid.querySelector("s-table-body"), more, render: runRows(flowId, numbers), errorTarget: more });
    } catch (error) {
      showError(body, error, { heading: "The runs could not load" });
    }
  }
  filter.addEventListener("change", load);
  fill(target, h("div", { class: "inline-controls" }, filter), body, more);
  return load();
}
