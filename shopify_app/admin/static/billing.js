// Billing: the plan, the balance, subscribing and buying credit packs (Shopify's confirmation
// page, opened in the top window), spend controls (lib/spend.js) and the credit ledger in
// cursor pages (GET /api/billing).
import { api } from "./lib/api.js";
import { fill, h } from "./lib/dom.js";
import { dateTime, money, number, useShop } from "./lib/format.js";
import { pager } from "./lib/forms.js";
import { spendBanners, spendForm, usageCapForm } from "./lib/spend.js";
import { badge, emptyState, showError, table } from "./lib/ui.js";

const KINDS = {
  grant: "Credits added",
  reserve: "Held for a campaign",
  debit: "Message sent",
  reserve_release: "Hold used",
  release: "Hold returned",
  refund: "Refund",
};
const LEDGER_PAGE = 25;
let currency = "USD";

function metric(label, value) {
  return h("div", { class: "metric" }, h("s-text", {}, label), h("div", { class: "metric-value" }, value));
}

function summary(data) {
  const status = data.subscription.status;
  return [
    h("div", { class: "metrics" },
      metric("Plan", data.plan.name),
      metric("Credit balance", number(data.balance)),
      metric("Held for campaigns", number(data.reserved)),
      metric("Spent this cycle", number(data.spent_this_cycle)),
    ),
    status ? h("s-paragraph", {}, "Subscription: ", badge(status.toLowerCase(), status === "ACTIVE" ? "success" : "attention"), data.subscription.activated_at ? ` since ${dateTime(data.subscription.activated_at)}` : "") : null,
    Number(data.overage.cap) > 0
      ? h("s-paragraph", {}, `Extra credits this cycle: ${money(data.overage.used, currency)} of a ${money(data.overage.cap, currency)} cap.`)
      : null,
  ];
}

// Opens Shopify's confirmation page in the admin (App Bridge turns "_top" into an admin redirect).
async function confirmAt(button, path, body, errorId) {
  fill(errorId);
  button.setAttribute("loading", "");
  button.setAttribute("disabled", "");
  try {
    const answer = await api(path, { method: "POST", body });
    window.open(answer.confirmation_url, "_top");
  } catch (error) {
    showError(errorId, error, { heading: "Shopify could not start the purchase" });
    button.removeAttribute("loading");
    button.removeAttribute("disabled");
  }
}

function plans(data) {
  const rows = data.plans
    .filter((plan) => plan.plan !== "free" || data.plan.plan === "free")
    .map((plan) => {
      const current = plan.plan === data.plan.plan;
      const action = current
        ? badge("Current plan", "success")
        : plan.plan === "free"
          ? ""
          : h("s-button", {
              variant: "primary",
              "aria-label": `Subscribe to ${plan.name}`,
              onclick: (event) => confirmAt(event.currentTarget, "/billing/subscribe", { plan: plan.plan }, "plans-error"),
            }, `Subscribe to ${plan.name}`);
      return [
        plan.name,
        `${money(plan.monthly_price, currency)} a month`,
        number(plan.included_credits),
        Number(plan.price_per_extra_credit) > 0 ? money(plan.price_per_extra_credit, currency) : "—",
        plan.trial_days ? `${number(plan.trial_days)} days` : "—",
        action,
      ];
    });
  return [
    h("div", { id: "plans-error" }),
    table({ label: "Plans", headers: ["Plan", "Price", "Credits included", "Each extra credit", "Free trial", ""], rows }),
  ];
}

function packs(data) {
  return [
    h("div", { id: "packs-error" }),
    h("s-paragraph", {}, "Credits never expire. Shopify asks you to approve the charge."),
    h(
      "div",
      { class: "packs" },
      data.packs.map((pack) =>
        h("s-button", {
          onclick: (event) => confirmAt(event.currentTarget, "/billing/credit-packs", { pack: pack.pack }, "packs-error"),
        }, `Buy ${number(pack.credits)} credits for ${money(pack.price, currency)}`),
      ),
    ),
  ];
}

function ledgerRows(entries) {
  return entries.map((entry) =>
    h(
      "s-table-row",
      {},
      [
        dateTime(entry.created_at),
        KINDS[entry.kind] || entry.kind,
        h("span", { class: entry.amount < 0 ? "amount-out" : "amount-in" }, `${entry.amount > 0 ? "+" : ""}${number(entry.amount)}`),
        entry.note || "",
      ].map((cell) => h("s-table-cell", {}, cell)),
    ),
  );
}

function ledger(data) {
  if (!data.ledger.items.length) {
    return emptyState({
      heading: "No credit history yet",
      text: "Choose a plan or buy a credit pack above: every credit added or spent is listed here.",
    });
  }
  const grid = table({ label: "Credit history", headers: ["Date", "What", "Credits", "Note"], rows: [] });
  const more = h("div", { class: "more" });
  const error = h("div", {});
  pager({
    path: "/billing/ledger", // the next pages alone, without the rest of the billing page
    query: { limit: LEDGER_PAGE },
    first: data.ledger,
    body: grid.querySelector("s-table-body"),
    more,
    render: ledgerRows,
    errorTarget: error,
    label: "Show older entries",
  });
  return [grid, error, more];
}

function showSpend(controls, packList) {
  fill("spend-banners", spendBanners(controls, { where: "billing", usageCap: controls.usage_cap }));
  fill("spend", spendForm(controls, packList, { onSaved: (saved) => showSpend(saved, packList) }), usageCapForm(controls));
}

async function main() {
  try {
    const [data, shop, controls] = await Promise.all([
      api("/billing", { query: { limit: LEDGER_PAGE } }),
      api("/shop"),
      api("/billing/spend-controls"),
    ]);
    useShop(shop);
    currency = data.currency || "USD";
    fill("summary", summary(data));
    fill("plans", plans(data));
    fill("packs", packs(data));
    showSpend(controls, data.packs);
    fill("ledger", ledger(data));
  } catch (error) {
    showError("page-error", error, { heading: "Billing could not load" });
    for (const id of ["summary", "plans", "packs", "spend", "ledger"]) fill(id);
  }
}

main();
