// Home: the setup checklist, the credit balance, the last 30 days, recent campaigns.
import { api } from "./lib/api.js";
import { fill, h } from "./lib/dom.js";
import { dateTime, money, number, useShop } from "./lib/format.js";
import { appUrl } from "./lib/nav.js";
import { spendBanners } from "./lib/spend.js";
import { badge, emptyState, showError, table } from "./lib/ui.js";

const STATE_TONES = { completed: "success", sending: "info", scheduled: "info", paused: "warning", failed: "critical", cancelled: undefined, draft: undefined };

function checklist(setup) {
  const steps = [
    ["sender", "Get a number to send from", "/settings", "Settings"],
    ["storefront_signup", "Collect subscribers on your storefront", "/settings", "Settings"],
    ["first_campaign", "Send your first campaign", "/campaigns/new", "Create campaign"],
    ["billing", "Choose a plan or buy credits", "/billing", "Billing"],
  ];
  const done = steps.filter(([key]) => setup[key]).length;
  return [
    h("s-paragraph", {}, `${done} of ${steps.length} steps done`),
    h(
      "ul",
      { class: "checklist" },
      steps.map(([key, label, path, action]) =>
        h(
          "li",
          {},
          setup[key] ? badge("Done", "success") : badge("To do", "caution"),
          " ",
          setup[key] ? label : h("s-link", { href: appUrl(path) }, label),
          setup[key] ? null : h("span", { class: "visually-hidden" }, ` (${action})`),
        ),
      ),
    ),
  ];
}

function metric(label, value) {
  return h("div", { class: "metric" }, h("s-text", {}, label), h("div", { class: "metric-value" }, value));
}

function revenue(amounts) {
  const entries = Object.entries(amounts || {});
  if (!entries.length) return money(0);
  return entries.map(([currency, amount]) => money(amount, currency)).join(" + ");
}

function recent(campaigns) {
  if (!campaigns.length) {
    return emptyState({
      heading: "No campaigns yet",
      text: "Write a message, choose who gets it and send it now or later.",
      action: { label: "Create campaign", href: appUrl("/campaigns/new") },
    });
  }
  return table({
    label: "Recent campaigns",
    headers: ["Campaign", "State", "Recipients", "Sent"],
    rows: campaigns.map((campaign) => [
      h("s-link", { href: appUrl(`/campaigns/${campaign.id}`) }, campaign.name),
      badge(campaign.state, STATE_TONES[campaign.state]),
      number(campaign.recipients ?? 0),
      dateTime(campaign.launched_at),
    ]),
  });
}

async function main() {
  try {
    const overview = await api("/home");
    useShop(overview.shop);
    fill("spend-banners", spendBanners(overview.spend || {}));
    fill("setup", checklist(overview.setup));
    fill(
      "metrics",
      h(
        "div",
        { class: "metrics" },
        metric("Credit balance", number(overview.balance)),
        metric("Subscribers gained", number(overview.last_30_days.subscribers_gained)),
        metric("Attributed revenue", revenue(overview.last_30_days.revenue)),
        metric("Messages delivered", number(overview.last_30_days.delivered)),
      ),
    );
    fill("recent", recent(overview.recent_campaigns));
  } catch (error) {
    showError("page-error", error, { heading: "The home page could not load" });
    for (const id of ["setup", "metrics", "recent"]) fill(id);
  }
}

main();
