// One run of a flow: who, its state and why it ended, and each step it took, in order, with
// the outcome and the reason the flow engine recorded (GET /api/flows/<id>/runs/<run_id>).
import { api } from "./lib/api.js";
import { fill, h } from "./lib/dom.js";
import { OUTCOMES, RUN_STATES, RUN_TONES, numbering, stepName, words } from "./lib/flow_labels.js";
import { dateTime, number, useShop } from "./lib/format.js";
import { appUrl, pathId } from "./lib/nav.js";
import { badge, showError, table } from "./lib/ui.js";

const flowId = pathId(-3);
const runId = pathId();

function details(run, flow, numbers) {
  const pairs = [
    ["Flow", h("s-link", { href: appUrl(`/flows/${flowId}`) }, flow.name)],
    ["Subscriber", run.contact_id ? h("s-link", { href: appUrl(`/subscribers/${run.contact_id}`) }, `Subscriber ${run.contact_id}`) : "Deleted subscriber"],
    ["State", badge(RUN_STATES[run.state] || run.state, RUN_TONES[run.state])],
    ["Version", run.version ? `Version ${number(run.version)}` : "—"],
    ["Started", dateTime(run.started_at)],
    ["Ended", dateTime(run.ended_at)],
  ];
  if (run.state === "active") pairs.push(["Next step", run.step_id ? stepName(numbers, run.step_id) : "—"], ["Due", dateTime(run.due_at)]);
  if (run.exit_reason) pairs.push(["Exit reason", words(run.exit_reason)]);
  return h("dl", { class: "figures" }, pairs.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function reason(detail) {
  if (!detail || typeof detail !== "object") return "—";
  const parts = [];
  if (detail.reason) parts.push(words(detail.reason));
  for (const [key, value] of Object.entries(detail)) {
    if (key === "reason" || value === null || typeof value === "object") continue;
    parts.push(key === "until" ? `Until ${dateTime(value)}` : `${words(key)}: ${value}`);
  }
  return parts.join(" · ") || "—";
}

function steps(run, numbers) {
  if (!run.steps?.length) return h("s-paragraph", {}, "This run has not taken a step yet.");
  return table({
    label: "Steps taken",
    headers: ["Step", "Outcome", "Reason", "When"],
    rows: run.steps.map((step) => [stepName(numbers, step.step_id, step.step_type), OUTCOMES[step.outcome] || words(step.outcome), reason(step.detail), dateTime(step.created_at)]),
  });
}

async function main() {
  document.getElementById("back").setAttribute("href", appUrl(`/flows/${flowId}`));
  try {
    const [shop, flow, run] = await Promise.all([api("/shop"), api(`/flows/${flowId}`), api(`/flows/${flowId}/runs/${runId}`)]);
    useShop(shop);
    // A run keeps the version it started on: its steps are named from that version's tree.
    const numbers = numbering(run.version_steps || flow.steps || []);
    document.getElementById("page").setAttribute("heading", `${flow.name}: run ${run.id}`);
    fill("run", details(run, flow, numbers));
    fill("steps", steps(run, numbers));
  } catch (error) {
    showError("page-error", error, { heading: "The run could not load" });
    fill("run");
    fill("steps");
  }
}

main();
