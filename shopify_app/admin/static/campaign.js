// A campaign: its state, live progress while it sends (polled while the page is visible),
// pause, resume and cancel as its state allows, and its report with a CSV download.
import { api, ApiError, download } from "./lib/api.js";
import { byId, fill, h } from "./lib/dom.js";
import { dateTime, money, number, percent, useShop } from "./lib/format.js";
import { appUrl, pathId } from "./lib/nav.js";
import { abTestReport } from "./lib/ab_test.js";
import { LIVE_STATES, stateBadge } from "./lib/campaigns.js";
import { showCampaignImage } from "./lib/media.js";
import { localTimeLine, showCohorts } from "./lib/cohorts.js";
import { busy, showError, toast } from "./lib/ui.js";

const POLL_MS = 3000;
const id = pathId();
let campaign = null;
let timer = null;

function metric(label, value) {
  return h("div", { class: "metric" }, h("s-text", {}, label), h("div", { class: "metric-value" }, value));
}

function status() {
  const lines = [h("p", {}, stateBadge(campaign.state))];
  if (campaign.state === "scheduled") lines.push(h("s-paragraph", {}, `Scheduled for ${dateTime(campaign.send_at)}.`));
  if (campaign.local_send_time) lines.push(localTimeLine(campaign));
  if (campaign.launched_at) lines.push(h("s-paragraph", {}, `Launched ${dateTime(campaign.launched_at)}.`));
  if (campaign.completed_at) lines.push(h("s-paragraph", {}, `Finished ${dateTime(campaign.completed_at)}.`));
  if (campaign.failure_reason) lines.push(h("s-paragraph", { tone: "critical" }, `It stopped: ${campaign.failure_reason}.`));
  lines.push(h("s-paragraph", { class: "message-body" }, campaign.body));
  return lines;
}

function progress() {
  const counters = campaign.counters;
  const total = campaign.recipients || 0;
  const done = total - (counters.open || 0);
  if (campaign.state === "draft" || campaign.state === "scheduled") {
    return h("s-paragraph", {}, campaign.state === "draft" ? "Not launched yet." : "Sending starts at the scheduled time.");
  }
  return [
    h("progress", { max: Math.max(total, 1), value: Math.max(done, 0), "aria-label": "Messages handled" }),
    h("s-paragraph", {}, `${number(done)} of ${number(total)} messages handled`),
    h(
      "div",
      { class: "metrics" },
      metric("Recipients", number(total)),
      metric("Sent", number(counters.sent + counters.delivered + counters.failed)),
      metric("Delivered", number(counters.delivered)),
      metric("Failed", number(counters.failed)),
      metric("Skipped", number(counters.skipped)),
    ),
  ];
}

function actionButtons() {
  const buttons = [];
  if (campaign.state === "draft") buttons.push(h("s-button", { href: appUrl(`/campaigns/${id}/edit`) }, "Edit"));
  if (campaign.state === "sending") buttons.push(h("s-button", { onclick: (event) => change(event, "pause", "Campaign paused") }, "Pause"));
  if (campaign.state === "paused") buttons.push(h("s-button", { variant: "primary", onclick: (event) => change(event, "resume", "Campaign resumed") }, "Resume"));
  if (["draft", "scheduled", "sending", "paused"].includes(campaign.state)) {
    buttons.push(h("s-button", { tone: "critical", onclick: () => openCancel() }, "Cancel campaign"));
  }
  return buttons;
}

function render() {
  byId("page").setAttribute("heading", campaign.name);
  document.title = `${campaign.name} · SMS Blossom`;
  fill("status", status());
  fill("actions", actionButtons());
  fill("progress", progress());
  showCohorts("cohorts", campaign);
}

async function change(event, action, message) {
  fill("page-error");
  await busy(event.currentTarget, async () => {
    try {
      campaign = await api(`/campaigns/${id}/${action}`, { method: "POST" });
      toast(message);
      render();
      poll();
    } catch (error) {
      showError("page-error", error, { heading: "The campaign could not change" });
      refresh();
    }
  });
}

function openCancel() {
  fill("cancel-error");
  byId("cancel-modal").showOverlay();
}

async function confirmCancel(event) {
  await busy(event.currentTarget, async () => {
    try {
      campaign = await api(`/campaigns/${id}/cancel`, { method: "POST" });
      byId("cancel-modal").hideOverlay();
      toast("Campaign cancelled");
      render();
      stopPolling();
      loadReport();
    } catch (error) {
      showError("cancel-error", error, { heading: "The campaign was not cancelled" });
    }
  });
}

// --- live progress ------------------------------------------------------------------------------

function stopPolling() {
  clearTimeout(timer);
  timer = null;
}

function poll() {
  stopPolling();
  if (!campaign || !LIVE_STATES.includes(campaign.state) || document.hidden) return;
  timer = setTimeout(refresh, POLL_MS);
}

async function refresh() {
  const before = campaign?.state;
  try {
    campaign = await api(`/campaigns/${id}`);
    render();
    if (before !== campaign.state && !LIVE_STATES.includes(campaign.state)) loadReport();
  } catch (error) {
    showError("page-error", error, { heading: "The campaign's progress could not load" });
  }
  poll();
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) stopPolling();
  else if (campaign && LIVE_STATES.includes(campaign.state)) refresh();
});

// --- report -------------------------------------------------------------------------------------

function revenue(amounts) {
  const entries = Object.entries(amounts || {});
  if (!entries.length) return money(0);
  return entries.map(([currency, amount]) => (currency === "unknown" ? number(amount) : money(amount, currency))).join(" + ");
}

async function loadReport() {
  if (campaign.state === "draft") {
    fill("report", h("s-paragraph", {}, "The report starts when the campaign is sent."));
    return;
  }
  try {
    const report = await api(`/reports/campaigns/${id}`);
    fill(
      "report",
      h(
        "div",
        { class: "metrics" },
        metric("Delivered", number(report.delivered)),
        metric("Failed", number(report.failed)),
        metric("Delivery rate", percent(report.delivered, report.sent)),
        metric("Clicks", number(report.clicks)),
        metric("Attributed orders", number(report.orders)),
        metric("Attributed revenue", revenue(report.revenue)),
        metric("Opt-outs", number(report.opt_outs)),
        metric("Credits spent", number(report.credits_spent)),
      ),
    );
    byId("download").hidden = false;
  } catch (error) {
    showError("report", error, { heading: "The report could not load" });
  }
}

async function downloadCsv(event) {
  fill("download-error");
  await busy(event.currentTarget, async () => {
    try {
      await download(`/reports/campaigns/${id}`, { query: { format: "csv" }, filename: `campaign-${id}.csv` });
    } catch (error) {
      showError("download-error", error, { heading: "The report could not be downloaded" });
    }
  });
}

async function main() {
  try {
    const [shop, loaded] = await Promise.all([api("/shop"), api(`/campaigns/${id}`)]);
    useShop(shop);
    campaign = loaded;
    render();
    poll();
    showCampaignImage("campaign-image", campaign.media_id);
    loadAbTest();
    await loadReport();
  } catch (error) {
    const heading = error instanceof ApiError && error.status === 404 ? "No such campaign" : "The campaign could not load";
    showError("page-error", error, { heading });
    for (const region of ["status", "progress", "report"]) fill(region);
  }
}

function loadAbTest() {
  return abTestReport(byId("ab-test"), id, { onPicked: () => (loadAbTest(), refresh()) });
}

byId("confirm-cancel").addEventListener("click", confirmCancel);
byId("download").addEventListener("click", downloadCsv);
main();
